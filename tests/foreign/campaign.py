"""`conformance run --config` against the foreign systems, then `conformance compare`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.foreign import fhir_server as fhir

FHIR_SUITES = ("fhir-basics", "identity", "documents", "directory")
MLLP_SUITES = ("pam", "documents-hl7v2")
CONFORMANCE = [str(Path(sys.executable).with_name("conformance"))]
RUN_TIMEOUT = 600


def campaign_toml(*, fhir_url: str | None, mllp: tuple[str, int] | None, listener_port: int | None,
                  suites: tuple[str, ...], expect_messages: int = 1) -> str:  # fmt: skip
    lines = [
        "[run]",
        'name = "SIH tiers (serveur écrit hors produit)"',
        f"suites = {json.dumps(list(suites))}",
        'language = "fr"',
        "",
    ]
    if fhir_url:
        lines += [
            "[fhir]",
            f'base_url = "{fhir_url}"',
            'packages = ["hl7.fhir.fr.core#2.2.0", "ans.fhir.fr.pdsm#3.1.1", "ans.fhir.fr.annuaire#1.2.0-snapshot-2"]',
            "",
        ]
    lines += ["[timeouts]", "connect = 3", "read = 20", "total = 60", "retries = 0", ""]
    if mllp:
        lines += ["[mllp]", f'host = "{mllp[0]}"', f"port = {mllp[1]}", ""]
    if listener_port is not None:
        lines += [
            "[mllp.listener]",
            'host = "127.0.0.1"',
            f"port = {listener_port}",
            "wait_seconds = 20",
            f"expect_messages = {expect_messages}",
            "",
        ]
    lines += [
        "[hl7v2]",
        'receiving_application = "TIERS_SIH"',
        'receiving_facility = "CHTIERS"',
        "documents = true",
        "",
        "[test_data]",
        f'practitioners = ["{fhir.RPPS}"]',
        f'organizations = ["{fhir.FINESS}"]',
        f'document_patient = "{fhir.INS}"',
        "",
        "[[test_data.patients]]",
        f'ins = "{fhir.INS}"',
        f'oid = "{fhir.INS_OID}"',
        'family = "PAT-TROIS"',
        'given = "DOMINIQUE"',
        'birth_date = "1979-03-28"',
        'gender = "female"',
        "",
        "[[test_data.patients]]",
        "qualified = false",
        f'ipp = "{fhir.IPP}"',
        f'ipp_system = "{fhir.IPP_SYSTEM}"',
        'family = "PROVISOIRE"',
        'given = "CAMILLE"',
        'birth_date = "1991-06-12"',
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    folder: Path
    exit_code: int
    stdout: str
    stderr: str

    @property
    def results(self) -> dict:
        return json.loads((self.folder / "results.json").read_text(encoding="utf-8"))

    def tests(self) -> dict[str, dict]:
        return {t["id"]: t for t in self.results["tests"]}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HOPEN_SHARED_DIR", str(fhir.SHARED))
    return env


def run_campaign(config: Path, output: Path) -> Run:
    done = subprocess.run(
        [*CONFORMANCE, "run", "--config", str(config), "--output", str(output), "--lang", "en", "--quiet"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=_env(),
    )
    return Run(output, done.returncode, done.stdout, done.stderr)


def compare(clean: Path, faulty: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [*CONFORMANCE, "compare", str(clean), str(faulty), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        detail = f"{done.stdout[-500:]} {done.stderr[-1500:]}"
        raise AssertionError(f"compare gave no JSON (exit {done.returncode}): {detail}") from None
