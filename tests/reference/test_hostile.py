"""Each hostile mode behaves as named, observed with short timeouts over real sockets on loopback."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse

import pytest

from conformance.reference import ReferenceEndpoints
from conformance.reference.hostile import HOSTILE_MODES, UnknownHostileModeError
from conformance.reference.pam import PamMessageFactory, build_ack, check_pam_message, parse_ack
from conformance.transport import mllp
from conformance.validation.hl7v2.er7 import parse

from .helpers import http as fhir_get

SHORT = 1.5


def raw_get(url: str, *, timeout: float = SHORT, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
    return connection.getresponse()


def read_for(sock: socket.socket, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_every_mode_is_described_and_unknown_modes_are_refused() -> None:
    assert len(HOSTILE_MODES) >= 16
    with pytest.raises(UnknownHostileModeError):
        ReferenceEndpoints(hostile="be-nice")


def test_silence_fhir_and_mllp_keep_the_socket_open_and_never_answer() -> None:
    with ReferenceEndpoints(hostile="silence") as ref:
        with pytest.raises(TimeoutError):
            raw_get(f"{ref.fhir_base_url}/metadata")
        with pytest.raises(mllp.MllpTimeoutError):
            mllp.send_and_receive(*ref.mllp_receiver, PamMessageFactory(ref.test_data).a28(), timeout=SHORT)


def test_slow_bytes_trickles_one_byte_a_second() -> None:
    with ReferenceEndpoints(hostile="slow-bytes") as ref:
        parts = urllib.parse.urlsplit(ref.fhir_base_url)
        with socket.create_connection((parts.hostname, parts.port), timeout=SHORT) as sock:
            sock.sendall(b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n")
            got = read_for(sock, 2.6)
        assert got.startswith(b"H") and 1 <= len(got) <= 4
        message = PamMessageFactory(ref.test_data).a28().encode()
        with socket.create_connection(ref.mllp_receiver, timeout=SHORT) as sock:
            sock.sendall(b"\x0b" + message + b"\x1c\r")
            got = read_for(sock, 2.6)
        assert got.startswith(b"\x0b") and 1 <= len(got) <= 4


def test_huge_body_announces_hundreds_of_megabytes_and_streams_them() -> None:
    with ReferenceEndpoints(hostile="huge-body") as ref:
        response = raw_get(f"{ref.fhir_base_url}/Patient", timeout=5)
        assert response.status == 200
        assert int(response.headers["Content-Length"]) >= 300 * 1024 * 1024
        first = response.read(2 * 1024 * 1024)
        assert first.startswith(b'{"resourceType":"Bundle"') and len(first) == 2 * 1024 * 1024
        response.close()


def test_huge_body_size_is_configurable_and_the_body_is_exact_json() -> None:
    with ReferenceEndpoints(hostile="huge-body", huge_body_bytes=3 * 1024 * 1024) as ref:
        response = raw_get(f"{ref.fhir_base_url}/Patient", timeout=5)
        body = response.read()
        assert len(body) == int(response.headers["Content-Length"]) == 3 * 1024 * 1024
        assert json.loads(body)["resourceType"] == "Bundle"


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("truncated-json", "truncated"),
        ("not-fhir-json", "not-fhir"),
        ("html-200", "html"),
        ("wrong-media-type", "text-plain"),
    ],
)
def test_lying_answers(mode: str, check: str) -> None:
    with ReferenceEndpoints(hostile=mode) as ref:
        reply = fhir_get(f"{ref.fhir_base_url}/Patient/pat-trois", timeout=SHORT)
        assert reply.status == 200
        if check == "truncated":
            assert reply.content_type.startswith("application/fhir+json")
            with pytest.raises(ValueError):
                json.loads(reply.body)
        elif check == "not-fhir":
            assert "resourceType" not in reply.json
        elif check == "html":
            assert reply.content_type.startswith("text/html") and reply.body.lstrip().startswith(b"<!DOCTYPE html>")
        else:
            assert reply.content_type.startswith("text/plain") and reply.json["id"] == "pat-trois"


def test_redirect_loop_alternates_between_two_urls() -> None:
    with ReferenceEndpoints(hostile="redirect-loop") as ref:
        url = f"{ref.fhir_base_url}/metadata"
        seen = []
        for _ in range(4):
            response = raw_get(url)
            assert response.status == 302
            url = urllib.parse.urljoin(url, response.headers["Location"])
            seen.append(urllib.parse.urlsplit(url).path)
        assert seen[0] == seen[2] and seen[1] == seen[3] and seen[0] != seen[1]


def test_redirect_to_another_host_records_what_that_host_receives() -> None:
    with ReferenceEndpoints(hostile="redirect-other-host") as ref:
        response = raw_get(
            f"{ref.fhir_base_url}/Patient?_count=1", headers={"Authorization": "Bearer hostile-test-token"}
        )
        assert response.status == 302
        target = response.headers["Location"]
        assert target.startswith(ref.redirect_catcher.base_url)
        assert urllib.parse.urlsplit(target).netloc != urllib.parse.urlsplit(ref.fhir_base_url).netloc
        raw_get(target, headers={"X-Followed": "yes"}).read()
        assert ref.redirect_catcher.requests[-1]["headers"].get("X-Followed") == "yes"


def test_tls_invalid_certificate_fails_verification_even_with_the_test_ca() -> None:
    with ReferenceEndpoints(hostile="tls-invalid-cert") as ref:
        assert ref.fhir_base_url.startswith("https://")
        parts = urllib.parse.urlsplit(ref.fhir_base_url)
        trusting = ref.pki.client_context(with_client_cert=False)
        with (
            pytest.raises(ssl.SSLCertVerificationError),
            socket.create_connection((parts.hostname, parts.port), timeout=SHORT) as sock,
        ):
            trusting.wrap_socket(sock, server_hostname=parts.hostname)
        lax = ssl.create_default_context()
        lax.check_hostname = False
        lax.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=SHORT, context=lax)
        connection.request("GET", "/fhir/metadata")
        assert connection.getresponse().status == 200


def test_tls_required_while_plain_http_is_advertised() -> None:
    with ReferenceEndpoints(hostile="tls-required") as ref:
        assert ref.fhir_base_url.startswith("http://")
        with pytest.raises((http.client.HTTPException, ConnectionError, TimeoutError)):
            raw_get(f"{ref.fhir_base_url}/metadata").read()
        parts = urllib.parse.urlsplit(ref.fhir_base_url)
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=SHORT, context=ref.pki.client_context(with_client_cert=False)
        )
        connection.request("GET", "/fhir/metadata")
        assert connection.getresponse().status == 200


def test_mutual_tls_needs_a_client_certificate_from_the_test_ca() -> None:
    with ReferenceEndpoints(mutual_tls=True) as ref:
        parts = urllib.parse.urlsplit(ref.fhir_base_url)
        good = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=SHORT, context=ref.pki.client_context())
        good.request("GET", "/fhir/metadata")
        assert good.getresponse().status == 200
        anonymous = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=SHORT, context=ref.pki.client_context(with_client_cert=False)
        )
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            anonymous.request("GET", "/fhir/metadata")
            anonymous.getresponse()


@pytest.mark.parametrize(
    ("mode", "errors"),
    [
        ("mllp-garbage", (mllp.MllpFramingError, mllp.MllpTimeoutError)),
        ("mllp-no-end-block", (mllp.MllpFramingError, mllp.MllpTimeoutError)),
        ("mllp-close-mid-frame", (mllp.MllpClosedError, mllp.MllpFramingError)),
    ],
)
def test_mllp_framing_faults(mode: str, errors: tuple[type[Exception], ...]) -> None:
    with ReferenceEndpoints(hostile=mode) as ref:
        started = time.monotonic()
        with pytest.raises(errors):
            mllp.send_and_receive(*ref.mllp_receiver, PamMessageFactory(ref.test_data).a28(), timeout=SHORT)
        assert time.monotonic() - started < 10


def test_mllp_wrong_ack_acknowledges_another_message() -> None:
    with ReferenceEndpoints(hostile="mllp-wrong-ack") as ref:
        message = PamMessageFactory(ref.test_data).a01()
        ack = mllp.send_and_receive(*ref.mllp_receiver, message, timeout=SHORT)
        code, acked = parse_ack(ack)
        assert code == "AA" and acked and acked != parse(message).msh.field(10)


def test_mllp_burst_writes_ten_thousand_messages_back_to_back() -> None:
    received: list[str] = []

    def listener(message: str) -> str:
        received.append(message)
        return build_ack(message, check_pam_message(message))

    with ReferenceEndpoints(hostile="mllp-burst") as ref, mllp.ThreadedMllpServer(listener) as server:
        run = ref.start_mllp_sender("127.0.0.1", server.port)
        assert run.wait(120)
    assert run.error == "" and len(received) == 10_000 and run.sent[0].ack_ok


def test_mllp_receiver_speaks_mutual_tls_when_asked() -> None:
    with ReferenceEndpoints(mutual_tls=True) as ref:
        message = PamMessageFactory(ref.test_data).a28()
        ack = mllp.send_and_receive(*ref.mllp_receiver, message, timeout=5, ssl_context=ref.pki.client_context())
        assert parse_ack(ack)[0] == "AA"
        with pytest.raises(mllp.MllpError):
            mllp.send_and_receive(*ref.mllp_receiver, message, timeout=SHORT)  # plain text refused
