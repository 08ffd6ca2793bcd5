"""Réception MSSanté : le banc, correspondant, envoie des documents au système et juge ses accusés (MDN).

One conformant message and five defective ones (unknown patient, INS mismatch, incomplete INS, two patients,
broken hash) go to the system's inbound address ([mssante.correspondent]); the system's notifications come
back through the harness's operator. The expected integration code of each defect is configurable.
"""

from __future__ import annotations

import pytest

from conformance.campaign.mssante_checks import HarnessInconclusive
from conformance.findings import Severity, finding
from conformance.sdk import ConformanceFailure, verifies
from conformance.validation.mssante import check_mdn_outcome, check_mdn_structure, read_mdn

CASES_FR = {
    "conformant": "message conforme",
    "unknown-patient": "patient inconnu",
    "ins-mismatch": "INS ne correspondant pas aux traits connus",
    "ins-incomplete": "INS incomplet",
    "two-patients": "deux patients dans un même message",
    "broken-hash": "empreinte SHA-1 de l'archive erronée",
}


@pytest.fixture(scope="session")
def correspondence(mss_channel, lang):
    if mss_channel.cfg.correspondent.host is None:
        pytest.skip(
            "[mssante.correspondent] host/port/address non configurés"
            if lang == "fr"
            else "[mssante.correspondent] host/port/address not configured"
        )
    return mss_channel.correspondence()


def _notification(correspondence, evidence, lang, case):
    try:
        sent, mdns = correspondence.notification(case)
    except LookupError:
        pytest.skip(
            "aucun patient qualifié dans [test_data]" if lang == "fr" else "no qualified patient in [test_data]"
        )
    evidence.attach(f"sent-{case}.eml", sent.data, "message/rfc822")
    if not sent.result.ok:
        raise HarnessInconclusive(
            f"envoi au système refusé ou impossible ({CASES_FR[case]}) : {sent.result.error}",
            f"sending to the system was refused or failed ({case}): {sent.result.error}",
            lang,
        )
    if not mdns:
        raise ConformanceFailure(
            [
                finding(
                    Severity.ERROR,
                    "processing",
                    "mss-mdn-missing",
                    sent.message_id,
                    f"Aucun accusé (MDN) reçu en {correspondence.cfg.wait_seconds:g} s pour le {CASES_FR[case]} "
                    f"({sent.message_id}), alors qu'il était demandé (Disposition-Notification-To).",
                    f"No notification (MDN) within {correspondence.cfg.wait_seconds:g} s for the {case} message "
                    f"({sent.message_id}), although one was requested (Disposition-Notification-To).",
                    source="suite",
                )
            ]
        )
    for number, mdn in enumerate(mdns, start=1):
        evidence.attach(f"mdn-{case}-{number}.eml", mdn.data, "message/rfc822")
    return sent, read_mdn(mdns[0].data)


def _judge_outcome(correspondence, evidence, lang, case):
    _sent, facts = _notification(correspondence, evidence, lang, case)
    if case == "conformant" and not facts.is_report:  # judged by test_mdn_structure; no disposition to read
        pytest.skip(
            "la notification n'est pas un MDN : l'intégration n'y est pas lisible (voir mdn-structure)"
            if lang == "fr"
            else "the notification is not an MDN: the integration cannot be read from it (see mdn-structure)"
        )
    expected = None if case == "conformant" else correspondence.cfg.expected_codes[case]
    findings = check_mdn_outcome(facts, expected)
    if findings:
        raise ConformanceFailure(findings)


@verifies(
    "mssante.receiver.mdn-structure",
    "mssante.receiver.integration",
    title_en="The notification of a conformant message is an RFC 8098 MDN with its mandatory fields",
)
def test_mdn_structure(correspondence, evidence, lang):
    """L'accusé d'un message conforme est un MDN RFC 8098 avec ses champs obligatoires"""
    sent, facts = _notification(correspondence, evidence, lang, "conformant")
    findings = check_mdn_structure(facts, sent.message_id)
    if findings:
        raise ConformanceFailure(findings)


@verifies(
    "mssante.receiver.integrated",
    "mssante.receiver.integration",
    title_en="A conformant document is integrated and acknowledged as processed",
)
def test_conformant_integrated(correspondence, evidence, lang):
    """Un document conforme est intégré et acquitté « processed »"""
    _judge_outcome(correspondence, evidence, lang, "conformant")


@verifies(
    "mssante.receiver.unknown-patient",
    "mssante.receiver.integration",
    title_en="A document for an unknown patient is refused with code 902",
)
def test_unknown_patient(correspondence, evidence, lang):
    """Un document d'un patient inconnu est refusé avec le code 902"""
    _judge_outcome(correspondence, evidence, lang, "unknown-patient")


@verifies(
    "mssante.receiver.ins-mismatch",
    "mssante.receiver.integration",
    title_en="A document whose INS does not match the known identity is refused with code 904",
)
def test_ins_mismatch(correspondence, evidence, lang):
    """Un document dont l'INS ne correspond pas à l'identité connue est refusé avec le code 904"""
    _judge_outcome(correspondence, evidence, lang, "ins-mismatch")


@verifies(
    "mssante.receiver.ins-incomplete",
    "mssante.receiver.integration",
    title_en="A document with an incomplete INS is refused with code 905",
)
def test_ins_incomplete(correspondence, evidence, lang):
    """Un document à l'INS incomplet est refusé avec le code 905"""
    _judge_outcome(correspondence, evidence, lang, "ins-incomplete")


@verifies(
    "mssante.receiver.two-patients",
    "mssante.receiver.integration",
    title_en="A message about two patients is refused (code 906 unless configured)",
)
def test_two_patients(correspondence, evidence, lang):
    """Un message concernant deux patients est refusé (code 906 sauf configuration)"""
    _judge_outcome(correspondence, evidence, lang, "two-patients")


@verifies(
    "mssante.receiver.broken-hash",
    "mssante.receiver.integration",
    title_en="An archive whose declared hash does not match its document is refused (code 906 unless configured)",
)
def test_broken_hash(correspondence, evidence, lang):
    """Une archive dont l'empreinte déclarée ne correspond pas au document est refusée (code 906 sauf configuration)"""
    _judge_outcome(correspondence, evidence, lang, "broken-hash")
