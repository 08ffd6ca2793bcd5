"""FR Core 2.2.0: declared-profile validation of its examples, slicing, extensions, bindings, and the known traps."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest


def find(outcome: Any, rule: str) -> list[Any]:
    return [f for f in outcome.findings if f.rule == rule]


def load_json(path: Path) -> dict[str, Any]:
    return copy.deepcopy(orjson.loads(path.read_bytes()))


def rules(outcome: Any, severity: str | None = None) -> set[str]:
    return {f.rule for f in outcome.findings if severity is None or f.severity.value == severity}


FR = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
INS = FR + "fr-core-patient-ins"
RELIABILITY = FR + "fr-core-identity-reliability"


def test_fr_core_examples_are_valid_against_their_profiles(validator: Any, fr_core_dir: Path) -> None:
    examples = sorted((fr_core_dir / "example").glob("*.json"))
    assert len(examples) >= 30
    failures = {}
    for path in examples:
        resource = load_json(path)
        outcome = validator.validate(resource)
        if outcome.errors:
            failures[path.name] = sorted({f.rule for f in outcome.errors})
    # The INS rules (conformance/validation/ins.py), beyond the profiles: this example's INS-NIR 123456789012244
    # under the production OID .8 has no valid NIR key, an error in every channel (HL7 v2, CDA, XDS alike).
    assert failures == {"Patient-FRCorePatientExample.json": ["fr-ins-key"]}


def _ins_patient(status: str, with_ins: bool) -> dict[str, Any]:
    identifiers = [
        {
            "use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PI"}]},
            "system": "urn:oid:1.2.250.1.71.4.2.7",
            "value": "IPP-42",
        }
    ]
    if with_ins:
        identifiers.append(
            {
                "use": "official",
                "type": {
                    "coding": [
                        {"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "code": "INS-NIR"}
                    ]
                },
                "system": "urn:oid:1.2.250.1.213.1.4.8",
                "value": "180022B000001",
            }
        )
    return {
        "resourceType": "Patient",
        "id": "ins",
        "meta": {"profile": [INS]},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "extension": [
            {
                "url": RELIABILITY,
                "extension": [
                    {
                        "url": "identityStatus",
                        "valueCoding": {
                            "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445",
                            "code": status,
                        },
                    },
                ],
            }
        ],
        "identifier": identifiers,
        "name": [{"use": "official", "family": "DURAND", "given": ["ANNE"]}],
        "gender": "female",
        "birthDate": "1980-02-29",
    }


def test_patient_ins_vali_without_ins_fails_fr_core_1(validator: Any) -> None:
    outcome = validator.validate(_ins_patient("VALI", with_ins=False), lang="en")
    issues = find(outcome, "fr-core-1")
    assert issues, [f.render("en") for f in outcome.findings]
    assert issues[0].severity.value == "error" and issues[0].code == "invariant"
    assert issues[0].location == "Patient" and issues[0].profile == INS
    assert "fr-core-1" not in rules(validator.validate(_ins_patient("VALI", with_ins=True)))
    assert "fr-core-1" not in rules(validator.validate(_ins_patient("PROV", with_ins=False)))


def test_unresolvable_national_value_set_is_informational(validator: Any) -> None:
    patient = _ins_patient("PROV", with_ins=False)
    patient["meta"]["profile"] = [FR + "fr-core-patient"]
    # a name outside the usual/official slices is checked against the element's type profile fr-core-human-name
    patient["name"].append({"family": "DURAND", "prefix": ["MME"]})
    outcome = validator.validate(patient, lang="en")
    national = [f for f in outcome.findings if "JDV_J245-Civilite-CISIS" in f.message_en]
    assert national, [f.render("en") for f in outcome.findings]
    assert all(f.severity.value == "information" for f in national)
    assert all(f.location == "Patient.name[1].prefix[0]" for f in national)
    assert outcome.is_valid, [f.render("en") for f in outcome.errors]


def test_encounter_fixed_pre_admission_identifier_system(validator: Any, fr_core_dir: Path) -> None:
    encounter = load_json(fr_core_dir / "example" / "Encounter-FRCoreEncounterExample.json")
    assert validator.validate(encounter).is_valid
    encounter = copy.deepcopy(encounter)
    encounter.setdefault("hospitalization", {})["preAdmissionIdentifier"] = {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "VN"}]},
        "system": "urn:oid:1.2.250.1.71.4.2.2",
        "value": "PA-1",
    }
    outcome = validator.validate(encounter, lang="en")
    issue = find(outcome, "_DT_Fixed_Wrong")
    assert issue and issue[0].severity.value == "error"
    assert issue[0].location == "Encounter.hospitalization.preAdmissionIdentifier.system"
    assert "1.2.250.1.71.4.2.2+.n°FINESS" in issue[0].message_en


def test_slice_minimum_from_value_discriminators(validator: Any, fr_core_dir: Path) -> None:
    bp = load_json(fr_core_dir / "example" / "Observation-FRCoreObservationBPExample.json")
    assert validator.validate(bp).is_valid
    bp["component"][0]["code"]["coding"][0]["code"] = "0000-0"
    outcome = validator.validate(bp, lang="en")
    minimum = [f for f in find(outcome, "Validation_VAL_Profile_Minimum") if "SystolicBP" in f.message_en]
    assert minimum and minimum[0].severity.value == "error" and minimum[0].location == "Observation"


def test_pattern_partial_match_on_codeable_concept(validator: Any) -> None:
    bp_profile = "http://hl7.org/fhir/StructureDefinition/bp"
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure"},
                {"system": "http://example.org/local", "code": "BP"},
            ],
            "text": "BP",
        },
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2020-01-01",
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {
                    "value": 120,
                    "unit": "mmHg",
                    "system": "http://unitsofmeasure.org",
                    "code": "mm[Hg]",
                },
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 80, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
            },
        ],
    }
    assert validator.validate(observation, profiles=[bp_profile]).is_valid, [
        f.render("en") for f in validator.validate(observation, profiles=[bp_profile]).errors
    ]
    wrong = copy.deepcopy(observation)
    wrong["code"]["coding"] = [{"system": "http://loinc.org", "code": "0000-0"}]
    outcome = validator.validate(wrong, profiles=[bp_profile], lang="en")
    minimum = [f for f in find(outcome, "Validation_VAL_Profile_Minimum") if "BPCode" in f.message_en]
    assert minimum and minimum[0].location == "Observation.code"


def test_extensions(validator: Any) -> None:
    base = {
        "resourceType": "Patient",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
    }
    unknown = dict(base, extension=[{"url": "https://hopital.invalid/ext/inconnue", "valueString": "x"}])
    issue = find(validator.validate(unknown), "Extension_EXT_Unknown_NotHere")
    assert issue and issue[0].severity.value == "error" and issue[0].location == "Patient.extension[0]"
    example = dict(base, extension=[{"url": "http://example.org/ext", "valueString": "x"}])
    outcome = validator.validate(example)
    assert outcome.is_valid and find(outcome, "Extension_EXT_Unknown")[0].severity.value == "information"
    wrong_type = dict(
        base, extension=[{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "Paris"}]
    )
    issue = find(validator.validate(wrong_type), "Extension_EXT_Type")
    assert issue and issue[0].severity.value == "error"
    right = dict(
        base,
        extension=[
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "Paris"}}
        ],
    )
    assert validator.validate(right).is_valid
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "text": base["text"],
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "Paris"}}
        ],
    }
    issue = find(validator.validate(observation), "Extension_EXTP_Context_Wrong")
    assert issue and issue[0].location == "Observation.extension[0]"


def test_bindings_by_strength(validator: Any) -> None:
    text = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}
    required = {"resourceType": "Patient", "text": text, "gender": "robot"}
    issue = find(validator.validate(required), "Terminology_TX_NoValid_16")
    assert issue and (issue[0].severity.value, issue[0].code, issue[0].location) == (
        "error",
        "code-invalid",
        "Patient.gender",
    )
    extensible = {
        "resourceType": "Patient",
        "text": text,
        "maritalStatus": {"coding": [{"system": "http://example.org/cs", "code": "Z"}]},
    }
    issue = find(validator.validate(extensible), "Terminology_TX_NoValid_2_CC")
    assert issue and issue[0].severity.value == "warning" and issue[0].location == "Patient.maritalStatus"
    unknown_code = {
        "resourceType": "Patient",
        "text": text,
        "maritalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "ZZ"}]
        },
    }
    issue = find(validator.validate(unknown_code), "Terminology_TX_Code_Unknown")
    assert issue and issue[0].severity.value == "error" and issue[0].location == "Patient.maritalStatus.coding[0].code"
    value_set_as_system = {
        "resourceType": "Patient",
        "text": text,
        "maritalStatus": {"coding": [{"system": "http://hl7.org/fhir/ValueSet/marital-status", "code": "M"}]},
    }
    issue = find(validator.validate(value_set_as_system), "Terminology_TX_System_ValueSet2")
    assert issue and issue[0].severity.value == "error" and issue[0].location == "Patient.maritalStatus.coding[0]"
    good = {
        "resourceType": "Patient",
        "text": text,
        "maritalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]
        },
    }
    assert validator.validate(good).findings == [] or validator.validate(good).is_valid


@pytest.mark.parametrize("strength", ["preferred", "example"])
def test_weak_bindings_never_fail(validator: Any, strength: str) -> None:
    # Observation.interpretation is extensible, Observation.code is example: neither may produce an error
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "code": {"coding": [{"system": "http://example.org/cs", "code": "anything"}]},
    }
    assert validator.validate(observation).is_valid


def test_unknown_sub_extension_of_a_complex_extension(validator: Any) -> None:
    patient = _ins_patient("PROV", with_ins=False)
    patient["extension"][0]["extension"].append({"url": "identityStatuss", "valueString": "x"})
    outcome = validator.validate(patient)
    issue = find(outcome, "Extension_EXT_SubExtension_Invalid")
    assert issue and issue[0].severity.value == "error" and issue[0].location == "Patient.extension[0].extension[1]"
    assert "Extension_EXT_SubExtension_Invalid" not in rules(validator.validate(_ins_patient("PROV", with_ins=False)))
