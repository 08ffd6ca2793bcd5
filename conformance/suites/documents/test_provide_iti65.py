"""ITI-65 Provide Document Bundle."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import ConformanceFailure, expect
from conformance.campaign.fhir import expect_resource, provide_bundle
from conformance.findings import Severity, finding

ITI65 = ("ANS PDSm 3.1.1 / IHE MHD ITI-65", "§2:3.65.4.2 Provide Document Bundle Response")


def _cda(test_data) -> bytes:
    from conformance import settings

    path = test_data.cda_document or settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"
    try:
        return path.read_bytes()
    except OSError:
        pytest.fail(f"CDA document for ITI-65 not readable: {path}")


@pytest.mark.requirement(
    *ITI65, text="The transaction is accepted: transaction-response, every entry 2xx with a location"
)
@pytest.mark.capability("documents.pdsm.provide")
@pytest.mark.title_en("ITI-65: the document bundle is accepted and the response is valid")
def test_provide_document_bundle(fhir_client, document_patient_id, test_data, evidence):
    """ITI-65 : le lot de documents est accepté et la réponse est valide"""
    bundle = provide_bundle(f"Patient/{document_patient_id}", _cda(test_data))
    response = fhir_client.transaction(bundle)
    expect(
        response.status == 200,
        "iti65-status",
        f"HTTP {response.status} au lieu de 200",
        f"HTTP {response.status} instead of 200",
    )
    reply = expect_resource(response, "Bundle")
    expect(
        reply.get("type") == "transaction-response",
        "iti65-response-type",
        f"Bundle.type = {reply.get('type')!r} au lieu de 'transaction-response'",
        f"Bundle.type = {reply.get('type')!r} instead of 'transaction-response'",
        location="Bundle.type",
    )
    entries = reply.get("entry") or []
    expect(
        len(entries) == len(bundle["entry"]),
        "iti65-entry-count",
        f"{len(entries)} entrées dans la réponse pour {len(bundle['entry'])} envoyées",
        f"{len(entries)} response entries for {len(bundle['entry'])} sent",
        location="Bundle.entry",
    )
    problems = []
    for index, entry in enumerate(entries):
        answer = (entry or {}).get("response") or {}
        status = str(answer.get("status", ""))
        if not status.startswith("2"):
            problems.append(
                finding(
                    Severity.ERROR,
                    "processing",
                    "iti65-entry-status",
                    f"Bundle.entry[{index}].response.status",
                    f"entrée {index}: statut {status or '(absent)'}",
                    f"entry {index}: status {status or '(missing)'}",
                    source="suite",
                )
            )
        if not answer.get("location"):
            problems.append(
                finding(
                    Severity.ERROR,
                    "required",
                    "iti65-entry-location",
                    f"Bundle.entry[{index}].response.location",
                    f"entrée {index}: response.location absent",
                    f"entry {index}: response.location missing",
                    source="suite",
                )
            )
    if problems:
        raise ConformanceFailure(problems)
    _read_back(fhir_client, entries, document_patient_id)


def _read_back(fhir_client, entries: list, patient_id: str) -> None:
    """The DocumentReference the server created is readable at its location and names the patient."""
    locations = [str(((e or {}).get("response") or {}).get("location", "")) for e in entries]
    location = next((loc for loc in locations if "DocumentReference/" in loc), None)
    expect(
        location,
        "iti65-no-docref-location",
        "aucune location de DocumentReference dans la réponse",
        "no DocumentReference location in the response",
        location="Bundle.entry.response.location",
    )
    path = location[location.index("DocumentReference/") :].split("/_history")[0]
    created = fhir_client.get(path)
    expect(
        created.status == 200,
        "iti65-read-back",
        f"{path}: HTTP {created.status} à la relecture",
        f"{path}: HTTP {created.status} when read back",
    )
    resource = expect_resource(created, "DocumentReference")
    subject = str((resource.get("subject") or {}).get("reference", ""))
    expect(
        subject.endswith(f"Patient/{patient_id}"),
        "iti65-read-back-subject",
        f"{path}: subject {subject!r} au lieu de Patient/{patient_id}",
        f"{path}: subject {subject!r} instead of Patient/{patient_id}",
        location="DocumentReference.subject",
    )
