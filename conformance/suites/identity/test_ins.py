"""INS: search by INS and by traits, FR Core profiles, the INS only with a qualified identity."""

from __future__ import annotations

import pytest

from conformance.sdk import expect, expect_valid, require, resource, verifies
from conformance.sdk.fhir import (
    PROFILE_PATIENT,
    PROFILE_PATIENT_INS,
    has_identifier,
    identity_status,
    ins_identifiers,
    matches,
    search_bundle,
)
from conformance.suites.identity.rules import (
    INS_IDENTIFIER,
    INS_SEARCH_COUNT,
    INS_UNQUALIFIED,
    NO_PATIENT_ON_SERVER,
    TRAITS_SEARCH,
)
from conformance.validation.ins import ins_allowed


def _token(patient) -> str:
    return f"urn:oid:{patient.oid}|{patient.ins}"


def _carries_ins_value(resource_json: dict, value: str) -> bool:
    """The INS value in any identifier, whatever its system (the system is the INS search's requirement)."""
    return any(isinstance(i, dict) and i.get("value") == value for i in resource_json.get("identifier") or [])


@verifies(
    "ins.fhir.search",
    "identity.ins.search",
    title_en="Patients are found by their INS (system urn:oid:1.2.250.1.213.1.4.x)",
)
def test_search_by_ins(fhir_client, qualified_patients):
    """Les patients sont trouvés par leur INS (système urn:oid:1.2.250.1.213.1.4.x)"""
    for patient in qualified_patients:
        token = _token(patient)
        with resource("Patient", patient.ins):
            found = matches(search_bundle(fhir_client.search("Patient", {"identifier": token})), "Patient")
            require(len(found) == 1, INS_SEARCH_COUNT, "Patient.identifier", token=token, count=len(found))
            expect(
                has_identifier(found[0], f"urn:oid:{patient.oid}", patient.ins),
                INS_IDENTIFIER,
                "Patient.identifier",
                token=token,
            )


@verifies(
    "fr-core.patient.search-traits",
    "identity.ins.search",
    title_en="Patients are found by their traits (name, birth date)",
)
def test_search_by_traits(fhir_client, qualified_patients, lang):
    """Les patients sont trouvés par leurs traits (nom, date de naissance)"""
    patient = next((p for p in qualified_patients if p.family and p.birth_date), None)
    if patient is None:
        pytest.skip(
            "pas de traits (family, birth_date) dans [test_data] patients"
            if lang == "fr"
            else "no traits (family, birth_date) in [test_data] patients"
        )
    bundle = search_bundle(fhir_client.search("Patient", {"family": patient.family, "birthdate": patient.birth_date}))
    found = matches(bundle, "Patient")
    expect(
        any(_carries_ins_value(p, patient.ins) for p in found),
        TRAITS_SEARCH,
        "Patient",
        family=patient.family,
        birth_date=patient.birth_date,
        ins=patient.ins,
        count=len(found),
    )


def _configured_patients_on_server(fhir_client, configured_patients) -> list[dict]:
    """The configured qualified test patients as the server serves them, each once: found by traits or IPP, else
    by INS (a search broken for one of them is its own test's finding, not a reason to judge no profile)."""
    found: dict[str, dict] = {}
    for configured in configured_patients:
        candidates: list[dict] = []
        if configured.family and configured.birth_date:
            params = {"family": configured.family, "birthdate": configured.birth_date}
            candidates = matches(search_bundle(fhir_client.search("Patient", params)), "Patient")
        if configured.ipp:
            token = f"{configured.ipp_system}|{configured.ipp}" if configured.ipp_system else configured.ipp
            candidates += matches(search_bundle(fhir_client.search("Patient", {"identifier": token})), "Patient")
        kept = [c for c in candidates if configured.ipp or _carries_ins_value(c, configured.ins)]
        if not kept:
            bundle = search_bundle(fhir_client.search("Patient", {"identifier": _token(configured)}))
            kept = [c for c in matches(bundle, "Patient") if _carries_ins_value(c, configured.ins)]
        for candidate in kept:
            found.setdefault(str(candidate.get("id")), candidate)
    return list(found.values())


@verifies(
    "fr-core.patient.profile", "identity.ins.profile", title_en="Patients conform to FR Core Patient / PatientINS"
)
def test_patients_conform(fhir_client, fhir_validator, qualified_patients, evidence, lang):
    """Les patients sont conformes à FR Core Patient / PatientINS"""
    patients = _configured_patients_on_server(fhir_client, qualified_patients)
    if not patients:  # the search tests (INS, traits) say why
        pytest.skip(
            "aucun patient de test trouvé (traits, IPP ou INS) : profil non vérifiable"
            if lang == "fr"
            else "no test patient found (traits, IPP or INS): profile cannot be checked"
        )
    for patient in patients:
        profile = PROFILE_PATIENT_INS if ins_identifiers(patient) else PROFILE_PATIENT
        outcome = fhir_validator.validate(patient, profiles=[profile], lang=lang)
        outcome.subject = f"Patient/{patient.get('id')}"
        evidence.outcome(f"validation-patient-{patient.get('id')}.json", outcome)
        expect_valid(outcome)


@verifies(
    "ins.fhir.qualified-only",
    "identity.ins.qualified",
    title_en="The INS is carried only with a qualified identity (VALI)",
)
def test_ins_only_if_qualified(fhir_client, test_data):
    """L'INS n'est porté qu'avec une identité qualifiée (VALI)"""
    patients = matches(search_bundle(fhir_client.search("Patient", {"_count": "100"})), "Patient")
    for configured in test_data.patients:
        if not configured.qualified and configured.ipp:
            token = f"{configured.ipp_system}|{configured.ipp}" if configured.ipp_system else configured.ipp
            patients += matches(search_bundle(fhir_client.search("Patient", {"identifier": token})), "Patient")
    require(patients, NO_PATIENT_ON_SERVER, "Patient")
    for patient in {str(p.get("id")): p for p in patients}.values():
        with resource("Patient", patient.get("id")):
            status = identity_status(patient)
            expect(
                not ins_identifiers(patient) or ins_allowed(status),
                INS_UNQUALIFIED,
                "Patient.identifier",
                status=status or "(absent)",
            )
