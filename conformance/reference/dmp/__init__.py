"""The DMP side of the embedded reference system: the repository/registry simulator (also the harness's DMP
listener), the DMP-feeding document source, and throwaway certificates."""
