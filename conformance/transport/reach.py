"""Can an endpoint be reached at all? Connect, handshake, one request; every step bounded, every failure named.

    result = reach_http("https://fhir.example/fhir/metadata", timeout=5.0, ssl_context=context)
    result.ok, result.cause, result.detail     # False, "name-resolution", "fhir.example: Name or service not known"

Used before a campaign (conformance.campaign.preflight): an unreachable endpoint is a harness problem, never a
verdict on the system. Causes (conformance.transport.failure, as a failed exchange's): name-resolution, refused,
timeout, tls, reset, network (any other socket error), http-status (an HTTP answer that is not 2xx-4xx),
not-http (bytes that are not HTTP), bind (a local listener).
No credentials are sent: reaching an endpoint must not depend on (or leak) the campaign's secrets.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from conformance.transport.failure import failure_cause, failure_detail

MAX_STATUS_LINE = 8192


@dataclass(frozen=True, slots=True)
class Reach:
    ok: bool
    cause: str | None = None
    detail: str = ""  # the system's own words (socket error text), never a class name
    status: int | None = None  # HTTP status, when an HTTP answer came
    elapsed_ms: float = 0.0


def reach_tcp(
    host: str, port: int, *, timeout: float, ssl_context: ssl.SSLContext | None = None, server_hostname: str = ""
) -> Reach:
    """A TCP connection (and a TLS handshake with `ssl_context`) to host:port, closed at once."""
    started = time.monotonic()
    try:
        with _connect(host, port, timeout, ssl_context, server_hostname or host):
            return Reach(True, elapsed_ms=_since(started))
    except _Unreached as exc:
        return Reach(False, exc.cause, exc.detail, elapsed_ms=_since(started))


def reach_http(url: str, *, timeout: float, ssl_context: ssl.SSLContext | None = None) -> Reach:
    """GET `url` (no credentials) and read the status line: any 1xx-4xx answer means the server is there."""
    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    if secure and ssl_context is None:
        ssl_context = ssl.create_default_context()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with _connect(host, port, timeout, ssl_context if secure else None, host) as sock:
            request = (
                f"GET {target} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
                "Accept: application/fhir+json\r\nConnection: close\r\nUser-Agent: hopen-conformance-preflight\r\n\r\n"
            )
            _send(sock, request.encode("ascii", "replace"))
            line = _status_line(sock, started + timeout)
    except _Unreached as exc:
        return Reach(False, exc.cause, exc.detail, elapsed_ms=_since(started))
    except OSError as exc:  # closing a socket the peer already dropped
        return Reach(False, failure_cause(exc), failure_detail(exc), elapsed_ms=_since(started))
    fields = line.split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        return Reach(False, "not-http", line[:80].decode("latin-1"), elapsed_ms=_since(started))
    status = int(fields[1])
    reason = fields[2].decode("latin-1").strip() if len(fields) > 2 else ""
    if status >= 500:
        return Reach(False, "http-status", f"HTTP {status} {reason}".strip(), status, _since(started))
    return Reach(True, status=status, elapsed_ms=_since(started))


def can_bind(host: str, port: int) -> Reach:
    """Whether a local listener could bind host:port (port 0 asks for any free port)."""
    started = time.monotonic()
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return Reach(False, "bind", exc.strerror or str(exc), elapsed_ms=_since(started))
    return Reach(True, elapsed_ms=_since(started))


class _Unreached(Exception):
    def __init__(self, cause: str, detail: str) -> None:
        self.cause = cause
        self.detail = detail
        super().__init__(detail)


def _connect(
    host: str, port: int, timeout: float, ssl_context: ssl.SSLContext | None, server_hostname: str
) -> socket.socket:
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _Unreached(failure_cause(exc), f"{host}: {failure_detail(exc)}") from None
    except UnicodeError as exc:  # a name IDNA cannot encode never resolves
        raise _Unreached("name-resolution", f"{host}: {exc}") from None
    last: _Unreached | None = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = _socket_failure(exc)
            continue
        if ssl_context is None:
            return sock
        try:
            return ssl_context.wrap_socket(sock, server_hostname=server_hostname)
        except OSError as exc:
            sock.close()
            raise _socket_failure(exc, during_tls=True) from None
    raise last or _Unreached("name-resolution", f"{host}: no address")


def _socket_failure(exc: OSError, *, during_tls: bool = False) -> _Unreached:
    detail = failure_detail(exc) or ("connection closed during the TLS handshake" if during_tls else "")
    return _Unreached(failure_cause(exc, during_tls=during_tls), detail)


def _send(sock: socket.socket, data: bytes) -> None:
    """A TLS 1.3 server refusing the client's certificate alerts after the handshake: the send may be the
    first call to meet it (an alert, a reset, a broken pipe)."""
    try:
        sock.sendall(data)
    except OSError as exc:
        raise _socket_failure(exc, during_tls=isinstance(sock, ssl.SSLSocket)) from None


def _status_line(sock: socket.socket, deadline: float) -> bytes:
    buffer = b""
    while b"\n" not in buffer and len(buffer) < MAX_STATUS_LINE:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Unreached("timeout", "no HTTP answer in time")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(MAX_STATUS_LINE - len(buffer))
        except OSError as exc:
            raise _socket_failure(exc) from None
        if not chunk:
            if not buffer:
                raise _Unreached("not-http", "connection closed without an answer")
            break
        buffer += chunk
    return buffer.split(b"\n", 1)[0].rstrip(b"\r")


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000
