"""ITI-18 and ITI-43 against the system: the registered document is found and comes back identical."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect
from conformance.reference.dmp.source import found_entries, registry_status, retrieved
from conformance.validation.xds.ebrim import UNIQUE_ID
from conformance.validation.xds.metadata import external

from .conftest import expect_soap


def _registered(provided, lang):
    if registry_status(provided.reply)[0] != "Success":
        pytest.skip(
            "le lot valide n'a pas été enregistré" if lang == "fr" else "the valid submission was not registered"
        )


@pytest.mark.requirement(
    "IHE ITI TF-2a 3.18",
    "FindDocuments",
    text="FindDocuments by patientId finds the registered entry",
    strength="SHALL",
)
@pytest.mark.capability("dmp.repository.consult")
@pytest.mark.title_en("FindDocuments finds the registered document")
def test_find_documents(provided, dmp_source, lang):
    """FindDocuments trouve le document enregistré"""
    _registered(provided, lang)
    reply = dmp_source.find(provided.request.patient_cx, provided.vihf)
    expect_soap(reply, lang)
    unique_ids = {external(e, UNIQUE_ID) for e in found_entries(reply)}
    expect(
        provided.request.unique_id in unique_ids,
        "dmp-find-missing",
        f"FindDocuments ne renvoie pas le document {provided.request.unique_id} ({len(unique_ids)} fiche(s))",
        f"FindDocuments does not return document {provided.request.unique_id} ({len(unique_ids)} entries)",
    )


@pytest.mark.requirement(
    "IHE ITI TF-2b 3.43", "Retrieve Document Set", text="ITI-43 returns the registered bytes", strength="SHALL"
)
@pytest.mark.capability("dmp.repository.consult")
@pytest.mark.title_en("ITI-43 returns the document as registered")
def test_retrieve_identical(provided, dmp_source, config, lang):
    """ITI-43 renvoie le document tel qu'enregistré"""
    _registered(provided, lang)
    reply = dmp_source.retrieve(config.dmp.repository_id, provided.request.unique_id, provided.vihf)
    expect_soap(reply, lang)
    documents = retrieved(reply)
    expect(
        provided.request.unique_id in documents, "dmp-retrieve-missing", "document non renvoyé", "document not returned"
    )
    expect(
        documents[provided.request.unique_id] == provided.content,
        "dmp-retrieve-altered",
        "le document renvoyé diffère de celui enregistré (octets)",
        "the document returned differs from the one registered",
    )
