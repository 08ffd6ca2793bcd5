"""Why a connection or an exchange failed, as a cause code: one classifier for the preflight and the transports.

    cause = failure_cause(exc)                              # "refused"
    describe(cause, failure_detail(exc), "fr")              # "connexion refusée (rien n'écoute sur ce port)"

Causes: name-resolution, refused, timeout, tls, reset, not-http (bytes that are not HTTP), network (any other
socket error); the preflight adds http-status and bind. Their wording is in the i18n catalogue
(transport.cause.*), French by default.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
from collections.abc import Callable

from conformance.i18n import DEFAULT_LANGUAGE, text

CAUSES = ("name-resolution", "refused", "timeout", "tls", "reset", "not-http", "network", "http-status", "bind")
# causes whose own wording says it all; the others keep the system's words (host name, TLS alert, HTTP status)
SELF_EXPLAINED = frozenset({"refused", "timeout", "reset"})
MAX_DETAIL = 300


def failure_cause(exc: BaseException, *, during_tls: bool = False) -> str:
    """The cause code of `exc` (a socket error, or a library's wrapper around one); `during_tls`: it was
    raised while a TLS handshake (or a TLS 1.3 alert after it) was under way."""
    root = socket_error(exc)
    if isinstance(root, socket.gaierror):
        return "name-resolution"
    if isinstance(root, TimeoutError):
        return "timeout"
    if isinstance(root, ConnectionRefusedError) or getattr(root, "errno", None) == errno.ECONNREFUSED:
        return "refused"
    if isinstance(root, ssl.SSLError) or during_tls:
        return "tls"
    if isinstance(root, ConnectionResetError):
        return "reset"
    if in_chain(exc, _is_protocol_error) is not None:  # the server answered, but not in HTTP
        return "not-http"
    return "network"


def failure_detail(exc: BaseException) -> str:
    """The system's own words for `exc` (socket error text, TLS alert), never a library's class name."""
    protocol = in_chain(exc, _is_protocol_error)
    if protocol is not None and failure_cause(exc) == "not-http":
        return f"{type(protocol).__name__}: {protocol}"[:MAX_DETAIL]
    root = socket_error(exc)
    if isinstance(root, ssl.SSLError):
        return str(root.reason or root.strerror or root)[:MAX_DETAIL]
    if isinstance(root, OSError):
        return str(root.strerror or root)[:MAX_DETAIL]
    return ""


def describe(cause: str, detail: str = "", lang: str = DEFAULT_LANGUAGE) -> str:
    """The cause as a reader says it, with the system's words unless the cause says it all."""
    words = text(f"transport.cause.{cause if cause in CAUSES else 'network'}", lang)
    return f"{words} ({detail})" if detail and cause not in SELF_EXPLAINED else words


def socket_error(exc: BaseException) -> BaseException | None:
    """The socket (or TLS) error under requests' and urllib3's wrappers, if any."""
    return in_chain(exc, _is_socket_error)


def in_chain(exc: BaseException, wanted: Callable[[BaseException], bool]) -> BaseException | None:
    """The first exception under requests' and urllib3's wrappers (whose text names their internal classes)
    that `wanted` accepts: through `reason`, causes, contexts and arguments."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if wanted(current):
            return current
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__, *current.args])
    return None


def _is_socket_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and type(exc).__module__ in ("builtins", "socket", "ssl")


def _is_protocol_error(exc: BaseException) -> bool:
    return isinstance(exc, http.client.HTTPException)
