"""FHIR REST client over requests: authentication, TLS/mTLS, timeouts, size limit, redirects, retries.

Every exchange (including failed ones) is handed to an ExchangeSink as an HttpExchange; redirects and
token requests are recorded as exchanges of their own. Nothing here writes files.

Failures raise `TransportError` (a message in French and English naming the fault); a response that
exceeds `max_response_bytes` is cut, recorded with `truncated=True` and raises `ResponseTooLarge`.

Credentials go only to the configured base URL's origin (scheme, host, port). A URL the system names on
another origin (a paging link, an attachment, a Location, a redirect) is fetched without them, or refused
(`foreign_urls="refuse"`); either way a warning finding goes to `on_finding` and the exchange carries a note.
Interim 1xx responses are skipped; headers not complete within the read timeout (counted once the request is
sent) or by the total deadline are a timeout. The token endpoint's
answer is read under MAX_TOKEN_RESPONSE_BYTES; a token that is not visible ASCII, longer than
MAX_TOKEN_CHARS, or an unusable `expires_in`, is refused naming the token endpoint.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import math
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.util
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from conformance import __version__
from conformance.config import AuthConfig, RunConfig, Timeouts, TlsConfig
from conformance.evidence.exchange import (
    ExchangeSink,
    HttpExchange,
    HttpRequestRecord,
    HttpResponseRecord,
    utc_now,
)
from conformance.findings import Finding, Severity, finding
from conformance.i18n import BilingualError, both, text
from conformance.transport.failure import describe, failure_cause, failure_detail, tls_problem

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
RETRYABLE_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
CHUNK = 64 * 1024
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024  # a token endpoint's JSON answer
MAX_TOKEN_CHARS = 16 * 1024  # an access token (JWTs with many claims stay far below)
MAX_TOKEN_LIFETIME = 366 * 24 * 3600.0
MAX_INTERIM_RESPONSES = 20
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an Authorization header can carry


class TransportError(BilingualError):
    """The exchange could not be completed. `kind`: timeout, connection, tls, too-large, redirect, auth.
    `cause`: when the exchange failed at the socket, why (a conformance.transport.failure code, as the preflight's)."""

    def __init__(self, kind: str, message_fr: str, message_en: str, *, cause: str | None = None) -> None:
        super().__init__(message_fr, message_en)
        self.kind = kind
        self.cause = cause

    @classmethod
    def worded(cls, kind: str, key: str, *, cause: str | None = None, **params: Any) -> TransportError:
        """The error told by the catalogue's `transport.http.<key>` in both languages."""
        return cls(kind, *words(key, **params), cause=cause)


def words(key: str, **params: Any) -> tuple[str, str]:
    """The catalogue's `transport.http.<key>` in French and in English."""
    return both(f"transport.http.{key}", **params)


class ResponseTooLarge(TransportError):
    def __init__(self, limit: int, url: str) -> None:
        super().__init__("too-large", *words("too_large", url=url, limit=limit))


@dataclass(slots=True)
class FhirResponse:
    status: int
    reason: str
    headers: CaseInsensitiveDict
    body: bytes
    url: str
    elapsed_ms: float = 0.0
    history: list[str] = field(default_factory=list)  # redirect URLs followed

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The parsed JSON body, or None when the body is not JSON (`json_error` then says why)."""
        return _parse_json(self.body)[0]

    @property
    def json_error(self) -> str | None:
        """Why the body is not usable JSON (nesting beyond the parser's depth is named), None when it is."""
        return _parse_json(self.body)[1]

    @property
    def resource(self) -> dict | None:
        data = self.json()
        return data if isinstance(data, dict) and "resourceType" in data else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _DeadlineWatch(threading.local):
    """The sockets of the exchange running in this thread, so a deadline timer can cut them, and the time the
    status line and headers may take once the request is sent (the read timeout), with the flag set when cut."""

    sockets: list[socket.socket] | None = None
    header_timeout: float | None = None
    headers_expired: threading.Event | None = None


_WATCH = _DeadlineWatch()


def _watch_socket(sock: socket.socket | None) -> None:
    if sock is not None and _WATCH.sockets is not None:
        _WATCH.sockets.append(sock)


@contextlib.contextmanager
def _header_timer(sock: socket.socket | None):
    """While the answer's head is read: cut the socket when the read timeout passes. The per-recv timeout alone
    lets headers trickled a byte a second run until the total deadline."""
    timeout, expired = _WATCH.header_timeout, _WATCH.headers_expired
    if sock is None or timeout is None or expired is None:
        yield
        return

    def cut() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class _InterimSkippingResponse(http.client.HTTPResponse):
    """http.client skips 100 Continue only; every interim 1xx (103 Early Hints...) precedes the real answer."""

    def _read_status(self):  # type: ignore[no-untyped-def]
        for _ in range(MAX_INTERIM_RESPONSES):
            version, status, reason = super()._read_status()
            if not 100 < status < 200 or status == 101:
                return version, status, reason
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        raise http.client.HTTPException(f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses")


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _InterimSkippingResponse

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_socket(self.sock)
        with _header_timer(self.sock):
            return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _InterimSkippingResponse

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_socket(self.sock)
        with _header_timer(self.sock):
            return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


@contextlib.contextmanager
def _deadline_watch(remaining: float, header_timeout: float | None):
    """Cut the connection when the total deadline passes while the status line and headers are read, or when
    they take longer than `header_timeout` once the request is sent (`_WATCH.headers_expired` then set)."""
    sockets: list[socket.socket] = []
    expired = threading.Event()
    _WATCH.header_timeout, _WATCH.headers_expired = header_timeout, threading.Event()

    def cut() -> None:
        expired.set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(remaining, 0.001), cut)
    timer.daemon = True
    _WATCH.sockets = sockets
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()
        _WATCH.sockets = _WATCH.header_timeout = _WATCH.headers_expired = None


class _TlsAdapter(HTTPAdapter):
    def __init__(self, ssl_context: ssl.SSLContext | None, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._ssl_context is not None:
            kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def build_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """The client TLS context: CA bundle (or system roots), optional client certificate for mutual TLS."""
    context = ssl.create_default_context(cafile=str(tls.ca_bundle) if tls.ca_bundle else None)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.client_cert:
        password = tls.client_key_password.reveal() if tls.client_key_password else None
        try:
            context.load_cert_chain(
                str(tls.client_cert), str(tls.client_key) if tls.client_key else None, password=password
            )
        except (ssl.SSLError, OSError) as exc:
            raise TransportError.worded("tls", "client_key_unreadable", error=type(exc).__name__) from None
    return context


class FhirClient:
    """A FHIR REST client for the system under test. Thread-safe enough for sequential suites."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: AuthConfig | None = None,
        tls: TlsConfig | None = None,
        timeouts: Timeouts | None = None,
        max_response_bytes: int = 50 * 1024 * 1024,
        allow_cross_host_redirects: bool = False,
        max_redirects: int = 5,
        sink: ExchangeSink | None = None,
        foreign_urls: str = "without-credentials",
        on_finding: Callable[[Finding], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.foreign_urls = foreign_urls
        self.findings: list[Finding] = []  # origin findings, also handed to on_finding
        self.on_finding = on_finding
        self.auth = auth or AuthConfig()
        self.tls = tls or TlsConfig()
        self.timeouts = timeouts or Timeouts()
        self.max_response_bytes = max_response_bytes
        self.allow_cross_host_redirects = allow_cross_host_redirects
        self.max_redirects = max_redirects
        self.sink = sink
        self._session = requests.Session()
        self._session.trust_env = False  # the configuration, not the environment, decides proxies and certs
        adapter = _TlsAdapter(build_ssl_context(self.tls) if self._uses_tls() else None)
        self._session.mount("https://", adapter)
        self._session.mount("http://", _TlsAdapter(None))
        self._token: tuple[str, float] | None = None
        self._token_lock = threading.Lock()

    @classmethod
    def from_config(
        cls, config: RunConfig, sink: ExchangeSink | None = None, on_finding: Callable[[Finding], None] | None = None
    ) -> FhirClient:
        if not config.fhir.base_url:
            raise ValueError("fhir.base_url is not configured")
        return cls(
            config.fhir.base_url,
            auth=config.fhir.auth,
            tls=config.tls,
            timeouts=config.timeouts,
            max_response_bytes=config.fhir.max_response_bytes,
            allow_cross_host_redirects=config.fhir.allow_cross_host_redirects,
            max_redirects=config.fhir.max_redirects,
            sink=sink,
            foreign_urls=config.fhir.foreign_urls,
            on_finding=on_finding,
        )

    def _uses_tls(self) -> bool:
        urls = [self.base_url, self.auth.token_url or ""]
        return any(u.startswith("https://") for u in urls)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- FHIR helpers

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def metadata(self, fmt: str = FHIR_JSON) -> FhirResponse:
        return self.get("metadata", accept=fmt)

    def read(self, resource_type: str, resource_id: str, **kwargs: Any) -> FhirResponse:
        return self.get(f"{resource_type}/{resource_id}", **kwargs)

    def vread(self, resource_type: str, resource_id: str, version: str, **kwargs: Any) -> FhirResponse:
        return self.get(f"{resource_type}/{resource_id}/_history/{version}", **kwargs)

    def search(self, resource_type: str, params: Mapping[str, Any] | list[tuple[str, str]] | None = None, **kw: Any):
        return self.get(resource_type, params=params, **kw)

    def transaction(self, bundle: dict, **kwargs: Any) -> FhirResponse:
        return self.post("", json_body=bundle, **kwargs)

    def get(self, path: str, **kwargs: Any) -> FhirResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> FhirResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> FhirResponse:
        return self.request("PUT", path, **kwargs)

    # ---------------------------------------------------------------- the exchange

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
        content_type: str | None = None,
        accept: str | None = FHIR_JSON,
    ) -> FhirResponse:
        """One FHIR interaction, with redirects and retries. Raises TransportError when it cannot complete."""
        method = method.upper()
        url = self.url(path)
        if params:
            url = requests.Request("GET", url, params=params).prepare().url or url
        all_headers = {"User-Agent": f"hopen-conformance/{__version__}"}
        if accept:
            all_headers["Accept"] = accept
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            content_type = content_type or FHIR_JSON
        if content_type:
            all_headers["Content-Type"] = content_type
        if self.same_origin(url):
            all_headers.update(self._auth_headers())
        else:
            self._foreign_url(method, url)
        all_headers.update(headers or {})
        deadline = time.monotonic() + self.timeouts.total
        attempts = 1 + (self.timeouts.retries if method in IDEMPOTENT_METHODS else 0)
        for attempt in range(attempts):
            try:
                response = self._follow_redirects(method, url, all_headers, body or b"", deadline)
            except TransportError as exc:
                if exc.kind != "connection" or attempt + 1 >= attempts:
                    raise
            else:
                if response.status not in RETRYABLE_STATUSES or attempt + 1 >= attempts:
                    return response
            self._pause_before_retry(attempt, deadline)
        raise AssertionError("unreachable")

    def same_origin(self, url: str) -> bool:
        """Whether `url` has the configured base URL's scheme, host and port (only then do credentials go)."""
        return _origin(url) == _origin(self.base_url)

    def _foreign_url(self, method: str, url: str) -> None:
        """A URL on another origin: refused, or fetched without credentials; a finding either way."""
        shown = _origin_text(url)
        if self.foreign_urls == "refuse":
            fr, en = words("foreign_refused", url=url, origin=shown)
            self._note_origin(fr, en, url)
            self._record(HttpRequestRecord(method=method, url=url, headers={}, body=b""), None, utc_now(), en)
            raise TransportError("foreign-origin", fr, en)
        self._note_origin(*words("foreign_fetched", url=url, origin=shown), url)

    def _note_origin(self, fr: str, en: str, url: str) -> None:
        note = finding(Severity.WARNING, "security", "http-foreign-origin", url, fr, en, source="tool")
        self.findings.append(note)
        if self.on_finding is not None:
            self.on_finding(note)

    def _pause_before_retry(self, attempt: int, deadline: float) -> None:
        pause = self.timeouts.retry_backoff * (2**attempt)
        if time.monotonic() + pause >= deadline:
            raise TransportError.worded("timeout", "retry_deadline", seconds=self.timeouts.total)
        time.sleep(pause)

    def _follow_redirects(
        self, method: str, url: str, headers: dict[str, str], body: bytes, deadline: float
    ) -> FhirResponse:
        seen = [url]
        origin = _origin(url)
        while True:
            response = self._exchange(method, url, headers, body, deadline)
            location = response.headers.get("Location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                response.history = seen[:-1]
                return response
            target = urljoin(url, location)
            if target in seen:
                chain = " -> ".join([*seen, target])
                raise self._refused_redirect(method, target, *words("redirect_loop", chain=chain))
            if len(seen) > self.max_redirects:
                raise self._refused_redirect(method, target, *words("redirect_too_many", limit=self.max_redirects))
            if _origin(target) != origin:
                if not self.allow_cross_host_redirects:
                    raise self._refused_redirect(method, target, *words("redirect_cross_host", target=target))
                # credentials stay with the configured server
                headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
                if self.same_origin(url):
                    self._note_origin(*words("redirect_foreign_followed", origin=_origin_text(target)), target)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", b""
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            seen.append(target)
            url = target

    def _refused_redirect(self, method: str, target: str, message_fr: str, message_en: str) -> TransportError:
        """The hop not taken is recorded too, so the evidence ends with the fault rather than a plain 302."""
        started = utc_now()
        self._record(HttpRequestRecord(method=method, url=target, headers={}, body=b""), None, started, message_en)
        return TransportError("redirect", message_fr, message_en)

    def _exchange(
        self, method: str, url: str, headers: dict[str, str], body: bytes, deadline: float, limit: int | None = None
    ) -> FhirResponse:
        """One HTTP request/response, streamed under the size limit and the total deadline; always recorded."""
        started = utc_now()
        request_record = HttpRequestRecord(method=method, url=url, headers=dict(headers), body=body)
        response_record: HttpResponseRecord | None = None
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _total_timeout(self.timeouts.total, url)
            raw = self._send(method, url, headers, body, remaining)
            try:
                response_record = HttpResponseRecord(
                    status=raw.status_code, reason=raw.reason or "", headers=dict(raw.headers)
                )
                request_record.headers = dict(raw.request.headers)
                response_record.body = self._read_body(raw, response_record, url, deadline, limit)
            finally:
                raw.close()
        except TransportError as exc:
            self._record(request_record, response_record, started, exc.message_en)
            raise
        self._record(request_record, response_record, started, None)
        return FhirResponse(
            status=response_record.status,
            reason=response_record.reason,
            headers=CaseInsensitiveDict(response_record.headers),
            body=response_record.body,
            url=url,
            elapsed_ms=(utc_now() - started).total_seconds() * 1000,
        )

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes, remaining: float):
        verify: bool | str = str(self.tls.ca_bundle) if self.tls.ca_bundle else self.tls.verify
        if not self.tls.verify:
            verify = False
        try:
            # the total deadline's own timer covers a read timeout that would end after it
            read_timeout = self.timeouts.read if self.timeouts.read < remaining else None
            with _deadline_watch(remaining, read_timeout) as expired:
                headers_expired = _WATCH.headers_expired
                try:
                    response = self._session.request(
                        method,
                        url,
                        headers=headers,
                        data=body or None,
                        timeout=(min(self.timeouts.connect, remaining), min(self.timeouts.read, remaining)),
                        allow_redirects=False,
                        stream=True,
                        verify=verify,
                    )
                except requests.exceptions.RequestException:
                    if expired.is_set():
                        raise _total_timeout(self.timeouts.total, url) from None
                    if headers_expired is not None and headers_expired.is_set():
                        raise self._headers_timeout(url) from None
                    raise
                if expired.is_set():  # cut while the headers were read: what arrived is not a response
                    response.close()
                    raise _total_timeout(self.timeouts.total, url, headers_incomplete=True)
                if headers_expired is not None and headers_expired.is_set():
                    response.close()
                    raise self._headers_timeout(url)
                return response
        except requests.exceptions.SSLError as exc:
            raise _tls_failure(url, exc) from None
        except requests.exceptions.ConnectTimeout:
            raise TransportError.worded(
                "timeout", "connect_timeout", cause="timeout", seconds=self.timeouts.connect, url=url
            ) from None
        except requests.exceptions.ReadTimeout:
            raise TransportError.worded(
                "timeout", "read_timeout", cause="timeout", seconds=self.timeouts.read, url=url
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if url.startswith("http://") and _speaks_tls(url, self.timeouts.connect):
                raise TransportError.worded("tls", "tls_required", cause="tls", url=url) from None
            cause = failure_cause(exc)
            cause_fr, cause_en = (describe(cause, failure_detail(exc), lang) for lang in ("fr", "en"))
            raise TransportError(
                "connection",
                text("transport.http.cannot_connect", "fr", url=url, cause=cause_fr),
                text("transport.http.cannot_connect", "en", url=url, cause=cause_en),
                cause=cause,
            ) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError.worded("connection", "exchange_failed", url=url, detail=_short(exc)) from None

    def _headers_timeout(self, url: str) -> TransportError:
        return TransportError.worded("timeout", "headers_timeout", url=url, seconds=self.timeouts.read)

    def _read_body(
        self, raw: requests.Response, record: HttpResponseRecord, url: str, deadline: float, limit: int | None = None
    ) -> bytes:
        limit = self.max_response_bytes if limit is None else limit
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            record.truncated = True
            raise ResponseTooLarge(limit, url)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                # read1 returns what is available, so a slow (byte-a-second) server cannot outlive the deadline
                chunk = raw.raw.read1(CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    keep = len(chunk) - (size - limit)
                    chunks.append(chunk[:keep])
                    record.body, record.truncated = b"".join(chunks), True
                    raise ResponseTooLarge(limit, url)
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    record.body = b"".join(chunks)
                    raise _total_timeout(self.timeouts.total, url)
        except TransportError:
            raise
        except Exception as exc:  # urllib3 read errors: timeout mid-body, connection reset, bad chunking
            record.body = b"".join(chunks)
            timeout = "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower()
            kind = "timeout" if timeout else "connection"
            raise TransportError.worded(kind, "body_interrupted", url=url, detail=_short(exc)) from None
        return b"".join(chunks)

    def _record(
        self,
        request: HttpRequestRecord,
        response: HttpResponseRecord | None,
        started: Any,
        error: str | None,
    ) -> None:
        if self.sink is not None:
            self.sink.record(
                HttpExchange(request=request, response=response, started=started, finished=utc_now(), error=error)
            )

    # ---------------------------------------------------------------- authentication

    def _auth_headers(self) -> dict[str, str]:
        auth = self.auth
        if auth.type == "basic" and auth.username is not None and auth.password is not None:
            raw = f"{auth.username}:{auth.password.reveal()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        if auth.type == "bearer" and auth.token is not None:
            return {"Authorization": f"Bearer {auth.token.reveal()}"}
        if auth.type in ("oauth2-client-credentials", "smart-backend-services"):
            return {"Authorization": f"Bearer {self._access_token()}"}
        return {}

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token and self._token[1] > time.monotonic() + 10:
                return self._token[0]
            self._token = self._fetch_token()
            return self._token[0]

    def _fetch_token(self) -> tuple[str, float]:
        auth = self.auth
        assert auth.token_url and auth.client_id
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if auth.type == "smart-backend-services":
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = client_assertion(auth)
        else:
            assert auth.client_secret is not None
            raw = f"{_form_quote(auth.client_id)}:{_form_quote(auth.client_secret.reveal())}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        body = "&".join(f"{k}={_form_quote(v)}" for k, v in form.items()).encode("ascii")
        deadline = time.monotonic() + self.timeouts.total
        try:
            response = self._exchange("POST", auth.token_url, headers, body, deadline, MAX_TOKEN_RESPONSE_BYTES)
        except ResponseTooLarge:
            raise _token_error(auth.token_url, "token_answer_too_large", limit=MAX_TOKEN_RESPONSE_BYTES) from None
        data = _json_or_none(response.body) if response.ok else None
        if not isinstance(data, dict):
            data = {}
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransportError.worded("auth", "no_token", url=auth.token_url, status=response.status)
        _check_token(auth.token_url, token)
        return token, time.monotonic() + _token_lifetime(auth.token_url, data.get("expires_in", 300))


def client_assertion(auth: AuthConfig) -> str:
    """A SMART backend services client assertion: a JWT signed with the configured private key (RS384/ES384)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    assert auth.private_key is not None and auth.client_id and auth.token_url
    password = auth.private_key_password.reveal().encode() if auth.private_key_password else None
    try:
        key = serialization.load_pem_private_key(auth.private_key.read_bytes(), password=password)
    except (ValueError, TypeError, OSError) as exc:
        raise TransportError.worded(
            "auth", "private_key_unreadable", name=auth.private_key.name, error=type(exc).__name__
        ) from None
    header: dict[str, str] = {"alg": auth.algorithm, "typ": "JWT"}
    if auth.key_id:
        header["kid"] = auth.key_id
    now = int(time.time())
    claims = {
        "iss": auth.client_id,
        "sub": auth.client_id,
        "aud": auth.token_url,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}".encode()
    if auth.algorithm == "RS384" and isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    elif auth.algorithm == "ES384" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        signature = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    else:
        raise TransportError.worded("auth", "key_algorithm", algorithm=auth.algorithm)
    return f"{signing_input.decode()}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _form_quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port the request for `url` would actually connect to: parsed as requests and urllib3
    parse it, since `urlsplit` reads `http://other:1\\@base:2/` as `base` while the bytes (and any credentials)
    would go to `other`. A URL the two parsers read differently is never the configured origin."""
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        connected = urllib3.util.parse_url(prepared.url or "")
        scheme, host = (connected.scheme or "").lower(), (connected.host or "").lower().strip("[]")
        port = connected.port or (443 if scheme == "https" else 80)
        parts = urlsplit(url)
        written = (parts.hostname or "").lower()
        if not written.isascii():  # an internationalised name travels in its IDNA form, as requests sends it
            written = written.encode("idna").decode("ascii")
        seen = (parts.scheme.lower(), written, parts.port or (443 if scheme == "https" else 80))
    except (ValueError, UnicodeError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError):
        return "invalid", url, -1  # unparsable, or a port out of range: never the configured origin
    if seen != (scheme, host, port):
        return "ambiguous", url, -1
    return scheme, host, port


def _total_timeout(total: float, url: str, *, headers_incomplete: bool = False) -> TransportError:
    key = "total_timeout_headers" if headers_incomplete else "total_timeout"
    return TransportError.worded("timeout", key, seconds=total, url=url)


def _origin_text(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def _token_error(token_url: str, key: str, **params: Any) -> TransportError:
    """A token endpoint's answer refused: `transport.http.<key>` after the endpoint's name."""
    fr, en = words(key, **params)
    return TransportError(
        "auth",
        text("transport.http.token_endpoint", "fr", url=token_url, problem=fr),
        text("transport.http.token_endpoint", "en", url=token_url, problem=en),
    )


def _json_or_none(body: bytes) -> Any:
    return _parse_json(body)[0]


def _parse_json(body: bytes) -> tuple[Any, str | None]:
    try:
        return json.loads(body), None
    except RecursionError:
        return None, "JSON nested deeper than the parser allows (hostile or broken body)"
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not JSON: {str(exc)[:200]}"


def _check_token(token_url: str, token: str) -> None:
    """A token must fit an Authorization header: visible ASCII, bounded (CR/LF would inject headers)."""
    if len(token) > MAX_TOKEN_CHARS:
        raise _token_error(token_url, "token_too_long", length=len(token), limit=MAX_TOKEN_CHARS)
    if not _TOKEN_CHARS.fullmatch(token):
        raise _token_error(token_url, "token_characters")


def _token_lifetime(token_url: str, expires_in: Any) -> float:
    """expires_in as seconds; anything but a positive, finite, plausible number is refused."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        value = None
    else:
        try:
            value = float(expires_in)
        except OverflowError:
            value = None
    if value is None or not math.isfinite(value) or not 0 < value <= MAX_TOKEN_LIFETIME:
        shown = repr(expires_in)
        shown = shown if len(shown) <= 40 else f"{shown[:40]}… ({len(shown)} caractères)"
        raise _token_error(token_url, "token_lifetime", shown=shown)
    return value


def _speaks_tls(url: str, timeout: float) -> bool:
    """Whether the server behind a plain http:// URL completes a TLS handshake (plain offered, TLS required)."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((parts.hostname or "", parts.port or 80), timeout=min(timeout, 3.0)) as sock,
            context.wrap_socket(sock, server_hostname=parts.hostname),
        ):
            return True
    except (OSError, ValueError):
        return False


def _tls_failure(url: str, exc: BaseException) -> TransportError:
    """A failed TLS handshake, its problem named first when OpenSSL's words tell it, their words kept after."""
    problem = tls_problem(exc)
    detail = _short(exc)
    if problem is None:
        return TransportError.worded("tls", "tls_failure", cause="tls", url=url, detail=detail)
    fr, en = (describe("tls", detail, lang, problem=problem) for lang in ("fr", "en"))
    return TransportError(
        "tls",
        text("transport.http.tls_failure", "fr", url=url, detail=fr),
        text("transport.http.tls_failure", "en", url=url, detail=en),
        cause="tls",
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    args = getattr(exc, "args", None)
    inner_reason = getattr(args[0], "reason", None) if args and isinstance(args[0], Exception) else None
    if inner_reason:
        text = str(inner_reason)
    return text[:300]
