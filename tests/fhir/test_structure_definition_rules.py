"""A StructureDefinition validated as a resource (SHALL, as the reference validator's snapshot generation):
differential paths name elements of the base, a fixed value of the base is kept, a type profile is for that type."""

from __future__ import annotations

from pathlib import Path

from fhir_helpers import TEST_BASE, differential_profile, rules, validate_with


def test_differential_path_must_name_an_element_of_the_base(tmp_path: Path) -> None:
    bad = differential_profile(
        "obs-bad-path", "Observation", [{"id": "Observation.valueQuantity", "path": "Observation.valueBla"}]
    )
    assert rules(validate_with(tmp_path, bad)) == {"SNAPSHOT_PATH_CHOICE"}
    good = differential_profile(
        "obs-good-path", "Observation", [{"id": "Observation.valueQuantity", "path": "Observation.valueQuantity"}]
    )
    assert not rules(validate_with(tmp_path, good))


def test_fixed_value_of_the_base_is_kept(tmp_path: Path) -> None:
    base = differential_profile(
        "ext-a",
        "Extension",
        [
            {"path": "Extension.url", "fixedUri": TEST_BASE + "ext-a"},
            {"path": "Extension.value[x]", "type": [{"code": "string"}]},
        ],
        kind="complex-type",
        context=[{"type": "element", "expression": "Patient"}],
    )
    derived = {**base, "id": "ext-b", "url": TEST_BASE + "ext-b", "name": "extb", "baseDefinition": TEST_BASE + "ext-a"}
    derived["differential"] = {
        "element": [{"id": "Extension.url", "path": "Extension.url", "fixedUri": TEST_BASE + "ext-b"}]
    }
    assert rules(validate_with(tmp_path, derived, [base])) == {"SNAPSHOT_FIXED_CHANGED"}


def test_type_profile_must_be_for_that_type(tmp_path: Path) -> None:
    def profile_with(type_profile: str) -> dict:
        element = {
            "id": "Observation.valueQuantity",
            "path": "Observation.valueQuantity",
            "type": [{"code": "Quantity", "profile": [type_profile]}],
        }
        return differential_profile("obs-typed", "Observation", [element])

    assert rules(validate_with(tmp_path, profile_with("http://hl7.org/fhir/StructureDefinition/Count"))) == {
        "SNAPSHOT_TYPE_PROFILE_WRONG"
    }
    assert not rules(validate_with(tmp_path, profile_with("http://hl7.org/fhir/StructureDefinition/SimpleQuantity")))
