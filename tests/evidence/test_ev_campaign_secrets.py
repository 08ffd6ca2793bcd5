"""The real campaign (`conformance run --config`) with secrets in its configuration, against a server that
echoes them: no secret in any output file or in the console; with pseudonymisation, no test patient."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.sample import PATIENT, SECRETS, patient_resource

pytest.importorskip("conformance.campaign.runner", reason="the campaign runner has not landed")

MAIN = "from conformance.cli import main; main()"
TOKEN = "campaign-issued-token-3c4d5e6f"


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass

    def _reply(self) -> None:
        import json

        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if self.path.startswith("/token"):
            payload = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 600, "echo": received}
        else:
            payload = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": patient_resource()}],
                "echo": {"headers": dict(self.headers), "body": received, "path": self.path},
                "debug": f"client key password {SECRETS.key_password}",
            }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Echo", self.headers.get("Authorization", ""))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _reply


@pytest.fixture
def echo_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _config(base: str, pseudonymize: bool) -> str:
    return f"""
[run]
suites = ["fhir-basics", "identity"]
language = "fr"
pseudonymize = {"true" if pseudonymize else "false"}

[fhir]
base_url = "{base}/fhir"

[fhir.auth]
type = "oauth2-client-credentials"
token_url = "{base}/token"
client_id = "harness"
client_secret = "{SECRETS.client_secret}"

[tls]
verify = true
client_key_password = "{SECRETS.key_password}"

[timeouts]
connect = 2
read = 5
total = 10
retries = 0

[[test_data.patients]]
ins = "{PATIENT.ins}{PATIENT.ins_key}"
oid = "1.2.250.1.213.1.4.10"
family = "{PATIENT.family}"
given = "{PATIENT.given}"
birth_date = "{PATIENT.birth_date}"
gender = "female"
"""


def _run(tmp_path: Path, base: str, pseudonymize: bool) -> tuple[Path, str]:
    config = tmp_path / "campaign.toml"
    config.write_text(_config(base, pseudonymize))
    run_dir = tmp_path / "run"
    completed = subprocess.run(
        [sys.executable, "-c", MAIN, "run", "--config", str(config), "--output", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (run_dir / "results.json").exists(), completed.stderr[-2000:]
    return run_dir, completed.stdout + completed.stderr


def _found(run_dir: Path, console: str, values: list[str]) -> list[str]:
    forms = set()
    for value in values:
        forms |= {value, base64.b64encode(value.encode()).decode()}
    forms.add(base64.b64encode(f"harness:{SECRETS.client_secret}".encode()).decode())
    hits = [f"console: {f[:10]}" for f in forms if f in console]
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.relative_to(run_dir)}: {f[:10]}" for f in forms if f.encode() in data]
    return hits


def test_campaign_outputs_and_console_hold_no_secret(tmp_path: Path, echo_base: str) -> None:
    run_dir, console = _run(tmp_path, echo_base, pseudonymize=False)
    assert list((run_dir / "evidence").rglob("*-http.json")), "nothing was recorded"
    assert _found(run_dir, console, [SECRETS.client_secret, SECRETS.key_password, TOKEN]) == []


def test_campaign_with_pseudonymisation_holds_no_test_patient(tmp_path: Path, echo_base: str) -> None:
    run_dir, _console = _run(tmp_path, echo_base, pseudonymize=True)
    patient = [PATIENT.family, PATIENT.given, PATIENT.birth_date, PATIENT.hl7_birth, PATIENT.ins]
    assert _found(run_dir, "", patient) == []
