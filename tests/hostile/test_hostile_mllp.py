"""The MLLP transport (conformance.transport.mllp) against hostile peers, on both sides.

As a client (the harness sending PAM FR messages to the system's receiver): the reference receiver's hostile
modes and a few raw peers. As a server (the harness's listener): hostile senders, and a burst of 10,000
messages. Each fault ends within the configured timeout, is named, is recorded as an MllpFrame with `error`
(with the bytes that arrived), and the transport goes on serving.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hardening_support import RawServer, read_frame

from conformance.evidence.exchange import MemorySink, MllpFrame
from conformance.reference.pam import PamMessageFactory, build_ack, check_pam_message
from conformance.transport import mllp
from conformance.validation.hl7v2 import check_ack

pytestmark = pytest.mark.timeout(90)

ACK_TIMEOUT = 1.5


def message_for(ref) -> str:
    return PamMessageFactory(ref.test_data).a01()


def frames(sink: MemorySink) -> list[MllpFrame]:
    return [r for r in sink.exchanges if isinstance(r, MllpFrame)]


def faults(sink: MemorySink) -> list[MllpFrame]:
    return [r for r in frames(sink) if r.error]


def still_works(hostile, sink: MemorySink) -> None:
    normal = hostile(None)
    message = message_for(normal)
    ack = mllp.send_and_receive(*normal.mllp_receiver, message, timeout=10, connect_timeout=2, sink=sink)
    assert check_ack(message, ack).is_valid
    assert frames(sink)[-1].error is None


@pytest.mark.parametrize(
    ("mode", "error", "named", "keeps_bytes"),
    [
        ("silence", mllp.MllpTimeoutError, "no answer within", False),
        ("slow-bytes", mllp.MllpTimeoutError, "no end block within", False),
        ("mllp-garbage", mllp.MllpTimeoutError, "garbage", True),
        ("mllp-no-end-block", mllp.MllpTimeoutError, "missing end block", True),
        ("mllp-close-mid-frame", mllp.MllpFramingError, "mid-frame", True),
    ],
)
def test_hostile_receiver_fault_is_named_recorded_and_bounded(hostile, mode, error, named, keeps_bytes) -> None:
    ref = hostile(mode)
    sink = MemorySink()
    message = message_for(ref)
    # slow-bytes sends its first byte after 1 s: a wider timeout keeps "unfinished frame" certain under load
    timeout = 3.0 if mode == "slow-bytes" else ACK_TIMEOUT
    with pytest.raises(error) as caught:
        mllp.send_and_receive(*ref.mllp_receiver, message, timeout=timeout, connect_timeout=1, sink=sink)
    assert named in str(caught.value)
    sent = frames(sink)[0]
    assert sent.direction == "sent" and sent.error is None and sent.payload.startswith(b"MSH|")
    recorded = faults(sink)
    assert recorded and any(named in f.error for f in recorded)
    if keeps_bytes:  # what the peer sent before the fault is evidence
        assert any(f.payload for f in recorded)
    still_works(hostile, sink)


def test_ack_for_another_message_is_caught_by_check_ack(hostile) -> None:
    ref = hostile("mllp-wrong-ack")
    sink = MemorySink()
    message = message_for(ref)
    ack = mllp.send_and_receive(*ref.mllp_receiver, message, timeout=5, connect_timeout=1, sink=sink)
    outcome = check_ack(message, ack, lang="en")
    assert not outcome.is_valid
    assert any("MSA-2" in f.message_en for f in outcome.errors)
    assert frames(sink)[-1].direction == "received" and b"MSA|AA|" in frames(sink)[-1].payload


# ---------------------------------------------------------------- raw peers the reference modes do not cover


def _ack_for(payload: bytes) -> bytes:
    message = payload.decode("utf-8", "replace")
    return build_ack(message, check_pam_message(message)).encode("utf-8")


def oversized_answer(conn, stop) -> None:
    read_frame(conn)
    conn.sendall(b"\x0b" + b"A" * (300 * 1024))  # beyond a 64 KiB max_frame, no end in sight
    stop.wait(5)


def bad_end_block(conn, stop) -> None:
    conn.sendall(b"\x0b" + _ack_for(read_frame(conn)) + b"\x1c\x1c\x1c")
    stop.wait(5)


def trickled_ack(conn, stop) -> None:
    """A correct ACK split into 1-byte writes: slow but legal, must be reassembled."""
    for byte in b"\x0b" + _ack_for(read_frame(conn)) + b"\x1c\r":
        conn.sendall(bytes([byte]))
        time.sleep(0.001)


def ack_in_wrong_charset(conn, stop) -> None:
    ack = _ack_for(read_frame(conn)).decode("utf-8").replace("MSA|", "NTE|||\u00e9t\u00e9 \u00e0 \u00a4\rMSA|", 1)
    conn.sendall(b"\x0b" + ack.encode("latin-1") + b"\x1c\r")  # MSH-18 says UTF-8 (or nothing)
    stop.wait(2)


def close_at_once(conn, stop) -> None:
    conn.shutdown(socket.SHUT_RDWR)


@pytest.mark.parametrize(
    ("behaviour", "error", "named"),
    [
        (oversized_answer, mllp.MllpFramingError, "larger than the maximum size"),
        (bad_end_block, mllp.MllpError, "bad end block"),
        (ack_in_wrong_charset, mllp.MllpCharsetError, "character set"),
        (close_at_once, mllp.MllpError, "closed"),
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(v),
)
def test_raw_hostile_receivers(hostile, behaviour, error, named) -> None:
    ref = hostile(None)
    message = message_for(ref)
    sink = MemorySink()
    with RawServer(behaviour) as peer, pytest.raises(error) as caught:
        mllp.send_and_receive(
            "127.0.0.1", peer.port, message, timeout=ACK_TIMEOUT, connect_timeout=1, max_frame=64 * 1024, sink=sink
        )
    assert named in str(caught.value)
    assert any(named in f.error for f in faults(sink))


def test_trickled_ack_is_reassembled(hostile) -> None:
    ref = hostile(None)
    message = message_for(ref)
    with RawServer(trickled_ack) as peer:
        ack = mllp.send_and_receive("127.0.0.1", peer.port, message, timeout=20, connect_timeout=1)
    assert check_ack(message, ack).is_valid


# ---------------------------------------------------------------- the harness as a listener


def _raw_send(port: int, data: bytes, *, then_close: bool = True, pause: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for i in range(0, len(data), 1 if pause else len(data) or 1):
            sock.sendall(data[i : i + (1 if pause else len(data))])
            if pause:
                time.sleep(pause)
        if then_close:
            sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        try:
            return sock.recv(65536)
        except (TimeoutError, OSError):
            return b""


def test_listener_survives_hostile_senders_and_serves_the_next_one(hostile) -> None:
    ref = hostile(None)
    message = message_for(ref)
    sink = MemorySink()
    with mllp.ThreadedMllpServer(
        lambda m: build_ack(m, check_pam_message(m)), sink=sink, read_timeout=2, max_frame=64 * 1024
    ) as listener:
        _raw_send(listener.port, bytes(range(256)) * 4)  # garbage, then close
        _raw_send(listener.port, b"\x0bMSH|^~\\&|half a message")  # closes mid-frame
        _raw_send(listener.port, b"\x0b" + b"Z" * (200 * 1024))  # oversized
        _raw_send(listener.port, b"\x0bMSH|^~\\&|" + b"\x1c\x1c")  # bad end block
        _raw_send(listener.port, b"\x0b" + message.encode() + b"\x1c\r", pause=0.0005)  # slow but legal
        ack = mllp.send_and_receive("127.0.0.1", listener.port, message, timeout=10)
    assert check_ack(message, ack).is_valid
    errors = " | ".join(f.error for f in faults(sink))
    for named in ("garbage", "mid-frame", "maximum size", "bad end block"):
        assert named in errors, errors
    assert len(listener.received) == 2


@pytest.mark.timeout(180)
def test_burst_of_ten_thousand_messages_is_handled(hostile) -> None:
    ref = hostile("mllp-burst")
    sink = MemorySink()
    count = ref.burst_count
    handled = threading.Event()

    def acknowledge(message: str) -> str:
        if len(listener.received) >= count:
            handled.set()
        return build_ack(message, check_pam_message(message))

    with mllp.ThreadedMllpServer(acknowledge, sink=sink, read_timeout=30) as listener:
        run = ref.start_mllp_sender("127.0.0.1", listener.port)
        assert run.wait(150), "the burst sender did not finish"
    assert not run.error, run.error
    assert len(listener.received) == count == 10_000
    assert run.sent[0].ack_ok, run.sent[0].ack  # every message got its ACK back, on the same connection
    received = [f for f in frames(sink) if f.direction == "received"]
    sent = [f for f in frames(sink) if f.direction == "sent"]
    assert len(received) == len(sent) == count and not faults(sink)
