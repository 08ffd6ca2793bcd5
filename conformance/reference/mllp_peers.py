"""Reference MLLP peers on `conformance.transport.mllp`: a receiver that acknowledges like a conformant PAM
France 2.11 system, a sender that emits the scripted PAM FR sequence (and CI-SIS MDM/ORU documents) and checks
the ACKs, and the hostile MLLP behaviours on raw sockets.
"""

from __future__ import annotations

import contextlib
import random
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.reference.pam import (
    Judgement,
    PamMessageFactory,
    build_ack,
    check_pam_message,
    next_control_id,
    parse_ack,
)
from conformance.reference.test_data import TestData
from conformance.transport import mllp
from conformance.validation.hl7v2 import check_ack

START, END = b"\x0b", b"\x1c\x0d"


@dataclass
class ReceivedMessage:
    message: str
    judgement: Judgement
    ack: str


class ReferenceMllpReceiver:
    """Acknowledges every message per the PAM FR rules (pam.check_pam_message); faults bend the ACKs."""

    def __init__(
        self,
        *,
        faults: frozenset[str] = frozenset(),
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.faults = faults
        self.received: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        self._server = mllp.ThreadedMllpServer(self.handle, host, port, ssl_context=ssl_context, read_timeout=120)

    def handle(self, message: str) -> str:
        judgement = check_pam_message(message)
        ack = build_ack(message, judgement, faults=self.faults)
        with self._lock:
            self.received.append(ReceivedMessage(message, judgement, ack))
        return ack

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> ReferenceMllpReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


@dataclass
class SentMessage:
    label: str
    message: str
    ack: str = ""
    ack_code: str = ""
    ack_ok: bool = False  # MSA-1 AA/CA and MSA-2 = MSH-10
    error: str = ""
    ack_problems: list[str] = field(default_factory=list)  # what the hl7v2 ACK checker finds (informational)


@dataclass
class SenderRun:
    """What the reference sender did; `done` is set when it finished."""

    target: tuple[str, int]
    sent: list[SentMessage] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    error: str = ""

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    @property
    def all_acknowledged(self) -> bool:
        return bool(self.sent) and all(s.ack_ok for s in self.sent)


def _ack_problems(message: str, ack: str) -> list[str]:
    try:
        return [f.message_en for f in check_ack(message, ack).errors]
    except Exception as exc:  # a checker failure must not stop the sender
        return [f"ACK checker failed: {type(exc).__name__}: {exc}"]


def control_id_of(message: str) -> str:
    first = message.split("\r", 1)[0]
    fields = first.split(first[3]) if len(first) > 3 else []
    return fields[9] if len(fields) > 9 else ""


class ReferenceMllpSender:
    """Emits the scripted PAM FR 2.11 sequence to host:port and checks each ACK (MSA-1, MSA-2)."""

    def __init__(
        self,
        test_data: TestData,
        *,
        faults: frozenset[str] = frozenset(),
        include_documents: bool = True,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.factory = PamMessageFactory(test_data, faults)
        self.include_documents = include_documents
        self.timeout = timeout
        self.ssl_context = ssl_context

    def messages(self) -> list[tuple[str, str]]:
        out = self.factory.sequence()
        if self.include_documents:
            out += self.factory.document_sequence()
        return out

    def run(self, host: str, port: int, run: SenderRun | None = None) -> SenderRun:
        run = run or SenderRun((host, port))
        try:
            for label, message in self.messages():
                sent = SentMessage(label, message)
                run.sent.append(sent)
                try:
                    sent.ack = mllp.send_and_receive(
                        host,
                        port,
                        message,
                        timeout=self.timeout,
                        connect_timeout=self.timeout,
                        ssl_context=self.ssl_context,
                    )
                except mllp.MllpError as exc:
                    sent.error = str(exc)
                    continue
                sent.ack_code, acked = parse_ack(sent.ack)
                sent.ack_ok = sent.ack_code in ("AA", "CA") and acked == control_id_of(message)
                sent.ack_problems = _ack_problems(message, sent.ack)
        except Exception as exc:  # the sender runs in a thread: report, never die silently
            run.error = f"{type(exc).__name__}: {exc}"
        finally:
            run.done.set()
        return run

    def start(self, host: str, port: int) -> SenderRun:
        run = SenderRun((host, port))
        threading.Thread(target=self.run, args=(host, port, run), name="reference-mllp-sender", daemon=True).start()
        return run


def burst(
    test_data: TestData,
    host: str,
    port: int,
    *,
    count: int = 10_000,
    timeout: float = 60.0,
    run: SenderRun | None = None,
) -> SenderRun:
    """Hostile `mllp-burst`: `count` A31 messages written back to back on one connection, then the ACKs read."""
    run = run or SenderRun((host, port))
    factory = PamMessageFactory(test_data)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            ids = []
            payload = bytearray()
            for _ in range(count):
                message = factory.a31()
                ids.append(control_id_of(message))
                payload += START + message.encode("utf-8") + END
            sock.sendall(payload)
            run.sent.append(SentMessage(f"burst x{count}", f"{count} messages"))
            received = _read_frames(sock, count, timeout)
            run.sent[0].ack = f"{len(received)} ACKs"
            run.sent[0].ack_ok = len(received) == count
    except OSError as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        run.done.set()
    return run


def _read_frames(sock: socket.socket, count: int, timeout: float) -> list[bytes]:
    deadline = time.monotonic() + timeout
    buffer = b""
    frames: list[bytes] = []
    while len(frames) < count and time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        buffer += chunk
        while END in buffer:
            frame, buffer = buffer.split(END, 1)
            frames.append(frame.lstrip(START))
    return frames


# ----------------------------------------------------------------------------------------------- hostile


class HostileMllpReceiver:
    """A raw-socket MLLP listener that misbehaves as `mode` says (hostile.MLLP_MODES)."""

    def __init__(self, mode: str, stop_event: threading.Event, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mode = mode
        self.stop_event = stop_event
        handler = _hostile_handler(self)
        self._server = socketserver.ThreadingTCPServer((host, port), handler, bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.allow_reuse_address = True
        self._server.server_bind()
        self._server.server_activate()
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    def start(self) -> HostileMllpReceiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="hostile-mllp"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()


def _read_one_frame(sock: socket.socket, stop: threading.Event, limit: int = 16 * 1024 * 1024) -> bytes | None:
    buffer = b""
    sock.settimeout(0.5)
    while not stop.is_set():
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return None
        if not chunk:
            return None
        buffer += chunk
        if END in buffer:
            return buffer.split(END, 1)[0].lstrip(START)
        if len(buffer) > limit:
            return None
    return None


def _hold_open(stop: threading.Event, seconds: float = 3600) -> None:
    stop.wait(seconds)


def _hostile_handler(receiver: HostileMllpReceiver) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            stop = receiver.stop_event
            with contextlib.suppress(OSError):
                while not stop.is_set():
                    payload = _read_one_frame(sock, stop)
                    if payload is None:
                        return
                    message = payload.decode("utf-8", "replace")
                    if not _respond(sock, receiver.mode, message, stop):
                        return

    return Handler


def _conformant_ack(message: str) -> str:
    return build_ack(message, check_pam_message(message))


def _respond(sock: socket.socket, mode: str, message: str, stop: threading.Event) -> bool:
    """Misbehave once; False closes the connection."""
    ack = _conformant_ack(message).encode("utf-8")
    if mode == "silence":
        _hold_open(stop)
        return False
    if mode == "slow-bytes":
        for byte in START + ack + END:
            if stop.wait(1.0):
                return False
            sock.sendall(bytes([byte]))
        return True
    if mode == "mllp-garbage":
        sock.sendall(
            bytes(random.Random(42).getrandbits(8) for _ in range(512)).replace(START, b"?").replace(b"\x1c", b"?")
        )
        _hold_open(stop, 30)
        return False
    if mode == "mllp-no-end-block":
        sock.sendall(START + ack)
        _hold_open(stop, 30)
        return False
    if mode == "mllp-close-mid-frame":
        sock.sendall(START + ack[: len(ack) // 2])
        sock.shutdown(socket.SHUT_RDWR)
        return False
    if mode == "mllp-wrong-ack":
        other = f"MSH|^~\\&|REFERENCE|HOPEN|||20260101000000||ACK^A01^ACK|{next_control_id('ACK')}|P|2.5^FRA^2.11\rMSA|AA|{next_control_id('OTHER')}\r"
        sock.sendall(START + other.encode("utf-8") + END)
        return True
    sock.sendall(START + ack + END)
    return True


MllpHandler = Callable[[str], str]
