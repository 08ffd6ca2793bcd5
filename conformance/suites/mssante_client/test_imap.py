"""Relève MSSanté : le système relève en IMAP sous STARTTLS les accusés que l'opérateur (le banc) lui remet.

The harness delivers, into the system's mailbox on its Dovecot server, the disposition notification of a
document the system sent, then watches the mailbox: the message flagged \\Seen means the system fetched it;
Dovecot's log says whether each login came after STARTTLS.
"""

from __future__ import annotations

import pytest

from conformance.campaign.mssante_checks import HarnessInconclusive, skip_if_disabled
from conformance.findings import Severity, finding
from conformance.sdk import ConformanceFailure, verifies


@pytest.fixture(scope="session")
def fetched(mss_channel, mss_documents, lang):
    from conformance.transport.imap import ImapUnavailable

    if not mss_channel.cfg.imap.enabled:
        pytest.skip("[mssante.imap] enabled = false")
    try:
        return mss_channel.fetch_notification(mss_documents[0])
    except ImapUnavailable as exc:
        raise HarnessInconclusive(
            f"serveur IMAP du banc indisponible : {exc}", f"harness IMAP unavailable: {exc}", lang
        ) from None


@verifies(
    "mssante.client.imap",
    "mssante.client.transport",
    title_en="The client fetches its notifications over IMAP, logging in only after STARTTLS",
)
def test_fetches_over_imap_starttls(mss_channel, fetched, evidence, lang):
    """Le client relève ses accusés en IMAP et ne s'authentifie qu'après STARTTLS"""
    skip_if_disabled(mss_channel, "mss-imap", lang)
    evidence.attach("imap-dovecot.log", fetched.log, "text/plain")
    if fetched.plaintext_attempts:
        raise ConformanceFailure(
            [
                finding(
                    Severity.ERROR,
                    "security",
                    "mss-imap-starttls",
                    fetched.delivered_to,
                    f"{fetched.plaintext_attempts} tentative(s) d'authentification IMAP en clair avant STARTTLS "
                    "(refusées par l'opérateur).",
                    f"{fetched.plaintext_attempts} IMAP login attempt(s) in clear before STARTTLS (refused by the "
                    "operator).",
                    source="suite",
                )
            ]
        )
    if not fetched.seen:
        raise HarnessInconclusive(
            f"l'accusé déposé dans {fetched.delivered_to} n'a pas été relevé en {mss_channel.cfg.wait_seconds:g} s "
            f"{fetched.peer_error}".strip(),
            f"the notification put in {fetched.delivered_to} was not fetched within {mss_channel.cfg.wait_seconds:g} s "
            f"{fetched.peer_error}".strip(),
            lang,
        )
