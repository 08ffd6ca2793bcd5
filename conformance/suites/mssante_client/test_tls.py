"""Comportements TLS du client MSSanté : il refuse un opérateur au TLS non conforme.

Each test starts a second operator on a new loopback port with one TLS defect, has the system submit to it
(the reference system, or [mssante] trigger_command), and records what the system did there: a conformant
client aborts before any mail command. Without a way to make the system submit, the tests are skipped.
"""

from __future__ import annotations

import pytest

from conformance.campaign.mssante_checks import HarnessInconclusive, describe_session, sessions_json
from conformance.findings import finding
from conformance.sdk import ConformanceFailure, verifies

PROBES = {
    "legacy-tls": ("un opérateur n'offrant que TLS 1.0/1.1", "an operator offering only TLS 1.0/1.1"),
    "other-cipher": ("une suite hors liste (ECDHE-RSA-CHACHA20-POLY1305)", "a suite outside the list (ECDHE-RSA-CHACHA20-POLY1305)"),
    "expired-certificate": ("un certificat serveur expiré", "an expired server certificate"),
    "untrusted-ca": ("un certificat d'une autorité non reconnue", "a certificate from an untrusted authority"),
}  # fmt: skip


def _probe(channel, evidence, lang, name):
    if not channel.cfg.tls_probes:
        pytest.skip("[mssante] tls_probes = false")
    if channel.peer is None:
        pytest.skip(
            "aucun moyen de faire soumettre le système ([mssante] trigger_command)"
            if lang == "fr"
            else "no way to make the system submit ([mssante] trigger_command)"
        )
    result = channel.probe(name)
    evidence.attach(f"probe-{name}-sessions.json", sessions_json(result.sessions), "application/json")
    what_fr, what_en = PROBES[name]
    if result.mails:
        sessions = [m.session for m in result.mails]
        raise ConformanceFailure(
            [
                finding(
                    "error",
                    "security",
                    f"mss-tls-{name}",
                    f"session {s.id}",
                    f"Le client a soumis un message à {what_fr} — {describe_session(s, 'fr')}",
                    f"The client submitted a message to {what_en} — {describe_session(s, 'en')}",
                    source="mssante",
                )
                for s in sessions
            ]
        )
    if not result.sessions:
        raise HarnessInconclusive(
            f"le système ne s'est pas connecté à l'opérateur de test ({what_fr}) {result.peer_error}",
            f"the system did not connect to the probe operator ({what_en}) {result.peer_error}",
            lang,
        )
    late = [s for s in result.sessions if {"mail", "rcpt", "data"} & set(s.events) and s.starttls]
    if late:
        raise ConformanceFailure(
            [
                finding(
                    "error",
                    "security",
                    f"mss-tls-{name}",
                    f"session {s.id}",
                    f"Le client a poursuivi la session (MAIL FROM) avec {what_fr} — {describe_session(s, 'fr')}",
                    f"The client went on (MAIL FROM) with {what_en} — {describe_session(s, 'en')}",
                    source="mssante",
                )
                for s in late
            ]
        )


@verifies(
    "mssante.client.tls-version",
    "mssante.client.tls",
    title_en="The client refuses an operator offering only TLS 1.0/1.1",
)
def test_refuses_legacy_tls(mss_channel, evidence, lang):
    """Le client refuse un opérateur n'offrant que TLS 1.0/1.1"""
    _probe(mss_channel, evidence, lang, "legacy-tls")


@verifies(
    "mssante.client.tls-cipher",
    "mssante.client.tls",
    title_en="The client refuses a cipher suite outside the allowed list",
)
def test_refuses_other_cipher(mss_channel, evidence, lang):
    """Le client refuse une suite cryptographique hors de la liste autorisée"""
    _probe(mss_channel, evidence, lang, "other-cipher")


@verifies(
    "mssante.client.tls-expired", "mssante.client.tls", title_en="The client refuses an expired operator certificate"
)
def test_refuses_expired_certificate(mss_channel, evidence, lang):
    """Le client refuse un certificat d'opérateur expiré"""
    _probe(mss_channel, evidence, lang, "expired-certificate")


@verifies(
    "mssante.client.tls-authority",
    "mssante.client.tls",
    title_en="The client refuses a certificate from an untrusted authority",
)
def test_refuses_untrusted_ca(mss_channel, evidence, lang):
    """Le client refuse un certificat émis par une autorité non reconnue"""
    _probe(mss_channel, evidence, lang, "untrusted-ca")
