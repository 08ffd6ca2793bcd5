"""ITI-18 and ITI-43 against the system: the registered document is found and comes back identical."""

from __future__ import annotations

import pytest

from conformance.reference.dmp.source import found_entries, registry_status, retrieved
from conformance.sdk import Text, expect, fail, require, verifies
from conformance.transport.mtom import MtomError
from conformance.validation.xds.ebrim import UNIQUE_ID, external

from .conftest import expect_soap
from .rules import FIND_MISSING, RETRIEVE_ALTERED, RETRIEVE_MISSING, RETRIEVE_UNREADABLE


def _registered(provided, lang):
    if registry_status(provided.reply)[0] != "Success":
        pytest.skip(
            "le lot valide n'a pas été enregistré" if lang == "fr" else "the valid submission was not registered"
        )


@verifies("dmp.repository.find", "dmp.repository.consult", title_en="FindDocuments finds the registered document")
def test_find_documents(provided, dmp_source, lang):
    """FindDocuments trouve le document enregistré"""
    _registered(provided, lang)
    reply = dmp_source.find(provided.request.patient_cx, provided.vihf)
    expect_soap(reply, "dmp.repository.find")
    unique_ids = {external(e, UNIQUE_ID) for e in found_entries(reply)}
    unique = provided.request.unique_id
    expect(unique in unique_ids, FIND_MISSING, "RegistryObjectList", unique=unique, count=len(unique_ids))


@verifies("dmp.repository.retrieve", "dmp.repository.consult", title_en="ITI-43 returns the document as registered")
def test_retrieve_identical(provided, dmp_source, config, lang):
    """ITI-43 renvoie le document tel qu'enregistré"""
    _registered(provided, lang)
    unique = provided.request.unique_id
    reply = dmp_source.retrieve(config.dmp.repository_id, unique, provided.vihf)
    expect_soap(reply, "dmp.repository.retrieve")
    try:
        documents = retrieved(reply)
    except MtomError as exc:  # the answer names a MIME part it does not carry, or unreadable base64
        fail(RETRIEVE_UNREADABLE, "DocumentResponse/Document", unique=unique, problem=Text(exc.fr, exc.en))
    document = require(documents.get(unique), RETRIEVE_MISSING, "DocumentResponse", unique=unique)
    expect(
        document == provided.content,
        RETRIEVE_ALTERED,
        "DocumentResponse/Document",
        returned=len(document),
        sent=len(provided.content),
    )
