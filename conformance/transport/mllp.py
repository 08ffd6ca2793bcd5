"""MLLP (Minimal Lower Layer Protocol) over TCP, optionally TLS: asyncio client and server, blocking helpers.

A frame is 0x0B <message bytes> 0x1C 0x0D. Every frame sent or received, and every framing fault, is handed
to the optional `sink` as an `MllpFrame` (faults carry `error`). Nothing here writes files.

Faults never hang: each read has a timeout, frames have a maximum size, and the decoder reports garbage
between frames, a start block inside a frame (missing end block), a bad end block and a peer closing
mid-frame as `MllpFramingError`s (recorded first).

Character sets come from MSH-18: `UNICODE UTF-8`, `8859/15`, `8859/1` (and the other ISO 8859 parts,
`ASCII`). An empty MSH-18 is decoded as UTF-8 (a superset of the HL7 default, ASCII). Bytes that do not
decode in the declared set raise `MllpCharsetError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from conformance.evidence.exchange import ExchangeSink, MllpFrame, utc_now
from conformance.transport.failure import describe, failure_cause, failure_detail
from conformance.transport.limits import Admission, ListenerGuard, ListenerLimitError, ListenerLimits, peer_host
from conformance.validation.hl7v2 import er7
from conformance.validation.hl7v2.er7 import declared_charset, python_codec  # noqa: F401  (public API)

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
_START = bytes([START_BLOCK])
_END = bytes([END_BLOCK, CARRIAGE_RETURN])

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
_READ_CHUNK = 65536
_IGNORED_BETWEEN_FRAMES = frozenset(b" \t\r\n")
_T = TypeVar("_T")


# ----------------------------------------------------------------------------------------------- errors


class MllpError(Exception):
    """Any MLLP transport failure. `str(error)` is the clear reason recorded in the evidence; `message(lang)`
    puts it under a French or English heading for reports (the detail itself stays technical English)."""

    heading_fr = "Erreur MLLP"
    heading_en = "MLLP error"

    def message(self, lang: str = "fr") -> str:
        return f"{self.heading_fr} : {self}" if lang == "fr" else f"{self.heading_en}: {self}"


class MllpTimeoutError(MllpError):
    heading_fr = "Délai d'attente MLLP dépassé"
    heading_en = "MLLP timeout"


class MllpFramingError(MllpError):
    heading_fr = "Trame MLLP invalide"
    heading_en = "Invalid MLLP frame"


class MllpClosedError(MllpError):
    heading_fr = "Connexion MLLP fermée par le pair"
    heading_en = "MLLP connection closed"


class MllpCharsetError(MllpError):
    heading_fr = "Jeu de caractères incohérent avec MSH-18"
    heading_en = "Character set does not match MSH-18"


class MllpLimitError(MllpError):
    """One of the listener's bounds was reached (idle peer, byte budget, connection limit)."""

    heading_fr = "Limite du récepteur MLLP atteinte"
    heading_en = "MLLP listener limit reached"


class MllpConnectError(MllpError):
    """No connection to the peer. With `cause` (a conformance.transport.failure code), `message(lang)` says why
    in the reader's language (refused, timeout, a named TLS problem), the system's words kept after."""

    heading_fr = "Connexion MLLP impossible"
    heading_en = "Cannot connect over MLLP"

    def __init__(self, reason: str, *, target: str = "", cause: str | None = None, detail: str = "") -> None:
        super().__init__(reason)
        self.target, self.cause, self.detail = target, cause, detail

    def message(self, lang: str = "fr") -> str:
        if self.cause is None:
            return super().message(lang)
        heading = self.heading_fr if lang == "fr" else self.heading_en
        separator = " : " if lang == "fr" else ": "
        return f"{heading}{separator}{self.target}{separator}{describe(self.cause, self.detail, lang)}"


# ----------------------------------------------------------------------------------------------- charsets


def decode_message(payload: bytes) -> str:
    """Decode message bytes as their MSH-18 declares; MllpCharsetError when unknown or not matching."""
    try:
        return er7.decode(payload)
    except er7.CharsetError as exc:
        raise MllpCharsetError(str(exc)) from exc


def encode_message(message: str | bytes) -> bytes:
    """Encode a message in the character set its MSH-18 declares (bytes pass through unchanged)."""
    if isinstance(message, bytes):
        return message
    try:
        return er7.encode(message)
    except er7.CharsetError as exc:
        raise MllpCharsetError(str(exc)) from exc


def frame(payload: bytes) -> bytes:
    """Wrap message bytes in the MLLP envelope."""
    return _START + payload + _END


# ----------------------------------------------------------------------------------------------- decoding


@dataclass(slots=True)
class DecodedItem:
    """One thing the decoder found: a complete frame (`error` None) or a framing fault."""

    payload: bytes
    error: str | None = None
    fatal: bool = False  # the connection cannot continue (oversized frame)


class FrameDecoder:
    """Incremental MLLP decoder: feed() it any chunks; it returns frames and faults in stream order."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._in_frame = False
        self._garbage = bytearray()
        self._discarding = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def in_frame(self) -> bool:
        return self._in_frame

    @property
    def partial(self) -> bytes:
        """The bytes of the unfinished frame (what a missing end block leaves behind)."""
        return bytes(self._buffer)

    def flush_garbage(self) -> list[DecodedItem]:
        """Report the bytes seen outside any frame so far (a timeout must not hide them)."""
        items: list[DecodedItem] = []
        self._flush_garbage(items)
        return items

    def feed(self, data: bytes) -> list[DecodedItem]:
        items: list[DecodedItem] = []
        position = 0
        while position < len(data):
            position = self._step(data, position, items)
        return items

    def _step(self, data: bytes, position: int, items: list[DecodedItem]) -> int:
        if self._discarding:
            start = data.find(_START, position)
            if start < 0:
                return len(data)
            self._discarding = False
            return start
        if not self._in_frame:
            return self._outside_frame(data, position, items)
        return self._inside_frame(data, position, items)

    def _outside_frame(self, data: bytes, position: int, items: list[DecodedItem]) -> int:
        start = data.find(_START, position)
        chunk = data[position : len(data) if start < 0 else start]
        self._garbage.extend(byte for byte in chunk if byte not in _IGNORED_BETWEEN_FRAMES)
        if start < 0:
            return len(data)
        self._flush_garbage(items)
        self._in_frame = True
        self._buffer.clear()
        return start + 1

    def _flush_garbage(self, items: list[DecodedItem]) -> None:
        if self._garbage:
            items.append(
                DecodedItem(
                    bytes(self._garbage[:4096]),
                    f"garbage between frames: {len(self._garbage)} byte(s) outside any MLLP frame were ignored",
                )
            )
            self._garbage.clear()

    def _inside_frame(self, data: bytes, position: int, items: list[DecodedItem]) -> int:
        # A pending 0x1C at the end of the previous chunk waits for its 0x0D.
        if self._buffer.endswith(b"\x1c"):
            if data[position] == CARRIAGE_RETURN:
                self._emit(bytes(self._buffer[:-1]), items)
                return position + 1
            self._bad_end_block(items)
            return position
        end = data.find(b"\x1c", position)
        restart = data.find(_START, position)
        boundaries = [index for index in (end, restart) if index >= 0]
        boundary = min(boundaries) if boundaries else len(data)
        take = data[position:boundary]
        room = self.max_frame - len(self._buffer)
        if len(take) > room:
            # The overflow is declared at the same stream offset whatever the chunking.
            self._buffer.extend(take[:room])
            items.append(
                DecodedItem(
                    bytes(self._buffer[: min(4096, self.max_frame)]),
                    f"frame larger than the maximum size ({self.max_frame} bytes): discarded",
                    fatal=True,
                )
            )
            self._buffer.clear()
            self._in_frame = False
            self._discarding = True
            return position + room + 1
        self._buffer.extend(take)
        if boundary == restart:
            items.append(
                DecodedItem(
                    bytes(self._buffer),
                    "missing end block: a new start block (0x0B) arrived before the end of the previous frame",
                )
            )
            self._buffer.clear()
            return restart + 1
        if boundary == end:
            self._buffer.append(END_BLOCK)  # waits for its 0x0D
            return end + 1
        return len(data)

    def _bad_end_block(self, items: list[DecodedItem]) -> None:
        items.append(DecodedItem(bytes(self._buffer[:-1]), "bad end block: 0x1C not followed by 0x0D; frame discarded"))
        self._buffer.clear()
        self._in_frame = False

    def _emit(self, payload: bytes, items: list[DecodedItem]) -> None:
        items.append(DecodedItem(payload))
        self._buffer.clear()
        self._in_frame = False

    def eof(self) -> list[DecodedItem]:
        """The peer closed: report what was pending (a partial frame, trailing garbage)."""
        items: list[DecodedItem] = []
        if self._in_frame:
            items.append(
                DecodedItem(
                    bytes(self._buffer),
                    f"peer closed the connection mid-frame ({len(self._buffer)} byte(s) without an end block)",
                )
            )
            self._buffer.clear()
            self._in_frame = False
        self._flush_garbage(items)
        return items


# ----------------------------------------------------------------------------------------------- TLS


def client_ssl_context(
    cafile: str | Path | None = None,
    certfile: str | Path | None = None,
    keyfile: str | Path | None = None,
    *,
    verify: bool = True,
    password: str | None = None,
) -> ssl.SSLContext:
    """A TLS client context; certfile/keyfile present a client certificate (mutual TLS); `password` decrypts
    the key (never prompted for on the terminal: a missing one is an ssl.SSLError)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cafile) if cafile else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if certfile:
        context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None, password=password or "")
    return context


def server_ssl_context(
    certfile: str | Path,
    keyfile: str | Path | None = None,
    *,
    client_cafile: str | Path | None = None,
    require_client_cert: bool = False,
    password: str | None = None,
) -> ssl.SSLContext:
    """A TLS server context; with client_cafile, client certificates are verified (required if asked).
    `password` decrypts the key; without it an encrypted key is an ssl.SSLError (OpenSSL would otherwise
    prompt on the terminal and block the run)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None, password=password or "")
    if client_cafile:
        context.load_verify_locations(str(client_cafile))
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


# ----------------------------------------------------------------------------------------------- connection


def _address(sockname: object) -> str:
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host = sockname[0]
        return f"[{host}]:{sockname[1]}" if ":" in str(host) else f"{host}:{sockname[1]}"
    return str(sockname or "")


class MllpConnection:
    """One open MLLP stream (either side): framed writes, framed reads with timeouts, recording."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_frame: int = DEFAULT_MAX_FRAME,
        sink: ExchangeSink | None = None,
        close_between_frames_is_error: bool = True,
        guard: ListenerGuard | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._reader = reader
        self._guard = guard
        self._admission = admission
        self.close_between_frames_is_error = close_between_frames_is_error
        self._writer = writer
        self.read_timeout = read_timeout
        self.sink = sink
        self.decoder = FrameDecoder(max_frame)
        self._pending: list[DecodedItem] = []
        self.local = _address(writer.get_extra_info("sockname"))
        self.peer = _address(writer.get_extra_info("peername"))
        self.errors: list[str] = []
        self.closed = False

    @property
    def peer_allowed(self) -> bool:
        return self._admission is None or self._admission.allowed

    def record(self, direction: str, payload: bytes, error: str | None = None) -> None:
        if error:
            self.errors.append(error)
        if self.sink is not None:
            note = None if self.peer_allowed else NOT_ALLOWED_NOTE
            self.sink.record(MllpFrame(direction, self.local, self.peer, payload, utc_now(), error, note))

    @property
    def peer_certificate(self) -> dict | None:
        ssl_object = self._writer.get_extra_info("ssl_object")
        return ssl_object.getpeercert() if ssl_object is not None else None

    async def send(self, message: str | bytes) -> bytes:
        """Frame and send one message; returns the payload bytes sent."""
        try:
            payload = encode_message(message)
        except MllpCharsetError as exc:
            self.record("sent", message.encode("utf-8", "replace") if isinstance(message, str) else message, str(exc))
            raise
        try:
            self._writer.write(frame(payload))
            await asyncio.wait_for(self._writer.drain(), self.read_timeout)
        except (TimeoutError, OSError, ConnectionError) as exc:
            reason = "send timed out" if isinstance(exc, TimeoutError) else f"send failed: {exc}"
            self.record("sent", payload, reason)
            raise MllpClosedError(reason) from exc
        self.record("sent", payload)
        return payload

    async def receive_frame(self, timeout: float | None = None) -> bytes:
        """The next complete frame's payload. Recoverable faults (garbage) are recorded and skipped."""
        timeout = self.read_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        faults_before = len(self.errors)
        while True:
            while self._pending:
                item = self._pending.pop(0)
                if item.error is None:
                    self.record("received", item.payload)
                    return item.payload
                self.record("received", item.payload, item.error)
                if item.fatal or "closed" in item.error:
                    raise MllpFramingError(item.error)
            if self.closed:
                raise MllpClosedError("connection closed")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout(timeout, self.errors[faults_before:])
            try:
                data = await asyncio.wait_for(self._reader.read(_READ_CHUNK), remaining)
            except TimeoutError:
                raise self._timeout(timeout, self.errors[faults_before:]) from None
            except (OSError, ConnectionError, ssl.SSLError) as exc:
                self.closed = True
                self.record("received", b"", f"connection error: {exc}")
                raise MllpClosedError(f"connection error: {exc}") from exc
            if data and self._guard is not None and self._admission is not None:
                self._charge(self._guard, self._admission, len(data))
            if not data:
                self.closed = True
                pending = self.decoder.eof()
                if not pending:
                    if self.close_between_frames_is_error:  # a client waiting for its ACK; a server just ends
                        self.record("received", b"", "peer closed the connection")
                    raise MllpClosedError("peer closed the connection")
                self._pending.extend(pending)
            else:
                self._pending.extend(self.decoder.feed(data))

    def _charge(self, guard: ListenerGuard, admission: Admission, count: int) -> None:
        try:
            guard.charge(admission, count)
        except ListenerLimitError as exc:
            self.closed = True
            self.record("received", self.decoder.partial[:4096], f"listener limit: {exc}")
            raise MllpLimitError(str(exc)) from exc

    def _timeout(self, timeout: float, earlier: Sequence[str] = ()) -> MllpTimeoutError:
        # What arrived before the timeout is evidence too: garbage, or the start of a frame never ended.
        garbage = self.decoder.flush_garbage()
        for item in garbage:
            self.record("received", item.payload, item.error)
        partial = b""
        if self.decoder.in_frame:
            partial = self.decoder.partial
            reason = (
                f"no end block within {timeout:g} s: {self.decoder.buffered} byte(s) of an unfinished frame "
                "(missing end block?)"
            )
        else:
            reason = f"no answer within {timeout:g} s"
            if garbage:
                reason += ": only garbage was received (bytes outside any MLLP frame, no start block 0x0B)"
        if earlier:  # a discarded frame (bad end block...) is the real fault behind the silence
            reason += f" (after: {earlier[-1]})"
        self.record("received", partial, reason)
        return MllpTimeoutError(reason)

    async def receive(self, timeout: float | None = None) -> str:
        """The next message, decoded as its MSH-18 declares."""
        payload = await self.receive_frame(timeout)
        try:
            return decode_message(payload)
        except MllpCharsetError as exc:
            self.record("received", payload, str(exc))
            raise

    async def close(self) -> None:
        if self._writer.is_closing():
            return
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)


NOT_ALLOWED_NOTE = "peer outside the listener's allow-list: recorded, not counted as the system's"


# ----------------------------------------------------------------------------------------------- client


class MllpClient:
    """asyncio MLLP client: `async with MllpClient(host, port) as client: ack = await client.send_and_receive(msg)`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_frame: int = DEFAULT_MAX_FRAME,
        sink: ExchangeSink | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_frame = max_frame
        self.sink = sink
        self.connection: MllpConnection | None = None

    async def connect(self) -> MllpConnection:
        if self.connection is not None and not self.connection.closed:
            return self.connection
        hostname = (self.server_hostname or self.host) if self.ssl_context is not None else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.host, self.port, limit=_READ_CHUNK * 4, ssl=self.ssl_context, server_hostname=hostname
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            reason = f"connect to {self.host}:{self.port} timed out after {self.connect_timeout:g} s"
            raise self._connect_failed(reason, "timeout") from None
        except (OSError, ssl.SSLError) as exc:
            reason = f"connect to {self.host}:{self.port} failed: {exc}"
            raise self._connect_failed(reason, failure_cause(exc), failure_detail(exc) or str(exc)) from exc
        self.connection = MllpConnection(
            reader, writer, read_timeout=self.read_timeout, max_frame=self.max_frame, sink=self.sink
        )
        return self.connection

    def _connect_failed(self, reason: str, cause: str, detail: str = "") -> MllpConnectError:
        target = f"{self.host}:{self.port}"
        if self.sink is not None:
            self.sink.record(MllpFrame("sent", "", target, b"", utc_now(), reason))
        return MllpConnectError(reason, target=target, cause=cause, detail=detail)

    async def send(self, message: str | bytes) -> bytes:
        connection = await self.connect()
        return await connection.send(message)

    async def receive(self, timeout: float | None = None) -> str:
        connection = await self.connect()
        return await connection.receive(timeout)

    async def send_and_receive(self, message: str | bytes, timeout: float | None = None) -> str:
        """Send one message and wait for its acknowledgement (`timeout` = ack timeout)."""
        await self.send(message)
        return await self.receive(timeout)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    async def __aenter__(self) -> MllpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# ----------------------------------------------------------------------------------------------- server

# A handler gets the decoded message and returns the ACK to send (None: send nothing).
Handler = Callable[[str], "str | bytes | Awaitable[str | bytes | None] | None"]
# Called when a received frame cannot be decoded (charset): returns the reply to send, if any.
ErrorHandler = Callable[[bytes, str], "str | bytes | None"]


class MllpServer:
    """asyncio MLLP server. Several messages per connection; each goes to `handler`, whose answer is framed back.

    With `limits` (transport.limits) the server is bounded: connections over the limit are closed at once,
    budgets close the connection that exceeds them, `limits.idle_timeout` replaces `read_timeout`, and frames
    from peers outside `limits.allowed_peers` are recorded with a note but never reach the handler nor
    `received`. `guard.exhaustion` then lists the harness's own limits that were hit.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        read_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_frame: int = DEFAULT_MAX_FRAME,
        sink: ExchangeSink | None = None,
        on_undecodable: ErrorHandler | None = None,
        handler_timeout: float = DEFAULT_READ_TIMEOUT,
        limits: ListenerLimits | None = None,
    ) -> None:
        self.handler = handler
        self.guard = ListenerGuard(limits) if limits is not None else None
        if limits is not None:
            read_timeout = limits.idle_timeout
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.read_timeout = read_timeout
        self.max_frame = max_frame
        self.sink = sink
        self.on_undecodable = on_undecodable or _reject_undecodable
        self.handler_timeout = handler_timeout
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self.received: list[str] = []  # decoded messages, in arrival order (handy for suites)
        self.errors: list[str] = []

    async def start(self) -> MllpServer:
        # TLS is started per connection once it is admitted (see _serve_connection): a handshake asyncio ran
        # before the callback would hold a descriptor outside the connection limit for 60 s.
        self._server = await asyncio.start_server(self._serve_connection, self.host, self.port, limit=_READ_CHUNK * 4)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        admission = None
        if self.guard is not None:
            admission = self.guard.admit(peer_host(writer.get_extra_info("peername")))
            if admission is None:
                await self._refuse(writer)
                return
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        connection: MllpConnection | None = None
        try:
            if self.ssl_context is not None and not await self._start_tls(writer):
                return
            connection = MllpConnection(
                reader,
                writer,
                read_timeout=self.read_timeout,
                max_frame=self.max_frame,
                sink=self.sink,
                close_between_frames_is_error=False,
                guard=self.guard,
                admission=admission,
            )
            await self._serve_frames(connection)
        except asyncio.CancelledError:
            pass
        finally:
            if connection is not None:
                self.errors.extend(connection.errors)
                await connection.close()
            else:
                writer.close()
            if self.guard is not None:
                self.guard.release(admission)
            if task is not None:
                self._connections.discard(task)

    async def _start_tls(self, writer: asyncio.StreamWriter) -> bool:
        """The server side of the TLS handshake, within the idle timeout; a failure is recorded, not raised."""
        assert self.ssl_context is not None
        try:
            await writer.start_tls(self.ssl_context, ssl_handshake_timeout=self.read_timeout)
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            if self.sink is not None:
                local = _address(writer.get_extra_info("sockname"))
                peer = _address(writer.get_extra_info("peername"))
                reason = f"TLS handshake failed: {type(exc).__name__}: {exc}"
                self.sink.record(MllpFrame("received", local, peer, b"", utc_now(), reason))
            return False
        return True

    async def _refuse(self, writer: asyncio.StreamWriter) -> None:
        """Over the connection limit: close at once (the descriptor is freed); the first refusal is recorded."""
        assert self.guard is not None
        if self.guard.refused_connections == 1 and self.sink is not None:
            reason = f"listener limit: {self.guard.exhaustion[-1]}" if self.guard.exhaustion else "connection refused"
            local = _address(writer.get_extra_info("sockname"))
            peer = _address(writer.get_extra_info("peername"))
            self.sink.record(MllpFrame("received", local, peer, b"", utc_now(), reason))
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve_frames(self, connection: MllpConnection) -> None:
        while True:
            try:
                payload = await connection.receive_frame()
            except MllpError:
                return  # recorded by the connection: timeout, close, oversized frame
            reply = await self._reply_to(connection, payload)
            if reply is not None:
                try:
                    await connection.send(reply)
                except MllpError:
                    return

    async def _reply_to(self, connection: MllpConnection, payload: bytes) -> str | bytes | None:
        try:
            message = decode_message(payload)
        except MllpCharsetError as exc:
            connection.record("received", payload, str(exc))
            return self.on_undecodable(payload, str(exc))
        if not connection.peer_allowed:
            return None  # recorded (with the note) by receive_frame; not the system's
        self.received.append(message)
        try:
            result = self.handler(message)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, self.handler_timeout)
            return result
        except Exception as exc:  # a broken handler must not kill the server
            connection.record("received", payload, f"handler failed: {type(exc).__name__}: {exc}")
            return None

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Connections accepted just before close() register on the next loop turns: give them those turns.
        for _ in range(3):
            await asyncio.sleep(0.01)
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=5.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5.0)
        self._server = None

    async def __aenter__(self) -> MllpServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def _reject_undecodable(payload: bytes, reason: str) -> str | None:
    """Default answer to bytes that do not match MSH-18: an AR acknowledgement naming the fault."""
    from conformance.validation.hl7v2.ack import make_ack_for_undecodable

    return make_ack_for_undecodable(payload, reason)


# ----------------------------------------------------------------------------------------------- blocking helpers


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    values: list[_T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(asyncio.run(coroutine))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]


def send_messages(
    host: str,
    port: int,
    messages: Sequence[str | bytes],
    *,
    timeout: float = DEFAULT_READ_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
    max_frame: int = DEFAULT_MAX_FRAME,
    sink: ExchangeSink | None = None,
) -> list[str]:
    """Blocking: send the messages one after the other on one connection; returns the ACKs (raises MllpError)."""

    async def exchange() -> list[str]:
        client = MllpClient(
            host,
            port,
            ssl_context=ssl_context,
            connect_timeout=connect_timeout,
            read_timeout=timeout,
            max_frame=max_frame,
            sink=sink,
        )
        try:
            return [await client.send_and_receive(message) for message in messages]
        finally:
            await client.close()

    return _run(exchange())


def send_and_receive(
    host: str,
    port: int,
    message: str | bytes,
    *,
    timeout: float = DEFAULT_READ_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
    max_frame: int = DEFAULT_MAX_FRAME,
    sink: ExchangeSink | None = None,
) -> str:
    """Blocking: send one message, return the decoded ACK. Raises MllpError subclasses (recorded in `sink`)."""
    return send_messages(
        host,
        port,
        [message],
        timeout=timeout,
        connect_timeout=connect_timeout,
        ssl_context=ssl_context,
        max_frame=max_frame,
        sink=sink,
    )[0]


class ThreadedMllpServer:
    """An MllpServer on its own event loop thread, for sync callers (pytest suites, reference endpoints).

    with ThreadedMllpServer(lambda message: make_ack(message)) as server:
        send_and_receive("127.0.0.1", server.port, adt)

    The handler runs in a worker thread, so it may block (call validators, wait for a test).
    """

    def __init__(
        self,
        handler: Callable[[str], str | bytes | None],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        read_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_frame: int = DEFAULT_MAX_FRAME,
        sink: ExchangeSink | None = None,
        on_undecodable: ErrorHandler | None = None,
        handler_timeout: float = DEFAULT_READ_TIMEOUT,
        limits: ListenerLimits | None = None,
    ) -> None:
        self._sync_handler = handler
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = MllpServer(
            self._handle,
            host,
            port,
            ssl_context=ssl_context,
            read_timeout=read_timeout,
            max_frame=max_frame,
            sink=sink,
            on_undecodable=on_undecodable,
            handler_timeout=handler_timeout,
            limits=limits,
        )

    async def _handle(self, message: str) -> str | bytes | None:
        return await asyncio.to_thread(self._sync_handler, message)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def received(self) -> list[str]:
        return self._server.received

    @property
    def errors(self) -> list[str]:
        return self._server.errors

    @property
    def guard(self) -> ListenerGuard | None:
        return self._server.guard

    def start(self, timeout: float = 10.0) -> ThreadedMllpServer:
        if self._thread is not None:
            return self
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._server.stop())
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=5.0))
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"mllp-server-{id(self):x}", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise MllpError("MLLP server did not start in time")
        if failure:
            self._thread = None
            raise MllpError(f"MLLP server could not start: {failure[0]}") from failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None
        self._loop = None

    def __enter__(self) -> ThreadedMllpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
