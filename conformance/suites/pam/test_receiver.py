"""The harness listens; the system emits PAM FR messages during the run; each is validated and acknowledged."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import ConformanceFailure, expect
from conformance.campaign.hl7v2 import PAM_VERSION, field, segments
from conformance.findings import Severity, finding
from conformance.validation.hl7v2.rules import INS_OIDS as INS_AUTHORITIES
from conformance.validation.hl7v2.rules import MOVEMENT_EVENTS

PAM = "IHE PAM FR 2.11"


@pytest.fixture(scope="module")
def adt_messages(mllp_listener) -> list[str]:
    received = mllp_listener.wait_for()
    return [r.message for r in received if field(r.message, "MSH", 9).startswith("ADT")]


def _attach_frames(evidence, listener) -> None:
    for frame in listener.frames():
        evidence.record(frame)


def _event(message: str) -> str:
    parts = field(message, "MSH", 9).split("^")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.requirement(
    PAM,
    "ITI-30 / ITI-31 (system as Patient Demographics/Encounter Supplier)",
    text="The system emits PAM FR messages to the harness's listener during the run",
)
@pytest.mark.capability("movements.pam.emit")
@pytest.mark.title_en("The system emits ADT messages to the harness")
def test_messages_received(adt_messages, mllp_listener, evidence, config):
    """Le système émet des messages ADT vers le banc"""
    _attach_frames(evidence, mllp_listener)
    expect(
        adt_messages,
        "pam-nothing-received",
        f"aucun message ADT reçu sur {mllp_listener.host}:{mllp_listener.port} en {config.mllp.listener.wait_seconds} s",
        f"no ADT message received on {mllp_listener.host}:{mllp_listener.port} within {config.mllp.listener.wait_seconds} s",
    )


@pytest.mark.requirement(
    PAM,
    "§6.5 MSH-12 / MSH-21; §6.13 ZBE; PAM FR message profiles",
    text="Every message emitted conforms to the PAM FR 2.11 profile",
)
@pytest.mark.capability("movements.pam.emit")
@pytest.mark.title_en("The messages emitted conform to PAM FR 2.11")
def test_messages_conform(adt_messages, mllp_listener, hl7v2, evidence):
    """Les messages émis sont conformes à PAM FR 2.11"""
    expect(adt_messages, "pam-nothing-received", "aucun message ADT reçu", "no ADT message received")
    findings, unavailable = [], None
    for index, message in enumerate(adt_messages):
        event = _event(message)
        label = f"message {index + 1} ({event}, MSH-10 {field(message, 'MSH', 10)})"
        if field(message, "MSH", 12) != PAM_VERSION:
            findings.append(
                finding(
                    Severity.ERROR,
                    "value",
                    "pam-msh12",
                    "MSH-12",
                    f"{label}: MSH-12 = {field(message, 'MSH', 12)!r} au lieu de {PAM_VERSION}",
                    f"{label}: MSH-12 = {field(message, 'MSH', 12)!r} instead of {PAM_VERSION}",
                    source="suite",
                )
            )
        if event in MOVEMENT_EVENTS and not any(s[0] == "ZBE" for s in segments(message)):
            findings.append(
                finding(
                    Severity.ERROR,
                    "required",
                    "pam-zbe-missing",
                    "ZBE",
                    f"{label}: segment ZBE absent (obligatoire pour un mouvement ITI-31)",
                    f"{label}: ZBE segment missing (required in an ITI-31 movement)",
                    source="suite",
                )
            )
        try:
            outcome = hl7v2.validate(message)
        except Exception as exc:
            findings.append(
                finding(Severity.FATAL, "exception", "harness-hl7v2-validator", "", str(exc), str(exc), source="tool")
            )
            continue
        evidence.outcome(f"validation-message-{index + 1}.json", outcome)
        findings.extend(outcome.findings)
    if any(f.severity.is_failure for f in findings):
        raise ConformanceFailure(findings)
    if unavailable is not None:
        raise unavailable
    evidence.note(*findings)


@pytest.mark.requirement(
    PAM,
    "§6.6.1 PID-3 / §6.6.15 PID-32",
    text="The INS travels in PID-3 only when PID-32 = VALI, with an INS authority OID",
)
@pytest.mark.capability("movements.pam.emit", "identity.ins.qualified")
@pytest.mark.title_en("The INS is emitted only for qualified identities, with its OID")
def test_ins_in_emitted_messages(adt_messages):
    """L'INS n'est émis que pour les identités qualifiées, avec son OID"""
    expect(adt_messages, "pam-nothing-received", "aucun message ADT reçu", "no ADT message received")
    problems = []
    for index, message in enumerate(adt_messages):
        pid3 = field(message, "PID", 3)
        status = field(message, "PID", 32).split("~")[0]
        for repetition in pid3.split("~"):
            components = repetition.split("^")
            kind = components[4] if len(components) > 4 else ""
            authority = components[3].split("&") if len(components) > 3 else []
            oid = authority[1] if len(authority) > 1 else ""
            if (
                kind not in ("INS", "INS-NIR", "INS-NIA")
                and oid not in INS_AUTHORITIES
                and not oid.startswith("1.2.250.1.213.1.4.")
            ):
                continue
            label = f"message {index + 1} ({_event(message)})"
            if kind == "INS" and oid not in INS_AUTHORITIES:
                problems.append(
                    finding(
                        Severity.ERROR,
                        "value",
                        "pam-ins-oid",
                        "PID-3.4.2",
                        f"{label}: autorité de l'INS {oid!r} (attendu 1.2.250.1.213.1.4.8/.9/.10/.11)",
                        f"{label}: INS authority {oid!r} (expected 1.2.250.1.213.1.4.8/.9/.10/.11)",
                        source="suite",
                    )
                )
            elif kind != "INS":
                problems.append(
                    finding(
                        Severity.ERROR,
                        "value",
                        "pam-ins-oid",
                        "PID-3.5",
                        f"{label}: identifiant d'autorité INS {oid} avec le type {kind!r} (attendu INS)",
                        f"{label}: INS authority {oid} with type {kind!r} (expected INS)",
                        source="suite",
                    )
                )
            if status != "VALI":
                problems.append(
                    finding(
                        Severity.ERROR,
                        "business-rule",
                        "pam-ins-unqualified",
                        "PID-32",
                        f"{label}: INS transmis avec PID-32 = {status or '(vide)'} (VALI exigé)",
                        f"{label}: INS sent with PID-32 = {status or '(empty)'} (VALI required)",
                        source="suite",
                    )
                )
    if problems:
        raise ConformanceFailure(problems)
