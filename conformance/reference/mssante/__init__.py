"""The reference MSSanté system (client and receiving system) and its throwaway RSA test certificates."""
