"""Credentials only to the configured origin, token endpoint answers checked, HTTP details (1xx, trickled
headers): the real FHIR client against loopback servers that record what they receive."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conformance.config import AuthConfig, Secret, Timeouts
from conformance.evidence.exchange import HttpExchange, MemorySink
from conformance.transport.http import MAX_TOKEN_CHARS, MAX_TOKEN_RESPONSE_BYTES, FhirClient, TransportError

PASSWORD = "s3cret-Passw0rd"
TOKEN = "tok-abcdef-123456"
TIMEOUTS = Timeouts(connect=1.0, read=1.5, total=3.0, retries=0, retry_backoff=0.05)


class Recording(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1:0 that keeps the headers of every request and answers with `answer(path)`."""

    daemon_threads = True

    def __init__(self, answer: Callable[[str, str], tuple[int, dict[str, str], bytes]]) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.answer = answer
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append((self.path, dict(self.headers)))
                status, headers, body = outer.answer(self.command, self.path)
                # a client that refuses an oversized answer closes before it is all sent, as it should
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_POST = _any

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Recording:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def _json(data: object, status: int = 200, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/fhir+json", **headers}, json.dumps(data).encode()


def _authorizations(server: Recording) -> list[str]:
    return [h.get("Authorization", "") for _, h in server.requests]


@pytest.fixture
def elsewhere():
    with Recording(lambda method, path: _json({"resourceType": "Bundle", "type": "searchset"})) as server:
        yield server


AUTHS = {
    "basic": AuthConfig(type="basic", username="user", password=Secret(PASSWORD)),
    "bearer": AuthConfig(type="bearer", token=Secret(TOKEN)),
}


@pytest.mark.parametrize("auth", sorted(AUTHS))
def test_paging_link_to_another_port_gets_no_credentials_and_a_finding(elsewhere: Recording, auth: str) -> None:
    next_url = f"{elsewhere.url}/fhir/Patient?page=2"
    bundle = {"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": next_url}]}
    with Recording(lambda method, path: _json(bundle)) as system:
        notes = []
        client = FhirClient(f"{system.url}/fhir", auth=AUTHS[auth], timeouts=TIMEOUTS, on_finding=notes.append)
        first = client.search("Patient")
        assert client.get(first.json()["link"][0]["url"]).status == 200
    assert _authorizations(system) and all(_authorizations(system))  # the configured origin gets them
    assert _authorizations(elsewhere) == [""]
    assert [n.rule for n in notes] == ["http-foreign-origin"] and notes[0].location == next_url
    assert "sans les identifiants" in notes[0].message("fr") and "without the credentials" in notes[0].message("en")


def test_attachment_url_is_refused_when_configured_so(elsewhere: Recording) -> None:
    sink = MemorySink()
    with Recording(lambda method, path: _json({"resourceType": "Patient"})) as system:
        client = FhirClient(
            f"{system.url}/fhir", auth=AUTHS["basic"], timeouts=TIMEOUTS, sink=sink, foreign_urls="refuse"
        )
        with pytest.raises(TransportError) as refused:
            client.get(f"{elsewhere.url}/Binary/doc-1")
    assert refused.value.kind == "foreign-origin" and "not fetched" in str(refused.value)
    assert elsewhere.requests == []
    assert sink.exchanges[-1].error and "another origin" in sink.exchanges[-1].error
    assert client.findings and client.findings[0].rule == "http-foreign-origin"


def test_same_host_other_scheme_or_port_is_another_origin() -> None:
    client = FhirClient("https://127.0.0.1:8443/fhir")
    assert client.same_origin("https://127.0.0.1:8443/fhir/Patient/1")
    assert client.same_origin("HTTPS://127.0.0.1:8443/other")
    assert not client.same_origin("http://127.0.0.1:8443/fhir/Patient/1")
    assert not client.same_origin("https://127.0.0.1:8444/fhir/Patient/1")
    assert not client.same_origin("https://127.0.0.1:8443@evil.invalid/fhir")
    assert not client.same_origin("https://127.0.0.1:99999/fhir")
    international = FhirClient("https://hôpital-exemple.fr/fhir")  # compared in the IDNA form requests sends
    assert international.same_origin("https://hôpital-exemple.fr/fhir/Patient/1")
    assert international.same_origin("https://xn--hpital-exemple-0ob.fr/fhir/Patient/1")
    assert not international.same_origin("https://hopital-exemple.fr/fhir/Patient/1")


# URLs that urlsplit reads as the configured origin while requests/urllib3 connect elsewhere (or the reverse).
_AMBIGUOUS = [
    "http://127.0.0.1:{other}\\@127.0.0.1:{base}/fhir/Patient",  # urllib3 ends the authority at the backslash
    "http://127.0.0.1:{other}\\\\@127.0.0.1:{base}/fhir/Patient",
    "http://127.0.0.1:{other}/\\@127.0.0.1:{base}/fhir/Patient",
]


@pytest.mark.parametrize("template", _AMBIGUOUS, ids=["backslash", "double-backslash", "slash-backslash"])
@pytest.mark.parametrize("auth", sorted(AUTHS))
def test_url_parsed_differently_by_the_http_library_gets_no_credentials(elsewhere, template: str, auth: str) -> None:
    """SHALL: the origin is the one the request actually connects to; a paging link or a Location that only
    looks like the configured server never carries the credentials to another port."""
    with Recording(lambda method, path: _json({"resourceType": "Patient"})) as system:
        url = template.format(other=elsewhere.server_address[1], base=system.server_address[1])
        client = FhirClient(f"{system.url}/fhir", auth=AUTHS[auth], timeouts=TIMEOUTS)
        assert not client.same_origin(url)
        client.get(url)
    assert elsewhere.requests, "the URL was meant to reach the other port"
    assert _authorizations(elsewhere) == [""] and system.requests == []

    def redirect(method: str, path: str):
        location = template.format(other=elsewhere.server_address[1], base=system.server_address[1])
        return 302, {"Location": location}, b""

    elsewhere.requests.clear()
    with Recording(redirect) as system:
        client = FhirClient(f"{system.url}/fhir", auth=AUTHS[auth], timeouts=TIMEOUTS)
        with pytest.raises(TransportError) as refused:
            client.read("Patient", "1")
    assert refused.value.kind == "redirect" and elsewhere.requests == []


def test_location_redirect_to_another_origin_when_allowed_drops_credentials_with_a_finding(elsewhere) -> None:
    def answer(method: str, path: str):
        return 302, {"Location": f"{elsewhere.url}/fhir/Patient/1"}, b""

    with Recording(answer) as system:
        client = FhirClient(
            f"{system.url}/fhir", auth=AUTHS["bearer"], timeouts=TIMEOUTS, allow_cross_host_redirects=True
        )
        assert client.read("Patient", "1").status == 200
    assert _authorizations(system) == [f"Bearer {TOKEN}"] and _authorizations(elsewhere) == [""]
    assert any("redirect to another origin" in n.message("en") for n in client.findings)


@pytest.mark.parametrize("auth", sorted(AUTHS))
@pytest.mark.parametrize("host", ["localhost", "LocalHost"])
def test_redirect_to_the_same_server_under_another_name_is_another_origin(host: str, auth: str) -> None:
    """SHALL: the origin is scheme, host name and port as written: the same socket reached as `localhost` (in
    any case) is another origin (refused by default, followed without the credentials when allowed)."""

    def answer(method: str, path: str):
        if path.startswith("/fhir/Patient/1"):
            return 302, {"Location": f"http://{host}:{system.server_address[1]}/moved"}, b""
        return _json({"resourceType": "Patient"})

    with Recording(answer) as system:
        refused = FhirClient(f"{system.url}/fhir", auth=AUTHS[auth], timeouts=TIMEOUTS)
        with pytest.raises(TransportError) as caught:
            refused.read("Patient", "1")
        assert caught.value.kind == "redirect"
        assert [path for path, _ in system.requests] == ["/fhir/Patient/1"]
        allowed = FhirClient(f"{system.url}/fhir", auth=AUTHS[auth], timeouts=TIMEOUTS, allow_cross_host_redirects=True)
        assert allowed.read("Patient", "1").status == 200
    moved = [headers for path, headers in system.requests if path == "/moved"]
    assert len(moved) == 1 and "Authorization" not in moved[0]
    assert all(headers.get("Authorization") for path, headers in system.requests if path != "/moved")


# ------------------------------------------------------------------------------------------ token endpoint


def _oauth_client(system: Recording, token_server: Recording) -> FhirClient:
    auth = AuthConfig(
        type="oauth2-client-credentials",
        token_url=f"{token_server.url}/token",
        client_id="harness",
        client_secret=Secret("client-secret-xyz"),
    )
    return FhirClient(f"{system.url}/fhir", auth=auth, timeouts=TIMEOUTS)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"access_token": "x" * (MAX_TOKEN_CHARS + 1), "expires_in": 300}, "characters refused"),
        ({"access_token": "bad\r\nX-Injected: 1", "expires_in": 300}, "outside visible ascii"),
        ({"access_token": "jeton-é-€", "expires_in": 300}, "outside visible ascii"),
        ({"access_token": TOKEN, "expires_in": int("9" * 401)}, "invalid expires_in"),
        ({"access_token": TOKEN, "expires_in": -5}, "invalid expires_in"),
        ({"access_token": TOKEN, "expires_in": "soon"}, "invalid expires_in"),
        ({"access_token": TOKEN, "pad": "p" * MAX_TOKEN_RESPONSE_BYTES}, f"larger than {MAX_TOKEN_RESPONSE_BYTES}"),
        ({"access_token": "t" * 6_000_000, "expires_in": 300}, f"larger than {MAX_TOKEN_RESPONSE_BYTES}"),
    ],
    ids=[
        "too-long",
        "crlf",
        "non-latin1",
        "expires-401-digits",
        "expires-negative",
        "expires-text",
        "huge-answer",
        "6-mb-token",
    ],
)
def test_unusable_token_answer_is_refused_naming_the_token_endpoint(answer: dict, named: str) -> None:
    with (
        Recording(lambda method, path: _json({"resourceType": "Patient"})) as system,
        Recording(lambda method, path: (200, {"Content-Type": "application/json"}, json.dumps(answer).encode())) as t,
    ):
        client = _oauth_client(system, t)
        with pytest.raises(TransportError) as refused:
            client.read("Patient", "1")
    assert refused.value.kind == "auth"
    assert f"{t.url}/token" in refused.value.message("en") and f"{t.url}/token" in refused.value.message("fr")
    assert named in refused.value.message("en").lower()
    assert system.requests == []  # nothing went to the FHIR server with a broken token


def test_valid_token_goes_to_the_fhir_server_only() -> None:
    with (
        Recording(lambda method, path: _json({"resourceType": "Patient"})) as system,
        Recording(
            lambda m, p: (200, {"Content-Type": "application/json"}, json.dumps({"access_token": TOKEN}).encode())
        ) as t,
    ):
        assert _oauth_client(system, t).read("Patient", "1").status == 200
    assert _authorizations(system) == [f"Bearer {TOKEN}"]
    assert not any(TOKEN in a for a in _authorizations(t))


# ------------------------------------------------------------------------------------------ HTTP details


class _Raw:
    """One-connection-at-a-time raw TCP server running `behaviour(conn)`."""

    def __init__(self, behaviour: Callable[[socket.socket], None]) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(10)
                try:
                    conn.recv(65536)
                    self.behaviour(conn, self.stop)
                except OSError:
                    pass

    def __enter__(self) -> _Raw:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_interim_1xx_responses_are_skipped() -> None:
    body = b'{"resourceType":"Patient","id":"1"}'

    def early_hints(conn: socket.socket, stop) -> None:
        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )

    with _Raw(early_hints) as server:
        response = FhirClient(f"http://127.0.0.1:{server.port}/fhir", timeouts=TIMEOUTS).read("Patient", "1")
    assert response.status == 200 and response.resource == {"resourceType": "Patient", "id": "1"}


def _trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    """A status line, then one header byte a second: each recv sees data, so no per-recv timeout ever trips."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for byte in b"X-Slow: " + b"1" * 60:
        if stop.wait(1.0):
            return
        conn.sendall(bytes([byte]))


def test_headers_trickled_a_byte_a_second_are_a_timeout_at_the_read_timeout() -> None:
    """SHALL: headers not complete within the read timeout are a timeout then, not at the total deadline."""
    timeouts = Timeouts(connect=1.0, read=2.0, total=30.0, retries=0, retry_backoff=0.05)
    sink = MemorySink()
    with _Raw(_trickle_headers) as server:
        client = FhirClient(f"http://127.0.0.1:{server.port}/fhir", timeouts=timeouts, sink=sink)
        started = time.monotonic()
        with pytest.raises(TransportError) as timed_out:
            client.read("Patient", "1")
        elapsed = time.monotonic() - started
    assert timed_out.value.kind == "timeout" and "read timeout (2.0 s)" in str(timed_out.value)
    assert elapsed < timeouts.total / 2  # ended by the read timeout, far from the 30 s deadline
    exchange = [e for e in sink.exchanges if isinstance(e, HttpExchange)][-1]
    assert exchange.error and "not complete within the read timeout" in exchange.error
    assert exchange.response is None or exchange.response.status != 200  # never judged as an empty 200


def test_headers_trickled_past_the_total_deadline_are_a_timeout_not_an_empty_200() -> None:
    """SHALL: with a read timeout longer than the total one, the total deadline still ends the exchange."""
    timeouts = Timeouts(connect=1.0, read=10.0, total=3.0, retries=0, retry_backoff=0.05)
    with _Raw(_trickle_headers) as server:
        client = FhirClient(f"http://127.0.0.1:{server.port}/fhir", timeouts=timeouts)
        started = time.monotonic()
        with pytest.raises(TransportError) as timed_out:
            client.read("Patient", "1")
        elapsed = time.monotonic() - started
    assert timed_out.value.kind == "timeout" and "total timeout" in str(timed_out.value)
    assert elapsed < timeouts.total + 5  # bounded by the configured deadline (plus scheduling slack)


def test_json_nested_100000_deep_is_named_not_a_crash() -> None:
    deep = b'{"resourceType":"Patient","extension":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with Recording(lambda method, path: (200, {"Content-Type": "application/fhir+json"}, deep)) as system:
        response = FhirClient(f"{system.url}/fhir", timeouts=TIMEOUTS).read("Patient", "1")
    assert response.status == 200 and response.json() is None and response.resource is None
    assert "nested deeper" in response.json_error
