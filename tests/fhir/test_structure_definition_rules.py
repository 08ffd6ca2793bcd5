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


def test_content_reference_unfolds_the_base_element_not_the_profiled_one(tmp_path: Path) -> None:
    """Parameters.parameter.part is a Parameters.parameter as the base defines it: the profile's slicing of
    `part` (min 2) does not apply again to the parts of a part."""
    profile = differential_profile(
        "params-two-parts",
        "Parameters",
        [
            {"id": "Parameters.parameter", "path": "Parameters.parameter"},
            {
                "id": "Parameters.parameter.part",
                "path": "Parameters.parameter.part",
                "min": 2,
                "slicing": {"discriminator": [{"type": "value", "path": "name"}], "rules": "open"},
            },
            {"id": "Parameters.parameter.part:a", "path": "Parameters.parameter.part", "sliceName": "a", "min": 1},
            {"id": "Parameters.parameter.part:a.name", "path": "Parameters.parameter.part.name", "fixedString": "a"},
            {"id": "Parameters.parameter.part:a.part", "path": "Parameters.parameter.part.part", "max": "0"},
        ],
    )
    instance = {
        "resourceType": "Parameters",
        "meta": {"profile": [TEST_BASE + "params-two-parts"]},
        "parameter": [{"name": "p", "part": [{"name": "a", "valueString": "x"}, {"name": "b", "valueString": "y"}]}],
    }
    assert not rules(validate_with(tmp_path, instance, [profile]))
    instance["parameter"][0]["part"] = [{"name": "a", "valueString": "x"}]
    assert rules(validate_with(tmp_path, instance, [profile])) == {"Validation_VAL_Profile_Minimum"}


def test_inherited_obligations_come_from_an_obligation_profile_on_the_same_base(tmp_path: Path) -> None:
    flag = [{"url": "http://hl7.org/fhir/StructureDefinition/obligation-profile", "valueBoolean": True}]
    base = differential_profile("pat-base", "Patient", [{"id": "Patient", "path": "Patient"}])
    on_base = differential_profile("pat-op1", "Patient", [{"id": "Patient", "path": "Patient"}], extension=flag)
    on_base["baseDefinition"] = TEST_BASE + "pat-base"
    elsewhere = differential_profile("pat-op2", "Patient", [{"id": "Patient", "path": "Patient"}], extension=flag)
    plain = differential_profile("pat-plain", "Patient", [{"id": "Patient", "path": "Patient"}])
    plain["baseDefinition"] = TEST_BASE + "pat-base"

    def inheriting(*names: str) -> dict[str, object]:
        inherit = "http://hl7.org/fhir/StructureDefinition/inherit-obligations"
        extensions = [{"url": inherit, "valueCanonical": TEST_BASE + name} for name in names]
        sd = differential_profile("pat-op3", "Patient", [{"id": "Patient.active", "path": "Patient.active", "min": 1}])
        return {**sd, "baseDefinition": TEST_BASE + "pat-base", "extension": extensions}

    loaded = [base, on_base, elsewhere, plain]
    assert not rules(validate_with(tmp_path, inheriting("pat-op1"), loaded))
    found = validate_with(tmp_path, inheriting("pat-op1", "pat-plain", "pat-op2"), loaded)
    assert {(f.rule, f.location) for f in found if f.severity.is_failure} == {
        ("SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_TYPE", "StructureDefinition.extension[1]"),
        ("SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_BASE", "StructureDefinition.extension[2]"),
    }
