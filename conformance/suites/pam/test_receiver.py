"""The harness listens; the system emits PAM FR messages during the run; each is validated (by the HL7 v2
validator, whose findings the tests filter by rule id)."""

from __future__ import annotations

import pytest

from conformance.campaign.hl7v2 import field, ins_in_pid3
from conformance.sdk import expect, expect_valid, findings_of, report, require, resource, verifies
from conformance.suites.pam.rules import EVENT_NOT_IN_PAM, INS_AUTHORITY, INS_RULES, NOTHING_RECEIVED


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
        # the validator only warns that it has no profile for the event (right for a file checked on its own);
        # a message the system emits as PAM FR that PAM FR does not define does not conform
        if any(f.rule == "hl7v2-no-profile" for f in outcome.findings):
            with resource(outcome.subject, None):
                message_type = str(outcome.details.get("message_type") or "?")
                expect(False, EVENT_NOT_IN_PAM, "MSH-9", message_type=message_type)


@verifies(
    "pam.emit.ins",
    "movements.pam.emit",
    "identity.ins.qualified",
    title_en="The INS is emitted only for qualified identities, with its OID",
)
def test_ins_in_emitted_messages(adt_outcomes, adt_messages, test_data):
    """L'INS n'est émis que pour les identités qualifiées, avec son OID"""
    report(findings_of(adt_outcomes, *INS_RULES))
    # a configured test identity's INS under another INS authority (a test NIR sent as a production one, .8
    # for .10) passes every rule on the message alone: only the configuration says which authority it has
    authorities = {p.ins: p.oid for p in test_data.patients if p.ins and p.oid}
    for index, message in enumerate(adt_messages):
        for ins, oid in ins_in_pid3(message):
            expected = authorities.get(ins)
            if expected is None:
                continue
            with resource(f"message {index + 1} ({_event(message)}, MSH-10 {field(message, 'MSH', 10)})", None):
                expect(oid == expected, INS_AUTHORITY, "PID-3", ins=ins, got=oid or "(absent)", expected=expected)
