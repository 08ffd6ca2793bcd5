"""The validator's run state and caches: passes scoped, memos that cannot answer for another object."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from conformance.validation.fhir.run import Run
from conformance.validation.fhir.structure import Constraint
from conformance.validation.fhir.validator import FhirValidator

ITEM = {"id": "x", "status": "final"}


def _constraints(*expressions: str) -> list[Constraint]:
    return [Constraint(f"t-{n}", "error", f"rule {n}", e, "test") for n, e in enumerate(expressions)]


def test_a_remembered_answer_never_serves_a_new_list_at_a_freed_address(fhir_context: Any) -> None:
    """Answers used to be remembered by id(list): a list built later at a freed list's address got the freed
    list's failures. Each new list here holds no failing rule and must be judged on its own."""
    validator = FhirValidator(fhir_context)
    for _ in range(50):
        failing = _constraints("id.exists()", "status.exists()", "false", "true", "true", "true")
        run = Run(lang="en", root=ITEM)
        validator._check_constraints(ITEM, failing, "Item", run, ITEM)
        assert [f.rule for f in run.findings.values()] == ["t-2"]
        del failing
        gc.collect()
        passing = _constraints("id.exists()", "status.exists()", "true", "true", "true", "true")
        run = Run(lang="en", root=ITEM)
        validator._check_constraints(ITEM, passing, "Item", run, ITEM)
        assert not run.findings


def test_memoisability_is_judged_per_list(fhir_context: Any) -> None:
    validator = FhirValidator(fhir_context)
    for _ in range(50):
        outside = _constraints(*["%resource.id.exists()"] * 6)
        assert not validator._is_memoisable(outside)
        del outside
        gc.collect()
        assert validator._is_memoisable(_constraints(*["id.exists()"] * 6))


def test_caches_belong_to_each_validator(fhir_context: Any) -> None:
    first, second = FhirValidator(fhir_context), FhirValidator(fhir_context)
    first.validate({"resourceType": "Patient", "id": "p", "gender": "female"})
    assert first._structures and not second._structures


def test_a_pass_restores_the_run_state_even_when_it_fails() -> None:
    run = Run(lang="fr")
    with pytest.raises(RuntimeError), run.scope(profile="http://example.org/p", base_pass=False, profiled=True):
        assert (run.profile, run.base_pass, run.profiled) == ("http://example.org/p", False, True)
        raise RuntimeError
    assert (run.profile, run.base_pass, run.profiled) == (None, True, False)


def test_cardinality_is_reported_once_with_its_bounds() -> None:
    run = Run(lang="en")
    run.cardinality("Patient.name", 1, 2, 3, "Patient", "http://example.org/p")
    run.cardinality("Patient.name", 1, 2, 0, "Patient", "http://example.org/p")
    run.cardinality("Patient.name", 1, 2, 2, "Patient", "http://example.org/p")
    assert [f.rule for f in run.findings.values()] == [
        "Validation_VAL_Profile_Maximum",
        "Validation_VAL_Profile_Minimum",
    ]


def test_a_percent_sign_inside_a_string_literal_keeps_a_list_memoisable(fhir_context: Any) -> None:
    """eld-19's regex holds a '%': that is no %resource, so ElementDefinitions are remembered by content."""
    validator = FhirValidator(fhir_context)
    assert validator._is_memoisable(_constraints(*["path.matches('[^#$%&]{1,64}')"] * 6))
    assert not validator._is_memoisable(_constraints(*["path = 'a\\'%' and %resource.id.exists()"] * 6))
    assert not validator._is_memoisable(_constraints(*["reference.resolve().exists()"] * 6))


def test_warming_compiles_the_base_definitions_and_changes_no_finding(fhir_context: Any) -> None:
    patient = {"resourceType": "Patient", "id": "p", "gender": "unknown-code", "birthDate": "1980-02-30"}
    cold = FhirValidator(fhir_context).validate(patient)
    warm = FhirValidator(fhir_context)
    assert warm.warm() > 100
    assert "Observation" in warm._structures and "Quantity" in warm._structures
    assert warm.validate(patient).findings == cold.findings


def test_the_resource_type_answer_is_remembered_and_the_same(fhir_context: Any) -> None:
    validator = FhirValidator(fhir_context)
    for _ in range(2):
        assert validator.is_resource_type("Patient")
        assert not validator.is_resource_type("HumanName")
        assert not validator.is_resource_type("patient")
        assert not validator.is_resource_type("")


def test_made_up_resource_types_do_not_grow_the_memory_of_a_long_running_validator(fhir_context: Any) -> None:
    """A validation service judges what systems send for days: resourceType values nobody defined are
    remembered only up to a bound, and the answers stay right past it."""
    validator = FhirValidator(fhir_context)
    for number in range(20_000):
        assert not validator.is_resource_type(f"MadeUp{number}")
    assert len(validator._resource_types) <= 4096
    assert validator.is_resource_type("Observation") and not validator.is_resource_type("MadeUp19999")


def _structure_definition(element_path: str) -> dict[str, Any]:
    bad = {"id": element_path, "path": element_path, "min": 2, "max": "1", "definition": "d"}
    return {
        "resourceType": "StructureDefinition",
        "url": "http://example.org/StructureDefinition/x",
        "name": "X",
        "status": "draft",
        "kind": "logical",
        "abstract": False,
        "type": "X",
        "differential": {
            "element": [
                bad,
                {"id": "X.b", "path": "X.b", "min": 0, "max": "1", "extension": [{}]},
                {"id": "X.c", "path": "X.c", "min": 0, "max": "1", "extension": [_OWNER_READING_EXTENSION]},
            ]
        },
    }


# an extension whose context invariant reads its owner (and %resource): what it gives depends on where it is
_OWNER_READING_EXTENSION = {
    "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-referenceFilter",
    "valueString": "name=x",
}


def test_a_remembered_element_definition_walk_gives_the_findings_of_a_fresh_walk(fhir_context: Any) -> None:
    """The second, third... time an ElementDefinition is met (here inside a Bundle, at another location), its
    findings are replayed at the new location: the same as a validator that never saw it."""
    sd = _structure_definition("X")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": sd}, {"resource": sd}]}
    warm = FhirValidator(fhir_context)
    for resource in (sd, bundle, sd):
        fresh = FhirValidator(fhir_context).validate(resource, lang="en")
        again = warm.validate(resource, lang="en")
        assert again.findings == fresh.findings and again.details == fresh.details
        assert any(f.rule == "eld-2" for f in again.findings)
        if resource is bundle:
            replayed = [f.location for f in again.findings if f.rule == "eld-2"]
            assert replayed == [f"Bundle.entry[{n}].resource.differential.element[0]" for n in (0, 1)]
    # the elements whose findings depend on their content alone were remembered (an empty extension among
    # them), the one holding an extension whose context reads its owner was not
    remembered = [key[-1] for key in warm._walks if key[1] == "ElementDefinition"]
    assert any(b'"X.b"' in blob for blob in remembered) and any(b'"X"' in blob for blob in remembered)
    assert not any(b"referenceFilter" in blob for blob in remembered)


def test_remembered_contacts_and_codings_give_the_findings_of_a_fresh_walk(fhir_context: Any) -> None:
    contact = {"name": "HL7", "telecom": [{"system": "pigeon", "value": "http://hl7.org/fhir"}]}
    coding = {"system": "http://loinc.org", "code": " 1234-5"}
    first = {"resourceType": "Observation", "status": "final", "code": {"coding": [coding]}, "id": "a"}
    value_set = {"resourceType": "ValueSet", "status": "draft", "contact": [contact, contact], "id": "b"}
    warm = FhirValidator(fhir_context)
    for resource in (first, value_set, first, value_set):
        fresh = FhirValidator(fhir_context).validate(resource, lang="en")
        again = warm.validate(resource, lang="en")
        assert again.findings == fresh.findings and again.findings
    assert {"ContactDetail", "CodeableConcept"} <= {key[1] for key in warm._walks}


def test_the_valid_texts_stay_bounded_and_the_same_sets(fhir_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk's plans hold each type's set of valid texts: the memo's bound empties those sets instead of
    replacing them, so that they stay bounded, and a text judged again after the bound is judged the same."""
    from conformance.validation.fhir import datatypes

    monkeypatch.setattr(datatypes, "_MEMO_MAX", 5)
    validator = FhirValidator(fhir_context)
    uris = datatypes.valid_texts("uri")
    for n in range(20):
        outcome = validator.validate({"resourceType": "Patient", "implicitRules": f"urn:x:{n}", "active": True})
        assert "Type_Specific_Checks_DT_URI_WS" not in {f.rule for f in outcome.findings}
        assert f"urn:x:{n}" in uris
        assert datatypes.valid_texts("uri") is uris
        assert len(uris) <= 5
    bad = validator.validate({"resourceType": "Patient", "implicitRules": "urn:x: 1", "active": True})
    assert "Type_Specific_Checks_DT_URI_WS" in {f.rule for f in bad.findings}
