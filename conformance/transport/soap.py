"""SOAP 1.2 with WS-Addressing over HTTP(S), MTOM in both directions: the client the harness sends with, and a
bounded threaded server (the listener the harness receives on).

The client rides on the FHIR REST client's HTTP layer (TLS/mTLS from `[tls]`, connect/read/total timeouts,
response size limit, every exchange handed to the ExchangeSink). The server binds 127.0.0.1 unless told
otherwise, caps the request size, the time a peer may take to send it and the number of connections it
serves at once, and records every exchange (including the refused ones) like the client does.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from lxml import etree

from conformance.evidence.exchange import (
    ExchangeSink,
    HttpExchange,
    HttpRequestRecord,
    HttpResponseRecord,
    utc_now,
)
from conformance.i18n import BilingualError, both, text
from conformance.transport.limits import (
    DEFAULT_BIND_HOST,
    DeadlineReader,
    ListenerExhausted,
    ListenerGuard,
    ListenerLimits,
    RequestTooSlow,
)
from conformance.transport.mtom import SOAP12_MEDIA, MtomError, MtomMessage, Part, decode_mtom, encode_mtom

if TYPE_CHECKING:  # the HTTP client is imported when a client is created (it loads requests)
    from conformance.config import Timeouts, TlsConfig
    from conformance.transport.http import FhirClient

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
NS = {"s": SOAP12_NS, "s11": SOAP11_NS, "wsa": WSA_NS, "wsse": WSSE_NS}
MAX_XML_BYTES = 64 * 1024 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class SoapError(BilingualError):
    """A message that is not a usable SOAP envelope. `kind`: xml, not-soap, soap11, no-body, mtom."""

    def __init__(self, kind: str, message_fr: str, message_en: str) -> None:
        super().__init__(message_fr, message_en)
        self.kind = kind

    @classmethod
    def worded(cls, kind: str, key: str, **params: object) -> SoapError:
        """The error told by the catalogue's `transport.soap.<key>` in both languages."""
        return cls(kind, *both(f"transport.soap.{key}", **params))


@dataclass(slots=True)
class Envelope:
    version: str  # "1.2" or "1.1"
    root: etree._Element = field(repr=False)
    header: etree._Element | None = field(repr=False)
    body: etree._Element = field(repr=False)
    action: str = ""
    message_id: str = ""
    relates_to: str = ""
    to: str = ""
    reply_to: str = ""
    action_must_understand: bool = False

    @property
    def payload(self) -> etree._Element | None:
        """The first element inside the Body."""
        return next((c for c in self.body if isinstance(c.tag, str)), None)

    def security(self) -> etree._Element | None:
        return self.header.find("wsse:Security", NS) if self.header is not None else None

    def fault(self) -> etree._Element | None:
        payload = self.payload
        return (
            payload
            if payload is not None and payload.tag in (f"{{{SOAP12_NS}}}Fault", f"{{{SOAP11_NS}}}Fault")
            else None
        )


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def build_envelope(
    action: str,
    payload: etree._Element | None,
    *,
    to: str = "",
    message_id: str | None = None,
    relates_to: str = "",
    reply_to: bool = True,
    security: etree._Element | None = None,
    soap_ns: str = SOAP12_NS,
) -> bytes:
    """A SOAP envelope with the WS-Addressing headers (Action mustUnderstand, MessageID, To, ReplyTo/RelatesTo)."""
    envelope = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"soap": soap_ns, "wsa": WSA_NS})
    header = etree.SubElement(envelope, f"{{{soap_ns}}}Header")
    action_element = etree.SubElement(header, f"{{{WSA_NS}}}Action")
    action_element.set(f"{{{soap_ns}}}mustUnderstand", "true" if soap_ns == SOAP12_NS else "1")
    action_element.text = action
    etree.SubElement(header, f"{{{WSA_NS}}}MessageID").text = message_id or new_message_id()
    if relates_to:
        etree.SubElement(header, f"{{{WSA_NS}}}RelatesTo").text = relates_to
    elif reply_to:
        reply = etree.SubElement(header, f"{{{WSA_NS}}}ReplyTo")
        etree.SubElement(reply, f"{{{WSA_NS}}}Address").text = ANONYMOUS
    if to:
        etree.SubElement(header, f"{{{WSA_NS}}}To").text = to
    if security is not None:
        header.append(security)
    body = etree.SubElement(envelope, f"{{{soap_ns}}}Body")
    if payload is not None:
        body.append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def build_fault(code: str, subcode: str, reason_fr: str, reason_en: str) -> etree._Element:
    """A SOAP 1.2 Fault (code Sender or Receiver), the reason in French and English."""
    fault = etree.Element(f"{{{SOAP12_NS}}}Fault")
    code_element = etree.SubElement(fault, f"{{{SOAP12_NS}}}Code")
    etree.SubElement(code_element, f"{{{SOAP12_NS}}}Value").text = f"soap:{code}"
    if subcode:
        sub = etree.SubElement(code_element, f"{{{SOAP12_NS}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12_NS}}}Value").text = subcode
    reason = etree.SubElement(fault, f"{{{SOAP12_NS}}}Reason")
    for lang, told in (("fr", reason_fr), ("en", reason_en)):
        item = etree.SubElement(reason, f"{{{SOAP12_NS}}}Text")
        item.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
        item.text = told
    return fault


def parse_xml(data: bytes) -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise SoapError.worded("xml", "envelope_too_large")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapError.worded("xml", "malformed_xml", error=exc) from None


def parse_envelope(data: bytes) -> Envelope:
    root = parse_xml(data)
    if root.tag == f"{{{SOAP11_NS}}}Envelope":
        soap_ns, version = SOAP11_NS, "1.1"
    elif root.tag == f"{{{SOAP12_NS}}}Envelope":
        soap_ns, version = SOAP12_NS, "1.2"
    else:
        raise SoapError.worded("not-soap", "not_soap", root=root.tag)
    header = root.find(f"{{{soap_ns}}}Header")
    body = root.find(f"{{{soap_ns}}}Body")
    if body is None:
        raise SoapError.worded("no-body", "no_body")
    envelope = Envelope(version, root, header, body)
    if header is not None:
        action = header.find("wsa:Action", NS)
        if action is not None:
            envelope.action = (action.text or "").strip()
            flag = action.get(f"{{{soap_ns}}}mustUnderstand", "")
            envelope.action_must_understand = flag in ("true", "1")
        envelope.message_id = _text(header, "wsa:MessageID")
        envelope.relates_to = _text(header, "wsa:RelatesTo")
        envelope.to = _text(header, "wsa:To")
        envelope.reply_to = _text(header, "wsa:ReplyTo/wsa:Address")
    return envelope


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


# ---------------------------------------------------------------- client


@dataclass(slots=True)
class SoapReply:
    status: int
    content_type: str
    message: MtomMessage | None
    envelope: Envelope | None
    error: SoapError | MtomError | None = None  # the reply could not be read (the HTTP exchange completed)

    @property
    def parts(self) -> dict[str, Part]:
        return self.message.parts if self.message is not None else {}


class SoapClient:
    """Sends SOAP 1.2 requests (MTOM) and reads the replies. TransportError when the exchange cannot complete."""

    def __init__(self, http: FhirClient) -> None:
        self.http = http  # the HTTP layer: TLS, limits, evidence

    @classmethod
    def create(
        cls,
        base_url: str,
        *,
        tls: TlsConfig | None,
        timeouts: Timeouts | None,
        sink: ExchangeSink | None,
        max_bytes: int,
    ) -> SoapClient:
        from conformance.transport.http import FhirClient

        return cls(FhirClient(base_url, tls=tls, timeouts=timeouts, max_response_bytes=max_bytes, sink=sink))

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        url: str,
        action: str,
        payload: etree._Element,
        attachments: Sequence[Part] = (),
        *,
        security: etree._Element | None = None,
        envelope: bytes | None = None,
        mtom: bool = True,
    ) -> SoapReply:
        """POST one request. `envelope` replaces the built one (defective requests built by the caller)."""
        data = envelope or build_envelope(action, payload, to=url, security=security)
        if mtom:
            content_type, body = encode_mtom(data, attachments, action=action)
        else:
            content_type, body = f'{SOAP12_MEDIA}; charset=UTF-8; action="{action}"', data
        return self.post(url, content_type, body)

    def post(self, url: str, content_type: str, body: bytes) -> SoapReply:
        response = self.http.request("POST", url, body=body, content_type=content_type, accept=None)
        reply_type = response.headers.get("Content-Type", "")
        return read_reply(response.status, reply_type, response.body)


def read_reply(status: int, content_type: str, body: bytes) -> SoapReply:
    try:
        message = decode_mtom(content_type, body)
        return SoapReply(status, content_type, message, parse_envelope(message.root))
    except (MtomError, SoapError) as exc:
        return SoapReply(status, content_type, None, None, exc)


# ---------------------------------------------------------------- server


@dataclass(slots=True)
class ServerLimits:
    """SOAP-specific bounds; connections, byte budgets and the idle timeout are the shared `ListenerLimits`."""

    max_request_bytes: int = 20 * 1024 * 1024
    request_deadline: float = 30.0  # the whole request, headers and body
    # requests served on one connection (HTTP/1.1 keep-alive) before it is closed; 1: one exchange per
    # connection. Between requests the connection may stay idle `listener.idle_timeout` seconds.
    keep_alive_requests: int = 100
    listener: ListenerLimits = field(default_factory=lambda: ListenerLimits(max_connections=16, idle_timeout=10.0))

    @property
    def read_timeout(self) -> float:
        return self.listener.idle_timeout


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = field(repr=False)
    peer: str = ""
    peer_certificate: bytes | None = field(default=None, repr=False)  # DER of the TLS client certificate
    tls: bool = False


@dataclass(slots=True)
class HttpReply:
    status: int
    content_type: str
    body: bytes = field(repr=False)


Application = Callable[[HttpRequest], HttpReply]


@dataclass(frozen=True, slots=True)
class ListenerFault:
    """Why the listener could not take a request, in both languages. `harness_limit`: one of the harness's own
    bounds was reached (what was refused is not judged: inconclusive), not the peer's doing."""

    kind: str  # plain-http, no-client-cert, client-cert-refused, tls-version, tls, stalled, closed, too-large...
    fr: str
    en: str
    harness_limit: bool = False

    def message(self, lang: str = "fr") -> str:
        return self.fr if lang == "fr" else self.en

    @classmethod
    def worded(cls, kind: str, key: str, *, harness_limit: bool = False, **params: object) -> ListenerFault:
        """The fault told by the catalogue's `transport.soap.<key>` in both languages."""
        return cls(kind, *both(f"transport.soap.{key}", **params), harness_limit=harness_limit)


def handshake_fault(exc: BaseException, timeout: float) -> ListenerFault:
    """The failed TLS handshake of a peer, named (plain HTTP on the TLS port, no or untrusted client certificate,
    refused TLS version, stalled handshake)."""
    kind = _handshake_kind(exc)
    fr_reason, en_reason = both(f"transport.soap.handshake.{kind}", seconds=timeout)
    code = str(getattr(exc, "reason", "") or type(exc).__name__)
    return ListenerFault(
        kind,
        text("transport.soap.handshake_failed", "fr", reason=fr_reason, code=code),
        text("transport.soap.handshake_failed", "en", reason=en_reason, code=code),
    )


def _handshake_kind(exc: BaseException) -> str:
    upper = str(getattr(exc, "reason", "") or exc).upper()
    if isinstance(exc, TimeoutError) or "TIMED OUT" in upper:
        return "stalled"
    if "HTTP_REQUEST" in upper or "HTTPS_PROXY_REQUEST" in upper:
        return "plain-http"
    if "PEER_DID_NOT_RETURN_A_CERTIFICATE" in upper or "CERTIFICATE_REQUIRED" in upper:
        return "no-client-cert"
    if "CERTIFICATE_VERIFY_FAILED" in upper or "UNKNOWN_CA" in upper or "BAD_CERTIFICATE" in upper:
        return "client-cert-refused"
    if "VERSION" in upper or "PROTOCOL" in upper:
        return "tls-version"
    return "tls"


def _body_fault(exc: BaseException, length: int, limits: ServerLimits) -> ListenerFault:
    if isinstance(exc, (TimeoutError, RequestTooSlow)):
        return ListenerFault.worded(
            "stalled",
            "body_stalled",
            length=length,
            read_timeout=limits.read_timeout,
            deadline=limits.request_deadline,
        )
    return ListenerFault.worded("closed", "body_closed", length=length, error=type(exc).__name__)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadedSoapServer
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024  # headers and the start of the body leave in one segment
    server_version = "hopen-conformance"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return  # exchanges go to the evidence, not to stderr

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # kept-alive answers must not wait for the peer's delayed ACK
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()  # the socket's own file: reads go through the request deadline instead
        self.reader = DeadlineReader(self.connection, self.server.limits.read_timeout)
        self.rfile = io.BufferedReader(self.reader)
        self._admission = getattr(self.server._local, "admission", None)
        self._served = 0

    def handle_one_request(self) -> None:
        deadline = self.server.limits.request_deadline
        self.reader.expect_head(deadline)  # the whole request, from its first byte
        started = utc_now()
        try:
            super().handle_one_request()
        except RequestTooSlow:
            self.close_connection = True
            request = HttpRequest("", "", {}, b"", peer=f"{self.client_address[0]}")
            fault = ListenerFault.worded("stalled", "head_stalled", seconds=deadline)
            self.server.record(request, None, started, fault)
        finally:
            self.reader.done()

    def parse_request(self) -> bool:
        parsed = super().parse_request()  # reads the headers
        self.reader.expect_body()  # the body goes on with the request's deadline
        return parsed

    def do_GET(self) -> None:
        self.close_connection = True  # a body it may carry is not read: the connection cannot be reused
        expected = " / ".join(both("transport.soap.post_expected"))
        self._reply_plain(405, expected, HttpRequest("GET", self.path, dict(self.headers), b""))

    def do_POST(self) -> None:
        started = utc_now()
        request = HttpRequest("POST", self.path, dict(self.headers), b"", peer=f"{self.client_address[0]}")
        if isinstance(self.connection, ssl.SSLSocket):
            request.tls = True
            request.peer_certificate = self.connection.getpeercert(binary_form=True)
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            fault = ListenerFault.worded("length-required", "length_required")
            self._refuse(request, started, 411, fault)
            return
        if int(length) > self.server.limits.max_request_bytes:
            limit = self.server.limits.max_request_bytes
            fault = ListenerFault.worded("too-large", "too_large", harness_limit=True, length=length, limit=limit)
            self._refuse(request, started, 413, fault)
            return
        try:
            request.body = self._read_body(int(length))
        except ListenerExhausted as exc:  # the harness's budget, not the peer's fault: recorded as such
            fr = text("transport.soap.listener_limit", "fr", reason=exc.fr)
            en = text("transport.soap.listener_limit", "en", reason=exc.en)
            self.server.record(request, None, started, ListenerFault("listener-limit", fr, en, harness_limit=True))
            self.close_connection = True
            return
        except (TimeoutError, RequestTooSlow, OSError) as exc:
            self.server.record(request, None, started, _body_fault(exc, int(length), self.server.limits))
            self.close_connection = True
            return
        try:
            reply = self.server.application(request)
        except Exception as exc:  # the simulator failed: a SOAP Receiver fault, recorded
            fault = build_fault("Receiver", "", *both("transport.soap.simulator_error", error=exc))
            reply = HttpReply(500, f"{SOAP12_MEDIA}; charset=UTF-8", build_envelope("", fault, reply_to=False))
        self.server.record(request, reply, started, None)  # in the evidence before the peer has the answer
        self._send(reply)

    def _read_body(self, length: int) -> bytes:
        chunks: list[bytes] = []
        remaining = length
        while remaining:
            chunk = self.rfile.read1(min(remaining, 64 * 1024))
            if not chunk:
                raise ConnectionError("connection closed mid-body")
            if self._admission is not None:
                self.server.guard.charge(self._admission, len(chunk))
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _refuse(self, request: HttpRequest, started: datetime, status: int, fault: ListenerFault) -> None:
        self.close_connection = True  # the unread body would be taken for the next request
        reply = HttpReply(status, "text/plain; charset=utf-8", f"{fault.fr} / {fault.en}".encode())
        self.server.record(request, reply, started, fault)
        self._send(reply)

    def log_error(self, format: str, *args: Any) -> None:
        # the request line or headers did not arrive within the idle timeout (the standard handler closes the
        # connection and only logs it); between kept-alive requests that is an ordinary idle close
        if format.startswith("Request timed out") and self._served == 0:
            idle = self.server.limits.read_timeout
            request = HttpRequest("", "", {}, b"", peer=f"{self.client_address[0]}")
            request.tls = isinstance(self.connection, ssl.SSLSocket)
            fault = ListenerFault.worded("stalled", "head_idle", seconds=idle)
            self.server.record(request, None, utc_now(), fault)

    def _reply_plain(self, status: int, text: str, request: HttpRequest) -> HttpReply:
        reply = HttpReply(status, "text/plain; charset=utf-8", text.encode("utf-8"))
        self._send(reply)
        return reply

    def _send(self, reply: HttpReply) -> None:
        self._served += 1
        close = (
            self.close_connection  # the peer asked for it (Connection: close, HTTP/1.0) or the request was refused
            or self._served >= self.server.limits.keep_alive_requests
            or self.server.stopping.is_set()
        )
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close" if close else "keep-alive")
            self.end_headers()
            self.close_connection = close
            self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class ThreadedSoapServer(ThreadingHTTPServer):
    """HTTP(S) server for SOAP endpoints. `start()` serves in a thread; `stop()` closes everything."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        application: Application,
        host: str = DEFAULT_BIND_HOST,
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: ServerLimits | None = None,
        sink: ExchangeSink | None = None,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.application = application
        self.ssl_context = ssl_context
        self.limits = limits or ServerLimits()
        self.sink = sink
        self.guard = ListenerGuard(self.limits.listener)
        self._admissions: dict[int, Any] = {}
        self._local = threading.local()  # the admission of the connection this thread serves
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()  # connections being served (kept alive between requests)
        self.connections_accepted = 0
        self._open_lock = threading.Lock()
        self.faults: list[tuple[HttpExchange, ListenerFault]] = []  # exchanges cut short, and why

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> ThreadedSoapServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self._open_lock:  # idle keep-alive connections would otherwise wait out their idle timeout
            for connection in list(self._open):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def process_request(self, request: Any, client_address: Any) -> None:
        admission = self.guard.admit(str(client_address[0]))
        if admission is None:  # over the connection limit: closed at once (guard.exhaustion says so)
            self.shutdown_request(request)
            return
        self._admissions[id(request)] = admission
        self.connections_accepted += 1
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        admission = self._admissions.pop(id(request), None)
        try:
            if self.ssl_context is not None:
                request = self._handshake(request, client_address)
                if request is None:
                    return
            self._local.admission = admission
            with self._open_lock:
                self._open.add(request)
            try:
                super().process_request_thread(request, client_address)
            finally:
                with self._open_lock:
                    self._open.discard(request)
        finally:
            self.guard.release(admission)

    def _handshake(self, raw: socket.socket, client_address: Any) -> ssl.SSLSocket | None:
        raw.settimeout(self.limits.read_timeout)
        started = utc_now()
        try:
            assert self.ssl_context is not None
            return self.ssl_context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            request = HttpRequest("", "", {}, b"", peer=str(client_address[0]), tls=True)
            self.record(request, None, started, handshake_fault(exc, self.limits.read_timeout))
            with contextlib.suppress(OSError):
                raw.close()
            return None

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a peer that hung up or sent garbage: already recorded, never printed

    def record(
        self, request: HttpRequest, reply: HttpReply | None, started: datetime, fault: ListenerFault | None
    ) -> None:
        url = f"{self.base_url}{request.path}"
        response = None
        if reply is not None:
            response = HttpResponseRecord(reply.status, "", {"Content-Type": reply.content_type}, reply.body)
        exchange = HttpExchange(
            request=HttpRequestRecord(request.method, url, dict(request.headers), request.body),
            response=response,
            started=started,
            finished=utc_now(),
            error=fault.en if fault is not None else None,
        )
        if fault is not None:
            with self._open_lock:
                self.faults.append((exchange, fault))
        if self.sink is not None:
            self.sink.record(exchange)

    def fault_of(self, exchange: Any) -> ListenerFault | None:
        """The fault (in both languages) of an exchange this server recorded, None for a complete one."""
        with self._open_lock:
            return next((fault for known, fault in self.faults if known is exchange), None)
