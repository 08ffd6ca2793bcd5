"""Extension contexts of kind `extension` (SHALL): the extension may sit on an extension with that URL (or on
that extension's value), nowhere else; and a FHIRPath context that does not select the owner does not allow it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_helpers import TEST_BASE, differential_profile, rules, validate_with

INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
URL = TEST_BASE + "flag"


def _definition() -> dict[str, Any]:
    elements = [
        {"path": "Extension", "max": "1"},
        {"path": "Extension.url", "fixedUri": URL},
        {"path": "Extension.value[x]", "type": [{"code": "boolean"}]},
    ]
    sd = differential_profile("flag", "Extension", elements, kind="complex-type")
    sd["context"] = [
        {"type": "element", "expression": "Patient.name"},
        {"type": "extension", "expression": INTERPRETER},
        {"type": "fhirpath", "expression": "Patient.address.where(use = 'home')"},
    ]
    return sd


FLAG = {"url": URL, "valueBoolean": True}


def test_allowed_on_the_value_of_the_named_extension(tmp_path: Path) -> None:
    on_value = {
        "resourceType": "Patient",
        "extension": [{"url": INTERPRETER, "valueBoolean": True, "_valueBoolean": {"extension": [FLAG]}}],
    }
    assert not rules(validate_with(tmp_path, on_value, [_definition()]))


def test_not_allowed_on_an_element_no_context_names(tmp_path: Path) -> None:
    work = {"resourceType": "Patient", "address": [{"use": "work", "extension": [FLAG]}]}
    assert rules(validate_with(tmp_path, work, [_definition()])) == {"Extension_EXTP_Context_Wrong"}
    home = {"resourceType": "Patient", "address": [{"use": "home", "extension": [FLAG]}]}
    assert not rules(validate_with(tmp_path, home, [_definition()]))
    other = {"resourceType": "Organization", "name": "x", "extension": [FLAG]}
    assert rules(validate_with(tmp_path, other, [_definition()])) == {"Extension_EXTP_Context_Wrong"}
