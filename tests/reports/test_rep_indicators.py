"""Indicator catalogues: well-formed, capability ids from the contract vocabulary, honest about confirmation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.reports.indicators import (
    CatalogueError,
    available_programmes,
    evaluate,
    load_capabilities,
    load_catalogue,
)

CONTRACTS = Path("/work/notes/CONTRACTS.md")
CONTRACT_CAPABILITIES = {
    "fhir.rest.capabilities", "fhir.rest.read", "fhir.rest.search", "fhir.rest.formats", "fhir.rest.errors",
    "identity.ins.search", "identity.ins.profile", "identity.ins.qualified", "documents.pdsm.provide",
    "documents.pdsm.find", "documents.pdsm.retrieve", "documents.pdsm.submissionset", "documents.cda.content",
    "documents.xdm.package", "documents.hl7v2.transmission", "directory.practitioner", "directory.organization",
    "directory.practitionerrole", "movements.pam.receive", "movements.pam.emit", "movements.pam.ack", "security.tls",
    "mssante.client.transport", "mssante.client.tls", "mssante.client.message", "mssante.client.content",
    "mssante.client.patient", "mssante.receiver.integration",
    "dmp.feed.transport", "dmp.feed.vihf", "dmp.feed.metadata", "dmp.feed.consult", "dmp.feed.update",
    "dmp.repository.register", "dmp.repository.consult", "dmp.repository.update",
}  # fmt: skip


def test_three_programmes_are_catalogued() -> None:
    assert set(available_programmes()) == {"hopen-2019", "hopen2-2024", "segur-referencement"}


def test_capability_vocabulary_matches_the_contract() -> None:
    capabilities = load_capabilities()
    assert set(capabilities) == CONTRACT_CAPABILITIES
    assert all(titles["fr"] and titles["en"] for titles in capabilities.values())
    if CONTRACTS.is_file():  # the lead's contract file, when present, is the reference
        section = CONTRACTS.read_text().split("## Capability ids", 1)[1]
        listed = set(re.findall(r"^([a-z0-9]+(?:\.[a-z0-9]+)+)\s", section, re.MULTILINE))
        assert listed == CONTRACT_CAPABILITIES


@pytest.mark.parametrize("programme", ["hopen-2019", "hopen2-2024", "segur-referencement"])
def test_catalogue_entries_are_well_formed(programme: str) -> None:
    catalogue = load_catalogue(programme)
    known = set(load_capabilities())
    assert catalogue.version and catalogue.source.get("official")
    assert catalogue.usage_statement["fr"] and catalogue.usage_statement["en"]
    ids = [i.id for i in catalogue.indicators]
    assert len(ids) == len(set(ids))
    for indicator in catalogue.indicators:
        assert set(indicator.capabilities) <= known, indicator.id
        assert indicator.status in ("established", "unconfirmed")
        if indicator.status == "unconfirmed":
            assert indicator.code is None and not indicator.title_verbatim, indicator.id


def test_hopen_2019_facts_from_public_sources() -> None:
    catalogue = {i.code: i for i in load_catalogue("hopen-2019").indicators}
    assert catalogue["P1"].title_fr == "Identités, mouvements"
    assert catalogue["P4"].title_fr == "Échange et partage"
    assert (
        catalogue["D2.2"].title_fr == "Alimentation du DMP pour les patients disposant d'un DMP lors de leur admission"
    )
    assert "98 %" in catalogue["D2.2"].target["fr"]
    # No invented sub-codes for P4 and D6.
    assert not [code for code in catalogue if code.startswith(("P4.", "D6."))]
    assert "not found" in catalogue["P4"].note and "not found" in catalogue["D6"].note
    assert "aucun sous-code" in catalogue["P4"].note_fr and "aucun sous-code" in catalogue["D6"].note_fr


def test_unknown_programme_is_a_clear_error() -> None:
    with pytest.raises(CatalogueError, match="unknown programme"):
        load_catalogue("hopen-1999")
    with pytest.raises(CatalogueError):
        load_catalogue("../capabilities")


def _t(test_id: str, caps: list[str], outcome: str) -> dict:
    return {"id": test_id, "capabilities": caps, "outcome": outcome}


def test_evaluation_statuses() -> None:
    catalogue = load_catalogue("hopen-2019")
    statuses = lambda tests: {e.indicator.code: e.status for e in evaluate(catalogue, tests)}  # noqa: E731
    p2 = ["security.tls"]
    assert statuses([])["P2"] == "not_tested"
    assert statuses([_t("a", p2, "passed")])["P2"] == "met"
    assert statuses([_t("a", p2, "passed"), _t("b", p2, "failed")])["P2"] == "not_met"
    assert statuses([_t("a", p2, "error")])["P2"] == "inconclusive"  # errors alone never make it "not met"
    assert statuses([_t("a", p2, "passed"), _t("b", p2, "error")])["P2"] == "inconclusive"
    assert statuses([_t("a", p2, "failed"), _t("b", p2, "error")])["P2"] == "not_met"
    assert statuses([_t("a", p2, "passed"), _t("b", p2, "warning")])["P2"] == "met"  # a SHOULD not met
    assert statuses([_t("a", p2, "skipped")])["P2"] == "not_tested"
    assert statuses([_t("a", p2, "not_applicable")])["P2"] == "not_tested"
    assert statuses([_t("a", p2, "passed"), _t("b", p2, "not_applicable")])["P2"] == "met"
    assert statuses([_t("a", ["identity.ins.search"], "passed")])["P1"] == "partial"
    assert statuses([])["D7"] == "out_of_scope"
