"""Bounds for the harness's own listeners (MLLP today; SOAP and SMTP reuse them): whoever reaches a listener
must not be able to exhaust the harness, nor pass their messages off as the system's.

One `ListenerGuard` per listener holds the accounting; it is thread-safe, so asyncio and threaded servers
share it. A server:

    guard = ListenerGuard(ListenerLimits(allowed_peers=("10.1.2.3",)))
    admission = guard.admit(peer_host)          # None: over the connection limit -> close at once
    try:
        data = await guard.read(reader, admission, 65536)   # idle timeout + byte budgets
        ... admission.allowed says whether what this peer sends counts as the system's ...
    except ListenerLimitError: ...              # close the connection; guard.exhaustion keeps the reason
    finally:
        guard.release(admission)

Limits (`ListenerLimits`): `max_connections` open at once, `max_connection_bytes` per connection,
`max_total_bytes` over the listener's life (what it received is kept as evidence, so it is also a memory
bound), `idle_timeout` seconds without a byte, `allowed_peers` (addresses or networks; empty = anyone).
A peer outside the list is still served and recorded, flagged `allowed=False`: its messages must not count.

The threaded HTTP listeners (SOAP, the validation service) read a request through `DeadlineReader`: the idle
timeout bounds the wait for one byte, and each part of the request (head, body) must arrive whole within its
own deadline, so a client trickling a byte at a time cannot hold a slot for ever (`RequestTooSlow`).

Exhaustion of a budget is the harness's limit, not the peer's fault: `guard.exhaustion` lists what was hit
(French and English), and whatever judges the listener's traffic must report it as inconclusive.
`DEFAULT_BIND_HOST` is loopback: listening on other interfaces is a configuration choice, and the servers that
refuse it unless allowed check `is_loopback` and raise `NonLoopbackError`.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

from conformance.i18n import BilingualError, both

DEFAULT_BIND_HOST = "127.0.0.1"
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_CONNECTION_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 60.0


class NonLoopbackError(ValueError):
    """Binding an address other than loopback was not explicitly allowed."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ListenerLimitError(BilingualError):
    """A listener bound was reached. `fr` / `en` say which; `message(lang)` picks one."""

    kind = "listener-limit"

    @classmethod
    def worded(cls, key: str, **params: Any) -> Self:
        """The error told by the catalogue's `transport.listener.<key>` in both languages."""
        return cls(*words(key, **params))


def words(key: str, **params: Any) -> tuple[str, str]:
    """The catalogue's `transport.listener.<key>` in French and in English."""
    return both(f"transport.listener.{key}", **params)


class IdleTimeout(ListenerLimitError):
    """The peer sent nothing for `idle_timeout` seconds (the peer's doing: not an exhaustion)."""

    kind = "listener-idle"


class ListenerExhausted(ListenerLimitError):
    """One of the harness's own budgets is spent: what the listener judges is inconclusive."""

    kind = "listener-exhausted"


class ConnectionLimitReached(ListenerExhausted):
    """`max_connections` was reached. Where the limit is one the system must respect (an MSSanté operator's
    announced connection cap), the listener judges the refused sessions instead of giving up."""


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_connection_bytes: int = DEFAULT_MAX_CONNECTION_BYTES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    allowed_peers: tuple[str, ...] = ()  # addresses or CIDR networks; empty: every peer counts


@dataclass(slots=True)
class Admission:
    """One accepted connection: its peer, whether the peer is allowed, the bytes it sent so far."""

    peer: str
    allowed: bool
    received: int = 0


def _networks(peers: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(peer.strip(), strict=False) for peer in peers if peer.strip()]


def peer_host(peername: object) -> str:
    """The address part of a socket's peername ('' when unknown)."""
    if isinstance(peername, tuple) and peername:
        return str(peername[0])
    return ""


@dataclass
class ListenerGuard:
    limits: ListenerLimits = field(default_factory=ListenerLimits)
    open_connections: int = 0
    total_received: int = 0
    refused_connections: int = 0
    exhaustion: list[ListenerExhausted] = field(default_factory=list)
    flagged_peers: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._allowed = _networks(self.limits.allowed_peers)

    def peer_allowed(self, host: str) -> bool:
        if not self._allowed:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._allowed)

    def admit(self, host: str) -> Admission | None:
        """Count a new connection; None when the connection limit is reached (close it at once)."""
        with self._lock:
            if self.open_connections >= self.limits.max_connections:
                self.refused_connections += 1
                if self.refused_connections == 1:
                    self._exhausted_connections(*words("connections", limit=self.limits.max_connections))
                return None
            self.open_connections += 1
        allowed = self.peer_allowed(host)
        if not allowed:
            with self._lock:
                self.flagged_peers.add(host)
        return Admission(host, allowed)

    def release(self, admission: Admission | None) -> None:
        if admission is None:
            return
        with self._lock:
            self.open_connections = max(0, self.open_connections - 1)

    def charge(self, admission: Admission, count: int) -> None:
        """Count `count` received bytes; ListenerExhausted past a budget (the bytes are then dropped)."""
        with self._lock:
            admission.received += count
            self.total_received += count
            if self.total_received > self.limits.max_total_bytes:
                raise self._exhausted(*words("total_bytes", limit=self.limits.max_total_bytes))
            if admission.received > self.limits.max_connection_bytes:
                raise self._exhausted(
                    *words("connection_bytes", limit=self.limits.max_connection_bytes, peer=admission.peer)
                )

    def _exhausted_connections(self, fr: str, en: str) -> None:
        if not any(isinstance(known, ConnectionLimitReached) for known in self.exhaustion):
            self.exhaustion.append(ConnectionLimitReached(fr, en))

    def _exhausted(self, fr: str, en: str) -> ListenerExhausted:
        error = ListenerExhausted(fr, en)
        if not any(str(known) == en for known in self.exhaustion):
            self.exhaustion.append(error)
        return error

    async def read(self, reader: asyncio.StreamReader, admission: Admission, size: int) -> bytes:
        """One read of at most `size` bytes under the idle timeout and the budgets (b'' at end of stream)."""
        try:
            data = await asyncio.wait_for(reader.read(size), self.limits.idle_timeout)
        except TimeoutError:
            raise IdleTimeout.worded("idle", seconds=self.limits.idle_timeout) from None
        if data:
            self.charge(admission, len(data))
        return data


class RequestTooSlow(ListenerLimitError):
    """A request's head or body did not arrive whole within its deadline (the peer's doing: not an exhaustion).
    `part` is "head" or "body", `seconds` the deadline that was missed."""

    kind = "listener-slow"

    def __init__(self, part: str, seconds: float) -> None:
        super().__init__(*words(f"slow_{part}", seconds=seconds))
        self.part = part
        self.seconds = seconds


class DeadlineReader(io.RawIOBase):
    """A connection's bytes, each read bounded by the idle timeout and by the current part's deadline.

    A socket timeout alone bounds the wait for one byte: a client sending a byte a second would hold a
    request open for ever. The head's deadline starts with its first byte (an idle keep-alive connection is
    the idle timeout's business); the body's when the handler starts reading it, or it goes on with the
    head's when the limit is for the whole request. Wrap it in `io.BufferedReader` for `readline`/`read1`."""

    def __init__(self, connection: socket.socket, idle_timeout: float) -> None:
        super().__init__()
        self.connection = connection
        self.idle_timeout = idle_timeout
        self.deadline: float | None = None
        self.part = "head"
        self.seconds = 0.0
        self.pending: float | None = None  # the head's limit, armed by its first byte

    def readable(self) -> bool:
        return True

    def expect_head(self, seconds: float) -> None:
        self.part, self.seconds, self.deadline, self.pending = "head", seconds, None, seconds

    def expect_body(self, seconds: float | None = None) -> None:
        """The body's own deadline from now; None: the head's deadline goes on (a limit for the whole request)."""
        self.part = "body"
        if seconds is not None:
            self.seconds, self.pending = seconds, None
            self.deadline = time.monotonic() + seconds

    def done(self) -> None:
        self.deadline = self.pending = None
        self.connection.settimeout(self.idle_timeout)  # what the answer's send may wait

    def readinto(self, buffer: Any) -> int:
        timeout = self.idle_timeout
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise RequestTooSlow(self.part, self.seconds)
            timeout = min(timeout, remaining)
        self.connection.settimeout(timeout)
        try:
            count = self.connection.recv_into(buffer)
        except TimeoutError:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise RequestTooSlow(self.part, self.seconds) from None
            raise
        if count and self.pending is not None:
            self.deadline, self.pending = time.monotonic() + self.pending, None
        return count
