"""Message MSSanté : en-têtes, objet, parties texte. One test per requirement; ids ECO.x.y.z come from secondary sources (shown "à confirmer")."""

from __future__ import annotations

import pytest

from conformance.campaign.mssante_checks import REFERENTIAL, judge_rule


@pytest.mark.requirement("IETF RFC 5322 / RFC 2045", "RFC 5322 / RFC 2045", text="SHALL: Well-formed MIME structure")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("Well-formed MIME structure")
def test_mime(mss_channel, mss_documents, evidence):
    """Structure MIME bien formée"""
    judge_rule("mss-mime", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(REFERENTIAL, "ECO.2.2.1 (à confirmer)", text="SHALL: RFC 5322 Message-ID")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("RFC 5322 Message-ID")
def test_message_id(mss_channel, mss_documents, evidence):
    """Message-ID conforme à la RFC 5322"""
    judge_rule("mss-message-id", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(REFERENTIAL, "ECO.2.2.7 (à confirmer)", text="SHALL: Sender display name (From)")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("Sender display name (From)")
def test_from_display(mss_channel, mss_documents, evidence):
    """Nom d'affichage de l'expéditeur (From)"""
    judge_rule("mss-from-display", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(REFERENTIAL, "ECO.2.2.5 (à confirmer)", text="SHALL: Reply-To for an application mailbox")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("Reply-To for an application mailbox")
def test_reply_to(mss_channel, mss_documents, evidence):
    """Reply-To pour une BAL applicative"""
    judge_rule("mss-reply-to", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(REFERENTIAL, "ECO.2.2.3 (à confirmer)", text="SHALL: Text parts in UTF-8")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("Text parts in UTF-8")
def test_utf8(mss_channel, mss_documents, evidence):
    """Parties texte en UTF-8"""
    judge_rule("mss-utf8", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(REFERENTIAL, "ECO.2.2.4 (à confirmer)", text="SHALL: text/plain or multipart/alternative body")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("text/plain or multipart/alternative body")
def test_body_type(mss_channel, mss_documents, evidence):
    """Corps text/plain ou multipart/alternative"""
    judge_rule("mss-body-type", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(REFERENTIAL, "ECO.2.4.3 (à confirmer)", text="SHALL: X-MSS-NIL header (product reference)")
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("X-MSS-NIL header (product reference)")
def test_nil(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-NIL (référence produit)"""
    judge_rule("mss-nil", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(
    REFERENTIAL, "ECO.2.4.2 (à confirmer)", text="SHALL: X-MSS-INS header consistent with the archive's INS"
)
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("X-MSS-INS header consistent with the archive's INS")
def test_ins(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-INS cohérent avec l'INS de l'archive"""
    judge_rule("mss-ins", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(
    REFERENTIAL, "ECO.2.4.1 (à confirmer)", text="SHALL: X-MSS-CODECDA header = the CDA documents' codes"
)
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("X-MSS-CODECDA header = the CDA documents' codes")
def test_codecda(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-CODECDA = codes des documents CDA"""
    judge_rule("mss-codecda", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(
    REFERENTIAL,
    "ECO.3.1.6 (à confirmer)",
    text="SHOULD: Disposition notification requested (Disposition-Notification-To)",
)
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("Disposition notification requested (Disposition-Notification-To)")
def test_mdn_request(mss_channel, mss_documents, evidence):
    """Demande d'accusé de lecture (Disposition-Notification-To)"""
    judge_rule("mss-mdn-request", mss_channel, mss_documents, evidence)


@pytest.mark.requirement(
    REFERENTIAL, "ECO.2.1.3 (à confirmer)", text="SHALL: Subject XDM/1.0/DDM+<label> <FAMILY> <given>"
)
@pytest.mark.capability("mssante.client.message")
@pytest.mark.title_en("Subject XDM/1.0/DDM+<label> <FAMILY> <given>")
def test_subject(mss_channel, mss_documents, evidence):
    """Objet XDM/1.0/DDM+<libellé> <NOM> <prénom>"""
    judge_rule("mss-subject", mss_channel, mss_documents, evidence)
