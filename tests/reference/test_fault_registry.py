"""The seeded-fault registry is the one place a fault is named: each declares what it breaks, and the FHIR server
acts on faults through their hook classes, never by testing a fault's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.reference.faults import FAULTS, FHIR_FAULTS
from conformance.sdk.requirements import load_catalogue

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
REGISTRY = PACKAGE / "reference" / "faults.py"
# Modules outside the FHIR server that still switch on fault names (their endpoints have no hook points yet).
NAMED_ELSEWHERE = {
    "reference/pam.py",  # PAM sender and receiver (ins-*, zbe-missing, msh12-wrong, ack-*, oru-obx-not-base64)
    "reference/mllp_peers.py",
    "reference/documents.py",  # xdm-hash-tampered
    "reference/mssante/",
    "reference/dmp/",
}


def _named_in(name: str) -> list[str]:
    """Modules testing the fault by name: `"name" in faults`, `"name" not in …`, `== "name"`, `"name" ==`."""
    quoted = rf"[\"']{re.escape(name)}[\"']"
    pattern = re.compile(rf"{quoted}\s*(?:not\s+in|in|==|!=)\s|(?:==|!=)\s*{quoted}")
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path != REGISTRY and pattern.search(path.read_text(encoding="utf-8")):
            found.append(path.relative_to(PACKAGE).as_posix())
    return found


def test_the_search_finds_a_fault_tested_by_name() -> None:
    assert "reference/pam.py" in _named_in("zbe-missing")


@pytest.mark.parametrize("name", sorted(FHIR_FAULTS))
def test_fhir_fault_is_named_only_in_the_registry(name: str) -> None:
    elsewhere = [p for p in _named_in(name) if not p.startswith(tuple(NAMED_ELSEWHERE))]
    assert not elsewhere, f"{name} is tested by name outside the registry: {elsewhere}"


def test_every_fhir_endpoint_fault_has_a_hook() -> None:
    assert {n for n, f in FAULTS.items() if "fhir" in f.endpoint.split("+")} == set(FHIR_FAULTS)


@pytest.mark.parametrize("name", sorted(FHIR_FAULTS))
def test_fhir_fault_declares_existing_requirements(name: str) -> None:
    fault = FAULTS[name]
    catalogue = load_catalogue()
    assert fault.requirements, f"{name} declares no requirement it breaks"
    assert [r for r in fault.requirements if r not in catalogue] == []
    assert fault.description_fr and fault.description_en and fault.description_fr != fault.description_en
