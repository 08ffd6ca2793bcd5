"""INS: search, FR Core profiles, INS only with a qualified identity."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import ConformanceFailure, expect, expect_valid
from conformance.campaign.fhir import (
    PROFILE_PATIENT,
    PROFILE_PATIENT_INS,
    has_identifier,
    identity_status,
    ins_identifiers,
    matches,
    search_bundle,
)
from conformance.findings import Severity, finding

FR_CORE_INS = (
    "FR Core 2.2.0",
    "FRCorePatientINSProfile",
)
INS_GUIDE = ("Référentiel INS (ANS) / FR Core 2.2.0", "INS: OID 1.2.250.1.213.1.4.8 (NIR), .4.9 (NIA), .4.10 (test)")


def _ins_system(patient) -> str:
    return f"urn:oid:{patient.oid}"


def _find_by_ins(fhir_client, patient) -> list[dict]:
    bundle = search_bundle(fhir_client.search("Patient", {"identifier": f"{_ins_system(patient)}|{patient.ins}"}))
    return matches(bundle, "Patient")


@pytest.mark.requirement(*INS_GUIDE, text="Patient?identifier=urn:oid:<INS OID>|<INS> finds the patient")
@pytest.mark.capability("identity.ins.search")
@pytest.mark.title_en("Patients are found by their INS (system urn:oid:1.2.250.1.213.1.4.x)")
def test_search_by_ins(fhir_client, qualified_patients):
    """Les patients sont trouvés par leur INS (système urn:oid:1.2.250.1.213.1.4.x)"""
    problems = []
    for patient in qualified_patients:
        found = _find_by_ins(fhir_client, patient)
        token = f"{_ins_system(patient)}|{patient.ins}"
        if len(found) != 1:
            problems.append(
                finding(
                    Severity.ERROR,
                    "not-found",
                    "ins-search-count",
                    "Patient.identifier",
                    f"{token}: {len(found)} patient(s) trouvé(s) au lieu de 1",
                    f"{token}: {len(found)} patient(s) found instead of 1",
                    source="suite",
                )
            )
        elif not has_identifier(found[0], _ins_system(patient), patient.ins):
            problems.append(
                finding(
                    Severity.ERROR,
                    "value",
                    "ins-identifier-system",
                    "Patient.identifier",
                    f"le patient trouvé ne porte pas l'identifiant {token}",
                    f"the patient found does not carry the identifier {token}",
                    source="suite",
                )
            )
    if problems:
        raise ConformanceFailure(problems)


@pytest.mark.requirement(
    "FR Core 2.2.0",
    "Patient search parameters family, given, birthdate",
    text="A patient is found by its traits (birth name, given name, birth date)",
)
@pytest.mark.capability("identity.ins.search")
@pytest.mark.title_en("Patients are found by their traits (name, birth date)")
def test_search_by_traits(fhir_client, qualified_patients):
    """Les patients sont trouvés par leurs traits (nom, date de naissance)"""
    patient = next((p for p in qualified_patients if p.family and p.birth_date), None)
    if patient is None:
        pytest.skip("pas de traits (family, birth_date) dans [test_data] patients")
    bundle = search_bundle(fhir_client.search("Patient", {"family": patient.family, "birthdate": patient.birth_date}))
    found = matches(bundle, "Patient")
    expect(
        any(has_identifier(p, _ins_system(patient), patient.ins) for p in found),
        "traits-search",
        f"family={patient.family}, birthdate={patient.birth_date}: le patient d'INS {patient.ins} n'est pas trouvé ({len(found)} résultat(s))",
        f"family={patient.family}, birthdate={patient.birth_date}: the patient with INS {patient.ins} is not found ({len(found)} match(es))",
    )


@pytest.mark.requirement(
    *FR_CORE_INS, text="Every Patient carrying an INS conforms to FR Core PatientINS, others to FR Core Patient"
)
@pytest.mark.capability("identity.ins.profile")
@pytest.mark.title_en("Patients conform to FR Core Patient / PatientINS")
def test_patients_conform(fhir_client, fhir_validator, qualified_patients, evidence, lang):
    """Les patients sont conformes à FR Core Patient / PatientINS"""
    outcomes = []
    for patient in qualified_patients:
        for resource in _find_by_ins(fhir_client, patient) or []:
            profile = PROFILE_PATIENT_INS if ins_identifiers(resource) else PROFILE_PATIENT
            outcome = fhir_validator.validate(resource, profiles=[profile], lang=lang)
            outcome.subject = f"Patient/{resource.get('id')}"
            evidence.outcome(f"validation-patient-{resource.get('id')}.json", outcome)
            outcomes.append(outcome)
    expect(outcomes, "ins-no-patient", "aucun patient à valider", "no patient to validate")
    expect_valid(outcomes)


@pytest.mark.requirement(
    "FR Core 2.2.0 / Référentiel INS",
    "fr-core-identity-reliability; PatientINS invariants",
    text="The INS is carried only with a qualified identity (identityStatus VALI)",
)
@pytest.mark.capability("identity.ins.qualified")
@pytest.mark.title_en("The INS is carried only with a qualified identity (VALI)")
def test_ins_only_if_qualified(fhir_client, test_data):
    """L'INS n'est porté qu'avec une identité qualifiée (VALI)"""
    bundle = search_bundle(fhir_client.search("Patient", {"_count": "100"}))
    patients = matches(bundle, "Patient")
    for configured in test_data.patients:
        if not configured.qualified and configured.ipp:
            token = f"{configured.ipp_system}|{configured.ipp}" if configured.ipp_system else configured.ipp
            patients += matches(search_bundle(fhir_client.search("Patient", {"identifier": token})), "Patient")
    expect(patients, "ins-no-patient", "aucun patient sur le serveur", "no patient on the server")
    problems = []
    for resource in patients:
        status = identity_status(resource)
        if ins_identifiers(resource) and status != "VALI":
            problems.append(
                finding(
                    Severity.ERROR,
                    "business-rule",
                    "ins-unqualified",
                    f"Patient/{resource.get('id')}.identifier",
                    f"Patient/{resource.get('id')} porte un INS avec une identité au statut {status or '(absent)'} (VALI exigé)",
                    f"Patient/{resource.get('id')} carries an INS with identity status {status or '(missing)'} (VALI required)",
                    source="suite",
                )
            )
    if problems:
        raise ConformanceFailure(problems)
