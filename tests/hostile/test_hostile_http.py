"""The campaign's FHIR HTTP transport (conformance.transport.http) against hostile servers.

Each behaviour: the client gives up within its configured timeouts (pytest-timeout bounds the test), the
failure names the fault, the exchange up to the fault is recorded (an HttpExchange with `error`), and the
same client still works afterwards. Content faults (truncated JSON, not FHIR, HTML) reach the caller as a
response; the project's FHIR validator is what names them, as the suites do.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hardening_support import SHORT_TIMEOUTS, RawServer, read_request_head

from conformance.config import AuthConfig, Secret, Timeouts, TlsConfig
from conformance.evidence.exchange import HttpExchange, MemorySink
from conformance.transport.http import FhirClient, ResponseTooLarge, TransportError
from conformance.validation.fhir import validate_input
from conformance.validation.options import ValidateOptions

pytestmark = pytest.mark.timeout(60)

TIMEOUTS = Timeouts(**SHORT_TIMEOUTS)


def client_for(ref, sink: MemorySink, **options) -> FhirClient:
    options.setdefault("timeouts", TIMEOUTS)
    return FhirClient(ref.fhir_base_url, sink=sink, **options)


def http_records(sink: MemorySink) -> list[HttpExchange]:
    return [r for r in sink.exchanges if isinstance(r, HttpExchange)]


def still_works(hostile, sink: MemorySink) -> None:
    """After the fault, the harness goes on: a normal server answers the next exchange."""
    normal = hostile(None)
    response = client_for(normal, sink).read("Patient", "pat-trois")
    assert response.status == 200 and response.resource["resourceType"] == "Patient"
    assert http_records(sink)[-1].error is None


def fault_of(sink: MemorySink) -> HttpExchange:
    failed = [r for r in http_records(sink) if r.error]
    assert failed, "the failing exchange was not recorded"
    return failed[-1]


@pytest.mark.parametrize(
    ("mode", "kind", "named"),
    [
        ("silence", "timeout", "read timeout"),
        ("slow-bytes", "timeout", "read timeout"),  # headers trickled: cut at the read timeout
        ("redirect-loop", "redirect", "redirect loop"),
        ("redirect-other-host", "redirect", "another host refused"),
        ("tls-required", "tls", "requires tls"),
    ],
)
def test_transport_fault_is_named_recorded_and_bounded(hostile, mode: str, kind: str, named: str) -> None:
    ref = hostile(mode)
    sink = MemorySink()
    fhir = client_for(ref, sink)
    with pytest.raises(TransportError) as caught:
        fhir.read("Patient", "pat-trois")
    assert caught.value.kind == kind
    assert named in str(caught.value).lower()
    assert named in fault_of(sink).error.lower()
    assert caught.value.message("fr") and caught.value.message("fr") != caught.value.message("en")
    still_works(hostile, sink)


def test_redirect_loop_keeps_every_hop(hostile) -> None:
    ref = hostile("redirect-loop")
    sink = MemorySink()
    with pytest.raises(TransportError):
        client_for(ref, sink).read("Patient", "pat-trois")
    statuses = [r.response.status for r in http_records(sink) if r.response is not None]
    assert statuses and set(statuses) == {302}
    assert "_loop" in http_records(sink)[-1].request.url


def test_cross_host_redirect_never_reaches_the_other_host(hostile) -> None:
    ref = hostile("redirect-other-host")
    sink = MemorySink()

    fhir = client_for(ref, sink, auth=AuthConfig(type="bearer", token=Secret("hostile-redirect-token")))
    with pytest.raises(TransportError, match="another host"):
        fhir.read("Patient", "pat-trois")
    assert ref.redirect_catcher is not None and ref.redirect_catcher.requests == []


def test_cross_host_redirect_when_allowed_drops_credentials(hostile) -> None:
    ref = hostile("redirect-other-host")
    sink = MemorySink()

    fhir = client_for(
        ref,
        sink,
        auth=AuthConfig(type="bearer", token=Secret("hostile-redirect-token")),
        allow_cross_host_redirects=True,
    )
    response = fhir.read("Patient", "pat-trois")
    assert response.status == 404  # the catcher's answer
    caught = ref.redirect_catcher.requests
    assert caught and not any(k.lower() == "authorization" for k in caught[0]["headers"])


def test_huge_body_is_refused_and_recorded(hostile) -> None:
    ref = hostile("huge-body", huge_body_bytes=300 * 1024 * 1024)
    sink = MemorySink()
    with pytest.raises(ResponseTooLarge) as caught:
        client_for(ref, sink, max_response_bytes=2 * 1024 * 1024).read("Patient", "pat-trois")
    assert caught.value.kind == "too-large" and "maximum size" in str(caught.value)
    record = fault_of(sink)
    assert record.response is not None and record.response.status == 200 and record.response.truncated
    assert len(record.response.body) <= 2 * 1024 * 1024
    still_works(hostile, sink)


BOMB_CHILD = """
import json, sys, tempfile, threading, time, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from conformance.evidence.recorder import EvidenceRecorder
from conformance.transport.http import FhirClient, ResponseTooLarge

def pack(chunks, wbits):
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(chunk) for chunk in chunks) + packer.flush()

def json_of(megabytes):  # a Patient whose one string is `megabytes` MB of zeros
    return [b'{"resourceType":"Patient","x":"'] + [b"0" * (1 << 20)] * megabytes

encoding = sys.argv[1]
if encoding == "gzip, gzip":  # 1 GiB inside a gzip inside a gzip: about 4 KB on the wire
    blob = pack([pack(json_of(1024), 31)], 31)
else:  # 64 MB in about 64 KB
    blob = pack(json_of(64), {"gzip": 31, "deflate": 15, "deflate-raw": -15}[encoding])
encoding = "deflate" if encoding == "deflate-raw" else encoding

class Bomb(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        self.wfile.write(blob)

server = ThreadingHTTPServer(("127.0.0.1", 0), Bomb)
threading.Thread(target=server.serve_forever, daemon=True).start()
with tempfile.TemporaryDirectory() as folder:
    recorder = EvidenceRecorder(Path(folder), secrets=["secret-value"], pseudonymize=True)
    recorder.begin_test("hostile/bomb")
    client = FhirClient(f"http://127.0.0.1:{server.server_address[1]}/fhir", sink=recorder)
    started = time.monotonic()
    try:
        client.read("Patient", "1")
        kind = "read"
    except ResponseTooLarge as exc:
        kind = exc.kind
    recorder.end_test()
    elapsed = time.monotonic() - started
    kept = max(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
server.shutdown()
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"kind": kind, "largest evidence file": kept, "peak": peak, "seconds": elapsed,
                  "total timeout": client.timeouts.total, "wire": len(blob)}))
"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "gzip, gzip"])
def test_compression_bomb_is_cut_at_the_size_limit_in_bounded_memory(encoding: str) -> None:
    """SHALL: a body inflating to 64 MB (1 GiB for gzip inside gzip) is cut at the 50 MB default limit while
    it inflates, recorded (redacted, pseudonymised) and refused within the total timeout, with the harness's
    peak memory under 1 GiB; in each encoding HTTP allows (zlib and raw deflate both occur as "deflate")."""
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD, encoding], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["kind"] == "too-large"
    assert figures["largest evidence file"] <= 50 * 1024 * 1024 + 64 * 1024
    assert figures["peak"] < 1024**3
    assert figures["seconds"] < figures["total timeout"]


def test_invalid_certificate_is_refused_by_default(hostile) -> None:
    ref = hostile("tls-invalid-cert")
    sink = MemorySink()
    tls = TlsConfig(ca_bundle=ref.pki.ca_cert)  # even with the right CA: expired, other host name
    with pytest.raises(TransportError) as caught:
        client_for(ref, sink, tls=tls).read("Patient", "pat-trois")
    assert caught.value.kind == "tls" and "certificate" in str(caught.value).lower()
    assert "certificate" in fault_of(sink).error.lower()


def test_invalid_certificate_accepted_only_when_verification_is_explicitly_off(hostile) -> None:
    ref = hostile("tls-invalid-cert")
    sink = MemorySink()
    response = client_for(ref, sink, tls=TlsConfig(verify=False)).read("Patient", "pat-trois")
    assert response.status == 200 and response.resource is not None


@pytest.mark.parametrize(
    ("mode", "media_type", "finding"),
    [
        ("truncated-json", "application/fhir+json", ("error parsing json",)),
        ("not-fhir-json", "application/fhir+json", ("resourcetype",)),
        ("html-200", "text/html", ("namespace", "doctype", "html")),
    ],
)
def test_content_faults_reach_the_validator_with_the_body_kept(hostile, mode, media_type, finding) -> None:
    ref = hostile(mode)
    sink = MemorySink()
    response = client_for(ref, sink).read("Patient", "pat-trois")
    assert response.status == 200 and response.content_type == media_type
    assert response.resource is None
    record = http_records(sink)[-1]
    assert record.response is not None and record.response.body == response.body and response.body
    outcomes = validate_input(response.body, name="response", options=ValidateOptions(lang="en"))
    errors = [f for o in outcomes for f in o.errors]
    said = " ".join(f.message_en.lower() for f in errors)
    assert errors and any(word in said for word in finding), said


def test_wrong_media_type_is_visible_to_the_caller(hostile) -> None:
    ref = hostile("wrong-media-type")
    sink = MemorySink()
    response = client_for(ref, sink).read("Patient", "pat-trois")
    assert response.content_type == "text/plain"
    assert response.resource is not None  # a FHIR body, mislabelled: the formats suite must fail on the label
    assert http_records(sink)[-1].response.headers.get("Content-Type", "").startswith("text/plain")


# ---------------------------------------------------------------- behaviours the reference modes do not cover


def _head(status: str = "200 OK", extra: str = "Content-Type: application/fhir+json\r\n") -> bytes:
    return f"HTTP/1.1 {status}\r\n{extra}".encode()


def slow_body(conn, stop) -> None:
    """Headers at once, then the body a byte every 0.3 s (the per-read timeout never trips)."""
    read_request_head(conn)
    conn.sendall(_head(extra="Content-Type: application/fhir+json\r\nContent-Length: 500\r\n\r\n"))
    for _ in range(500):
        if stop.wait(0.3):
            return
        conn.sendall(b" ")


def endless_chunked(conn, stop) -> None:
    """A chunked body that never ends and declares no length: only the streaming limit stops it."""
    read_request_head(conn)
    conn.sendall(_head(extra="Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"))
    chunk = b"x" * 65536
    for _ in range(20_000):  # at most ~1.3 GB, far beyond any limit; the client hangs up long before
        if stop.is_set():
            return
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def endless_headers(conn, stop) -> None:
    read_request_head(conn)
    conn.sendall(_head())
    for i in range(100_000):
        if stop.is_set():
            return
        conn.sendall(f"X-Filler-{i}: {'y' * 50}\r\n".encode())


def close_mid_body(conn, stop) -> None:
    read_request_head(conn)
    conn.sendall(_head(extra="Content-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n"))
    conn.sendall(b'{"resourceType":"Patient","id":"cut-he')


def not_http(conn, stop) -> None:
    read_request_head(conn)
    conn.sendall(b"\x0bMSH|^~\\&|THIS|IS|NOT|HTTP\x1c\r")


@pytest.mark.parametrize(
    ("behaviour", "kind", "named"),
    [
        (slow_body, "timeout", "total timeout"),
        (endless_chunked, "too-large", "maximum size"),
        (endless_headers, "connection", "more than 100 headers"),
        (close_mid_body, "connection", "interrupted"),
        (not_http, "connection", "badstatusline"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_raw_hostile_http_servers(behaviour, kind: str, named: str) -> None:
    sink = MemorySink()
    with RawServer(behaviour) as server:
        fhir = FhirClient(
            f"http://127.0.0.1:{server.port}/fhir", sink=sink, timeouts=TIMEOUTS, max_response_bytes=1024 * 1024
        )
        with pytest.raises(TransportError) as caught:
            fhir.read("Patient", "x")
    assert caught.value.kind == kind, str(caught.value)
    assert named in str(caught.value).lower()
    record = fault_of(sink)
    assert named in record.error.lower()
    if behaviour in (slow_body, endless_chunked, close_mid_body):
        assert record.response is not None and record.response.status == 200  # what arrived is kept
    if behaviour is endless_chunked:
        assert record.response.truncated and len(record.response.body) == 1024 * 1024
    if behaviour is close_mid_body:
        assert record.response.body.startswith(b'{"resourceType":"Patient"')
