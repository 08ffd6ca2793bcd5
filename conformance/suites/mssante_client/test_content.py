"""Pièces jointes MSSanté : un seul patient, rendu PDF. One test per requirement; ids ECO.x.y.z come from secondary sources (shown "à confirmer")."""

from __future__ import annotations

import pytest

from conformance.campaign.mssante_checks import attach_mail, judge_rule, skip_if_disabled
from conformance.sdk import verifies


@verifies(
    "mssante.client.one-patient", "mssante.client.content", title_en="One patient per message, IHE_XDM archive attached"
)
def test_one_patient(mss_channel, mss_documents, evidence):
    """Un seul patient par message, archive IHE_XDM jointe"""
    judge_rule("mss-one-patient", mss_channel, mss_documents, evidence)


@verifies("mssante.client.pdf", "mssante.client.content", title_en="PDF rendering attached and named by the pattern")
def test_pdf(mss_channel, mss_documents, evidence):
    """Rendu PDF joint et nommé selon le motif"""
    judge_rule("mss-pdf", mss_channel, mss_documents, evidence)


@verifies(
    "mssante.client.xdm",
    "mssante.client.content",
    "documents.xdm.package",
    "documents.cda.content",
    title_en="The attached IHE_XDM archives conform (metadata, INS, hashes, CI-SIS documents)",
)
def test_xdm_archive(mss_channel, mss_documents, evidence, lang):
    """Les archives IHE_XDM jointes sont conformes (métadonnées, INS, empreintes, documents CI-SIS)"""
    from conformance.sdk import expect_valid
    from conformance.validation.cda import validate_xdm
    from conformance.validation.mssante import read_message
    from conformance.validation.options import ValidateOptions

    skip_if_disabled(mss_channel, "mss-xdm", lang)
    outcomes = []
    for number, mail in enumerate(mss_documents, start=1):
        attach_mail(evidence, mail, number)
        for archive in read_message(mail.data).xdm_archives:
            name = f"message-{number}-{archive.filename}"
            for index, outcome in enumerate(validate_xdm(archive.data, ValidateOptions(lang=lang), name=name)):
                evidence.outcome(f"validation-{name}-{index}.json", outcome)
                outcomes.append(outcome)
    if not outcomes:
        pytest.skip("aucune archive IHE_XDM jointe" if lang == "fr" else "no IHE_XDM archive attached")
    expect_valid(outcomes)
