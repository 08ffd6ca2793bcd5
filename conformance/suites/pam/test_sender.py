"""The harness sends PAM FR messages; the system acknowledges them (ITI-30 / ITI-31)."""

from __future__ import annotations

import pytest

from conformance.campaign.hl7v2 import OK_CODES, REJECT_CODES, segments
from conformance.sdk import Text, expect, expect_valid, resource, verifies
from conformance.suites.pam.rules import ACK_ERR_MISSING


@pytest.fixture(scope="module")
def stay(hl7v2, qualified_patients):
    return hl7v2.factory(qualified_patients[0])


def _exchange(mllp_client, hl7v2, evidence, messages: list[str], expected=OK_CODES) -> None:
    """Send each message, judge each acknowledgement on its own (a bad first ACK does not hide the second)."""
    for message in messages:
        trigger = message.split("\r")[0].split("|")[8]
        ack = mllp_client.send(message)
        outcome = hl7v2.check_ack(message, ack, expected)
        outcome.subject = f"ACK ({trigger})"  # read in both languages
        evidence.note(*[f for f in outcome.findings if not f.severity.is_failure])
        expect_valid(outcome)


@verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="Admission (A01) accepted")
def test_admission(mllp_client, hl7v2, stay, evidence):
    """Admission (A01) acceptée"""
    _exchange(mllp_client, hl7v2, evidence, [stay.admit()])


@verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="Transfer (A02) accepted")
def test_transfer(mllp_client, hl7v2, qualified_patients, evidence):
    """Mutation (A02) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.admit(), stay.transfer()])


@verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="Discharge (A03) accepted")
def test_discharge(mllp_client, hl7v2, qualified_patients, evidence):
    """Sortie (A03) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.admit(), stay.discharge()])


@verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="Movement update (Z99) accepted")
def test_movement_update(mllp_client, hl7v2, qualified_patients, evidence):
    """Mise à jour de mouvement (Z99) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.admit(), stay.correct_admission()])


@verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="Patient update (A31) accepted")
def test_patient_update(mllp_client, hl7v2, qualified_patients, evidence):
    """Mise à jour de l'identité (A31) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.update_patient()])


@verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="Patient merge (A40) accepted")
def test_merge(mllp_client, hl7v2, qualified_patients, evidence):
    """Fusion de patients (A40) acceptée"""
    survivor = hl7v2.factory(qualified_patients[0])
    duplicate = hl7v2.factory(qualified_patients[-1])
    _exchange(mllp_client, hl7v2, evidence, [duplicate.update_patient(), survivor.merge_into(duplicate.ipp)])


DEFECTS = {
    "missing-zbe": ("admit_without_zbe", "ZBE absent d'un mouvement ITI-31", "ZBE missing from an ITI-31 movement"),
    "unsupported-version": (
        "admit_with_unsupported_version",
        "MSH-12 = 2.1 (version non prise en charge)",
        "MSH-12 = 2.1 (unsupported version)",
    ),
    "missing-pid": ("admit_without_pid", "segment PID absent", "PID segment missing"),
}


@verifies("pam.ack.rejected", "movements.pam.ack", title_en="A defective message is rejected with AE/AR and ERR")
@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_message_rejected(mllp_client, hl7v2, qualified_patients, evidence, defect, lang):
    """Un message défectueux est rejeté par AE/AR avec ERR"""
    builder, what_fr, what_en = DEFECTS[defect]
    message = getattr(hl7v2.factory(qualified_patients[0]), builder)()
    ack = mllp_client.send(message)
    outcome = hl7v2.check_ack(message, ack, REJECT_CODES)
    outcome.subject = f"ACK ({what_fr if lang == 'fr' else what_en})"
    with resource("ACK", defect):
        expect_valid(outcome)
        has_err = any(s[0] == "ERR" for s in segments(ack))
        expect(has_err, ACK_ERR_MISSING, "ERR", defect=Text(what_fr, what_en))
