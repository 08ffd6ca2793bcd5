"""Bundle entry rules (SHALL): a fullUrl on every entry outside transactions and batches, absolute, matching the
resource's type and id when RESTful; relative references resolved against the holding entry's fullUrl; the
resource types a profile allows in Bundle.entry.resource. Also value rules met in Bundles: invalid references,
urn:uuid values, the 1 MB string limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_helpers import TEST_BASE, differential_profile, rules, validate_with


def _bundle(entries: list[dict[str, Any]], bundle_type: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


def test_relative_full_url_is_an_error(tmp_path: Path) -> None:
    bundle = _bundle([{"fullUrl": "Patient/1", "resource": {"resourceType": "Patient", "id": "1"}}])
    assert rules(validate_with(tmp_path, bundle)) == {"BUNDLE_ENTRY_URL_ABSOLUTE"}


def test_restful_full_url_must_end_with_type_and_id(tmp_path: Path) -> None:
    wrong = {"fullUrl": "http://server.org/fhir/Patient/2", "resource": {"resourceType": "Patient", "id": "1"}}
    assert rules(validate_with(tmp_path, _bundle([wrong]))) == {"BUNDLE_ENTRY_URL_MATCHES_TYPE_ID"}
    no_id = {"fullUrl": "http://server.org/fhir/Patient/2", "resource": {"resourceType": "Patient"}}
    assert rules(validate_with(tmp_path, _bundle([no_id]))) == {"BUNDLE_ENTRY_URL_MATCHES_NO_ID"}
    right = {"fullUrl": "http://server.org/fhir/Patient/1", "resource": {"resourceType": "Patient", "id": "1"}}
    urn = {"fullUrl": "urn:uuid:3d4f7f5a-7d0b-4f56-9d55-0d6d2d1c7a10", "resource": {"resourceType": "Patient"}}
    assert not rules(validate_with(tmp_path, _bundle([right, urn])))


def test_full_url_is_required_except_in_transactions_and_batches(tmp_path: Path) -> None:
    patient = {"resource": {"resourceType": "Patient", "id": "1"}}
    for bundle_type in ("collection", "searchset", "document", "history"):
        found = validate_with(tmp_path, _bundle([patient], bundle_type))
        assert "BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED" in rules(found), bundle_type
        assert any(f.location == "Bundle.entry[0]" for f in found if f.rule == "BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED")
    deleted = {"request": {"method": "DELETE", "url": "Patient/1"}, "response": {"status": "200"}}
    assert "BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED" in rules(validate_with(tmp_path, _bundle([deleted], "history")))
    for bundle_type in ("transaction", "batch"):
        entry = {**patient, "request": {"method": "PUT", "url": "Patient/1"}}
        found = validate_with(tmp_path, _bundle([entry], bundle_type))
        assert "BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED" not in rules(found), bundle_type


UUID = "5d9588d8-3cd6-4b32-8fb7-ad13694e069d"


def test_relative_reference_resolves_against_the_urn_base_of_its_entry(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "generalPractitioner": [{"reference": f"Practitioner/{UUID}"}]}
    holder = {"fullUrl": "urn:uuid:54fc3e09-e279-4b74-a8ff-2649ec968642", "resource": patient}
    organization = {"fullUrl": f"urn:uuid:{UUID}", "resource": {"resourceType": "Organization", "name": "x"}}
    assert "Reference_REF_ResourceType" in rules(validate_with(tmp_path, _bundle([holder, organization])))
    practitioner = {"fullUrl": f"urn:uuid:{UUID}", "resource": {"resourceType": "Practitioner"}}
    assert not rules(validate_with(tmp_path, _bundle([holder, practitioner])))


def test_profile_limits_the_resource_types_of_entries(tmp_path: Path) -> None:
    element = {
        "path": "Bundle.entry.resource",
        "type": [{"code": "Resource", "profile": ["http://hl7.org/fhir/StructureDefinition/DocumentManifest"]}],
    }
    profile = differential_profile("manifest-bundle", "Bundle", [element])
    patient = {"resourceType": "Patient", "id": "p1"}
    bundle = _bundle([{"fullUrl": "http://acme.com/Patient/p1", "resource": patient}])
    bundle["meta"] = {"profile": [TEST_BASE + "manifest-bundle"]}
    assert rules(validate_with(tmp_path, bundle, [profile])) == {"Validation_VAL_Profile_Resource_WrongType"}
    del bundle["meta"]
    assert not rules(validate_with(tmp_path, bundle, [profile]))


def test_reference_with_spaces_is_not_a_valid_reference(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "generalPractitioner": [{"reference": "ht tps://example.org/Practitioner/1"}]}
    assert rules(validate_with(tmp_path, patient)) == {"Reference_REF_NotValid"}


def test_urn_uuid_values_must_be_valid_lowercase_uuids(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "implicitRules": f"urn:uuid:{UUID.upper()}"}
    assert rules(validate_with(tmp_path, patient)) == {"Type_Specific_Checks_DT_UUID_Valid"}
    patient["implicitRules"] = f"urn:uuid:{UUID}"
    assert not rules(validate_with(tmp_path, patient))


def test_strings_longer_than_one_megabyte_are_errors(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "name": [{"text": "a" * (1024 * 1024 + 1)}]}
    assert rules(validate_with(tmp_path, patient)) == {"Type_Specific_Checks_DT_String_Length"}
    patient["name"][0]["text"] = "a" * 1000
    assert not rules(validate_with(tmp_path, patient))


def test_malformed_relative_reference_is_an_error_in_a_bundle_entry_only(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "generalPractitioner": [{"reference": "XXX/_history/1"}]}
    found = validate_with(tmp_path, patient)
    assert not rules(found)
    assert [f.severity.value for f in found if f.rule == "Reference_REF_Suspicious"] == ["warning"]
    entry = {"fullUrl": "urn:uuid:54fc3e09-e279-4b74-a8ff-2649ec968642", "resource": patient}
    assert rules(validate_with(tmp_path, _bundle([entry]))) == {"Reference_REF_Format2"}
