"""ITI-68 Retrieve Document, and the CDA content."""

from __future__ import annotations

import base64

import pytest

from conformance.campaign.checks import ConformanceFailure, expect, expect_valid
from conformance.campaign.fhir import sha1_base64
from conformance.findings import Severity, finding

ITI68 = ("ANS PDSm 3.1.1 / IHE MHD ITI-68", "§2:3.68 Retrieve Document")


def _retrieve(fhir_client, doc: dict) -> tuple[dict, bytes]:
    attachment = ((doc.get("content") or [{}])[0] or {}).get("attachment") or {}
    url = attachment.get("url")
    expect(
        url,
        "iti68-no-url",
        f"DocumentReference/{doc.get('id')}: content.attachment.url absent",
        f"DocumentReference/{doc.get('id')}: content.attachment.url missing",
        location="DocumentReference.content.attachment.url",
    )
    response = fhir_client.get(url, accept=attachment.get("contentType") or "*/*")
    expect(response.status == 200, "iti68-status", f"{url}: HTTP {response.status}", f"{url}: HTTP {response.status}")
    body = response.body
    resource = response.resource
    if resource is not None and resource.get("resourceType") == "Binary":  # served as a FHIR Binary resource
        body = base64.b64decode(resource.get("data") or "")
    return attachment, body


@pytest.fixture(scope="module")
def retrieved(fhir_client, document_references) -> list[tuple[dict, dict, bytes]]:
    if not document_references:
        pytest.fail("no DocumentReference to retrieve (ITI-67 found none)")
    return [(doc, *_retrieve(fhir_client, doc)) for doc in document_references[:3]]


@pytest.mark.requirement(*ITI68, text="The document retrieved matches attachment.size and attachment.hash (SHA-1)")
@pytest.mark.capability("documents.pdsm.retrieve")
@pytest.mark.title_en("ITI-68: the document matches its declared size and hash")
def test_retrieve_matches_metadata(retrieved):
    """ITI-68 : le document correspond à la taille et à l'empreinte déclarées"""
    problems = []
    for doc, attachment, body in retrieved:
        where = f"DocumentReference/{doc.get('id')}.content.attachment"
        if attachment.get("size") is not None and attachment.get("size") != len(body):
            problems.append(
                finding(
                    Severity.ERROR,
                    "value",
                    "iti68-size",
                    f"{where}.size",
                    f"taille déclarée {attachment.get('size')}, document reçu {len(body)} octets",
                    f"declared size {attachment.get('size')}, document received {len(body)} bytes",
                    source="suite",
                )
            )
        if attachment.get("hash") and attachment.get("hash") != sha1_base64(body):
            problems.append(
                finding(
                    Severity.ERROR,
                    "value",
                    "iti68-hash",
                    f"{where}.hash",
                    "l'empreinte SHA-1 du document reçu ne correspond pas à attachment.hash",
                    "the SHA-1 hash of the document received does not match attachment.hash",
                    source="suite",
                )
            )
    if problems:
        raise ConformanceFailure(problems)


@pytest.mark.requirement(
    "ANS CI-SIS",
    "Volet Structuration minimale / modèles de contenus CDA",
    text="The CDA document shared validates against the CI-SIS rules (XSD, schematron)",
)
@pytest.mark.capability("documents.cda.content")
@pytest.mark.title_en("The CDA content conforms to the CI-SIS")
def test_cda_content(retrieved, evidence, lang):
    """Le contenu CDA est conforme au CI-SIS"""
    from conformance.campaign.validators import validate_cda

    outcomes = []
    for doc, attachment, body in retrieved:
        if "xml" not in str(attachment.get("contentType", "xml")):
            continue
        outcome = validate_cda(body, lang, name=f"DocumentReference/{doc.get('id')}")
        evidence.attach(f"document-{doc.get('id')}.xml", body, "text/xml")
        evidence.outcome(f"validation-cda-{doc.get('id')}.json", outcome)
        outcomes.append(outcome)
    if not outcomes:
        pytest.skip("aucun document CDA (XML) à valider" if lang == "fr" else "no CDA (XML) document to validate")
    expect_valid(outcomes)
