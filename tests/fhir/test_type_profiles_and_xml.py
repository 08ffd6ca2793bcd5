"""A profile naming an unknown profile on a data type (SHALL: an error, as the reference validator, unless a
declared package that is missing would define it), and XML primitives holding elements other than extensions
(SHALL: an error, e.g. a script element smuggled into a string)."""

from __future__ import annotations

from pathlib import Path

from fhir_helpers import TEST_BASE, differential_profile, rules, validate_with


def test_unknown_profile_on_a_data_type_is_an_error(tmp_path: Path) -> None:
    element = {
        "path": "Patient.identifier",
        "type": [{"code": "Identifier", "profile": ["http://fhir.acme.test/StructureDefinition/no-such-identifier"]}],
    }
    profile = differential_profile("typed-identifier", "Patient", [element])
    patient = {
        "resourceType": "Patient",
        "meta": {"profile": [TEST_BASE + "typed-identifier"]},
        "identifier": [{"system": "urn:oid:1.2.3", "value": "1"}],
    }
    assert rules(validate_with(tmp_path, patient, [profile])) == {"Validation_VAL_Profile_Unknown_Type"}
    del patient["identifier"]
    assert not rules(validate_with(tmp_path, patient, [profile]))


def test_xml_primitive_with_a_child_element_other_than_extension(tmp_path: Path) -> None:
    bad = '<Patient xmlns="http://hl7.org/fhir"><name><text value="A"><script>x</script></text></name></Patient>'
    assert rules(validate_with(tmp_path, bad)) == {"Undefined_element_"}
    good = (
        '<Patient xmlns="http://hl7.org/fhir"><name><text value="A">'
        '<extension url="http://hl7.org/fhir/StructureDefinition/data-absent-reason"><valueCode value="unknown"/>'
        "</extension></text></name></Patient>"
    )
    assert not rules(validate_with(tmp_path, good))


def test_required_slice_of_an_absent_element_is_missing(tmp_path: Path) -> None:
    """SHALL: a slice with a minimum is required even when its element is absent altogether."""
    elements = [
        {
            "path": "Patient.identifier",
            "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"},
        },
        {"path": "Patient.identifier", "sliceName": "ins", "min": 1},
        {"path": "Patient.identifier.system", "min": 1, "fixedUri": "urn:oid:1.2.3.4.5"},
    ]
    profile = differential_profile("needs-ins", "Patient", elements)
    patient = {"resourceType": "Patient", "meta": {"profile": [TEST_BASE + "needs-ins"]}}
    assert rules(validate_with(tmp_path, patient, [profile])) == {"Validation_VAL_Profile_Minimum"}
    patient["identifier"] = [{"system": "urn:oid:1.2.3.4.5", "value": "1"}]
    assert not rules(validate_with(tmp_path, patient, [profile]))


def test_member_of_in_a_profile_invariant(tmp_path: Path) -> None:
    """SHALL: an invariant using FHIRPath memberOf() is judged against the value set (loaded with --ig)."""
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/low",
        "status": "active",
        "compose": {
            "include": [{"system": "http://hl7.org/fhir/allergy-intolerance-criticality", "concept": [{"code": "low"}]}]
        },
    }
    constraint = {
        "key": "mo-1",
        "severity": "error",
        "human": "in the value set",
        "expression": "memberOf('http://example.org/fhir/ValueSet/low')",
    }
    profile = differential_profile("low-basic", "Basic", [{"path": "Basic.code", "constraint": [constraint]}])

    def basic(code: str) -> dict:
        coding = {"system": "http://hl7.org/fhir/allergy-intolerance-criticality", "code": code}
        return {"resourceType": "Basic", "meta": {"profile": [TEST_BASE + "low-basic"]}, "code": {"coding": [coding]}}

    assert rules(validate_with(tmp_path, basic("high"), [profile, value_set])) == {"mo-1"}
    assert not rules(validate_with(tmp_path, basic("low"), [profile, value_set]))


def test_display_must_be_the_concept_display_or_a_designation(tmp_path: Path) -> None:
    """SHALL (reference validator: Wrong Display Name): checked against the local code system."""

    def patient(display: str) -> dict:
        coding = {"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C", "display": display}
        return {"resourceType": "Patient", "contact": [{"relationship": [{"coding": [coding]}], "name": {"text": "A"}}]}

    assert rules(validate_with(tmp_path, patient("Not the display"))) == {
        "Display_Name_for__should_be_one_of__instead_of"
    }
    assert not rules(validate_with(tmp_path, patient("emergency  contact")))  # case and spacing aside
