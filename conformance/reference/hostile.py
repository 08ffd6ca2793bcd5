"""Hostile modes of the reference endpoints: systems that hang, trickle, flood, lie about
content types, loop, leave the host, break TLS or MLLP framing. One mode at a time; the endpoints a mode does
not concern behave normally.

The FHIR modes hook into the reference server's request handling (`http_hook`); the MLLP receiver modes run
on a raw-socket listener (mllp_peers.HostileMllpReceiver); `mllp-burst` is a sender behaviour.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class HostileMode:
    name: str
    endpoints: str  # "fhir", "mllp-receiver", "mllp-sender", "fhir+mllp-receiver"
    description: str


HOSTILE_MODES: dict[str, HostileMode] = {
    m.name: m
    for m in (
        HostileMode(
            "silence",
            "fhir+mllp-receiver",
            "accepts the connection and the request, then never answers (socket left open)",
        ),
        HostileMode("slow-bytes", "fhir+mllp-receiver", "answers one byte a second"),
        HostileMode("huge-body", "fhir", "answers 200 with a FHIR JSON body of several hundred MB, streamed"),
        HostileMode("truncated-json", "fhir", "answers 200 application/fhir+json with a JSON body cut in the middle"),
        HostileMode("not-fhir-json", "fhir", "answers 200 application/fhir+json with JSON that is not a FHIR resource"),
        HostileMode("html-200", "fhir", "answers an HTML error page with status 200"),
        HostileMode("wrong-media-type", "fhir", "answers the normal FHIR JSON but labelled text/plain"),
        HostileMode("redirect-loop", "fhir", "redirects (302) between two URLs forever"),
        HostileMode(
            "redirect-other-host", "fhir", "redirects (302) to another host (127.0.0.2), which records what it receives"
        ),
        HostileMode("tls-invalid-cert", "fhir", "serves HTTPS with an expired certificate for another host name"),
        HostileMode("tls-required", "fhir", "requires TLS while its advertised URL is plain http://"),
        HostileMode("mllp-garbage", "mllp-receiver", "answers random bytes that are not an MLLP frame"),
        HostileMode("mllp-no-end-block", "mllp-receiver", "answers an ACK without the end block, then stays silent"),
        HostileMode("mllp-close-mid-frame", "mllp-receiver", "sends half an ACK frame and closes the connection"),
        HostileMode(
            "mllp-wrong-ack",
            "mllp-receiver",
            "acknowledges with an ACK for another message (MSA-2 and MSH-10 unrelated)",
        ),
        HostileMode("mllp-burst", "mllp-sender", "the sender writes 10,000 messages back to back on one connection"),
    )
}
HTTP_MODES = {n for n, m in HOSTILE_MODES.items() if "fhir" in m.endpoints}
MLLP_RECEIVER_MODES = {n for n, m in HOSTILE_MODES.items() if "mllp-receiver" in m.endpoints}
TLS_MODES = {"tls-invalid-cert", "tls-required"}
DEFAULT_HUGE_BODY_BYTES = 400 * 1024 * 1024


class UnknownHostileModeError(ValueError):
    pass


def check_mode(mode: str | None) -> str | None:
    if mode is None or mode == "":
        return None
    if mode not in HOSTILE_MODES:
        raise UnknownHostileModeError(f"unknown hostile mode '{mode}'; known: {', '.join(sorted(HOSTILE_MODES))}")
    return mode


def _small_bundle() -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "searchset", "total": 0}).encode("utf-8")


class HttpHostility:
    """The FHIR server's hostile hook; `redirect_target` is set for redirect-other-host."""

    def __init__(
        self, mode: str, stop_event: threading.Event, *, huge_body_bytes: int = DEFAULT_HUGE_BODY_BYTES
    ) -> None:
        self.mode = mode
        self.stop_event = stop_event
        self.huge_body_bytes = huge_body_bytes
        self.redirect_target = ""

    def __call__(self, handler: BaseHTTPRequestHandler) -> bool:
        """True when the hostile behaviour answered the request itself."""
        with contextlib.suppress(OSError):
            return self._act(handler)
        handler.close_connection = True
        return True

    def _act(self, h: BaseHTTPRequestHandler) -> bool:
        mode = self.mode
        _drain_body(h)
        if mode == "silence":
            self.stop_event.wait(3600)
            h.close_connection = True
            return True
        if mode == "slow-bytes":
            body = _small_bundle()
            raw = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % len(body)
                + body
            )
            for byte in raw:
                if self.stop_event.wait(1.0):
                    break
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
            h.close_connection = True
            return True
        if mode == "huge-body":
            self._stream_huge(h)
            return True
        if mode == "truncated-json":
            body = json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "total": 1,
                    "entry": [{"resource": {"resourceType": "Patient", "id": "x"}}],
                }
            ).encode()
            _send(h, 200, "application/fhir+json", body[: len(body) // 2])
            return True
        if mode == "not-fhir-json":
            _send(
                h,
                200,
                "application/fhir+json",
                json.dumps({"status": "ok", "patients": [{"nom": "TEST", "ins": "000"}]}).encode(),
            )
            return True
        if mode == "html-200":
            page = b"<!DOCTYPE html><html><head><title>Erreur</title></head><body><h1>Service indisponible</h1><p>Le serveur a rencontr\xc3\xa9 une erreur.</p></body></html>"
            _send(h, 200, "text/html; charset=utf-8", page)
            return True
        if mode == "wrong-media-type":
            h.override_content_type = "text/plain"  # type: ignore[attr-defined]
            return False
        if mode == "redirect-loop":
            path = urllib.parse.urlsplit(h.path).path
            target = "/fhir/_loop/b" if path.endswith("/_loop/a") else "/fhir/_loop/a"
            _send(h, 302, "text/plain", b"", {"Location": target})
            return True
        if mode == "redirect-other-host":
            _send(h, 302, "text/plain", b"", {"Location": self.redirect_target + h.path})
            return True
        return False

    def _stream_huge(self, h: BaseHTTPRequestHandler) -> None:
        head = b'{"resourceType":"Bundle","type":"searchset","entry":['
        tail = b"]}"
        entry = b'{"resource":{"resourceType":"Patient","id":"p","name":[{"family":"' + b"X" * 900 + b'"}]}},'
        chunk = entry * 64
        total = self.huge_body_bytes
        h.send_response(200)
        h.send_header("Content-Type", "application/fhir+json")
        h.send_header("Content-Length", str(total))
        h.end_headers()
        h.wfile.write(head)
        sent = len(head)
        while sent + len(chunk) + len(tail) + len(entry) < total and not self.stop_event.is_set():
            h.wfile.write(chunk)
            sent += len(chunk)
        filler = total - sent - len(tail) - len(entry.rstrip(b","))
        h.wfile.write(entry.rstrip(b",") + b" " * max(filler, 0) + tail)
        h.close_connection = True


def _drain_body(h: BaseHTTPRequestHandler) -> None:
    length = h.headers.get("Content-Length")
    if length and length.isdigit() and int(length) < 50 * 1024 * 1024:
        h.rfile.read(int(length))


def _send(
    h: BaseHTTPRequestHandler, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body)


class RedirectCatcher:
    """The 'other host' of redirect-other-host: records each request (method, path, headers) it receives."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.requests: list[dict[str, Any]] = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self) -> None:
                catcher.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers.items())}
                )
                _send(self, 404, "text/plain", b"other host")

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _record

        try:
            self._httpd = ThreadingHTTPServer((host, 0), Handler)
        except OSError:  # some systems route only 127.0.0.1: another port on it is still another origin
            self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self) -> RedirectCatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
