"""Secrets and patient data never reach an output file or a log, even when a hostile server echoes them.

Real parts: the campaign's FhirClient (basic, bearer, OAuth2 client credentials) against a local server on
127.0.0.1:0 that echoes credentials in headers and bodies; the MLLP transport against a local listener
whose ACK echoes a secret; then the whole run is written and sealed.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from support.sample import PATIENT, SECRETS, adt_message, fabricate_run, patient_resource

from conformance.evidence.redaction import install_log_redaction
from conformance.reports import finalize_run

http_transport = pytest.importorskip("conformance.transport.http", reason="campaign HTTP transport not landed")
mllp = pytest.importorskip("conformance.transport.mllp", reason="MLLP transport not landed")
config_module = pytest.importorskip("conformance.config", reason="campaign configuration not landed")

ACCESS_TOKEN = "issued-access-token-0b1c2d3e4f"


class _EchoHandler(BaseHTTPRequestHandler):
    """A careless server: echoes every request header and body, in its headers and in its JSON body."""

    def log_message(self, *_args: object) -> None:
        pass

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if self.path.startswith("/token"):
            payload = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300, "echo": body_in}
        else:
            payload = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": patient_resource()}],
                "echo_headers": dict(self.headers),
                "echo_body": body_in,
                "debug": f"key password was {SECRETS.key_password}; b64 {base64.b64encode(SECRETS.key_password.encode()).decode()}",
            }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Echo-Authorization", self.headers.get("Authorization", ""))
        self.send_header("Set-Cookie", f"{SECRETS.cookie}; Path=/")
        self.end_headers()
        self.wfile.write(data)

    do_GET = _reply
    do_POST = _reply


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _forbidden_forms() -> list[bytes]:
    values = [
        SECRETS.bearer_token,
        SECRETS.basic_password,
        SECRETS.client_secret,
        SECRETS.key_password,
        SECRETS.cookie.split("=")[1],
        ACCESS_TOKEN,
    ]
    forms = set()
    for value in values:
        forms |= {value, quote(value, safe=""), quote_plus(value), base64.b64encode(value.encode()).decode()}
    forms.add(base64.b64encode(f"{SECRETS.basic_user}:{SECRETS.basic_password}".encode()).decode())
    forms.add(base64.b64encode(f"harness:{SECRETS.client_secret}".encode()).decode())
    return sorted(form.encode() for form in forms)


def _leaks(run_dir: Path, forbidden: list[bytes]) -> list[str]:
    leaks = []
    for path in sorted(run_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            leaks += [f"{path.relative_to(run_dir)}: {form[:12]!r}…" for form in forbidden if form in data]
    return leaks


def _auth(kind: str, base: str):
    Secret, AuthConfig = config_module.Secret, config_module.AuthConfig
    if kind == "basic":
        return AuthConfig(type="basic", username=SECRETS.basic_user, password=Secret(SECRETS.basic_password))
    if kind == "bearer":
        return AuthConfig(type="bearer", token=Secret(SECRETS.bearer_token))
    return AuthConfig(
        type="oauth2-client-credentials",
        token_url=f"{base}/token",
        client_id="harness",
        client_secret=Secret(SECRETS.client_secret),
    )


def test_no_secret_in_any_output_file_or_log(tmp_path: Path, echo_server: str) -> None:
    run_dir = tmp_path / "run"
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    root = logging.getLogger()
    root.addHandler(handler)
    run, recorder = fabricate_run(run_dir)  # the fabricated part: every outcome, secrets echoed in bodies
    install_log_redaction(recorder.privacy.redactor)
    try:
        for kind in ("basic", "bearer", "oauth2"):
            recorder.begin_test(f"secrets/http/{kind}")
            client = http_transport.FhirClient(echo_server + "/fhir", auth=_auth(kind, echo_server), sink=recorder)
            with client:
                client.search("Patient", {"family": PATIENT.family})
            recorder.end_test()
        ack = f"MSH|^~\\&|SUT|H|HARNESS|H|20260101||ACK|A1|P|2.5\rMSA|AA|MSG0001|echo {SECRETS.bearer_token}\r"
        with mllp.ThreadedMllpServer(lambda _message: ack) as listener:
            recorder.begin_test("secrets/mllp/echo")
            mllp.send_and_receive("127.0.0.1", listener.port, adt_message(), timeout=10, sink=recorder)
            recorder.end_test()
        logging.getLogger("conformance.test").error(
            "token %s password %s secret %s", SECRETS.bearer_token, SECRETS.basic_password, SECRETS.client_secret
        )
        assert finalize_run(run_dir, run) is not None
    finally:
        root.removeHandler(handler)
    forbidden = _forbidden_forms()
    recorded = list((run_dir / "evidence").rglob("*.json"))
    assert any("secrets__http__oauth2" in str(p) for p in recorded), "the OAuth2 exchanges were not recorded"
    assert _leaks(run_dir, forbidden) == []
    assert not [form for form in forbidden if form.decode() in log_stream.getvalue()]
    assert "token [REDACTED]" in log_stream.getvalue()


def test_pseudonymised_run_has_no_patient_identity_in_any_file(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir, pseudonymize=True)
    finalize_run(run_dir, run)
    forbidden = [
        PATIENT.family,
        PATIENT.family.lower(),
        PATIENT.family.title(),
        PATIENT.given,
        PATIENT.birth_date,
        PATIENT.hl7_birth,
        PATIENT.ins,
        "14/06/1987",
    ]
    assert _leaks(run_dir, [f.encode() for f in forbidden]) == []
    # Documents carried in base64 (the ITI-65 Binary) were rewritten too.
    encoded_runs = re.findall(rb"[A-Za-z0-9+/]{64,}={0,2}", b"".join(p.read_bytes() for p in run_dir.rglob("*.json")))
    decoded = [base64.b64decode(r) for r in encoded_runs if base64.b64decode(r, validate=False).startswith(b"<?xml")]
    assert decoded and not [d for d in decoded for f in forbidden if f.encode() in d]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["privacy"]["pseudonymized"] is True
    # The evidence is still there and still readable: the HL7 message kept its structure.
    sent = next((run_dir / "evidence").rglob("001-mllp-sent.json"))
    payload = run_dir / json.loads(sent.read_text())["body_file"]
    assert payload.suffix == ".hl7" and payload.read_bytes().startswith(b"MSH|^~\\&|")


def test_without_pseudonymisation_the_patient_is_visible(tmp_path: Path) -> None:
    """The control for the test above: the fabricated run really contains the patient's identity."""
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir)
    finalize_run(run_dir, run)
    assert _leaks(run_dir, [PATIENT.family.encode(), PATIENT.ins.encode()]) != []
