"""Slicing rules on hand-made profiles: closed / open / openAtEnd, ordered, slice cardinality, reslicing, and the
discriminator types value, pattern, exists, type and profile."""

from __future__ import annotations

import copy
from typing import Any

import pytest


def find(outcome: Any, rule: str) -> list[Any]:
    return [f for f in outcome.findings if f.rule == rule]


BASE = "http://example.org/fhir/StructureDefinition/"
DIV = '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'


class ExtendedContext:
    """The real context plus a few test StructureDefinitions (test-only, not a package loader)."""

    def __init__(self, base: Any, extra: list[dict[str, Any]]) -> None:
        self._base = base
        self._extra = {sd["url"]: sd for sd in extra}
        self.missing = base.missing

    def structure_definition(self, url_or_type: str) -> dict[str, Any] | None:
        return self._extra.get(url_or_type) or self._base.structure_definition(url_or_type)

    def resolve(self, url: str) -> dict[str, Any] | None:
        return self._extra.get(url) or self._base.resolve(url)

    def value_set(self, url: str) -> dict[str, Any] | None:
        return self._base.value_set(url)

    def code_system(self, url: str) -> dict[str, Any] | None:
        return self._base.code_system(url)


def _profile(
    base_sd: dict[str, Any], name: str, element_id: str, slicing: dict[str, Any], slices: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    """A constraint on `base_sd` slicing `element_id`; each slice is its list of snapshot elements."""
    sd = copy.deepcopy(base_sd)
    sd.update({"url": BASE + name, "name": name, "derivation": "constraint", "baseDefinition": base_sd["url"]})
    sd.pop("differential", None)
    elements = sd["snapshot"]["element"]
    index = next(i for i, e in enumerate(elements) if e["id"] == element_id)
    elements[index]["slicing"] = slicing
    position = index + 1
    while position < len(elements) and elements[position]["id"].startswith(element_id + "."):
        position += 1
    inserted = [element for slice_elements in slices for element in slice_elements]
    sd["snapshot"]["element"] = elements[:position] + inserted + elements[position:]
    return sd


def _identifier_slice(name: str, system: str, minimum: int, maximum: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"Patient.identifier:{name}",
            "path": "Patient.identifier",
            "sliceName": name,
            "min": minimum,
            "max": maximum,
            "base": {"path": "Patient.identifier", "min": 0, "max": "*"},
            "type": [{"code": "Identifier"}],
        },
        {
            "id": f"Patient.identifier:{name}.system",
            "path": "Patient.identifier.system",
            "min": 1,
            "max": "1",
            "base": {"path": "Identifier.system", "min": 0, "max": "1"},
            "type": [{"code": "uri"}],
            "fixedUri": system,
        },
    ]


A, B = "urn:oid:1.2.3.1", "urn:oid:1.2.3.2"


@pytest.fixture(scope="module")
def slicing_validator(fhir_context: Any) -> Any:
    from conformance.validation.fhir import FhirValidator

    patient_sd = fhir_context.structure_definition("Patient")
    observation_sd = fhir_context.structure_definition("Observation")
    disc = [{"type": "value", "path": "system"}]
    profiles = [
        _profile(
            patient_sd,
            "closed",
            "Patient.identifier",
            {"discriminator": disc, "rules": "closed"},
            [_identifier_slice("a", A, 1, "1"), _identifier_slice("b", B, 0, "1")],
        ),
        _profile(
            patient_sd,
            "ordered",
            "Patient.identifier",
            {"discriminator": disc, "rules": "open", "ordered": True},
            [_identifier_slice("a", A, 0, "1"), _identifier_slice("b", B, 0, "1")],
        ),
        _profile(
            patient_sd,
            "atend",
            "Patient.identifier",
            {"discriminator": disc, "rules": "openAtEnd"},
            [_identifier_slice("a", A, 0, "*")],
        ),
        _profile(
            patient_sd,
            "exists",
            "Patient.identifier",
            {"discriminator": [{"type": "exists", "path": "period"}], "rules": "closed"},
            [
                [
                    {
                        "id": "Patient.identifier:dated",
                        "path": "Patient.identifier",
                        "sliceName": "dated",
                        "min": 1,
                        "max": "1",
                        "base": {"path": "Patient.identifier", "min": 0, "max": "*"},
                        "type": [{"code": "Identifier"}],
                    },
                    {
                        "id": "Patient.identifier:dated.period",
                        "path": "Patient.identifier.period",
                        "min": 1,
                        "max": "1",
                        "base": {"path": "Identifier.period", "min": 0, "max": "1"},
                        "type": [{"code": "Period"}],
                    },
                ]
            ],
        ),
        _profile(
            observation_sd,
            "typed",
            "Observation.value[x]",
            {"discriminator": [{"type": "type", "path": "$this"}], "rules": "closed"},
            [
                [
                    {
                        "id": "Observation.value[x]:valueQuantity",
                        "path": "Observation.value[x]",
                        "sliceName": "valueQuantity",
                        "min": 1,
                        "max": "1",
                        "base": {"path": "Observation.value[x]", "min": 0, "max": "1"},
                        "type": [{"code": "Quantity"}],
                    }
                ]
            ],
        ),
        _profile(
            observation_sd,
            "pattern",
            "Observation.category",
            {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"},
            [
                [
                    {
                        "id": "Observation.category:vs",
                        "path": "Observation.category",
                        "sliceName": "vs",
                        "min": 1,
                        "max": "1",
                        "base": {"path": "Observation.category", "min": 0, "max": "*"},
                        "type": [{"code": "CodeableConcept"}],
                        "patternCodeableConcept": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        },
                    }
                ]
            ],
        ),
    ]
    # reslicing: slice a of `closed` resliced by use
    resliced = copy.deepcopy(profiles[1])
    resliced.update({"url": BASE + "resliced", "name": "resliced"})
    elements = resliced["snapshot"]["element"]
    a_index = next(i for i, e in enumerate(elements) if e["id"] == "Patient.identifier:a")
    elements[a_index]["max"] = "*"
    elements[a_index]["slicing"] = {"discriminator": [{"type": "value", "path": "use"}], "rules": "open"}
    elements.insert(
        a_index + 2,
        {
            "id": "Patient.identifier:a/official",
            "path": "Patient.identifier",
            "sliceName": "a/official",
            "min": 1,
            "max": "1",
            "base": {"path": "Patient.identifier", "min": 0, "max": "*"},
            "type": [{"code": "Identifier"}],
        },
    )
    elements.insert(
        a_index + 3,
        {
            "id": "Patient.identifier:a/official.use",
            "path": "Patient.identifier.use",
            "min": 1,
            "max": "1",
            "base": {"path": "Identifier.use", "min": 0, "max": "1"},
            "type": [{"code": "code"}],
            "fixedCode": "official",
        },
    )
    profiles.append(resliced)
    return FhirValidator(ExtendedContext(fhir_context, profiles))


def _patient(*systems: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "text": {"status": "generated", "div": DIV},
        "identifier": [{"system": s, "value": "1"} for s in systems],
        **extra,
    }


def test_closed_slicing(slicing_validator: Any) -> None:
    assert slicing_validator.validate(_patient(A, B), profiles=[BASE + "closed"]).is_valid
    outcome = slicing_validator.validate(_patient(A, "urn:oid:9.9"), profiles=[BASE + "closed"])
    issue = find(outcome, "Validation_VAL_Profile_NotSlice")
    assert issue and issue[0].severity.value == "error" and issue[0].location == "Patient.identifier[1]"
    assert issue[0].profile == BASE + "closed"


def test_slice_cardinality(slicing_validator: Any) -> None:
    outcome = slicing_validator.validate(_patient(B), profiles=[BASE + "closed"], lang="en")
    issue = find(outcome, "Validation_VAL_Profile_Minimum")
    assert issue and "Patient.identifier:a" in issue[0].message_en and issue[0].location == "Patient"
    outcome = slicing_validator.validate(_patient(A, A), profiles=[BASE + "closed"], lang="en")
    issue = find(outcome, "Validation_VAL_Profile_Maximum")
    assert issue and "Patient.identifier:a" in issue[0].message_en


def test_ordered_slicing(slicing_validator: Any) -> None:
    assert slicing_validator.validate(_patient(A, B), profiles=[BASE + "ordered"]).is_valid
    outcome = slicing_validator.validate(_patient(B, A), profiles=[BASE + "ordered"])
    issue = find(outcome, "Validation_VAL_Profile_SliceOrder")
    assert issue and issue[0].location == "Patient.identifier[1]"


def test_open_at_end(slicing_validator: Any) -> None:
    outcome = slicing_validator.validate(_patient(A, A, "urn:oid:9.9"), profiles=[BASE + "atend"])
    assert outcome.is_valid
    assert find(outcome, "This_element_does_not_match_any_known_slice_")[0].severity.value == "information"
    outcome = slicing_validator.validate(_patient("urn:oid:9.9", A), profiles=[BASE + "atend"])
    assert find(outcome, "Validation_VAL_Profile_OpenAtEnd")[0].location == "Patient.identifier[1]"


def test_exists_discriminator(slicing_validator: Any) -> None:
    dated = _patient(A)
    dated["identifier"][0]["period"] = {"start": "2020-01-01"}
    assert slicing_validator.validate(dated, profiles=[BASE + "exists"]).is_valid
    outcome = slicing_validator.validate(_patient(A), profiles=[BASE + "exists"])
    assert find(outcome, "Validation_VAL_Profile_NotSlice")


def _observation(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "text": {"status": "generated", "div": DIV},
        "status": "final",
        "code": {"text": "x"},
        **extra,
    }


def test_type_discriminator(slicing_validator: Any) -> None:
    quantity = {"value": 1, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert slicing_validator.validate(_observation(valueQuantity=quantity), profiles=[BASE + "typed"]).is_valid
    outcome = slicing_validator.validate(_observation(valueString="x"), profiles=[BASE + "typed"])
    assert find(outcome, "Validation_VAL_Profile_NotSlice") or find(outcome, "Validation_VAL_Profile_Minimum")


def test_pattern_discriminator_matches_partially(slicing_validator: Any) -> None:
    category = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
                "display": "Vital Signs",
            }
        ],
        "text": "VS",
    }
    assert slicing_validator.validate(_observation(category=[category]), profiles=[BASE + "pattern"]).is_valid
    other = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
    outcome = slicing_validator.validate(_observation(category=[other]), profiles=[BASE + "pattern"], lang="en")
    issue = find(outcome, "Validation_VAL_Profile_Minimum")
    assert issue and "Observation.category:vs" in issue[0].message_en


def test_reslicing(slicing_validator: Any) -> None:
    official = _patient(A)
    official["identifier"][0]["use"] = "official"
    assert slicing_validator.validate(official, profiles=[BASE + "resliced"]).is_valid
    outcome = slicing_validator.validate(_patient(A), profiles=[BASE + "resliced"], lang="en")
    issue = find(outcome, "Validation_VAL_Profile_Minimum")
    assert issue and "Patient.identifier:a/official" in issue[0].message_en


def test_profile_max_length_and_regex(fhir_context: Any) -> None:
    from conformance.validation.fhir import FhirValidator

    sd = copy.deepcopy(fhir_context.structure_definition("Patient"))
    sd.update({"url": BASE + "short-family", "name": "ShortFamily", "derivation": "constraint"})
    regex = {"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "19[0-9]{2}-.*"}
    for element in sd["snapshot"]["element"]:
        if element["id"] == "Patient.gender":
            element["maxLength"] = 5
        if element["id"] == "Patient.birthDate":
            element["extension"] = [regex]
    validator = FhirValidator(ExtendedContext(fhir_context, [sd]))
    good = {
        "resourceType": "Patient",
        "text": {"status": "generated", "div": DIV},
        "birthDate": "1980-01-01",
        "gender": "male",
    }
    assert validator.validate(good, profiles=[BASE + "short-family"]).is_valid
    bad = dict(good, birthDate="2001-01-01", gender="unknown")
    outcome = validator.validate(bad, profiles=[BASE + "short-family"])
    assert find(outcome, "Type_Specific_Checks_DT_Primitive_Length")[0].location == "Patient.gender"
    assert find(outcome, "Type_Specific_Checks_DT_Primitive_Regex")[0].location == "Patient.birthDate"


def test_profile_discriminator(fhir_context: Any) -> None:
    from conformance.validation.fhir import FhirValidator

    identifier = copy.deepcopy(fhir_context.structure_definition("Identifier"))
    identifier.update({"url": BASE + "ins-identifier", "name": "InsIdentifier", "derivation": "constraint"})
    for element in identifier["snapshot"]["element"]:
        if element["id"] == "Identifier.system":
            element["fixedUri"] = A
            element["min"] = 1
    patient_sd = fhir_context.structure_definition("Patient")
    sliced = _profile(
        patient_sd,
        "by-profile",
        "Patient.identifier",
        {"discriminator": [{"type": "profile", "path": "$this"}], "rules": "closed"},
        [
            [
                {
                    "id": "Patient.identifier:ins",
                    "path": "Patient.identifier",
                    "sliceName": "ins",
                    "min": 1,
                    "max": "1",
                    "base": {"path": "Patient.identifier", "min": 0, "max": "*"},
                    "type": [{"code": "Identifier", "profile": [BASE + "ins-identifier"]}],
                }
            ]
        ],
    )
    validator = FhirValidator(ExtendedContext(fhir_context, [identifier, sliced]))
    assert validator.validate(_patient(A), profiles=[BASE + "by-profile"]).is_valid
    outcome = validator.validate(_patient(B), profiles=[BASE + "by-profile"], lang="en")
    assert find(outcome, "Validation_VAL_Profile_NotSlice")[0].location == "Patient.identifier[0]"
    assert any("Patient.identifier:ins" in f.message_en for f in find(outcome, "Validation_VAL_Profile_Minimum"))


def test_fixed_complex_value_is_exact(fhir_context: Any) -> None:
    from conformance.validation.fhir import FhirValidator

    sd = copy.deepcopy(fhir_context.structure_definition("Observation"))
    sd.update({"url": BASE + "fixed-code", "name": "FixedCode", "derivation": "constraint"})
    fixed = {"coding": [{"system": "http://loinc.org", "code": "35200-5"}]}
    for element in sd["snapshot"]["element"]:
        if element["id"] == "Observation.code":
            element["fixedCodeableConcept"] = fixed
    validator = FhirValidator(ExtendedContext(fhir_context, [sd]))
    assert validator.validate(_observation(code=copy.deepcopy(fixed)), profiles=[BASE + "fixed-code"]).is_valid
    extra = _observation(code={"coding": [{"system": "http://loinc.org", "code": "35200-5"}], "text": "Cholesterol"})
    issue = find(validator.validate(extra, profiles=[BASE + "fixed-code"]), "Profile_VAL_NotAllowed")
    assert issue and issue[0].location == "Observation.code.text"
    wrong = _observation(code={"coding": [{"system": "http://loinc.org", "code": "13457-7"}]})
    issue = find(validator.validate(wrong, profiles=[BASE + "fixed-code"]), "_DT_Fixed_Wrong")
    assert issue and issue[0].location == "Observation.code.coding[0].code" and issue[0].code == "value"
