"""The definition of an extension is found once per (element, url) and remembered: the answers of a second
validation are the first one's (unknown urls reported again, urls that are not strings left alone)."""

from __future__ import annotations

import json

from conformance.validation.fhir.inputs import validate_input
from conformance.validation.options import ValidateOptions

UNKNOWN = "http://hopen.invalid/fhir/StructureDefinition/nowhere"


def _patient(url: object) -> bytes:
    return json.dumps({"resourceType": "Patient", "id": "p", "extension": [{"url": url, "valueString": "x"}]}).encode()


def _rules(data: bytes) -> list[tuple[str, str]]:
    (outcome,) = validate_input(data, name="memo.json", options=ValidateOptions())
    return [(f.rule, f.location) for f in outcome.findings]


def test_an_unknown_url_is_reported_each_time() -> None:
    first = _rules(_patient(UNKNOWN))
    assert ("Extension_EXT_Unknown_NotHere", "Patient.extension[0]") in first
    assert _rules(_patient(UNKNOWN)) == first


def test_a_known_url_and_a_url_that_is_not_a_string() -> None:
    known = _patient("http://hl7.org/fhir/StructureDefinition/patient-birthPlace")
    assert _rules(known) == _rules(known)
    odd = _patient({"not": "a string"})
    first = _rules(odd)
    assert not any(rule.startswith("Extension_EXT_Unknown") for rule, _ in first)
    assert _rules(odd) == first
