"""pytest plugin (pytest11 entry point): fixtures and markers for the conformance suites."""

from __future__ import annotations
