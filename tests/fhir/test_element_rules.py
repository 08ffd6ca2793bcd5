"""Element rules of hand-written differential profiles: minValue/maxValue (SHALL, with UCUM conversion),
mustHaveValue and valueAlternatives (SHALL), narrative language control (SHALL), and ele-1 on a primitive
that carries only an id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_helpers import TEST_BASE, differential_profile, rules, validate_with

UCUM = "http://unitsofmeasure.org"
XV = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition."
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def _observation(quantity: dict[str, Any], profile: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [TEST_BASE + profile]},
        "status": "final",
        "code": {"text": "weight"},
        "valueQuantity": quantity,
    }


def _weight_profile() -> dict[str, Any]:
    bound = {"value": 1, "system": UCUM, "code": "kg"}
    return differential_profile(
        "weight-range",
        "Observation",
        [
            {"path": "Observation.value[x]", "type": [{"code": "Quantity"}]},
            {"path": "Observation.valueQuantity", "minValueQuantity": bound, "maxValueQuantity": {**bound, "value": 5}},
        ],
    )


def test_quantity_below_min_value_is_an_error(tmp_path: Path) -> None:
    quantity = {"value": 0.5, "system": UCUM, "code": "kg"}
    found = validate_with(tmp_path, _observation(quantity, "weight-range"), [_weight_profile()])
    assert "Type_Specific_Checks_DT_QTY_MIN_VALUE_WRONG" in rules(found)


def test_quantity_above_max_value_after_ucum_conversion_is_an_error(tmp_path: Path) -> None:
    quantity = {"value": 6000, "system": UCUM, "code": "g"}
    found = validate_with(tmp_path, _observation(quantity, "weight-range"), [_weight_profile()])
    assert rules(found) == {"Type_Specific_Checks_DT_QTY_MAX_VALUE_WRONG_UCUM"}


def test_quantity_in_range_in_other_unit_passes(tmp_path: Path) -> None:
    quantity = {"value": 3000, "system": UCUM, "code": "g"}
    assert not rules(validate_with(tmp_path, _observation(quantity, "weight-range"), [_weight_profile()]))


def test_quantity_in_an_unconvertible_unit_is_not_judged(tmp_path: Path) -> None:
    quantity = {"value": 100, "system": UCUM, "code": "[lb_av]/d"}
    assert not rules(validate_with(tmp_path, _observation(quantity, "weight-range"), [_weight_profile()]))


def test_integer_max_value(tmp_path: Path) -> None:
    profile = differential_profile(
        "few-births",
        "Patient",
        [{"path": "Patient.multipleBirth[x]", "type": [{"code": "integer"}], "maxValueInteger": 3}],
    )
    patient = {"resourceType": "Patient", "meta": {"profile": [TEST_BASE + "few-births"]}, "multipleBirthInteger": 4}
    assert rules(validate_with(tmp_path, patient, [profile])) == {"Type_Specific_Checks_DT_INTEGER_GT"}
    patient["multipleBirthInteger"] = 2
    assert not rules(validate_with(tmp_path, patient, [profile]))


def _active_profile(name: str, extension: dict[str, Any]) -> dict[str, Any]:
    return differential_profile(name, "Patient", [{"path": "Patient.active", "min": 1, "extension": [extension]}])


def _patient_active_absent(profile: str, extension_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "meta": {"profile": [TEST_BASE + profile]},
        "_active": {"extension": [{"url": extension_url, "valueCode": "unknown"}]},
    }


def test_must_have_value_rejects_an_extension_instead_of_a_value(tmp_path: Path) -> None:
    profile = _active_profile("active-value", {"url": XV + "mustHaveValue", "valueBoolean": True})
    found = validate_with(tmp_path, _patient_active_absent("active-value", DAR), [profile])
    assert rules(found) == {"PRIMITIVE_MUSTHAVEVALUE_MESSAGE"}
    present = {"resourceType": "Patient", "meta": {"profile": [TEST_BASE + "active-value"]}, "active": True}
    assert not rules(validate_with(tmp_path, present, [profile]))


def test_value_alternatives_name_the_extensions_allowed_instead_of_a_value(tmp_path: Path) -> None:
    profile = _active_profile("active-alt", {"url": XV + "valueAlternatives", "valueCanonical": DAR})
    assert not rules(validate_with(tmp_path, _patient_active_absent("active-alt", DAR), [profile]))
    other = "http://hl7.org/fhir/StructureDefinition/iso21090-nullFlavor"
    found = validate_with(tmp_path, _patient_active_absent("active-alt", other), [profile])
    assert "PRIMITIVE_VALUE_ALTERNATIVES_MESSAGE" in rules(found)


LANG_CONTROL = "http://hl7.org/fhir/StructureDefinition/narrative-language-control"


def _narrative_profile(name: str, control: str) -> dict[str, Any]:
    element = {"path": "Patient.text", "extension": [{"url": LANG_CONTROL, "valueCode": control}]}
    return differential_profile(name, "Patient", [element])


def _patient_with_sections(profile: str, *languages: str) -> dict[str, Any]:
    sections = "".join(f'<div xml:lang="{lang}" lang="{lang}">text</div>' for lang in languages) or "text"
    return {
        "resourceType": "Patient",
        "meta": {"profile": [TEST_BASE + profile]},
        "language": "en",
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{sections}</div>'},
    }


def test_language_sections_required(tmp_path: Path) -> None:
    profile = _narrative_profile("lang-yes", "_yes")
    assert rules(validate_with(tmp_path, _patient_with_sections("lang-yes"), [profile])) == {
        "XHTML_LANGUAGE_SECTIONS_REQUIRED"
    }
    assert not rules(validate_with(tmp_path, _patient_with_sections("lang-yes", "fr", "en"), [profile]))


def test_language_sections_prohibited(tmp_path: Path) -> None:
    profile = _narrative_profile("lang-no", "_no")
    found = validate_with(tmp_path, _patient_with_sections("lang-no", "fr", "en"), [profile])
    assert rules(found) == {"XHTML_LANGUAGE_SECTIONS_PROHIBITED"}
    assert "(en, fr)" in next(iter(found)).message_en
    assert not rules(validate_with(tmp_path, _patient_with_sections("lang-no"), [profile]))


def test_language_section_for_the_resource_language(tmp_path: Path) -> None:
    profile = _narrative_profile("lang-res", "_resource")
    found = validate_with(tmp_path, _patient_with_sections("lang-res", "fr", "de"), [profile])
    assert rules(found) == {"XHTML_LANGUAGE_SECTION_MISSING"}
    assert not rules(validate_with(tmp_path, _patient_with_sections("lang-res", "fr", "en"), [profile]))


def test_primitive_with_only_an_id_breaks_ele_1(tmp_path: Path) -> None:
    patient = '<Patient xmlns="http://hl7.org/fhir"><implicitRules id="a"/><active value="true"/></Patient>'
    assert rules(validate_with(tmp_path, patient)) == {"ele-1"}
    with_value = '<Patient xmlns="http://hl7.org/fhir"><implicitRules id="a" value="http://x.org/r"/></Patient>'
    assert "ele-1" not in rules(validate_with(tmp_path, with_value))
