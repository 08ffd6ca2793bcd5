"""ITI-67 Find Document References: without and with a status filter, profile, by type, by date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conformance.sdk import expect, expect_valid, require, resource, verifies
from conformance.sdk.fhir import PROFILE_DOCREF, matches, search_bundle
from conformance.suites.documents.rules import (
    ITI67_CURRENT_MISSING,
    ITI67_DATE,
    ITI67_DATE_EXCLUDED,
    ITI67_NONE,
    ITI67_NONE_CURRENT,
    ITI67_OTHER_PATIENT,
    ITI67_STATUS_FILTER,
    ITI67_TYPE,
)


@verifies(
    "pdsm.iti67.find", "documents.pdsm.find", title_en="ITI-67: the patient's documents are found (no status filter)"
)
def test_find_by_patient(document_references, document_patient_id):
    """ITI-67 : les documents du patient sont trouvés (sans filtre de statut)"""
    patient = f"Patient/{document_patient_id}"
    expect(document_references, ITI67_NONE, "DocumentReference", patient=patient)
    for doc in document_references:  # a server that ignores `patient` returns every patient's documents
        with resource("DocumentReference", doc.get("id")):
            subject = str((doc.get("subject") or {}).get("reference") or "(absent)")
            belongs = subject == patient or subject.endswith(f"/{patient}")
            expect(belongs, ITI67_OTHER_PATIENT, "DocumentReference.subject", patient=patient, subject=subject)


@verifies(
    "pdsm.iti67.status",
    "documents.pdsm.find",
    title_en="ITI-67: status=current returns exactly the patient's current documents",
)
def test_find_by_patient_and_status(document_references, current_document_references, document_patient_id):
    """ITI-67 : status=current renvoie exactement les documents courants du patient"""
    patient = f"Patient/{document_patient_id}"
    require(current_document_references, ITI67_NONE_CURRENT, "DocumentReference", patient=patient)
    for doc in current_document_references:
        with resource("DocumentReference", doc.get("id")):
            status = doc.get("status")
            expect(status == "current", ITI67_STATUS_FILTER, "DocumentReference.status", status=status)
    returned = {d.get("id") for d in current_document_references}
    for doc in document_references:
        if doc.get("status") == "current":
            with resource("DocumentReference", doc.get("id")):
                expect(doc.get("id") in returned, ITI67_CURRENT_MISSING, "DocumentReference.status")


@verifies(
    "pdsm.iti67.profile", "documents.pdsm.find", title_en="ITI-67: the DocumentReferences conform to the PDSm profile"
)
def test_document_references_conform(document_references, fhir_validator, evidence, lang):
    """ITI-67 : les DocumentReference sont conformes au profil PDSm"""
    if not document_references:
        pytest.skip("aucun DocumentReference à valider" if lang == "fr" else "no DocumentReference to validate")
    for doc in document_references:
        outcome = fhir_validator.validate(doc, profiles=[PROFILE_DOCREF], lang=lang)
        outcome.subject = f"DocumentReference/{doc.get('id')}"
        evidence.outcome(f"validation-documentreference-{doc.get('id')}.json", outcome)
        expect_valid(outcome)


def _first_current(current_document_references, lang) -> dict:
    if not current_document_references:
        pytest.skip("aucun document courant à rechercher" if lang == "fr" else "no current document to search for")
    return current_document_references[0]


def _found(fhir_client, patient_id: str, doc: dict, **params: str) -> bool:
    bundle = search_bundle(fhir_client.search("DocumentReference", {"patient": f"Patient/{patient_id}", **params}))
    return any(d.get("id") == doc.get("id") for d in matches(bundle, "DocumentReference"))


@verifies("pdsm.iti67.search-type", "documents.pdsm.find", title_en="ITI-67: search by type")
def test_find_by_type(fhir_client, current_document_references, document_patient_id, lang):
    """ITI-67 : recherche par type"""
    doc = _first_current(current_document_references, lang)
    coding = ((doc.get("type") or {}).get("coding") or [{}])[0]
    token = f"{coding.get('system')}|{coding.get('code')}"
    with resource("DocumentReference", doc.get("id")):
        found = _found(fhir_client, document_patient_id, doc, type=token)
        expect(found, ITI67_TYPE, "DocumentReference.type", token=token)


@verifies("pdsm.iti67.search-date", "documents.pdsm.find", title_en="ITI-67: search by date")
def test_find_by_date(fhir_client, current_document_references, document_patient_id, lang):
    """ITI-67 : recherche par date"""
    doc = _first_current(current_document_references, lang)
    text = str(doc.get("date") or "")[:10]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pytest.skip("le document n'a pas de date" if lang == "fr" else "the document has no date")
    # a day's margin either side (the server's time zone may not be the document's); the prefixes must be
    # applied: ge/le a day away match only if they are, lt two days before must leave the document out
    including = (f"ge{day - timedelta(days=1)}", f"le{day + timedelta(days=1)}")
    excluding = f"lt{day - timedelta(days=2)}"
    with resource("DocumentReference", doc.get("id")):
        for criterion in including:
            found = _found(fhir_client, document_patient_id, doc, date=criterion)
            expect(found, ITI67_DATE, "DocumentReference.date", criterion=criterion, date=text)
        found = _found(fhir_client, document_patient_id, doc, date=excluding)
        expect(not found, ITI67_DATE_EXCLUDED, "DocumentReference.date", criterion=excluding, date=text)
