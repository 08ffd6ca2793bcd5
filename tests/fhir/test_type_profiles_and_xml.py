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
