"""hopen-conformance: conformance harness for French hospital interoperability."""

__version__ = "0.1.0"
