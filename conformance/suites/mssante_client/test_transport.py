"""Soumission MSSanté : STARTTLS, authentification, limites de l'opérateur (sessions, taille, connexions).

These tests judge the SMTP sessions the system opened with the harness's operator, not only the messages it
managed to submit: a client that skips STARTTLS or never sends DATA has no message, and still gets a verdict.
"""

from __future__ import annotations

from conformance.campaign.mssante_checks import (
    HarnessInconclusive,
    describe_session,
    judge_rule,
    sessions_json,
    skip_if_disabled,
)
from conformance.findings import finding
from conformance.sdk import ConformanceFailure, verifies


def _sessions(channel, evidence, lang):
    channel.documents()  # triggers the system (when a peer can) and waits for what it sends
    sessions = channel.sessions()
    evidence.attach("smtp-sessions.json", sessions_json(sessions), "application/json")
    if not sessions:
        raise HarnessInconclusive(
            f"aucune connexion du système à l'opérateur MSSanté du banc en {channel.cfg.wait_seconds:g} s",
            f"the system never connected to the harness's MSSanté operator within {channel.cfg.wait_seconds:g} s",
            lang,
        )
    return sessions


def _fail_sessions(rule, bad, lang, fr, en):
    findings = [
        finding("error", "security" if "tls" in rule else "processing", rule, f"session {s.id}",
                f"{fr} — {describe_session(s, 'fr')}", f"{en} — {describe_session(s, 'en')}", source="mssante")
        for s in bad
    ]  # fmt: skip
    raise ConformanceFailure(findings)


@verifies(
    "mssante.client.starttls",
    "mssante.client.transport",
    title_en="Every SMTP session is protected by STARTTLS before any mail command",
)
def test_starttls(mss_channel, evidence, lang):
    """Toute session SMTP passe en STARTTLS avant la moindre commande de messagerie"""
    skip_if_disabled(mss_channel, "mss-starttls", lang)
    sessions = _sessions(mss_channel, evidence, lang)
    in_clear = [s for s in sessions if {"command-before-starttls", "auth-before-starttls"} & set(s.events)]
    if in_clear:
        _fail_sessions(
            "mss-starttls",
            in_clear,
            lang,
            "Commandes de messagerie en clair avant STARTTLS (refusées par l'opérateur)",
            "Mail commands in clear before STARTTLS (refused by the operator)",
        )
    # a client that leaves without ever starting TLS (although the operator offers it) never submits securely
    never = [s for s in sessions if not s.starttls and not s.tls_error and s.end_reason in ("quit", "closed")]
    if never:
        _fail_sessions(
            "mss-starttls",
            never,
            lang,
            "Session terminée sans STARTTLS, alors que l'opérateur le propose et l'exige",
            "Session ended without STARTTLS, although the operator offers and requires it",
        )


@verifies(
    "mssante.client.auth",
    "mssante.client.transport",
    title_en="The client authenticates with SASL XOAUTH2 (or an application certificate)",
)
def test_authentication(mss_channel, mss_documents, evidence):
    """Le client s'authentifie en SASL XOAUTH2 (ou par certificat applicatif)"""
    judge_rule("mss-auth", mss_channel, mss_documents, evidence)


@verifies(
    "mssante.client.transaction",
    "mssante.client.transport",
    title_en="Every transaction the client starts is completed (DATA sent, no idle timeout)",
)
def test_transactions_complete(mss_channel, evidence, lang):
    """Chaque transaction commencée par le client est menée à son terme (DATA envoyé, sans délai dépassé)"""
    sessions = _sessions(mss_channel, evidence, lang)
    bad = [s for s in sessions if "mail" in s.events and "data-end" not in s.events and s.end_reason == "timeout"]
    if bad:
        _fail_sessions(
            "mss-transaction",
            bad,
            lang,
            f"Transaction ouverte (MAIL FROM) sans DATA, coupée après {mss_channel.cfg.operator.idle_timeout:g} s d'inactivité",
            f"Transaction opened (MAIL FROM) without DATA, cut after {mss_channel.cfg.operator.idle_timeout:g} s idle",
        )


@verifies(
    "mssante.client.size",
    "mssante.client.transport",
    title_en="Messages stay within the size the operator announces (SIZE)",
)
def test_size_limit(mss_channel, evidence, lang):
    """Les messages respectent la taille annoncée par l'opérateur (SIZE)"""
    sessions = _sessions(mss_channel, evidence, lang)
    bad = [s for s in sessions if "message-too-big" in s.events]
    if bad:
        limit = mss_channel.cfg.operator.max_message_bytes
        _fail_sessions(
            "mss-size",
            bad,
            lang,
            f"Message au-delà de la taille annoncée ({limit} octets) : refusé par l'opérateur",
            f"Message over the announced size ({limit} bytes): refused by the operator",
        )


@verifies(
    "mssante.client.connections",
    "mssante.client.transport",
    title_en="The client stays within the operator's concurrent connection limit",
)
def test_connection_limit(mss_channel, evidence, lang):
    """Le client respecte la limite de connexions simultanées de l'opérateur"""
    sessions = _sessions(mss_channel, evidence, lang)
    bad = [s for s in sessions if s.end_reason == "refused-flood"]
    if bad:
        _fail_sessions(
            "mss-connections",
            bad[:5],
            lang,
            f"{len(bad)} connexion(s) refusée(s) au-delà de {mss_channel.cfg.operator.max_connections} simultanées",
            f"{len(bad)} connection(s) refused beyond {mss_channel.cfg.operator.max_connections} concurrent ones",
        )
