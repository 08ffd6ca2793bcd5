"""What the MSSanté suites share: the messages the system submitted, judged rule by rule, with evidence.

mails = submitted_documents(channel, lang)       # ERROR (inconclusive) naming what the sessions did when none
judge_rule("mss-subject", channel, mails, evidence)   # FAILED with the rule's findings, naming the message
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from conformance.sdk import ConformanceFailure
from conformance.transport.smtp import ReceivedMail, SmtpSession
from conformance.validation.mssante import RULES, MessageContext, apply, read_message

_END_REASONS = {
    "quit": ("terminée par QUIT", "ended by QUIT"),
    "timeout": ("coupée par l'opérateur après le délai d'inactivité", "cut by the operator after the idle timeout"),
    "closed": ("fermée par le client", "closed by the client"),
    "refused-flood": ("refusée (trop de connexions simultanées)", "refused (too many concurrent connections)"),
    "tls-failed": ("négociation TLS échouée", "TLS negotiation failed"),
    "": ("en cours", "still open"),
}


class HarnessInconclusive(RuntimeError):
    """The harness could not observe what it needs (no message arrived): an ERROR, never a verdict."""

    def __init__(self, fr: str, en: str, lang: str) -> None:
        super().__init__(fr if lang == "fr" else en)


def describe_session(session: SmtpSession, lang: str) -> str:
    fr, en = _END_REASONS.get(session.end_reason, (session.end_reason, session.end_reason))
    steps = ",".join(e for e in session.events if e in ("mail", "rcpt", "data", "data-end")) or "-"
    tls = session.tls_version or ("TLS échoué" if session.tls_error else "sans TLS")
    if lang == "fr":
        return f"session {session.id} ({session.peer}) : {tls}, commandes {steps}, {fr}"
    return f"session {session.id} ({session.peer}): {tls}, commands {steps}, {en}"


def sessions_json(sessions: list[SmtpSession]) -> str:
    return json.dumps([s.to_dict() for s in sessions], ensure_ascii=False, indent=1, default=str)


def submitted_documents(channel: Any, lang: str) -> list[ReceivedMail]:
    mails = channel.documents()
    if mails:
        return mails
    sessions = channel.sessions()
    where = f"{channel.operator.host}:{channel.operator.port}"
    detail = "; ".join(describe_session(s, lang) for s in sessions[:5])
    trigger = f" ({channel.trigger_error})" if channel.trigger_error else ""
    raise HarnessInconclusive(
        f"aucun message reçu par l'opérateur MSSanté du banc ({where}) en {channel.cfg.wait_seconds:g} s{trigger}"
        + (f" — {detail}" if detail else " — aucune connexion"),
        f"no message reached the harness's MSSanté operator ({where}) within {channel.cfg.wait_seconds:g} s{trigger}"
        + (f" — {detail}" if detail else " — no connection"),
        lang,
    )


def context_for(channel: Any, mail: ReceivedMail) -> MessageContext:
    cfg = channel.cfg
    patients = channel.state.config.test_data.patients
    return MessageContext(
        mailbox_type=cfg.mailbox_type,
        expected_nil=cfg.nil,
        require_mdn_request=cfg.require_mdn_request,
        require_pdf=cfg.require_pdf,
        auth_mechanisms=tuple(cfg.operator.auth),
        starttls=mail.session.starttls,
        session_events=list(mail.session.events),
        auth_mechanism=mail.session.auth_mechanism,
        rcpt_tos=list(mail.rcpt_tos),
        qualified_ins=frozenset(p.ins for p in patients if p.qualified and p.ins),
    )


def skip_if_disabled(channel: Any, rule_id: str, lang: str) -> None:
    if rule_id in channel.cfg.rules_disabled:
        pytest.skip(
            f"règle {rule_id} désactivée ([mssante] rules_disabled)"
            if lang == "fr"
            else f"rule {rule_id} disabled ([mssante] rules_disabled)"
        )


def attach_mail(evidence: Any, mail: ReceivedMail, number: int) -> None:
    evidence.attach(f"message-{number}.eml", mail.data, "message/rfc822")
    evidence.attach(f"message-{number}-session.json", sessions_json([mail.session]), "application/json")


def judge_rule(rule_id: str, channel: Any, mails: list[ReceivedMail], evidence: Any) -> None:
    """Apply one rule to every document message; fail with its findings, each naming the message."""
    rule = RULES[rule_id]
    lang = channel.state.lang
    skip_if_disabled(channel, rule_id, lang)
    findings = []
    for number, mail in enumerate(mails, start=1):
        attach_mail(evidence, mail, number)
        for item in apply(rule_id, read_message(mail.data), context_for(channel, mail)):
            where = f"message {number}: {item.location}" if item.location else f"message {number}"
            findings.append(replace(item, location=where))
    if findings:
        label_fr, label_en = rule.requirement_label_fr, rule.requirement_label_en
        first = findings[0]
        raise ConformanceFailure(
            findings,
            f"{label_fr} : {first.message_fr}" + (f" (+{len(findings) - 1} autres)" if len(findings) > 1 else ""),
            f"{label_en}: {first.message_en}" + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""),
        )
