"""`conformance --version` lines for the HL7 v2 profile sets (reads the profile YAML only: cheap)."""

from __future__ import annotations


def version_lines() -> list[str]:
    from conformance.validation.hl7v2 import profile_versions

    return profile_versions()
