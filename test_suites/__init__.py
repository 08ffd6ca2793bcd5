"""Conformance suites: one folder per capability family; run by `conformance run` or `pytest test_suites --conformance-config FILE`."""
