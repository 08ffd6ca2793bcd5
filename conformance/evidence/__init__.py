"""Evidence: what crossed the wire, redacted, attached to the test that caused it, and sealed."""
