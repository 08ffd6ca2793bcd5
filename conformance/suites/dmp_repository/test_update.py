"""ITI-57 against the system: archiving the registered document changes what FindDocuments returns."""

from __future__ import annotations

import pytest

from conformance.reference.dmp.source import found_entries, registry_status
from conformance.sdk import expect, require, verifies
from conformance.validation.xds import ebrim
from conformance.validation.xds.ebrim import UNIQUE_ID, external

from .conftest import expect_soap
from .rules import UPDATE_NO_EFFECT, UPDATE_REFUSED


@verifies("dmp.repository.archive", "dmp.repository.update", title_en="Archiving a document (ITI-57) takes effect")
def test_archive(provided, dmp_source, lang):
    """L'archivage d'un document (ITI-57) prend effet"""
    if registry_status(provided.reply)[0] != "Success":
        pytest.skip(
            "le lot valide n'a pas été enregistré" if lang == "fr" else "the valid submission was not registered"
        )
    unique, patient = provided.request.unique_id, provided.request.patient_cx
    entries = [e for e in found_entries(dmp_source.find(patient, provided.vihf)) if external(e, UNIQUE_ID) == unique]
    if not entries:
        pytest.skip("document introuvable avant archivage" if lang == "fr" else "document not found before archiving")
    reply = dmp_source.update_status(entries[0].get("id", ""), patient, ebrim.APPROVED, ebrim.ARCHIVED, provided.vihf)
    expect_soap(reply, "dmp.repository.archive")
    status, errors = registry_status(reply)
    require(status == "Success", UPDATE_REFUSED, "RegistryResponse/@status", errors=errors[:3])
    approved = {external(e, UNIQUE_ID) for e in found_entries(dmp_source.find(patient, provided.vihf))}
    archived = {
        external(e, UNIQUE_ID)
        for e in found_entries(dmp_source.find(patient, provided.vihf, statuses=(ebrim.ARCHIVED,)))
    }
    expect(unique not in approved and unique in archived, UPDATE_NO_EFFECT, "RegistryObjectList")
