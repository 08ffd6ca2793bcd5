"""Transports: MLLP (mllp.py) and HTTP (http.py). Each records every exchange to an optional ExchangeSink."""
