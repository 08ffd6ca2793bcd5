"""ITI-68 Retrieve Document: each document retrieved, matching its size and hash, and its CDA content."""

from __future__ import annotations

import pytest

from conformance.sdk import expect, expect_valid, require, resource, verifies
from conformance.sdk.fhir import sha1_base64
from conformance.suites.documents.rules import ITI68_HASH, ITI68_NO_URL, ITI68_SIZE, ITI68_STATUS


@verifies(
    "pdsm.iti68.retrieve",
    "documents.pdsm.retrieve",
    title_en="ITI-68: every document is retrieved at its attachment URL",
)
def test_retrieve_documents(retrieved):
    """ITI-68 : chaque document se récupère à l'URL de son DocumentReference"""
    for item in retrieved:
        with resource("DocumentReference", item.document.get("id")):
            url = require(item.url, ITI68_NO_URL, "DocumentReference.content.attachment.url")
            expect(item.ok, ITI68_STATUS, "DocumentReference.content.attachment.url", url=url, status=item.status)


@verifies(
    "pdsm.iti68.integrity",
    "documents.pdsm.retrieve",
    title_en="ITI-68: every document matches its declared size and hash",
)
def test_retrieve_matches_metadata(retrieved, lang):
    """ITI-68 : chaque document correspond à la taille et à l'empreinte déclarées"""
    judged = [item for item in retrieved if item.ok]  # those not retrieved are the retrieval test's finding
    if not judged:
        pytest.skip("aucun document récupéré" if lang == "fr" else "no document retrieved")
    for item in judged:
        with resource("DocumentReference", item.document.get("id")):
            where = "DocumentReference.content.attachment"
            size, digest = item.attachment.get("size"), item.attachment.get("hash")
            if size is not None:
                expect(size == len(item.body), ITI68_SIZE, f"{where}.size", declared=size, received=len(item.body))
            if digest:
                received = sha1_base64(item.body)
                expect(digest == received, ITI68_HASH, f"{where}.hash", declared=digest, received=received)


@verifies("cisis.cda.content", "documents.cda.content", title_en="The CDA content conforms to the CI-SIS")
def test_cda_content(retrieved, evidence, lang):
    """Le contenu CDA est conforme au CI-SIS"""
    from conformance.campaign.validators import validate_cda

    documents = [i for i in retrieved if i.ok and "xml" in str(i.attachment.get("contentType", "xml"))]
    if not documents:
        pytest.skip("aucun document CDA (XML) à valider" if lang == "fr" else "no CDA (XML) document to validate")
    for item in documents:
        doc_id = item.document.get("id")
        outcome = validate_cda(item.body, lang, name=item.ref)
        evidence.attach(f"document-{doc_id}.xml", item.body, "text/xml")
        evidence.outcome(f"validation-cda-{doc_id}.json", outcome)
        expect_valid(outcome)
