"""The campaign against the embedded reference endpoints: it passes, and each seeded fault fails its suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import conformance

from conformance.reference.faults import FAULTS

# fault -> (suites to run, the test that must fail, text its findings must contain)
FAULT_TESTS = {
    "ins-wrong-oid": (["identity"], "identity/ins/search-by-ins", ""),
    "ins-unqualified": (["identity"], "identity/ins/ins-only-if-qualified", "VALI"),
    "patient-profile-invalid": (["identity"], "identity/ins/patients-conform", ""),
    "capability-missing-interaction": (
        ["fhir-basics", "documents"],
        "fhir-basics/capability/declares-national-interactions",
        "DocumentReference",
    ),
    "docref-invalid": (["documents"], "documents/iti67-find/document-references-conform", "custodian"),
    "binary-mismatch": (["documents"], "documents/iti68-retrieve/retrieve-matches-metadata", ""),
    "paging-broken": (["fhir-basics"], "fhir-basics/search/paging", ""),
    "count-ignored": (["fhir-basics"], "fhir-basics/search/count", "_count"),
    "errors-html": (["fhir-basics"], "fhir-basics/errors/unknown-id-is-operation-outcome", "OperationOutcome"),
    "xml-unsupported": (["fhir-basics"], "fhir-basics/formats/xml-by-accept", "xml"),
    "etag-missing": (["fhir-basics"], "fhir-basics/read/etag", "ETag"),
    "transaction-response-invalid": (["documents"], "documents/provide-iti65/provide-document-bundle", ""),
    "rpps-missing": (["directory"], "directory/annuaire/practitioner-by-rpps", ""),
    "finess-missing": (["directory"], "directory/annuaire/organization-by-finess", ""),
    "zbe-missing": (["pam"], "pam/receiver/messages-conform", "ZBE"),
    "msh12-wrong": (["pam"], "pam/receiver/messages-conform", "MSH-12"),
    "ack-wrong-msa2": (["pam"], "pam/sender/admission", "MSA-2"),
    "ack-aa-for-defective": (["pam"], "pam/sender/defective-message-rejected[missing-zbe]", "MSA-1"),
    "ack-no-err": (["pam"], "pam/sender/defective-message-rejected[missing-zbe]", "ERR"),
    "oru-obx-not-base64": (["documents-hl7v2"], "documents-hl7v2/transmission/emitted-documents", "Base64"),
    "xdm-hash-tampered": (["produced-documents"], "produced-documents/files/xdm-packages-conform", "SHA-1"),
}


def run(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "run"
    done = conformance("run", "--reference", "--output", out, "--lang", "en", "--quiet", *args, timeout=400)
    results = json.loads((out / "results.json").read_text(encoding="utf-8")) if (out / "results.json").exists() else {}
    return done.returncode, results, done.stdout + done.stderr


def test_every_fault_has_a_test():
    assert set(FAULT_TESTS) == set(FAULTS)


def test_full_campaign_against_reference(tmp_path):
    code, results, output = run(tmp_path)
    assert code == 0, output
    assert results["complete"] is True and (tmp_path / "run" / "manifest.json").exists()
    assert {t["suite"] for t in results["tests"]} == {
        "fhir-basics",
        "identity",
        "documents",
        "directory",
        "pam",
        "documents-hl7v2",
        "produced-documents",
    }
    skipped = {t["id"]: t["messages"] for t in results["tests"] if t["outcome"] == "skipped"}
    assert set(skipped) == {"fhir-basics/security/tls"}  # the reference serves plain http://
    assert "http://" in skipped["fhir-basics/security/tls"][0]
    not_passed = {t["id"]: t["messages"] for t in results["tests"] if t["outcome"] not in ("passed", "skipped")}
    assert not not_passed
    assert "Summary per suite" in output and "report.html" in output


@pytest.mark.parametrize("fault", sorted(FAULT_TESTS))
def test_seeded_fault_fails_its_suite(tmp_path, fault):
    suites, test_id, text = FAULT_TESTS[fault]
    code, results, output = run(tmp_path, "--faults", fault, *[a for s in suites for a in ("--suite", s)])
    assert code == 1, output
    tests = {t["id"]: t for t in results.get("tests", [])}
    assert tests, output
    assert test_id in tests, sorted(tests)
    target = tests[test_id]
    assert target["outcome"] == "failed", (target["outcome"], target["messages"])
    assert FAULTS[fault].capability in target["capabilities"] or FAULTS[fault].endpoint.startswith("fhir")
    if text:
        described = json.dumps([target["messages"], target["findings"]], ensure_ascii=False).lower()
        assert text.lower() in described, target["messages"]
