"""Bounded property tests: the ER7 reader, the validator and the MLLP decoder never crash on arbitrary input and
give stable answers (same input, same findings). A quick run here; a longer one marked slow."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.transport.mllp import FrameDecoder, MllpCharsetError, decode_message, frame
from conformance.validation.hl7v2 import check_ack, validate_message
from conformance.validation.hl7v2.er7 import Er7Error, parse

from .conftest import ADT_A01

QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HL7_CHARS = st.sampled_from([*'|^~\\&\r\nMSHPIDZBE0123456789ABCé "', "\x0b", "\x1c"])
er7_noise = st.lists(HL7_CHARS, max_size=300).map("".join)


@st.composite
def mutated_adt(draw) -> str:
    """The reference ADT with a few characters replaced, inserted or deleted."""
    text = list(ADT_A01)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        char = draw(HL7_CHARS)
        if action == "replace":
            text[position] = char
        elif action == "insert":
            text.insert(position, char)
        elif len(text) > 10:
            del text[position]
    return "".join(text)


def _findings(message: str) -> list[tuple[str, str, str]]:
    outcome = validate_message(message, check_cda=False)
    return [(f.rule, f.location, f.severity.value) for f in outcome.findings]


def _check_validator(message: str) -> None:
    first = _findings(message)
    assert first == _findings(message)  # stable
    for rule, _location, _severity in first:
        assert rule.startswith(("hl7v2-", "pam-fr-", "cisis-"))


def _check_reader(text: str) -> None:
    try:
        message = parse(text)
    except Er7Error:
        return
    assert message.segments[0].name == "MSH"
    for segment in message.segments:
        assert text.replace("\r\n", "\r").replace("\n", "\r").count(segment.raw) >= 1


@QUICK
@given(mutated_adt())
def test_validator_never_crashes_on_mutated_messages(message: str) -> None:
    _check_validator(message)


@QUICK
@given(er7_noise)
def test_reader_and_validator_never_crash_on_noise(text: str) -> None:
    _check_reader("MSH|^~\\&|" + text)
    _check_reader(text)
    _check_validator("MSH|^~\\&|" + text)


@QUICK
@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 64))
def test_mllp_decoder_is_chunking_independent(parts: list[bytes], chunk: int) -> None:
    stream = b"".join(parts)
    whole = [(i.payload, i.error) for i in FrameDecoder(max_frame=64).feed(stream)]
    decoder = FrameDecoder(max_frame=64)
    pieces = []
    for start in range(0, len(stream), chunk):
        pieces += decoder.feed(stream[start : start + chunk])
    assert [(i.payload, i.error) for i in pieces] == whole


@QUICK
@given(st.lists(st.binary(max_size=80).filter(lambda b: b"\x0b" not in b and b"\x1c" not in b), max_size=6))
def test_framed_payloads_come_back_intact(payloads: list[bytes]) -> None:
    decoder = FrameDecoder()
    items = decoder.feed(b"".join(frame(p) for p in payloads)) + decoder.eof()
    assert [(i.payload, i.error) for i in items] == [(p, None) for p in payloads]


@QUICK
@given(st.binary(max_size=200))
def test_charset_decoding_fails_cleanly(data: bytes) -> None:
    try:
        decode_message(b"MSH|^~\\&|||||||||||||||||UNICODE UTF-8|" + data)
    except MllpCharsetError as exc:
        assert "character set" in str(exc)


@QUICK
@given(mutated_adt())
def test_check_ack_never_crashes(ack: str) -> None:
    outcome = check_ack(ADT_A01, ack)
    assert all(f.rule for f in outcome.findings)


@pytest.mark.slow
@LONG
@given(mutated_adt())
def test_long_validator_fuzz(message: str) -> None:
    _check_validator(message)


@pytest.mark.slow
@LONG
@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(1, 64))
def test_long_mllp_decoder_fuzz(parts: list[bytes], chunk: int) -> None:
    test_mllp_decoder_is_chunking_independent.hypothesis.inner_test(parts, chunk)
