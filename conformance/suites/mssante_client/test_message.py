"""Message MSSanté : en-têtes, objet, parties texte. One test per requirement; ids ECO.x.y.z come from secondary sources (shown "à confirmer")."""

from __future__ import annotations

from conformance.campaign.mssante_checks import judge_rule
from conformance.sdk import verifies


@verifies("mssante.client.mime", "mssante.client.message", title_en="Well-formed MIME structure")
def test_mime(mss_channel, mss_documents, evidence):
    """Structure MIME bien formée"""
    judge_rule("mss-mime", mss_channel, mss_documents, evidence)


@verifies("mssante.client.message-id", "mssante.client.message", title_en="RFC 5322 Message-ID")
def test_message_id(mss_channel, mss_documents, evidence):
    """Message-ID conforme à la RFC 5322"""
    judge_rule("mss-message-id", mss_channel, mss_documents, evidence)


@verifies("mssante.client.from-display", "mssante.client.message", title_en="Sender display name (From)")
def test_from_display(mss_channel, mss_documents, evidence):
    """Nom d'affichage de l'expéditeur (From)"""
    judge_rule("mss-from-display", mss_channel, mss_documents, evidence)


@verifies("mssante.client.reply-to", "mssante.client.message", title_en="Reply-To for an application mailbox")
def test_reply_to(mss_channel, mss_documents, evidence):
    """Reply-To pour une BAL applicative"""
    judge_rule("mss-reply-to", mss_channel, mss_documents, evidence)


@verifies("mssante.client.utf8", "mssante.client.message", title_en="Text parts in UTF-8")
def test_utf8(mss_channel, mss_documents, evidence):
    """Parties texte en UTF-8"""
    judge_rule("mss-utf8", mss_channel, mss_documents, evidence)


@verifies("mssante.client.body-type", "mssante.client.message", title_en="text/plain or multipart/alternative body")
def test_body_type(mss_channel, mss_documents, evidence):
    """Corps text/plain ou multipart/alternative"""
    judge_rule("mss-body-type", mss_channel, mss_documents, evidence)


@verifies("mssante.client.nil", "mssante.client.message", title_en="X-MSS-NIL header (product reference)")
def test_nil(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-NIL (référence produit)"""
    judge_rule("mss-nil", mss_channel, mss_documents, evidence)


@verifies("mssante.client.ins", "mssante.client.message", title_en="X-MSS-INS header consistent with the archive's INS")
def test_ins(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-INS cohérent avec l'INS de l'archive"""
    judge_rule("mss-ins", mss_channel, mss_documents, evidence)


@verifies(
    "mssante.client.codecda", "mssante.client.message", title_en="X-MSS-CODECDA header = the CDA documents' codes"
)
def test_codecda(mss_channel, mss_documents, evidence):
    """En-tête X-MSS-CODECDA = codes des documents CDA"""
    judge_rule("mss-codecda", mss_channel, mss_documents, evidence)


@verifies(
    "mssante.client.mdn-request",
    "mssante.client.message",
    title_en="Disposition notification requested (Disposition-Notification-To)",
)
def test_mdn_request(mss_channel, mss_documents, evidence):
    """Demande d'accusé de lecture (Disposition-Notification-To)"""
    judge_rule("mss-mdn-request", mss_channel, mss_documents, evidence)


@verifies("mssante.client.subject", "mssante.client.message", title_en="Subject XDM/1.0/DDM+<label> <FAMILY> <given>")
def test_subject(mss_channel, mss_documents, evidence):
    """Objet XDM/1.0/DDM+<libellé> <NOM> <prénom>"""
    judge_rule("mss-subject", mss_channel, mss_documents, evidence)
