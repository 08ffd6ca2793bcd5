"""The seeded-fault registry is the one place a fault is named: each declares what it breaks and the hook classes
where it acts; the endpoints call the hooks of the active faults and never test a fault's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.reference.faults import FAULTS, FHIR_FAULTS
from conformance.sdk.requirements import load_catalogue

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
REGISTRY = PACKAGE / "reference" / "faults.py"


def _tests_by_name(name: str, text: str) -> bool:
    """`"name" in faults`, `"name" not in …`, `== "name"`, `"name" ==`, a set of names intersected with faults."""
    quoted = rf"[\"']{re.escape(name)}[\"']"
    return re.search(rf"{quoted}\s*(?:not\s+in|in|==|!=)\s|(?:==|!=)\s*{quoted}", text) is not None


def _named_in(name: str) -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path != REGISTRY and _tests_by_name(name, path.read_text(encoding="utf-8")):
            found.append(path.relative_to(PACKAGE).as_posix())
    return found


def test_the_search_finds_a_fault_tested_by_name() -> None:
    assert _tests_by_name("zbe-missing", 'return [] if "zbe-missing" in self.faults else segments')
    assert _tests_by_name("ack-no-err", "if fault == 'ack-no-err':")
    assert not _tests_by_name("zbe-missing", 'ZbeMissing = Fault("zbe-missing", "mllp-sender")')


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_named_only_in_the_registry(name: str) -> None:
    elsewhere = _named_in(name)
    assert not elsewhere, f"{name} is tested by name outside the registry: {elsewhere}"


def test_every_fhir_endpoint_fault_has_a_hook() -> None:
    assert {n for n, f in FAULTS.items() if "fhir" in f.endpoint.split("+")} == set(FHIR_FAULTS)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_acts_through_hooks(name: str) -> None:
    fault = FAULTS[name]
    assert len(fault.hooks) == len(fault.endpoint.split("+")), "one hook class per endpoint family it changes"


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_declares_existing_requirements(name: str) -> None:
    fault = FAULTS[name]
    catalogue = load_catalogue()
    assert fault.requirements, f"{name} declares no requirement it breaks"
    assert [r for r in fault.requirements if r not in catalogue] == []
    assert fault.description_fr and fault.description_en and fault.description_fr != fault.description_en
