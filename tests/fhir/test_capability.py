"""Search parameters where they are named (SHALL, as the reference validator): a CapabilityStatement's searchParam
has the type of its definition; a SearchParameter keeps the type of the one it is derived from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_helpers import rules, validate_with

CLINICAL_STATUS = "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-clinical-status"  # a token in R4


def _statement(param_type: str) -> dict[str, Any]:
    param = {"name": "clinical-status", "definition": CLINICAL_STATUS, "type": param_type}
    return {
        "resourceType": "CapabilityStatement",
        "status": "draft",
        "date": "2024-01-01",
        "kind": "instance",
        "implementation": {"description": "x"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": [{"type": "AllergyIntolerance", "searchParam": [param]}]}],
    }


def test_capability_statement_search_param_type_matches_its_definition(tmp_path: Path) -> None:
    assert rules(validate_with(tmp_path, _statement("date"))) == {"CapabalityStatement_CS_SP_WrongType"}
    assert not rules(validate_with(tmp_path, _statement("token")))


def _derived(param_type: str) -> dict[str, Any]:
    return {
        "resourceType": "SearchParameter",
        "url": "http://example.org/fhir/SearchParameter/org-name",
        "name": "OrgName",
        "derivedFrom": "http://hl7.org/fhir/SearchParameter/Organization-name",  # a string in R4
        "status": "active",
        "description": "x",
        "code": "name",
        "base": ["Organization"],
        "type": param_type,
        "expression": "Organization.name",
    }


def test_derived_search_parameter_keeps_the_type(tmp_path: Path) -> None:
    assert rules(validate_with(tmp_path, _derived("token"))) == {"SEARCHPARAMETER_TYPE_WRONG"}
    assert not rules(validate_with(tmp_path, _derived("string")))


def test_implementation_guide_global_profiles_apply_to_every_resource_of_their_type(tmp_path: Path) -> None:
    """SHALL: a profile an ImplementationGuide declares `global` judges resources that do not claim it."""
    from fhir_helpers import TEST_BASE, differential_profile

    profile = differential_profile("named-patient", "Patient", [{"path": "Patient.name", "min": 1}])
    guide = {
        "resourceType": "ImplementationGuide",
        "url": "http://example.org/fhir/ImplementationGuide/g",
        "name": "G",
        "status": "active",
        "packageId": "example.g",
        "fhirVersion": ["4.0.1"],
        "global": [{"type": "Patient", "profile": TEST_BASE + "named-patient"}],
    }
    patient = {"resourceType": "Patient", "active": True}
    assert rules(validate_with(tmp_path, patient, [profile, guide])) == {"Validation_VAL_Profile_Minimum"}
    assert not rules(validate_with(tmp_path, patient, [profile]))
    assert not rules(validate_with(tmp_path, {**patient, "name": [{"text": "A"}]}, [profile, guide]))
