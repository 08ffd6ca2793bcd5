"""Fixtures of the document-sharing suite: the patient with documents and their DocumentReferences."""

from __future__ import annotations

import pytest

from conformance.campaign.fhir import matches, provided_by_harness, search_bundle


@pytest.fixture(scope="module")
def document_patient_id(fhir_client, test_data, lang) -> str:
    ins = test_data.document_patient or next((p.ins for p in test_data.patients if p.qualified and p.ins), None)
    if not ins:
        pytest.skip(
            "[test_data] document_patient (INS) non configuré"
            if lang == "fr"
            else "[test_data] document_patient (INS) not configured"
        )
    patient = next((p for p in test_data.patients if p.ins == ins), None)
    system = f"urn:oid:{patient.oid}" if patient else "urn:oid:1.2.250.1.213.1.4.10"
    found = matches(search_bundle(fhir_client.search("Patient", {"identifier": f"{system}|{ins}"})), "Patient")
    if len(found) != 1:
        pytest.fail(f"the document patient {system}|{ins} is not found on the server ({len(found)} matches)")
    return found[0]["id"]


@pytest.fixture(scope="module")
def document_references(fhir_client, document_patient_id) -> list[dict]:
    bundle = search_bundle(
        fhir_client.search("DocumentReference", {"patient": f"Patient/{document_patient_id}", "status": "current"})
    )
    # documents an earlier run provided (ITI-65) are the harness's own input: not judged as the system's data
    return [d for d in matches(bundle, "DocumentReference") if not provided_by_harness(d)]
