"""ITI-65 Provide Document Bundle: the response, then the DocumentReference it created."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.sdk import expect, require, verifies
from conformance.sdk.fhir import expect_resource, provide_bundle
from conformance.suites.documents.rules import (
    ITI65_ENTRY_COUNT,
    ITI65_ENTRY_LOCATION,
    ITI65_ENTRY_STATUS,
    ITI65_READ_BACK,
    ITI65_READ_BACK_SUBJECT,
    ITI65_RESPONSE_TYPE,
    ITI65_STATUS,
)


def _cda(test_data) -> bytes:
    from conformance import settings

    path = test_data.cda_document or settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"
    try:
        return path.read_bytes()
    except OSError:
        pytest.fail(f"CDA document for ITI-65 not readable: {path}")


@dataclass(frozen=True, slots=True)
class Provided:
    sent: dict
    response: object  # FhirResponse


@pytest.fixture(scope="module")
def provided(fhir_client, document_patient_id, test_data) -> Provided:
    """One ITI-65 transaction, made once: the response test judges it, the read-back test follows it."""
    bundle = provide_bundle(f"Patient/{document_patient_id}", _cda(test_data))
    return Provided(bundle, fhir_client.transaction(bundle))


@verifies(
    "pdsm.iti65.response",
    "documents.pdsm.provide",
    title_en="ITI-65: the document bundle is accepted and the response is valid",
)
def test_provide_document_bundle(provided):
    """ITI-65 : le lot de documents est accepté et la réponse est valide"""
    response = provided.response
    require(response.status == 200, ITI65_STATUS, "", status=response.status)
    reply = expect_resource(response, "Bundle")
    expect(reply.get("type") == "transaction-response", ITI65_RESPONSE_TYPE, "Bundle.type", got=reply.get("type"))
    entries = reply.get("entry") or []
    sent = len(provided.sent["entry"])
    expect(len(entries) == sent, ITI65_ENTRY_COUNT, "Bundle.entry", got=len(entries), sent=sent)
    for index, entry in enumerate(entries):
        answer = (entry or {}).get("response") or {}
        status = str(answer.get("status", ""))
        where = f"Bundle.entry[{index}].response"
        expect(status.startswith("2"), ITI65_ENTRY_STATUS, f"{where}.status", index=index, status=status or "(absent)")
        expect(answer.get("location"), ITI65_ENTRY_LOCATION, f"{where}.location", index=index)


def _docref_location(provided: Provided) -> str | None:
    resource = provided.response.resource if provided.response.status == 200 else None
    for entry in (resource or {}).get("entry") or []:
        location = str(((entry or {}).get("response") or {}).get("location", ""))
        if "DocumentReference/" in location:
            return location[location.index("DocumentReference/") :].split("/_history")[0]
    return None


@verifies(
    "pdsm.iti65.stored",
    "documents.pdsm.provide",
    title_en="ITI-65: the DocumentReference created reads back and names the patient",
)
def test_provided_document_readable(fhir_client, provided, document_patient_id, lang):
    """ITI-65 : le DocumentReference créé se relit et désigne le patient"""
    path = _docref_location(provided)
    if path is None:  # the response's own requirement says why
        pytest.skip(
            "la réponse ITI-65 ne donne pas la location du DocumentReference"
            if lang == "fr"
            else "the ITI-65 response gives no DocumentReference location"
        )
    created = fhir_client.get(path)
    require(created.status == 200, ITI65_READ_BACK, "", path=path, status=created.status)
    resource = expect_resource(created, "DocumentReference")
    subject = str((resource.get("subject") or {}).get("reference", ""))
    patient = f"Patient/{document_patient_id}"
    expect(
        subject.endswith(patient),
        ITI65_READ_BACK_SUBJECT,
        "DocumentReference.subject",
        path=path,
        subject=subject,
        patient=patient,
    )
