"""The harness sends PAM FR messages; the system acknowledges them (ITI-30 / ITI-31)."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import ConformanceFailure, expect_valid
from conformance.campaign.hl7v2 import OK_CODES, REJECT_CODES, segments
from conformance.findings import Severity, finding

PAM = "IHE PAM FR 2.11"
ACK_RULES = ("HL7 v2.5 / IHE ITI TF-2", "Ch.2 §2.9 acknowledgement; MSA-1, MSA-2 = MSH-10; ERR with AE/AR")


@pytest.fixture(scope="module")
def stay(hl7v2, qualified_patients):
    return hl7v2.factory(qualified_patients[0])


def _exchange(mllp_client, hl7v2, evidence, messages: list[str], expected=OK_CODES) -> None:
    outcomes = []
    for message in messages:
        ack = mllp_client.send(message)
        outcome = hl7v2.check_ack(message, ack, expected)
        trigger = message.split("\r")[0].split("|")[8]
        outcome.subject = f"ACK of {trigger}"
        outcomes.append(outcome)
    for outcome in outcomes:
        evidence.note(*[f for f in outcome.findings if not f.severity.is_failure])
    expect_valid(outcomes, "acquittement", "acknowledgement")


@pytest.mark.requirement(
    PAM, "ITI-31 A01 admission (ZBE INSERT)", text="An admission is acknowledged AA, MSA-2 = MSH-10"
)
@pytest.mark.capability("movements.pam.receive", "movements.pam.ack")
@pytest.mark.title_en("Admission (A01) accepted")
def test_admission(mllp_client, hl7v2, stay, evidence):
    """Admission (A01) acceptée"""
    _exchange(mllp_client, hl7v2, evidence, [stay.admit()])


@pytest.mark.requirement(PAM, "ITI-31 A02 transfer (ZBE-9 nature)", text="A transfer is acknowledged AA")
@pytest.mark.capability("movements.pam.receive", "movements.pam.ack")
@pytest.mark.title_en("Transfer (A02) accepted")
def test_transfer(mllp_client, hl7v2, qualified_patients, evidence):
    """Mutation (A02) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.admit(), stay.transfer()])


@pytest.mark.requirement(PAM, "ITI-31 A03 discharge", text="A discharge is acknowledged AA")
@pytest.mark.capability("movements.pam.receive", "movements.pam.ack")
@pytest.mark.title_en("Discharge (A03) accepted")
def test_discharge(mllp_client, hl7v2, qualified_patients, evidence):
    """Sortie (A03) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.admit(), stay.discharge()])


@pytest.mark.requirement(
    PAM, "ITI-31 Z99 correction (ZBE-4 UPDATE, ZBE-6 original trigger)", text="A movement update is acknowledged AA"
)
@pytest.mark.capability("movements.pam.receive", "movements.pam.ack")
@pytest.mark.title_en("Movement update (Z99) accepted")
def test_movement_update(mllp_client, hl7v2, qualified_patients, evidence):
    """Mise à jour de mouvement (Z99) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.admit(), stay.correct_admission()])


@pytest.mark.requirement(PAM, "ITI-30 A31 update patient information", text="A demographics update is acknowledged AA")
@pytest.mark.capability("movements.pam.receive", "movements.pam.ack")
@pytest.mark.title_en("Patient update (A31) accepted")
def test_patient_update(mllp_client, hl7v2, qualified_patients, evidence):
    """Mise à jour de l'identité (A31) acceptée"""
    stay = hl7v2.factory(qualified_patients[0])
    _exchange(mllp_client, hl7v2, evidence, [stay.update_patient()])


@pytest.mark.requirement(PAM, "ITI-30 A40 merge (MRG-1)", text="A merge of two identifiers is acknowledged AA")
@pytest.mark.capability("movements.pam.receive", "movements.pam.ack")
@pytest.mark.title_en("Patient merge (A40) accepted")
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


@pytest.mark.requirement(*ACK_RULES, text="A defective message is rejected (AE/AR) with an ERR segment, MSA-2 = MSH-10")
@pytest.mark.capability("movements.pam.ack")
@pytest.mark.title_en("A defective message is rejected with AE/AR and ERR")
@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_message_rejected(mllp_client, hl7v2, qualified_patients, evidence, defect, lang):
    """Un message défectueux est rejeté par AE/AR avec ERR"""
    builder, what_fr, what_en = DEFECTS[defect]
    message = getattr(hl7v2.factory(qualified_patients[0]), builder)()
    ack = mllp_client.send(message)
    outcome = hl7v2.check_ack(message, ack, REJECT_CODES)
    outcome.subject = f"ACK ({what_en})"
    if not any(s[0] == "ERR" for s in segments(ack)):
        outcome.add(
            finding(
                Severity.ERROR,
                "required",
                "ack-err-missing",
                "ERR",
                f"{what_fr}: l'acquittement ne porte pas de segment ERR",
                f"{what_en}: the acknowledgement carries no ERR segment",
                source="suite",
            )
        )
    if not outcome.is_valid:
        raise ConformanceFailure(
            outcome.findings,
            *((f"{what_fr}: " + outcome.errors[0].message_fr, f"{what_en}: " + outcome.errors[0].message_en)),
        )
