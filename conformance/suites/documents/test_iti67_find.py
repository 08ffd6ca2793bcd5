"""ITI-67 Find Document References."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect, expect_valid
from conformance.campaign.fhir import PROFILE_DOCREF, matches, search_bundle

ITI67 = ("ANS PDSm 3.1.1 / IHE MHD ITI-67", "§2:3.67 Find Document References")


@pytest.mark.requirement(*ITI67, text="DocumentReference?patient=&status=current returns the patient's documents")
@pytest.mark.capability("documents.pdsm.find")
@pytest.mark.title_en("ITI-67: the patient's current documents are found")
def test_find_by_patient_and_status(document_references, document_patient_id):
    """ITI-67 : les documents courants du patient sont trouvés"""
    expect(
        document_references,
        "iti67-none",
        f"aucun DocumentReference courant pour Patient/{document_patient_id}",
        f"no current DocumentReference for Patient/{document_patient_id}",
    )
    for doc in document_references:
        expect(
            doc.get("status") == "current",
            "iti67-status-filter",
            f"DocumentReference/{doc.get('id')} au statut {doc.get('status')}",
            f"DocumentReference/{doc.get('id')} has status {doc.get('status')}",
        )


@pytest.mark.requirement(*ITI67, text="Every DocumentReference returned conforms to the PDSm comprehensive profile")
@pytest.mark.capability("documents.pdsm.find")
@pytest.mark.title_en("ITI-67: the DocumentReferences conform to the PDSm profile")
def test_document_references_conform(document_references, fhir_validator, evidence, lang):
    """ITI-67 : les DocumentReference sont conformes au profil PDSm"""
    expect(document_references, "iti67-none", "aucun DocumentReference à valider", "no DocumentReference to validate")
    outcomes = []
    for doc in document_references:
        outcome = fhir_validator.validate(doc, profiles=[PROFILE_DOCREF], lang=lang)
        outcome.subject = f"DocumentReference/{doc.get('id')}"
        evidence.outcome(f"validation-documentreference-{doc.get('id')}.json", outcome)
        outcomes.append(outcome)
    expect_valid(outcomes)


@pytest.mark.requirement(*ITI67, text="search by type and by date")
@pytest.mark.capability("documents.pdsm.find")
@pytest.mark.title_en("ITI-67: search by type and by date")
def test_find_by_type_and_date(fhir_client, document_references, document_patient_id):
    """ITI-67 : recherche par type et par date"""
    expect(document_references, "iti67-none", "aucun DocumentReference", "no DocumentReference")
    doc = document_references[0]
    coding = ((doc.get("type") or {}).get("coding") or [{}])[0]
    token = f"{coding.get('system')}|{coding.get('code')}"
    by_type = matches(
        search_bundle(
            fhir_client.search("DocumentReference", {"patient": f"Patient/{document_patient_id}", "type": token})
        ),
        "DocumentReference",
    )
    expect(
        any(d.get("id") == doc.get("id") for d in by_type),
        "iti67-type",
        f"type={token}: DocumentReference/{doc.get('id')} non trouvé",
        f"type={token}: DocumentReference/{doc.get('id')} not found",
    )
    date = str(doc.get("date") or "")[:10]
    if date:
        by_date = matches(
            search_bundle(
                fhir_client.search(
                    "DocumentReference", {"patient": f"Patient/{document_patient_id}", "date": f"ge{date}"}
                )
            ),
            "DocumentReference",
        )
        expect(
            any(d.get("id") == doc.get("id") for d in by_date),
            "iti67-date",
            f"date=ge{date}: DocumentReference/{doc.get('id')} non trouvé",
            f"date=ge{date}: DocumentReference/{doc.get('id')} not found",
        )
