"""Fixtures of the document-sharing suite: the document patient, their DocumentReferences, the documents."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from conformance.identifiers import INS_TEST_NIR_OID, urn
from conformance.sdk import require
from conformance.sdk.fhir import matches, provided_by_harness, search_bundle
from conformance.suites.documents.rules import PATIENT_NOT_FOUND

MAX_DOCUMENTS = 20  # documents retrieved and judged one by one (the rest are named in the skip reason)


def _designation(test_data) -> str | None:
    """`[test_data] document_patient`: an INS, an identifier `system|value`, or a logical id `Patient/<id>`."""
    if test_data.document_patient:
        return test_data.document_patient
    return next((p.ins for p in test_data.patients if p.qualified and p.ins), None)


def _search_params(designation: str, test_data) -> dict[str, str]:
    if "|" in designation:
        return {"identifier": designation}
    if designation.startswith("Patient/"):
        return {"_id": designation.removeprefix("Patient/")}
    patient = next((p for p in test_data.patients if p.ins == designation), None)
    system = urn(patient.oid if patient else INS_TEST_NIR_OID)
    return {"identifier": f"{system}|{designation}"}


@pytest.fixture(scope="module")
def document_patient_id(fhir_client, test_data, lang) -> str:
    designation = _designation(test_data)
    if not designation:
        pytest.skip(
            "[test_data] document_patient (INS, système|identifiant ou Patient/<id>) non configuré"
            if lang == "fr"
            else "[test_data] document_patient (INS, system|identifier or Patient/<id>) not configured"
        )
    if designation.startswith("Patient/"):
        return designation.removeprefix("Patient/")
    found = matches(search_bundle(fhir_client.search("Patient", _search_params(designation, test_data))), "Patient")
    require(len(found) == 1, PATIENT_NOT_FOUND, "Patient", designation=designation, count=len(found))
    return str(found[0]["id"])


def _documents(fhir_client, patient_id: str, **extra: str) -> list[dict]:
    bundle = search_bundle(fhir_client.search("DocumentReference", {"patient": f"Patient/{patient_id}", **extra}))
    # documents an earlier run provided (ITI-65) are the harness's own input: not judged as the system's data
    return [d for d in matches(bundle, "DocumentReference") if not provided_by_harness(d)]


@pytest.fixture(scope="module")
def document_references(fhir_client, document_patient_id) -> list[dict]:
    """Every DocumentReference of the patient, whatever its status (searched without a status filter)."""
    return _documents(fhir_client, document_patient_id)


@pytest.fixture(scope="module")
def current_document_references(fhir_client, document_patient_id) -> list[dict]:
    """What the server answers to DocumentReference?patient=&status=current."""
    return _documents(fhir_client, document_patient_id, status="current")


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One document retrieved (ITI-68): its DocumentReference, its attachment, the HTTP status and the bytes."""

    document: dict
    attachment: dict
    url: str | None
    status: int | None
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def ref(self) -> str:
        return f"DocumentReference/{self.document.get('id')}"


def _retrieve(fhir_client, doc: dict) -> Retrieved:
    attachment = ((doc.get("content") or [{}])[0] or {}).get("attachment") or {}
    url = attachment.get("url")
    if not url:
        return Retrieved(doc, attachment, None, None, b"")
    response = fhir_client.get(url, accept=attachment.get("contentType") or "*/*")
    body = response.body
    resource = response.resource
    if resource is not None and resource.get("resourceType") == "Binary":  # served as a FHIR Binary resource
        body = base64.b64decode(resource.get("data") or "")
    return Retrieved(doc, attachment, url, response.status, body)


@pytest.fixture(scope="module")
def retrieved(fhir_client, document_references, lang) -> list[Retrieved]:
    """Each of the patient's documents, retrieved at its attachment URL (one by one, whatever the others give)."""
    if not document_references:
        pytest.skip("aucun DocumentReference à récupérer" if lang == "fr" else "no DocumentReference to retrieve")
    return [_retrieve(fhir_client, doc) for doc in document_references[:MAX_DOCUMENTS]]
