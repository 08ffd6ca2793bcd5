"""MLLP transport with real sockets on 127.0.0.1 (port 0): round trips, several messages per connection, partial
reads, and every fault (garbage, missing end block, peer closing mid-frame, silence, oversized frame, charset,
refused connection, TLS with client certificates), each recorded in the sink and never a hang."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time

import pytest

from conformance.evidence.exchange import MemorySink, MllpFrame
from conformance.transport.mllp import (
    FrameDecoder,
    MllpCharsetError,
    MllpClient,
    MllpClosedError,
    MllpConnectError,
    MllpFramingError,
    MllpServer,
    MllpTimeoutError,
    ThreadedMllpServer,
    client_ssl_context,
    decode_message,
    encode_message,
    frame,
    send_and_receive,
    send_messages,
    server_ssl_context,
)
from conformance.validation.hl7v2 import check_ack, make_ack

from .conftest import ADT_A01, with_value

VB, FS_CR = b"\x0b", b"\x1c\x0d"


def ack_handler(message: str) -> str:
    return make_ack(message, "AA")


def errors(sink: MemorySink) -> list[str]:
    return [record.error for record in sink.exchanges if isinstance(record, MllpFrame) and record.error]


def raw_exchange(
    port: int, chunks: list[bytes], *, pause: float = 0.0, read: bool = True, timeout: float = 5.0
) -> bytes:
    """Send raw bytes (chunk by chunk) to a server and read what comes back until a full frame or close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
            if pause:
                time.sleep(pause)
        received = b""
        if read:
            while not received.endswith(FS_CR):
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        return received


class RawPeer:
    """A scripted TCP server: accepts one connection, reads one frame, then runs `behaviour(conn)`."""

    def __init__(self, behaviour) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.behaviour = behaviour
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            conn.settimeout(5)
            while FS_CR not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.behaviour(conn)

    def close(self) -> None:
        self.thread.join(5)
        self.listener.close()


# ----------------------------------------------------------------------------------------------- round trips


def test_round_trip_adt_and_ack_on_loopback() -> None:
    sink = MemorySink()
    with ThreadedMllpServer(ack_handler, sink=sink) as server:
        ack = send_and_receive("127.0.0.1", server.port, ADT_A01, timeout=5)
        assert server.received == [ADT_A01]
    outcome = check_ack(ADT_A01, ack)
    assert outcome.is_valid, outcome.render("en")
    directions = [(record.direction, record.error) for record in sink.exchanges]
    assert directions == [("received", None), ("sent", None)]
    assert sink.exchanges[0].payload == ADT_A01.encode("utf-8")
    assert sink.exchanges[0].peer.startswith("127.0.0.1:")


def test_several_messages_on_one_connection_are_each_acknowledged() -> None:
    messages = [with_value(ADT_A01, "MSH-10", f"MSG{i}") for i in range(5)]
    client_sink = MemorySink()
    with ThreadedMllpServer(ack_handler) as server:
        acks = send_messages("127.0.0.1", server.port, messages, timeout=5, sink=client_sink)
    assert [ack.split("\r")[1].split("|")[2] for ack in acks] == [f"MSG{i}" for i in range(5)]
    local_ports = {record.local for record in client_sink.exchanges}
    assert len(local_ports) == 1  # one connection
    assert [record.direction for record in client_sink.exchanges] == ["sent", "received"] * 5


def test_partial_reads_byte_by_byte_are_reassembled() -> None:
    with ThreadedMllpServer(ack_handler) as server:
        framed = frame(ADT_A01.encode())
        chunks = [framed[i : i + 7] for i in range(0, len(framed), 7)]
        reply = raw_exchange(server.port, chunks, pause=0.001)
    assert reply.startswith(VB) and reply.endswith(FS_CR)
    assert "MSA|AA|3975" in reply.decode()


def test_async_client_and_server_in_one_loop() -> None:
    async def scenario() -> list[str]:
        async with MllpServer(ack_handler) as server, MllpClient("127.0.0.1", server.port, read_timeout=5) as client:
            return [await client.send_and_receive(ADT_A01), await client.send_and_receive(ADT_A01)]

    acks = asyncio.run(scenario())
    assert len(acks) == 2 and all("MSA|AA|3975" in ack for ack in acks)


def test_async_handler_is_awaited() -> None:
    async def handler(message: str) -> str:
        await asyncio.sleep(0)
        return make_ack(message, "AE")

    async def scenario() -> str:
        async with MllpServer(handler) as server, MllpClient("127.0.0.1", server.port, read_timeout=5) as client:
            return await client.send_and_receive(ADT_A01)

    assert "MSA|AE|3975" in asyncio.run(scenario())


# ----------------------------------------------------------------------------------------------- faults


def test_garbage_between_frames_is_recorded_and_the_next_frame_still_served() -> None:
    sink = MemorySink()
    with ThreadedMllpServer(ack_handler, sink=sink) as server:
        reply = raw_exchange(server.port, [b"HELLO\r\n", frame(ADT_A01.encode())])
    assert "MSA|AA" in reply.decode()
    assert any("garbage between frames" in error for error in errors(sink))
    garbage = next(record for record in sink.exchanges if record.error and "garbage" in record.error)
    assert garbage.payload == b"HELLO"


def test_missing_end_block_before_a_new_frame_is_recorded() -> None:
    sink = MemorySink()
    with ThreadedMllpServer(ack_handler, sink=sink) as server:
        reply = raw_exchange(server.port, [VB + b"MSH|^~\\&|broken", frame(ADT_A01.encode())])
    assert "MSA|AA" in reply.decode()
    assert any("missing end block" in error for error in errors(sink))


def test_client_times_out_on_a_frame_without_end_block() -> None:
    peer = RawPeer(lambda conn: (conn.sendall(VB + b"MSH|^~\\&|half a message"), time.sleep(1.5)))
    sink = MemorySink()
    started = time.monotonic()
    with pytest.raises(MllpTimeoutError, match="no end block within"):
        send_and_receive("127.0.0.1", peer.port, ADT_A01, timeout=0.5, sink=sink)
    assert time.monotonic() - started < 5
    peer.close()
    assert any("missing end block" in error for error in errors(sink))


def test_peer_closing_mid_frame_is_a_framing_error() -> None:
    peer = RawPeer(lambda conn: conn.sendall(VB + b"MSH|^~\\&|cut"))
    sink = MemorySink()
    with pytest.raises(MllpFramingError, match="mid-frame"):
        send_and_receive("127.0.0.1", peer.port, ADT_A01, timeout=5, sink=sink)
    peer.close()
    assert any("mid-frame" in error for error in errors(sink))
    cut = next(record for record in sink.exchanges if record.error and "mid-frame" in record.error)
    assert cut.payload == b"MSH|^~\\&|cut"


def test_peer_closing_without_answer_is_reported() -> None:
    peer = RawPeer(lambda conn: None)
    sink = MemorySink()
    with pytest.raises(MllpClosedError, match="closed"):
        send_and_receive("127.0.0.1", peer.port, ADT_A01, timeout=5, sink=sink)
    peer.close()
    assert errors(sink) == ["peer closed the connection"]


def test_server_that_never_answers_gives_an_ack_timeout() -> None:
    sink = MemorySink()
    with (
        ThreadedMllpServer(lambda message: None) as server,
        pytest.raises(MllpTimeoutError, match=r"no answer within 0\.3 s"),
    ):
        send_and_receive("127.0.0.1", server.port, ADT_A01, timeout=0.3, sink=sink)
    assert errors(sink) == ["no answer within 0.3 s"]


def test_oversized_frame_is_refused_and_the_connection_closed() -> None:
    sink = MemorySink()
    with ThreadedMllpServer(ack_handler, sink=sink, max_frame=1024) as server:
        big = with_value(ADT_A01, "PV2-12", "x" * 5000)
        with pytest.raises(MllpError_or_closed()):
            send_and_receive("127.0.0.1", server.port, big, timeout=5)
        # The server is still up for the next client.
        assert "MSA|AA" in send_and_receive("127.0.0.1", server.port, ADT_A01, timeout=5)
    assert any("maximum size (1024 bytes)" in error for error in errors(sink))


def MllpError_or_closed():
    from conformance.transport.mllp import MllpError

    return MllpError


def test_bytes_not_matching_msh18_get_an_ar_ack_and_a_recorded_error() -> None:
    sink = MemorySink()
    latin = with_value(ADT_A01, "PID-5.1", "PÉRIER").encode("iso-8859-15")  # MSH-18 says UTF-8
    with ThreadedMllpServer(ack_handler, sink=sink) as server:
        ack = send_and_receive("127.0.0.1", server.port, latin, timeout=5)
        assert server.received == []
    assert "MSA|AR|3975" in ack
    assert "ERR||MSH^1^18^1|207^" in ack
    assert any("do not match the declared character set UNICODE UTF-8" in error for error in errors(sink))


def test_8859_15_round_trip_keeps_accents() -> None:
    message = with_value(with_value(ADT_A01, "MSH-18", "8859/15"), "PID-5.1", "PÉRIER-ŒUVRE")
    payload = encode_message(message)
    assert "É".encode("iso-8859-15") in payload
    with ThreadedMllpServer(ack_handler) as server:
        send_and_receive("127.0.0.1", server.port, message, timeout=5)
        assert server.received == [message]


def test_charset_helpers() -> None:
    latin1 = with_value(with_value(ADT_A01, "MSH-18", "8859/1"), "PID-5.1", "Noël")
    assert decode_message(encode_message(latin1)) == latin1
    with pytest.raises(MllpCharsetError, match="unsupported character set"):
        decode_message(with_value(ADT_A01, "MSH-18", "KLINGON").encode())
    with pytest.raises(MllpCharsetError, match="cannot be encoded"):
        encode_message(with_value(with_value(ADT_A01, "MSH-18", "8859/1"), "PID-5.1", "Œ"))


def test_connection_refused_is_recorded() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    sink = MemorySink()
    with pytest.raises(MllpConnectError, match="failed"):
        send_and_receive("127.0.0.1", port, ADT_A01, timeout=1, connect_timeout=1, sink=sink)
    assert len(errors(sink)) == 1


def test_stop_with_a_connected_idle_client_does_not_hang() -> None:
    server = ThreadedMllpServer(ack_handler).start()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 8
    assert sock.recv(10) == b""  # the server closed our connection
    sock.close()


def test_idle_server_connection_times_out() -> None:
    sink = MemorySink()
    with (
        ThreadedMllpServer(ack_handler, sink=sink, read_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        assert sock.recv(10) == b""
    assert any("no answer within 0.3 s" in error for error in errors(sink))


# ----------------------------------------------------------------------------------------------- TLS


def test_mutual_tls_round_trip(tls_material) -> None:
    server_context = server_ssl_context(
        tls_material["server"], tls_material["server_key"], client_cafile=tls_material["ca"], require_client_cert=True
    )
    client_context = client_ssl_context(tls_material["ca"], tls_material["client"], tls_material["client_key"])
    with ThreadedMllpServer(ack_handler, ssl_context=server_context) as server:
        ack = send_and_receive("127.0.0.1", server.port, ADT_A01, timeout=5, ssl_context=client_context)
    assert "MSA|AA|3975" in ack


def test_tls_without_the_required_client_certificate_fails_cleanly(tls_material) -> None:
    server_context = server_ssl_context(
        tls_material["server"], tls_material["server_key"], client_cafile=tls_material["ca"], require_client_cert=True
    )
    anonymous = client_ssl_context(tls_material["ca"])
    sink = MemorySink()
    with ThreadedMllpServer(ack_handler, ssl_context=server_context) as server:
        from conformance.transport.mllp import MllpError

        with pytest.raises(MllpError):
            send_and_receive("127.0.0.1", server.port, ADT_A01, timeout=3, ssl_context=anonymous, sink=sink)
    assert errors(sink)


def test_tls_client_refuses_an_untrusted_server(tls_material) -> None:
    server_context = server_ssl_context(tls_material["server"], tls_material["server_key"])
    untrusting = ssl.create_default_context()  # system CAs only: our test CA is unknown
    with (
        ThreadedMllpServer(ack_handler, ssl_context=server_context) as server,
        pytest.raises(MllpConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        send_and_receive("127.0.0.1", server.port, ADT_A01, timeout=3, ssl_context=untrusting)


# ----------------------------------------------------------------------------------------------- decoder


def test_decoder_splits_frames_across_arbitrary_chunks() -> None:
    stream = frame(b"A") + b"\r\n" + frame(b"BB") + frame(b"CCC")
    for size in range(1, len(stream) + 1):
        decoder = FrameDecoder()
        items = []
        for start in range(0, len(stream), size):
            items += decoder.feed(stream[start : start + size])
        assert [(item.payload, item.error) for item in items] == [(b"A", None), (b"BB", None), (b"CCC", None)]


def test_decoder_reports_bad_end_block() -> None:
    items = FrameDecoder().feed(VB + b"abc\x1cX" + frame(b"ok"))
    assert "bad end block" in items[0].error and items[0].payload == b"abc"
    assert "garbage between frames" in items[1].error  # the stray X
    assert (items[2].payload, items[2].error) == (b"ok", None)


def test_server_records_a_client_closing_mid_frame() -> None:
    sink = MemorySink()
    with ThreadedMllpServer(ack_handler, sink=sink) as server:
        raw_exchange(server.port, [VB + b"MSH|^~\\&|half"], read=False)
        deadline = time.monotonic() + 5
        while not errors(sink) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert any("mid-frame (13 byte(s) without an end block)" in error for error in errors(sink)), errors(sink)


def test_server_records_a_frame_left_unfinished() -> None:
    sink = MemorySink()
    with (
        ThreadedMllpServer(ack_handler, sink=sink, read_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(VB + b"MSH|^~\\&|never finished")
        assert sock.recv(10) == b""  # the server gives up and closes
    assert any("no end block within 0.3 s" in error for error in errors(sink)), errors(sink)
