"""The campaign over mutual TLS with a locally generated CA (reference endpoints in TLS mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import conformance

from conformance.reference import ReferenceEndpoints


def run(tmp_path: Path, config_text: str, *extra: str, codes: tuple[int, ...] = (0, 1)) -> dict:
    config = tmp_path / "tls.toml"
    config.write_text(config_text, encoding="utf-8")
    out = tmp_path / "run"
    done = conformance(
        "run", "--config", config, "--suite", "fhir-basics", "--output", out, "--lang", "en", "--quiet", *extra
    )
    assert done.returncode in codes, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {t["id"]: t for t in results["tests"]} | {
        "_warnings": results.get("warnings", []),
        "_preflight": results.get("preflight", []),
        "_stdout": done.stdout,
    }


@pytest.fixture(scope="module")
def reference():
    with ReferenceEndpoints(mutual_tls=True) as ref:
        yield ref


def test_mutual_tls_campaign(tmp_path, reference):
    pki = reference.pki
    tests = run(
        tmp_path,
        f"[fhir]\nbase_url = '{reference.fhir_base_url}'\n[tls]\nca_bundle = '{pki.ca_cert}'\n"
        f"client_cert = '{pki.client_cert}'\nclient_key = '{pki.client_key}'\n",
    )
    assert tests["fhir-basics/security/tls"]["outcome"] == "passed", tests["fhir-basics/security/tls"]["messages"]
    assert tests["fhir-basics/read/read-id"]["outcome"] == "passed"


def test_without_client_certificate_the_preflight_stops_naming_tls(tmp_path, reference):
    tests = run(
        tmp_path,
        f"[fhir]\nbase_url = '{reference.fhir_base_url}'\n[tls]\nca_bundle = '{reference.pki.ca_cert}'\n",
        codes=(2,),
    )
    assert not [key for key in tests if not key.startswith("_")]
    assert [c["cause"] for c in tests["_preflight"] if not c["ok"]] == ["tls"]
    assert "FHIR server unreachable" in tests["_stdout"] and "TLS" in tests["_stdout"]


def test_without_client_certificate_and_preflight_everything_errors_naming_tls(tmp_path, reference):
    tests = run(
        tmp_path,
        f"[fhir]\nbase_url = '{reference.fhir_base_url}'\n[tls]\nca_bundle = '{reference.pki.ca_cert}'\n",
        "--no-preflight",
        codes=(1, 2),
    )
    judged = [t for key, t in tests.items() if not key.startswith("_")]
    assert judged and all(t["outcome"] in ("error", "failed", "skipped") for t in judged)
    assert any("TLS" in t["messages"][0] for t in judged if t["outcome"] == "error")


def test_verification_off_is_reported(tmp_path, reference):
    pki = reference.pki
    tests = run(
        tmp_path,
        f"[fhir]\nbase_url = '{reference.fhir_base_url}'\n[tls]\nverify = false\n"
        f"client_cert = '{pki.client_cert}'\nclient_key = '{pki.client_key}'\n",
    )
    assert tests["fhir-basics/security/tls"]["outcome"] == "failed"
    assert any("verif" in json.dumps(w).lower() for w in tests["_warnings"])
