"""ITI-57 against the system: archiving the registered document changes what FindDocuments returns."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect
from conformance.reference.dmp.source import found_entries, registry_status
from conformance.validation.xds import ebrim
from conformance.validation.xds.ebrim import UNIQUE_ID
from conformance.validation.xds.metadata import external

from .conftest import expect_soap


@pytest.mark.requirement(
    "IHE ITI TF-2b 3.57 / CNAM DMPi TD3.3d",
    "UpdateAvailabilityStatus (Archived)",
    text="An archived document is no longer Approved and is found as Archived",
    strength="SHALL",
)
@pytest.mark.capability("dmp.repository.update")
@pytest.mark.title_en("Archiving a document (ITI-57) takes effect")
def test_archive(provided, dmp_source, lang):
    """L'archivage d'un document (ITI-57) prend effet"""
    if registry_status(provided.reply)[0] != "Success":
        pytest.skip(
            "le lot valide n'a pas été enregistré" if lang == "fr" else "the valid submission was not registered"
        )
    unique = provided.request.unique_id
    entries = [
        e
        for e in found_entries(dmp_source.find(provided.request.patient_cx, provided.vihf))
        if external(e, UNIQUE_ID) == unique
    ]
    if not entries:
        pytest.skip("document introuvable avant archivage" if lang == "fr" else "document not found before archiving")
    reply = dmp_source.update_status(
        entries[0].get("id", ""), provided.request.patient_cx, ebrim.APPROVED, ebrim.ARCHIVED, provided.vihf
    )
    expect_soap(reply, lang)
    status, errors = registry_status(reply)
    expect(
        status == "Success",
        "dmp-update-refused",
        f"archivage refusé : {errors[:3]}",
        f"archiving refused: {errors[:3]}",
    )
    approved = {
        external(e, UNIQUE_ID) for e in found_entries(dmp_source.find(provided.request.patient_cx, provided.vihf))
    }
    archived = {
        external(e, UNIQUE_ID)
        for e in found_entries(dmp_source.find(provided.request.patient_cx, provided.vihf, statuses=(ebrim.ARCHIVED,)))
    }
    expect(
        unique not in approved and unique in archived,
        "dmp-update-no-effect",
        "après archivage, le document est toujours Approved ou introuvable comme Archived",
        "after archiving, the document is still Approved or not found as Archived",
    )
