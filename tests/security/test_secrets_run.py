"""Secrets and patient identities across a whole `conformance run` (issue 8 item 3).

The configuration carries a bearer token, basic credentials, an OAuth2 client secret and a client key password;
a hostile FHIR server and a hostile MLLP receiver echo all of them back (plain, URL-encoded, base64, in headers
and bodies). None may appear in any file of the run folder, nor in what the run printed (its logs).
With pseudonymisation on, no INS, name or birth date of the test patients appears in the run folder.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

import pytest
from hardening_support import Target, generate_pki, reference_patients, run_conformance, write_config

from conformance.reference.pam import build_ack, check_pam_message
from conformance.reference.test_data import build_test_data
from conformance.transport import mllp

pytestmark = pytest.mark.timeout(300)

USER = "hardening-user"
PASSWORD = "basic-pw-5f0d9c1b7e"
TOKEN = "bearer-tok-a8e7f6d5c4"
CLIENT_ID = "hardening-client"
CLIENT_SECRET = "oauth-secret-19e2d3c4b5"
ACCESS_TOKEN = "issued-access-3c2b1a0f9e"
SECRETS = [PASSWORD, TOKEN, CLIENT_SECRET, ACCESS_TOKEN]


def echo_forms() -> list[str]:
    forms = set()
    for value in SECRETS:
        forms |= {value, quote(value, safe=""), quote_plus(value), base64.b64encode(value.encode()).decode()}
    forms.add(base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    forms.add(base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode())
    return sorted(forms)


def forbidden(extra: list[str]) -> list[bytes]:
    return [f.encode() for f in echo_forms() + extra]


def leaks(run_dir: Path, output: str, needles: list[bytes]) -> list[str]:
    found = [f"output: {n[:8]!r}…" for n in needles if n in output.encode()]
    for path in sorted(run_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(run_dir)}: {n[:8]!r}…" for n in needles if n in data]
    return found


class EchoingFhir(BaseHTTPRequestHandler):
    """Answers like a FHIR server, and echoes every credential it receives or knows, everywhere it can."""

    key_password = ""

    def log_message(self, *args: object) -> None:
        pass

    def _echo(self) -> dict:
        known = [*SECRETS, self.key_password]
        return {
            "headers": dict(self.headers),
            "known": known,
            "b64": [base64.b64encode(s.encode()).decode() for s in known],
            "urlencoded": "&".join(f"k={quote_plus(s)}" for s in known),
        }

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Echo-Authorization", self.headers.get("Authorization", ""))
        self.send_header("X-Debug", f"secret={CLIENT_SECRET}; key={self.key_password}; token={TOKEN}")
        self.send_header("Set-Cookie", f"session={ACCESS_TOKEN}; Path=/")
        self.send_header("Location", f"https://elsewhere.test/?password={quote_plus(PASSWORD)}")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", "replace")
        if self.path.startswith("/token"):
            self._reply(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300, "form": form})
        else:
            self._reply(400, {"resourceType": "OperationOutcome", "issue": [], "echo": self._echo(), "body": form})

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/metadata"):
            payload = {"resourceType": "CapabilityStatement", "status": "active", "fhirVersion": "4.0.1"}
        elif "/Patient/" in path:
            payload = {"resourceType": "Patient", "id": path.rsplit("/", 1)[-1]}
        else:
            payload = {"resourceType": "Bundle", "type": "searchset", "total": 0}
        payload["echo"] = self._echo()
        payload["text"] = {"status": "generated", "div": f"<div>{TOKEN} {PASSWORD}</div>"}
        self._reply(200, payload)


@pytest.fixture
def echo_fhir(tmp_path: Path) -> Iterator[tuple[str, str]]:
    pki = generate_pki(tmp_path / "pki")
    handler = type("Handler", (EchoingFhir,), {"key_password": pki.key_password})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pki
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def echo_mllp() -> Iterator[mllp.ThreadedMllpServer]:
    def answer(message: str) -> str:
        ack = build_ack(message, check_pam_message(message))
        return (
            ack + f"NTE|1||token {TOKEN} password {PASSWORD} b64 {base64.b64encode(CLIENT_SECRET.encode()).decode()}\r"
        )

    with mllp.ThreadedMllpServer(answer) as server:
        yield server


AUTH = {
    "basic": {"type": "basic"},
    "bearer": {"type": "bearer"},
    "oauth2": {"type": "oauth2-client-credentials"},
}


@pytest.mark.parametrize("kind", sorted(AUTH))
def test_no_secret_in_any_output_file_or_log(tmp_path: Path, echo_fhir, echo_mllp, kind: str) -> None:
    base, pki = echo_fhir
    auth = {
        **AUTH[kind],
        "username": USER,
        "password": PASSWORD,
        "token": TOKEN,
        "token_url": f"{base}/token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    tls = {"client_cert": pki.client_cert, "client_key": pki.client_key, "client_key_password": pki.key_password}
    patients = reference_patients(SimpleNamespace(test_data=build_test_data()))
    target = Target(fhir_base_url=f"{base}/fhir", mllp=("127.0.0.1", echo_mllp.port), patients=patients)
    config = write_config(tmp_path / "c.toml", target, suites=["fhir-basics", "pam"], auth=auth, tls=tls)
    outcome = run_conformance(config, tmp_path / "run")

    assert outcome.code in (0, 1), outcome.output[-3000:]
    assert outcome.results["complete"] is True
    records = outcome.evidence()
    assert any(r.get("kind") == "http" for r in records) and any(r.get("kind") == "mllp" for r in records)
    # the control: the hostile server did answer with the echoes (so the absence below means something)
    assert any("[REDACTED]" in json.dumps(r) for r in records)
    needles = forbidden([pki.key_password, quote_plus(pki.key_password)])
    assert leaks(outcome.run_dir, outcome.output, needles) == []
    # the configuration copy in results.json keeps the keys but not the values
    auth_copy = outcome.results["configuration"]["fhir"]["auth"]
    for key in ("password", "token", "client_secret"):
        assert auth_copy[key] in ("***", "[REDACTED]"), (key, auth_copy[key])
    assert outcome.results["configuration"]["tls"]["client_key_password"] in ("***", "[REDACTED]")


def patient_identity_forms(ref) -> list[bytes]:
    forms: list[str] = []
    for p in reference_patients(ref):
        birth = p["birth_date"]
        forms += [p["family"], p["given"], birth, birth.replace("-", ""), "/".join(reversed(birth.split("-")))]
        forms += [p.get("ins") or "", p["family"].title()]
    for p in ref.test_data.patients:
        forms.append(p.ins)
    return sorted({f.encode() for f in forms if f})


def test_pseudonymised_run_holds_no_patient_identity(hostile, tmp_path: Path) -> None:
    ref = hostile(None)
    config = write_config(
        tmp_path / "c.toml",
        Target.of(ref),
        suites=["fhir-basics", "identity", "pam"],
        run={"pseudonymize": True},
    )
    outcome = run_conformance(config, tmp_path / "run")
    assert outcome.code in (0, 1), outcome.output[-3000:]
    assert outcome.results["privacy"]["pseudonymized"] is True
    identity = patient_identity_forms(ref)
    assert leaks(outcome.run_dir, "", identity) == []
    # the report is still there and readable
    assert (outcome.run_dir / "report.html").stat().st_size > 1000 and outcome.tests
