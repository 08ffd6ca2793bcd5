"""HTTP plumbing: the threading server (TLS handshakes in the handler's thread), the request handler that reads a
request, has it routed and writes the Response, and errors as OperationOutcome (never a traceback)."""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.reference.fhir.app import FhirApp
from conformance.reference.fhir.exchange import HttpError, Request, Response, operation_outcome
from conformance.reference.fhir.negotiation import response_format, serialise
from conformance.reference.fhir.routes import route
from conformance.reference.fhir_store import StoreError

MAX_REQUEST_BODY = 50 * 1024 * 1024
SOCKET_TIMEOUT = 30


class FhirHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: FhirApp, ssl_context: ssl.SSLContext | None) -> None:
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(address, FhirRequestHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.settimeout(SOCKET_TIMEOUT)
        if self.ssl_context is not None:
            # The handshake happens in the handler's thread, at the first read: a plain-text client or a
            # stalled handshake never blocks the accept loop.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # TLS handshake failures and clients that hang up are expected here, not worth a traceback


class FhirRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hopen-reference-fhir"
    server: FhirHttpServer
    response_format = "json"
    pretty = False
    override_content_type: str | None = None  # set by a hostile mode (wrong-media-type)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unsupported method...) as OperationOutcome, not HTML."""
        self.close_connection = True
        text = message or self.responses.get(code, ("error",))[0]
        issue = "not-supported" if code in (405, 501) else "invalid"
        self._send_error(HttpError(code, issue, f"{text}{': ' + explain if explain else ''}"))

    @property
    def app(self) -> FhirApp:
        return self.server.app

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        if self.app.hostile_hook is not None and self.app.hostile_hook(self):
            return
        self.response_format = "json"
        self.pretty = False
        try:
            self._send(route(self.app, self._request(method)))
        except HttpError as exc:
            self._send_error(exc)
        except StoreError as exc:
            self._send_error(HttpError(exc.status, exc.code, exc.message))
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a reference server answers OperationOutcome, never a traceback
            self._send_error(HttpError(500, "exception", f"internal error: {type(exc).__name__}: {exc}"))

    def _request(self, method: str) -> Request:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        args = dict(query)
        if self.app.hooks.negotiates():
            self.response_format = response_format(args.get("_format"), self.headers.get("Accept", ""), url.path)
        self.pretty = args.get("_pretty") == "true"
        body = self._read_body() if method in ("POST", "PUT", "PATCH") else b""
        base = self.app.base_path
        if url.path != base and not url.path.startswith(base + "/"):
            raise HttpError(404, "not-found", f"unknown path {url.path}: the FHIR base is {base}")
        segments = [s for s in url.path[len(base) :].split("/") if s]
        return Request(method, segments, query, self.headers, body, self.response_format)

    def _read_body(self) -> bytes:
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise HttpError(411, "not-supported", "chunked request bodies are not supported; send Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError as exc:
            raise HttpError(400, "invalid", "invalid Content-Length") from exc
        if length > MAX_REQUEST_BODY:
            raise HttpError(413, "too-costly", f"request body over {MAX_REQUEST_BODY} bytes")
        return self.rfile.read(length)

    # -- responses
    def _send(self, response: Response) -> None:
        if response.resource is not None:
            body, ctype = serialise(response.resource, self.response_format, pretty=self.pretty)
            return self._send_bytes(response.status, self.app.hooks.content_type(ctype), body, response.headers)
        if response.status == 304:
            return self._send_not_modified(response.headers)
        self._send_bytes(response.status, response.content_type, response.body or b"", response.headers)

    def _send_error(self, error: HttpError) -> None:
        answer = self.app.hooks.error_response(error)
        self._send(answer or Response(error.status, operation_outcome(error.code, error.message), error.headers))

    def _send_not_modified(self, headers: dict[str, str]) -> None:
        self.send_response(304)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_bytes(self, status: int, ctype: str | None, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        ctype = self.override_content_type or ctype
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
