"""What `conformance --version` reports: the FHIR packages and rule sets the harness loads."""

from __future__ import annotations


def describe_versions() -> list[str]:
    lines: list[str] = []
    return lines
