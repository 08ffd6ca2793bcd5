"""The harness listens; the system emits PAM FR messages during the run; each is validated (by the HL7 v2
validator, whose findings the tests filter by rule id)."""

from __future__ import annotations

import pytest

from conformance.campaign.hl7v2 import field
from conformance.sdk import expect_valid, findings_of, report, require, verifies
from conformance.suites.pam.rules import INS_RULES, NOTHING_RECEIVED


@pytest.fixture(scope="module")
def adt_messages(mllp_listener) -> list[str]:
    received = mllp_listener.wait_for()
    return [r.message for r in received if field(r.message, "MSH", 9).startswith("ADT")]


def _event(message: str) -> str:
    parts = field(message, "MSH", 9).split("^")
    return parts[1] if len(parts) > 1 else ""


@pytest.fixture(scope="module")
def adt_outcomes(adt_messages, hl7v2, lang):
    """One outcome per message received, named `message N (event, MSH-10 ...)`."""
    if not adt_messages:
        pytest.skip("aucun message ADT reçu" if lang == "fr" else "no ADT message received")
    outcomes = []
    for index, message in enumerate(adt_messages):
        outcome = hl7v2.validate(message)
        outcome.subject = f"message {index + 1} ({_event(message)}, MSH-10 {field(message, 'MSH', 10)})"
        outcomes.append(outcome)
    return outcomes


@verifies("pam.emit.received", "movements.pam.emit", title_en="The system emits ADT messages to the harness")
def test_messages_received(adt_messages, mllp_listener, evidence, config):
    """Le système émet des messages ADT vers le banc"""
    for frame in mllp_listener.frames():
        evidence.record(frame)
    endpoint = f"{mllp_listener.host}:{mllp_listener.port}"
    require(adt_messages, NOTHING_RECEIVED, "", endpoint=endpoint, seconds=config.mllp.listener.wait_seconds)


@verifies("pam.emit.profile", "movements.pam.emit", title_en="The messages emitted conform to PAM FR 2.11")
def test_messages_conform(adt_outcomes, evidence):
    """Les messages émis sont conformes à PAM FR 2.11"""
    for index, outcome in enumerate(adt_outcomes):
        evidence.outcome(f"validation-message-{index + 1}.json", outcome)
        expect_valid(outcome, exclude=INS_RULES)


@verifies(
    "pam.emit.ins",
    "movements.pam.emit",
    "identity.ins.qualified",
    title_en="The INS is emitted only for qualified identities, with its OID",
)
def test_ins_in_emitted_messages(adt_outcomes):
    """L'INS n'est émis que pour les identités qualifiées, avec son OID"""
    report(findings_of(adt_outcomes, *INS_RULES))
