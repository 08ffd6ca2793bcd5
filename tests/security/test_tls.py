"""TLS by default (issue 8 item 5): certificate verification is on unless explicitly turned off (and then the
run says so), and mutual TLS works on loopback with a CA generated at test time, for HTTP and for MLLP.

Real parts: the campaign's HTTP transport and TLS context builder (conformance.transport.http), the MLLP
transport, `conformance run` for the verification-off warning in results.json.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hardening_support import SHORT_TIMEOUTS, Pki, Target, generate_pki, run_conformance, write_config

from conformance.config import Secret, Timeouts, TlsConfig, parse_config
from conformance.evidence.exchange import MemorySink
from conformance.reference.pam import PamMessageFactory, build_ack, check_pam_message
from conformance.reference.test_data import build_test_data
from conformance.transport import mllp
from conformance.transport.http import FhirClient, TransportError, build_ssl_context
from conformance.transport.limits import ListenerLimits

pytestmark = pytest.mark.timeout(120)
TIMEOUTS = Timeouts(**SHORT_TIMEOUTS)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("pki"))


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        peer = self.connection.getpeercert() or {}
        subject = dict(item[0] for item in peer.get("subject", ())) if peer else {}
        body = json.dumps({"resourceType": "CapabilityStatement", "client": subject.get("commonName")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def https_server(context) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mtls_url(pki: Pki) -> Iterator[str]:
    yield from https_server(pki.server_context(require_client_cert=True))


@pytest.fixture
def tls_url(pki: Pki) -> Iterator[str]:
    yield from https_server(pki.server_context(require_client_cert=False))


def client_tls(pki: Pki, **overrides) -> TlsConfig:
    values = {
        "ca_bundle": pki.ca,
        "client_cert": pki.client_cert,
        "client_key": pki.client_key,
        "client_key_password": Secret(pki.key_password),
    }
    return TlsConfig(**{**values, **overrides})


# ---------------------------------------------------------------- verification on by default


def test_verification_is_on_by_default() -> None:
    assert TlsConfig().verify is True
    config = parse_config({"fhir": {"base_url": "https://sut.test/fhir"}})
    assert config.tls.verify is True and config.warnings() == []
    context = build_ssl_context(config.tls)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_server_from_an_unknown_ca_is_refused_by_default(tls_url: str) -> None:
    sink = MemorySink()
    with pytest.raises(TransportError) as caught:
        FhirClient(tls_url, timeouts=TIMEOUTS, sink=sink).metadata()
    assert caught.value.kind == "tls" and "certificate verify failed" in str(caught.value)
    assert sink.exchanges[-1].error and "certificate" in sink.exchanges[-1].error


def test_server_refused_with_the_wrong_ca(tls_url: str, pki: Pki) -> None:
    with pytest.raises(TransportError, match="certificate verify failed"):
        FhirClient(tls_url, timeouts=TIMEOUTS, tls=TlsConfig(ca_bundle=pki.other_ca)).metadata()


def test_server_accepted_with_its_ca(tls_url: str, pki: Pki) -> None:
    assert FhirClient(tls_url, timeouts=TIMEOUTS, tls=TlsConfig(ca_bundle=pki.ca)).metadata().status == 200


def test_verification_off_only_when_asked_and_then_reported(tls_url: str, tmp_path: Path) -> None:
    response = FhirClient(tls_url, timeouts=TIMEOUTS, tls=TlsConfig(verify=False)).metadata()
    assert response.status == 200
    target = Target(fhir_base_url=tls_url)
    config = write_config(tmp_path / "c.toml", target, suites=["fhir-basics"], tls={"verify": False})
    outcome = run_conformance(config, tmp_path / "run")
    warnings = json.dumps(outcome.results.get("warnings"), ensure_ascii=False)
    assert "verification is OFF" in warnings, outcome.output[-2000:]
    assert "verify" in outcome.output.lower()  # the console says so too


# ---------------------------------------------------------------- mutual TLS over HTTP


def test_mutual_tls_http_with_encrypted_client_key(mtls_url: str, pki: Pki) -> None:
    response = FhirClient(mtls_url, timeouts=TIMEOUTS, tls=client_tls(pki)).metadata()
    assert response.status == 200 and response.resource["client"] == "hardening client"


def test_mutual_tls_http_without_client_certificate_fails(mtls_url: str, pki: Pki) -> None:
    sink = MemorySink()
    with pytest.raises(TransportError) as caught:
        FhirClient(mtls_url, timeouts=TIMEOUTS, tls=TlsConfig(ca_bundle=pki.ca), sink=sink).metadata()
    assert caught.value.kind in ("tls", "connection")
    assert sink.exchanges and sink.exchanges[-1].error


def test_wrong_client_key_password_is_named(pki: Pki) -> None:
    with pytest.raises(TransportError) as caught:
        build_ssl_context(client_tls(pki, client_key_password=Secret("not-the-password")))
    assert caught.value.kind == "tls" and "password" in str(caught.value)
    assert "not-the-password" not in caught.value.message("fr") + caught.value.message("en")


# ---------------------------------------------------------------- mutual TLS over MLLP


@pytest.fixture
def mtls_listener(pki: Pki) -> Iterator[mllp.ThreadedMllpServer]:
    context = mllp.server_ssl_context(pki.server_cert, pki.server_key, client_cafile=pki.ca, require_client_cert=True)
    with mllp.ThreadedMllpServer(lambda m: build_ack(m, check_pam_message(m)), ssl_context=context) as server:
        yield server


def adt() -> str:
    return PamMessageFactory(build_test_data()).a01()


def test_mutual_tls_mllp_with_the_campaign_tls_context(mtls_listener, pki: Pki) -> None:
    message = adt()
    ack = mllp.send_and_receive(
        "127.0.0.1", mtls_listener.port, message, timeout=10, ssl_context=build_ssl_context(client_tls(pki))
    )
    assert "MSA|AA|" in ack and len(mtls_listener.received) == 1


def test_mutual_tls_mllp_without_client_certificate_fails(mtls_listener, pki: Pki) -> None:
    sink = MemorySink()
    with pytest.raises(mllp.MllpError):
        mllp.send_and_receive(
            "127.0.0.1",
            mtls_listener.port,
            adt(),
            timeout=3,
            connect_timeout=3,
            ssl_context=build_ssl_context(TlsConfig(ca_bundle=pki.ca)),
            sink=sink,
        )
    assert any(f.error for f in sink.exchanges)
    assert mtls_listener.received == []


def test_mllp_tls_server_from_an_unknown_ca_is_refused(mtls_listener) -> None:
    sink = MemorySink()
    with pytest.raises(mllp.MllpConnectError, match="certificate verify failed"):
        mllp.send_and_receive(
            "127.0.0.1", mtls_listener.port, adt(), timeout=3, ssl_context=build_ssl_context(TlsConfig()), sink=sink
        )
    assert "certificate" in sink.exchanges[-1].error


def test_plain_mllp_to_a_tls_listener_fails_within_the_timeout(mtls_listener) -> None:
    sink = MemorySink()
    with pytest.raises(mllp.MllpError):
        mllp.send_and_receive("127.0.0.1", mtls_listener.port, adt(), timeout=2, connect_timeout=2, sink=sink)
    assert any(f.error for f in sink.exchanges) and mtls_listener.received == []


def test_encrypted_key_is_never_prompted_for(pki: Pki) -> None:
    """Regression: without its password an encrypted key made OpenSSL prompt on the terminal (a run blocked
    waiting for input, or failed with 'Invalid argument'); now a clear SSLError, and the password works."""
    with pytest.raises(ssl.SSLError):
        mllp.server_ssl_context(pki.client_cert, pki.client_key, client_cafile=pki.ca)
    with pytest.raises(ssl.SSLError):
        mllp.client_ssl_context(pki.ca, pki.client_cert, pki.client_key)
    mllp.server_ssl_context(pki.client_cert, pki.client_key, client_cafile=pki.ca, password=pki.key_password)
    mllp.client_ssl_context(pki.ca, pki.client_cert, pki.client_key, password=pki.key_password)


def test_campaign_listener_uses_the_configured_key_password(pki: Pki) -> None:
    """Regression: the harness's MLLP listener (mllp.tls) ignored tls.client_key_password."""
    from types import SimpleNamespace

    from conformance.campaign.listener import Listener

    config = parse_config(
        {
            "mllp": {"host": "127.0.0.1", "port": 1, "tls": True, "listener": {"port": 0}},
            "tls": {
                "ca_bundle": str(pki.ca),
                "client_cert": str(pki.client_cert),
                "client_key": str(pki.client_key),
                "client_key_password": pki.key_password,
            },
        }
    )
    listener = Listener(SimpleNamespace(config=config, lang="en"))
    assert listener.server._server.ssl_context is not None


def test_tls_listener_counts_connections_before_the_handshake(pki: Pki) -> None:
    """SHALL: TCP connections that never start the TLS handshake are held to the connection limit and the idle
    timeout like plain ones (asyncio's own handshake kept each one open 60 s outside any limit: 1,100 of them
    exhausted the harness's file descriptors), and the handshake that never came is in the evidence."""
    context = mllp.server_ssl_context(pki.server_cert, pki.server_key, client_cafile=pki.ca, require_client_cert=True)
    sink = MemorySink()
    limits = ListenerLimits(max_connections=4, idle_timeout=1.5)
    with mllp.ThreadedMllpServer(
        lambda m: build_ack(m, check_pam_message(m)), ssl_context=context, limits=limits, sink=sink
    ) as server:
        silent = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(4)]
        deadline = time.monotonic() + 5
        while server.guard.open_connections < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        extra = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(100)]
        for sock in extra:  # past the limit: closed at once, not left waiting for a handshake
            sock.settimeout(5)
            assert sock.recv(1) == b""
        assert server.guard.open_connections == 4 and server.guard.refused_connections == 100
        for sock in silent:  # the admitted ones: closed by the idle timeout
            sock.settimeout(10)
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(1) == b""
        for sock in silent + extra:
            sock.close()
        ack = mllp.send_and_receive(
            "127.0.0.1", server.port, adt(), timeout=10, ssl_context=build_ssl_context(client_tls(pki))
        )
    assert "MSA|AA|" in ack and len(server.received) == 1
    assert sum(1 for f in sink.exchanges if f.error and f.error.startswith("TLS handshake failed")) == 4


# ---------------------------------------------------------------- TLS problems named in the reader's language


@pytest.fixture
def bad_cert_server() -> Iterator[tuple[str, Path]]:
    """(URL, its CA): a certificate from the trusted CA, but expired and issued for another host."""
    from conformance.reference.tls import generate_pki as reference_pki

    reference = reference_pki()
    try:
        for url in https_server(reference.server_context(bad=True)):
            yield url, reference.ca_cert
    finally:
        reference.cleanup()


@pytest.fixture
def plain_port() -> Iterator[int]:
    """A server that answers any bytes with a plain HTTP 400, as a plain http:// server does to a TLS hello."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = listener.accept()
            except TimeoutError:
                continue
            with peer, contextlib.suppress(OSError):
                peer.recv(4096)
                peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def test_an_untrusted_server_certificate_is_named_in_french_with_openssls_words_kept(tls_url: str) -> None:
    with pytest.raises(TransportError) as caught:
        FhirClient(tls_url, timeouts=TIMEOUTS).metadata()
    french = caught.value.message("fr")
    assert "non émis par l'autorité de confiance configurée ([tls] ca_bundle)" in french, french
    assert "certificate verify failed" in caught.value.message("en")


def test_an_expired_certificate_for_another_host_is_named_as_such(bad_cert_server: tuple[str, Path]) -> None:
    url, ca = bad_cert_server
    with pytest.raises(TransportError) as caught:
        FhirClient(url, timeouts=TIMEOUTS, tls=TlsConfig(ca_bundle=ca)).metadata()
    french = caught.value.message("fr")
    assert "certificat du serveur expiré" in french or "autre nom d'hôte" in french, french
    assert "autorité de confiance" not in french  # the configured CA did issue it: not the cause


def test_https_to_a_plain_server_says_it_does_not_speak_tls(plain_port: int) -> None:
    with pytest.raises(TransportError) as caught:
        FhirClient(f"https://127.0.0.1:{plain_port}/fhir", timeouts=TIMEOUTS).metadata()
    assert caught.value.kind == "tls"
    assert "le serveur ne parle pas TLS à cette adresse" in caught.value.message("fr"), caught.value.message("fr")
    assert "does not speak TLS" in caught.value.message("en")


def test_an_mllp_connection_failure_reads_in_french(mtls_listener) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more
    with pytest.raises(mllp.MllpConnectError) as refused:
        mllp.send_and_receive("127.0.0.1", port, adt(), timeout=3, connect_timeout=3)
    assert refused.value.message("fr") == (
        f"Connexion MLLP impossible : 127.0.0.1:{port} : connexion refusée (rien n'écoute sur ce port)"
    )
    assert "Errno 111" in str(refused.value)  # the evidence keeps the system's words

    with pytest.raises(mllp.MllpConnectError) as untrusted:
        mllp.send_and_receive(
            "127.0.0.1", mtls_listener.port, adt(), timeout=3, ssl_context=build_ssl_context(TlsConfig())
        )
    assert "non émis par l'autorité de confiance configurée" in untrusted.value.message("fr")
    assert "not issued by the configured trusted authority" in untrusted.value.message("en")
