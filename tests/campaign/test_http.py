"""The FHIR HTTP transport against real loopback servers: auth, mTLS, timeouts, size limit, redirects, recording."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from conformance.config import AuthConfig, Secret, Timeouts, TlsConfig
from conformance.evidence.exchange import MemorySink
from conformance.transport.http import FhirClient, ResponseTooLarge, TransportError


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        # /fhir/silent answers after the client's read timeout: the client is gone by then, as it should be
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            for key, value in (headers or {"Content-Type": "application/fhir+json"}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        self.server.token_requests.append({"form": form, "auth": self.headers.get("Authorization")})
        self._send(
            200,
            json.dumps({"access_token": "tok-from-server", "expires_in": 300}).encode(),
            {"Content-Type": "application/json"},
        )

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/fhir/metadata":
            body = {"resourceType": "CapabilityStatement", "auth": self.headers.get("Authorization")}
            self._send(200, json.dumps(body).encode())
        elif path == "/fhir/silent":
            time.sleep(3)
            self._send(200, b"{}")
        elif path == "/fhir/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.end_headers()  # no Content-Length: the limit must apply while streaming
            for _ in range(64):
                self.wfile.write(b"x" * 32768)
        elif path == "/fhir/loop-a":
            self._send(302, b"", {"Location": "/fhir/loop-b"})
        elif path == "/fhir/loop-b":
            self._send(302, b"", {"Location": "/fhir/loop-a"})
        elif path == "/fhir/away":
            self._send(302, b"", {"Location": f"http://localhost:{self.server.server_port}/fhir/metadata"})
        elif path == "/fhir/moved":
            self._send(301, b"", {"Location": "/fhir/metadata"})
        else:
            self._send(404, b'{"resourceType":"OperationOutcome"}')


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.token_requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client(server, **kwargs) -> FhirClient:
    kwargs.setdefault("timeouts", Timeouts(connect=2, read=2, total=10, retries=0))
    return FhirClient(f"http://127.0.0.1:{server.server_port}/fhir", **kwargs)


def test_no_auth_and_recording(server):
    sink = MemorySink()
    response = client(server, sink=sink).metadata()
    assert response.status == 200 and response.resource["auth"] is None
    assert len(sink.exchanges) == 1 and sink.exchanges[0].response.status == 200


def test_basic_and_bearer_headers(server):
    basic = client(server, auth=AuthConfig(type="basic", username="alice", password=Secret("s3cret"))).metadata()
    assert basic.resource["auth"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    bearer = client(server, auth=AuthConfig(type="bearer", token=Secret("tok-123"))).metadata()
    assert bearer.resource["auth"] == "Bearer tok-123"


def test_oauth2_client_credentials(server):
    auth = AuthConfig(
        type="oauth2-client-credentials",
        token_url=f"http://127.0.0.1:{server.server_port}/token",
        client_id="harness",
        client_secret=Secret("cs-456"),
        scope="system/*.read",
    )
    sink = MemorySink()
    fhir = client(server, auth=auth, sink=sink)
    assert fhir.metadata().resource["auth"] == "Bearer tok-from-server"
    fhir.metadata()  # the token is reused
    assert len(server.token_requests) == 1
    request = server.token_requests[0]
    assert request["form"]["grant_type"] == ["client_credentials"] and request["form"]["scope"] == ["system/*.read"]
    assert request["auth"] == "Basic " + base64.b64encode(b"harness:cs-456").decode()
    assert [e.request.method for e in sink.exchanges] == ["POST", "GET", "GET"]


def test_smart_backend_services_assertion(server, tmp_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    key = ec.generate_private_key(ec.SECP384R1())
    pem = tmp_path / "client.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
    )
    token_url = f"http://127.0.0.1:{server.server_port}/token"
    auth = AuthConfig(
        type="smart-backend-services",
        token_url=token_url,
        client_id="harness",
        private_key=pem,
        private_key_password=Secret("pw"),
        algorithm="ES384",
        key_id="k1",
    )
    assert client(server, auth=auth).metadata().resource["auth"] == "Bearer tok-from-server"
    form = server.token_requests[0]["form"]
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    header, claims, signature = form["client_assertion"][0].split(".")
    pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
    assert json.loads(pad(header)) == {"alg": "ES384", "typ": "JWT", "kid": "k1"}
    body = json.loads(pad(claims))
    assert body["iss"] == body["sub"] == "harness" and body["aud"] == token_url
    raw = pad(signature)
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    key.public_key().verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA384()))


def test_read_timeout_is_an_error_and_recorded(server):
    sink = MemorySink()
    fhir = client(server, sink=sink, timeouts=Timeouts(connect=1, read=0.5, total=5, retries=0))
    with pytest.raises(TransportError) as caught:
        fhir.get("silent")
    assert caught.value.kind == "timeout"
    assert sink.exchanges[-1].response is None and "timeout" in sink.exchanges[-1].error


def test_connection_refused_retries_then_fails():
    sink = MemorySink()
    fhir = FhirClient(
        "http://127.0.0.1:9/fhir",
        sink=sink,
        timeouts=Timeouts(connect=1, read=1, total=5, retries=2, retry_backoff=0.01),
    )
    with pytest.raises(TransportError) as caught:
        fhir.metadata()
    assert caught.value.kind == "connection" and len(sink.exchanges) == 3


def test_response_size_limit_while_streaming(server):
    sink = MemorySink()
    with pytest.raises(ResponseTooLarge):
        client(server, sink=sink, max_response_bytes=100_000).get("big")
    record = sink.exchanges[-1]
    assert record.response.truncated and len(record.response.body) == 100_000 and record.error


def test_redirect_loop_detected(server):
    with pytest.raises(TransportError, match="loop") as caught:
        client(server).get("loop-a")
    assert caught.value.kind == "redirect"


def test_redirect_to_another_host_refused_unless_allowed(server):
    with pytest.raises(TransportError, match="another host"):
        client(server).get("away")
    allowed = client(server, allow_cross_host_redirects=True, auth=AuthConfig(type="bearer", token=Secret("t-9")))
    response = allowed.get("away")
    assert response.status == 200 and response.resource["auth"] is None  # credentials stay with the configured host


def test_same_host_redirect_followed(server):
    response = client(server).get("moved")
    assert response.status == 200 and response.history and response.resource["resourceType"] == "CapabilityStatement"


@pytest.fixture
def pki():
    from conformance.reference.tls import generate_pki

    keys = generate_pki()
    yield keys
    keys.cleanup()


def test_mutual_tls(pki):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.token_requests = []
    httpd.socket = pki.server_context(require_client_cert=True).wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"https://127.0.0.1:{httpd.server_port}/fhir"
    timeouts = Timeouts(connect=2, read=2, total=5, retries=0)
    try:
        with_cert = FhirClient(
            base,
            tls=TlsConfig(ca_bundle=pki.ca_cert, client_cert=pki.client_cert, client_key=pki.client_key),
            timeouts=timeouts,
        )
        assert with_cert.metadata().status == 200
        sink = MemorySink()
        without_cert = FhirClient(base, tls=TlsConfig(ca_bundle=pki.ca_cert), timeouts=timeouts, sink=sink)
        with pytest.raises(TransportError):
            without_cert.metadata()
        assert sink.exchanges[-1].error
        unknown_ca = FhirClient(base, tls=TlsConfig(), timeouts=timeouts)
        with pytest.raises(TransportError) as caught:
            unknown_ca.metadata()
        assert caught.value.kind == "tls"
    finally:
        httpd.shutdown()
        httpd.server_close()
