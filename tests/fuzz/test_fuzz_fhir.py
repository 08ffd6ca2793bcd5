"""Fuzzing the FHIR validator's entries (JSON and XML): every input gives Outcomes with findings, never an
exception, never a hang. Seeds are FR Core's own examples (JSON, and the same as XML)."""

from __future__ import annotations

import json
from functools import cache

import pytest
from fuzz_support import check_outcomes, check_rejected, fuzz, mutated
from hypothesis import strategies as st

from conformance.packages import load_context
from conformance.validation.fhir import validate, validate_input
from conformance.validation.fhir.xml import resource_to_xml
from conformance.validation.options import ValidateOptions

pytestmark = pytest.mark.timeout(600)

OPTIONS = ValidateOptions(lang="en")
RESOURCE_TYPES = ["Patient", "Practitioner", "Organization", "Bundle", "DocumentReference", "List", "Encounter", "X"]
KEYS = [
    "resourceType",
    "id",
    "meta",
    "profile",
    "extension",
    "url",
    "valueString",
    "identifier",
    "system",
    "value",
    "name",
    "family",
    "given",
    "birthDate",
    "gender",
    "entry",
    "resource",
    "fullUrl",
    "type",
    "contained",
    "reference",
    "_birthDate",
    "text",
    "div",
    "status",
    "subject",
    "code",
    "coding",
]


@cache
def seeds() -> tuple[bytes, ...]:
    """Small examples of the FR Core package, as JSON bytes."""
    context = load_context()
    core = next(p for p in context.packages if p.name == "hl7.fhir.fr.core")
    files = sorted((core.path / "example").glob("*.json"), key=lambda p: p.stat().st_size)[:12]
    return tuple(f.read_bytes() for f in files)


@cache
def xml_seeds() -> tuple[bytes, ...]:
    return tuple(resource_to_xml(json.loads(s)) for s in seeds()[:8])


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner),
    max_leaves=25,
)
resources = st.builds(
    lambda rtype, body: {"resourceType": rtype, **body} if rtype else body,
    st.sampled_from([*RESOURCE_TYPES, None]),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8),
)


def check_bytes(data: bytes) -> None:
    check_outcomes(validate_input(data, name="fuzz", options=OPTIONS))


def test_seeds_are_accepted_as_input() -> None:
    """The control: real examples go through the same entry (so the fuzz targets reach the validator)."""
    for data in seeds()[:3] + xml_seeds()[:3]:
        outcomes = check_outcomes(validate_input(data, name="seed", options=OPTIONS))
        assert all(o.kind == "fhir" for o in outcomes)


def test_fuzz_fhir_json_mutations(budget: str) -> None:
    fuzz(budget, mutated(seeds()), check_bytes, scale=1.5)


def test_fuzz_fhir_xml_mutations(budget: str) -> None:
    fuzz(budget, mutated(xml_seeds()), check_bytes, scale=1.5)


def test_fuzz_fhir_generated_json(budget: str) -> None:
    def check(resource: dict) -> None:
        check_bytes(json.dumps(resource).encode())
        outcome = validate(resource, lang="en")  # the library entry, on the parsed form
        check_outcomes([outcome])

    fuzz(budget, resources, check)


def test_fuzz_fhir_arbitrary_bytes(budget: str) -> None:
    def check(data: bytes) -> None:
        outcomes = check_outcomes(validate_input(data, name="fuzz", options=OPTIONS))
        check_rejected(outcomes)

    fuzz(budget, st.binary(max_size=300).filter(lambda b: b.strip()[:1] not in (b"{", b"<")), check, scale=0.5)
