"""Fuzzing HL7 v2 ER7 (the validator's entry, ACK checks) and MLLP framing (the transport's decoder).

ER7: every input gives Outcomes with findings. MLLP: the decoder never raises, never holds more than a frame,
and frames split anywhere come back whole (the property that a byte-a-second or chunked peer relies on).
"""

from __future__ import annotations

from functools import cache

import pytest
from fuzz_support import check_outcomes, check_rejected, fuzz, mutated
from hypothesis import strategies as st

from conformance import settings as paths
from conformance.transport.mllp import FrameDecoder, MllpCharsetError, decode_message, frame
from conformance.validation.hl7v2 import check_ack, validate_input, validate_message
from conformance.validation.options import ValidateOptions

pytestmark = pytest.mark.timeout(600)

OPTIONS = ValidateOptions(lang="en")


@cache
def seeds() -> tuple[bytes, ...]:
    """The HL7 v2 samples of ../shared (ER7 files), smallest first."""
    root = paths.hl7v2_samples_dir()
    files = [p for p in root.rglob("*") if p.suffix.lower() in (".er7", ".hl7") and p.is_file()]
    files.sort(key=lambda p: p.stat().st_size)
    return tuple(f.read_bytes() for f in files[:16])


SEGMENT_NAMES = ["MSH", "EVN", "PID", "PV1", "ZBE", "MRG", "OBX", "OBR", "ORC", "TXA", "MSA", "ERR", "PD1", "ZFD"]
fields = st.text(alphabet=st.sampled_from(list("ABC012|^~\\&é \x00\n")), max_size=12)
segments = st.builds(lambda name, parts: name + "|" + "|".join(parts), st.sampled_from(SEGMENT_NAMES), st.lists(fields))
messages = st.builds(
    lambda header, body, sep: sep.join(["MSH|^~\\&|" + "|".join(header), *body]),
    st.lists(fields, max_size=20),
    st.lists(segments, max_size=8),
    st.sampled_from(["\r", "\n", "\r\n", "\r\r"]),
)


def test_seeds_reach_the_validator() -> None:
    assert len(seeds()) >= 5
    for data in seeds()[:3]:
        outcomes = check_outcomes(validate_input(data, name="seed", options=OPTIONS))
        assert outcomes[0].kind == "hl7v2"


def test_fuzz_er7_mutations(budget: str) -> None:
    fuzz(budget, mutated(seeds()), lambda d: check_outcomes(validate_input(d, name="f", options=OPTIONS)), scale=5)


def test_fuzz_er7_generated(budget: str) -> None:
    def check(message: str) -> None:
        check_outcomes(validate_input(message.encode("utf-8"), name="fuzz", options=OPTIONS))
        check_outcomes([validate_message(message, lang="en")])

    fuzz(budget, messages, check, scale=4)


def test_fuzz_er7_arbitrary_bytes_are_rejected(budget: str) -> None:
    def check(data: bytes) -> None:
        check_rejected(check_outcomes(validate_input(data, name="fuzz", options=OPTIONS)))

    fuzz(budget, st.binary(max_size=200).filter(lambda b: not b.startswith(b"MSH")), check)


def test_fuzz_ack_checks(budget: str) -> None:
    """check_ack judges whatever a hostile receiver answers (an ACK is outside input too)."""
    sent = seeds()[0].decode("latin-1")

    def check(ack: bytes) -> None:
        check_outcomes([check_ack(sent, ack.decode("latin-1"), lang="en")])

    ack_seed = f"MSH|^~\\&|R|F|S|F|20260101||ACK^A01^ACK|1|P|2.5\rMSA|AA|{sent.split('|')[9]}\r".encode()
    fuzz(budget, mutated([ack_seed]) | st.binary(max_size=100), check)


# ---------------------------------------------------------------- MLLP framing

MAX_FRAME = 4096
payloads = st.binary(max_size=600).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))


def feed_in_chunks(decoder: FrameDecoder, data: bytes, cuts: list[int]) -> list:
    items, start = [], 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        items += decoder.feed(data[start:cut])
        start = cut
    return items


def test_fuzz_mllp_frames_survive_any_split(budget: str) -> None:
    def check(example: tuple[list[bytes], list[int]]) -> None:
        frames_in, cuts = example
        decoder = FrameDecoder(MAX_FRAME)
        items = feed_in_chunks(decoder, b"".join(frame(p) for p in frames_in), cuts) + decoder.eof()
        assert [i.payload for i in items if i.error is None] == frames_in
        assert not [i for i in items if i.error]

    fuzz(budget, st.tuples(st.lists(payloads, max_size=6), st.lists(st.integers(0, 5000), max_size=20)), check, scale=5)


def test_fuzz_mllp_decoder_on_hostile_streams(budget: str) -> None:
    alphabet = st.sampled_from([b"\x0b", b"\x1c", b"\r", b"\x1c\r", b"MSH|", b"x" * 700, b"\x00", b" "])
    streams = st.lists(alphabet | st.binary(max_size=50), max_size=40).map(b"".join)

    def check(example: tuple[bytes, list[int]]) -> None:
        data, cuts = example
        decoder = FrameDecoder(MAX_FRAME)
        items = feed_in_chunks(decoder, data, cuts)
        assert decoder.buffered <= MAX_FRAME + 1
        items += decoder.eof()
        assert decoder.buffered == 0 and not decoder.in_frame
        for item in items:
            assert isinstance(item.payload, bytes) and (item.error is None or item.error.strip())
            assert len(item.payload) <= MAX_FRAME + 1
        for item in items:
            if item.error is None:
                try:
                    decode_message(item.payload)
                except MllpCharsetError as exc:
                    assert str(exc)

    fuzz(budget, st.tuples(streams, st.lists(st.integers(0, 5000), max_size=20)), check, scale=5)
