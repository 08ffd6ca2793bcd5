"""The reference MLLP peers over real MLLP on loopback: the PAM FR receiver's ACKs and the sender's sequence."""

from __future__ import annotations

import pytest

from conformance.reference.pam import PamMessageFactory, parse_ack
from conformance.transport import mllp
from conformance.validation.hl7v2.er7 import parse

SEQUENCE = ["A28", "A01", "A02", "A03", "A31", "A40"]


def _segments(message: str, name: str) -> list[str]:
    return [s for s in message.split("\r") if s.startswith(name + "|")]


def test_receiver_acknowledges_the_valid_sequence_aa_with_msa2_equal_to_msh10(ref) -> None:
    host, port = ref.mllp_receiver
    factory = PamMessageFactory(ref.test_data)
    messages = factory.sequence() + factory.document_sequence()
    acks = mllp.send_messages(host, port, [m for _, m in messages], timeout=10)
    for (label, message), ack in zip(messages, acks, strict=True):
        code, acked = parse_ack(ack)
        assert code == "AA", (label, ack)
        assert acked == parse(message).msh.field(10)
        msh = parse(ack).msh
        assert msh.field(9).startswith("ACK^")
        # sender and receiver swapped
        assert msh.field(5) == parse(message).msh.field(3)
        assert not _segments(ack, "ERR")


@pytest.mark.parametrize("name", ["missing-zbe", "missing-pid18", "wrong-version", "unsupported-event-a08"])
def test_receiver_rejects_defective_messages_with_err(ref, name: str) -> None:
    message, expected = PamMessageFactory(ref.test_data).defective()[name]
    ack = mllp.send_and_receive(*ref.mllp_receiver, message, timeout=10)
    code, acked = parse_ack(ack)
    assert code == expected
    assert acked == parse(message).msh.field(10)
    errs = _segments(ack, "ERR")
    assert errs and "|E|" in errs[0] and "HL70357" in errs[0]


def test_receiver_drops_an_ins_without_vali_with_a_warning(ref) -> None:
    factory = PamMessageFactory(ref.test_data, frozenset({"ins-unqualified"}))
    ack = mllp.send_and_receive(*ref.mllp_receiver, factory.a28(), timeout=10)
    assert parse_ack(ack)[0] == "AA"
    assert any("|W|" in e and "PID^1^32" in e for e in _segments(ack, "ERR"))


def test_receiver_answers_ar_to_garbage_that_is_framed(ref) -> None:
    ack = mllp.send_and_receive(*ref.mllp_receiver, "this is not HL7", timeout=10)
    assert parse_ack(ack)[0] == "AR"


def test_receiver_acks_pass_the_hl7v2_ack_checker(ref) -> None:
    from conformance.validation.hl7v2 import check_ack

    factory = PamMessageFactory(ref.test_data)
    message = factory.a01()
    ack = mllp.send_and_receive(*ref.mllp_receiver, message, timeout=10)
    assert check_ack(message, ack).is_valid
    bad, _ = factory.defective()["missing-zbe"]
    assert check_ack(bad, mllp.send_and_receive(*ref.mllp_receiver, bad, timeout=10), expected={"AE", "AR"}).is_valid


def test_sent_adt_messages_pass_the_pam_fr_validator(ref) -> None:
    from conformance.validation.hl7v2 import validate_message

    for label, message in PamMessageFactory(ref.test_data).sequence():
        outcome = validate_message(message, lang="en")
        assert outcome.is_valid, (label, [f.message_en for f in outcome.errors])


@pytest.mark.slow  # validates the carried CDA (schematrons): about 30 s
def test_sent_document_messages_pass_the_cisis_validator(ref) -> None:
    from conformance.validation.hl7v2 import validate_message

    for label, message in PamMessageFactory(ref.test_data).document_sequence():
        outcome = validate_message(message, lang="en")
        assert outcome.is_valid, (label, [f.message_en for f in outcome.errors])


def test_sender_emits_the_scripted_sequence_and_checks_acks(ref) -> None:
    from conformance.reference.pam import build_ack, check_pam_message

    received: list[str] = []

    def listener(message: str) -> str:
        received.append(message)
        return build_ack(message, check_pam_message(message))

    with mllp.ThreadedMllpServer(listener) as server:
        run = ref.start_mllp_sender("127.0.0.1", server.port)
        assert run.wait(60)
    assert run.error == ""
    events = [parse(m).msh.field(9).split("^")[1] for m in received]
    assert events == [*SEQUENCE, "T02", "R01"]
    assert run.all_acknowledged
    assert all(s.ack_problems == [] for s in run.sent), [s.ack_problems for s in run.sent]
    for message in received[1:4]:  # A01, A02, A03 carry ZBE
        assert _segments(message, "ZBE")
    pid = parse(received[0]).first("PID")
    assert "1.2.250.1.213.1.4.10&ISO^INS" in pid.field(3) and pid.field(32) == "VALI"
    assert parse(received[0]).msh.field(12) == "2.5^FRA^2.11"
    assert "Base64" in _segments(received[6], "OBX")[0]


def test_sender_notices_a_wrong_ack(ref) -> None:
    def wrong(message: str) -> str:
        return "MSH|^~\\&|X|Y|||20260101||ACK^A01^ACK|1|P|2.5\rMSA|AA|not-your-message\r"

    with mllp.ThreadedMllpServer(wrong) as server:
        run = ref.start_mllp_sender("127.0.0.1", server.port, include_documents=False)
        assert run.wait(60)
    assert run.sent and not any(s.ack_ok for s in run.sent)
    assert all(s.ack_code == "AA" for s in run.sent)
