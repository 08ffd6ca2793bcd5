"""Warming a validator expands the value sets its base definitions bind: the findings stay those of a cold one."""

from __future__ import annotations

from typing import Any

from conformance.validation.fhir.validator import FhirValidator

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"


def test_warming_expands_the_bound_value_sets_and_changes_no_finding(fhir_context: Any) -> None:
    cold = FhirValidator(fhir_context)
    warm = FhirValidator(fhir_context)
    warm.warm()
    assert GENDER in warm.terminology._expansions and GENDER not in cold.terminology._expansions
    for resource in (
        {"resourceType": "Patient", "id": "p", "gender": "female"},
        {"resourceType": "Patient", "id": "p", "gender": "feminine"},
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "category": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "x"}]}
            ],
        },
    ):
        assert warm.validate(resource, lang="en").findings == cold.validate(resource, lang="en").findings


def test_warm_counts_the_value_sets_found(fhir_context: Any) -> None:
    validator = FhirValidator(fhir_context)
    assert validator.terminology.warm([GENDER, "http://hopen.invalid/ValueSet/none"]) == 1
