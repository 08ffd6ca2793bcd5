"""Documents the system produced ([documents] files): CDA R2 documents and IHE XDM packages (MSSanté)."""
