"""One choke point before anything is written or printed: a FHIR server whose every string carries control
characters, the configured password and the test patients' names. The whole `conformance run` must still
write every report, and no output file nor the console may carry a raw control character, the secret, or
(pseudonymisation on) a patient trait."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from hardening_support import Target, reference_patients, run_conformance, write_config

from conformance.evidence.recorder import Privacy
from conformance.evidence.sanitize import clean_data, for_terminal, for_xml
from conformance.reference.test_data import build_test_data

pytestmark = pytest.mark.timeout(300)

USER = "choke-user"
PASSWORD = "choke-pw-7c1e9a2b4d"
HOSTILE = "\x1b[2K\x1b[1A\x1b[32mINTACT\x07\x00\x0b\u202e"
REPORTS = ("results.json", "report.html", "junit.xml", "testreport.json")


def _patients() -> list[dict]:
    return reference_patients(SimpleNamespace(test_data=build_test_data()))


class PoisonedFhir(BaseHTTPRequestHandler):
    """Every answer carries control characters, the password it was sent, and a test patient's identity."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        # the preflight's reach check comes without credentials: it must get an answer too
        authorization = self.headers.get("Authorization", "")
        credentials = base64.b64decode(authorization.split()[-1]).decode() if " " in authorization else ""
        patient = _patients()[0]
        poison = f"{HOSTILE} {credentials} {patient['family']} {patient['given']} {patient['birth_date']}"
        path = self.path.split("?")[0]
        kind = "CapabilityStatement" if path.endswith("/metadata") else "Patient" if "/Patient/" in path else "Bundle"
        payload = {
            "resourceType": kind + HOSTILE,
            "id": "x" + HOSTILE,
            "status": poison,
            "fhirVersion": "4.0.1" + HOSTILE,
            "text": {"status": "generated", "div": f"<div>{poison}</div>"},
            "name": [{"family": patient["family"], "given": [patient["given"]]}],
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Poison", "\x1b[31m" + credentials)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def poisoned() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PoisonedFhir)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def _traits() -> list[bytes]:
    values = []
    for p in _patients():
        values += [p["family"], p["given"], p["birth_date"], p.get("ins") or ""]
    return sorted({v.encode() for v in values if v and len(v) > 3})


def test_poisoned_server_strings_reach_no_output_raw(tmp_path: Path, poisoned: str) -> None:
    target = Target(fhir_base_url=poisoned, patients=_patients())
    auth = {"type": "basic", "username": USER, "password": PASSWORD}
    config = write_config(tmp_path / "c.toml", target, suites=["fhir-basics"], auth=auth, run={"pseudonymize": True})
    outcome = run_conformance(config, tmp_path / "run")
    assert outcome.code in (0, 1), outcome.output[-3000:]
    run_dir = outcome.run_dir
    for name in REPORTS:  # one control character no longer costs the XML writers
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "allure-results").iterdir())
    results = outcome.results
    assert results["complete"] is True and results["privacy"]["pseudonymized"] is True
    assert "\\x1b[2K" in json.dumps(results)  # the control: the hostile strings did reach the results, escaped
    failures = [t for t in results["tests"] if t["outcome"] in ("failed", "error")]
    assert failures, "the poisoned answers must fail the suite"
    # console: no escape sequence, no password, no patient trait
    assert "\x1b" not in outcome.output and "\x07" not in outcome.output and "\u202e" not in outcome.output
    assert PASSWORD not in outcome.output
    for trait in _traits():
        assert trait.decode() not in outcome.output, trait
    # every file of the run folder
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert PASSWORD.encode() not in data, path
        for trait in _traits():
            assert trait not in data, (path, trait)
        if path.name in REPORTS or path.parent.name == "allure-results":
            assert b"\x1b" not in data and b"\x07" not in data and b"\x00" not in data, path


def test_one_place_for_terminal_and_xml_safety() -> None:
    assert for_terminal("ok\x1b[2K\r\ttab\nline") == "ok\\x1b[2K\\x0d\ttab\nline"
    assert for_terminal("a\u202eb") == "a\\u202eb"
    assert for_xml("bell\x07 e\u0301 ok\r\n") == "bell\\x07 e\u0301 ok\r\n"
    assert clean_data({"k\x0b": ["v\x00", 3]}) == {"k\\x0b": ["v\\x00", 3]}
    privacy = Privacy([PASSWORD])
    assert privacy.console(f"token {PASSWORD}\x1b[31m") == "token [REDACTED]\\x1b[31m"
    assert privacy.report({"m": f"{PASSWORD}\x07"}) == {"m": "[REDACTED]\\x07"}


def test_hostile_patient_bodies_through_the_real_client_are_recorded_pseudonymised(tmp_path: Path) -> None:
    """SHALL: over loopback, a Patient nested 100,000 deep, sent in UTF-16, or with an escaped name is
    answered to the caller, recorded, and its evidence holds neither the name nor the echoed password."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from conformance.config import AuthConfig, Secret
    from conformance.evidence.recorder import EvidenceRecorder
    from conformance.transport.http import FhirClient

    password = "Pa55w0rd!basic-7f3c"
    name = {"family": "Vauquelinard", "given": ["Ermengarde"]}
    plain = json.dumps({"resourceType": "Patient", "name": [name], "note": password})
    bodies = {
        "/fhir/Patient/deep": (plain[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        "/fhir/Patient/utf16": plain.encode("utf-16"),
        "/fhir/Patient/escaped": plain.replace("Vauq", "Vau\\u0071")
        .replace(password, password[:4] + "\\u0077" + password[5:])
        .encode(),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder = EvidenceRecorder(tmp_path, secrets=[password], pseudonymize=True)
    auth = AuthConfig(type="basic", username="harness", password=Secret(password))
    try:
        client = FhirClient(f"http://127.0.0.1:{server.server_address[1]}/fhir", auth=auth, sink=recorder)
        recorder.begin_test("hostile/patients")
        for path in bodies:
            assert client.get(path.removeprefix("/fhir/")).status == 200
        written = recorder.end_test()
    finally:
        server.shutdown()
        server.server_close()
    assert len([p for p in written if p.endswith("-http.json")]) == 3
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for codec in ("utf-8", "utf-16"):
                text = data.decode(codec, "ignore")
                for value in ("Vauquelinard", "Ermengarde", password):
                    assert value not in text, (path.name, codec, value)
            assert b"Vau\\u0071" not in data and password[:4].encode() + b"\\u0077" not in data
