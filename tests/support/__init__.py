"""Test support shared by the project's tests (fabricated runs with fake secrets, third-party peers)."""
