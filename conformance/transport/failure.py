"""Why a connection or an exchange failed, as a cause code: one classifier for the preflight and the transports.

    cause = failure_cause(exc)                              # "refused"
    describe(cause, failure_detail(exc), "fr")              # "connexion refusée (rien n'écoute sur ce port)"

Causes: name-resolution, refused, timeout, tls, reset, not-http (bytes that are not HTTP), network (any other
socket error); the preflight adds http-status and bind. A TLS failure is named further when OpenSSL's words
say which problem it is (`tls_problem`: a plain answer, another host's or an expired certificate, an untrusted
authority, a refused client certificate, no common version). Their wording is in the i18n catalogue
(transport.cause.*, transport.tls.*), French by default.
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
# OpenSSL's words (reason codes, verification messages; upper-cased) -> the TLS problem they name, first match
TLS_PROBLEMS = (
    ("plain-answer", ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")),
    ("hostname-mismatch", ("HOSTNAME MISMATCH", "IP ADDRESS MISMATCH")),
    ("expired", ("CERTIFICATE HAS EXPIRED", "CERTIFICATE IS NOT YET VALID")),
    ("untrusted", ("CERTIFICATE_VERIFY_FAILED",)),
    ("client-cert-refused", ("ALERT_CERTIFICATE_REQUIRED", "ALERT_BAD_CERTIFICATE", "ALERT_UNKNOWN_CA")),
    ("version", ("UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "ALERT_PROTOCOL_VERSION", "NO_SHARED_CIPHER")),
)


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
        words = str(root.reason or root.strerror or root)
        verify = getattr(root, "verify_message", None)  # why verification failed: expired, another host...
        return (f"{words}: {verify}" if verify else words)[:MAX_DETAIL]
    if isinstance(root, OSError):
        return str(root.strerror or root)[:MAX_DETAIL]
    return ""


def tls_problem(exc: BaseException | str) -> str | None:
    """Which TLS problem OpenSSL's words in `exc` (an error or its text) name (a TLS_PROBLEMS key), if any."""
    words = [exc] if isinstance(exc, str) else [str(exc)]
    root = exc if isinstance(exc, str) else socket_error(exc)
    if isinstance(root, ssl.SSLError):
        words += [str(root.reason or ""), str(getattr(root, "verify_message", "") or ""), str(root)]
    upper = " ".join(words).upper().replace("_", " ")
    for problem, markers in TLS_PROBLEMS:
        if any(marker.replace("_", " ") in upper for marker in markers):
            return problem
    return None


def describe(cause: str, detail: str = "", lang: str = DEFAULT_LANGUAGE, *, problem: str | None = None) -> str:
    """The cause as a reader says it, with the system's words unless the cause says it all; a TLS failure by
    its `problem` (tls_problem's key; found in `detail` when not given) when it is known, OpenSSL's English
    words then kept in English only."""
    problem = problem or (tls_problem(detail) if cause == "tls" and detail else None)
    if cause == "tls" and problem is not None:
        words = text(f"transport.tls.{problem}", lang)
        return f"{words} ({detail})" if detail and lang == "en" else words
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
