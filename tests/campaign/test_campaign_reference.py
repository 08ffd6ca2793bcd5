"""The campaign against the embedded reference endpoints: it passes, and each seeded fault fails its suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import conformance

from conformance.reference.faults import FAULTS, FHIR_FAULTS

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
    "hl7v2-cda-invalid": (["documents-hl7v2"], "documents-hl7v2/transmission/emitted-documents-cda-conform", "title"),
    "produced-cda-invalid": (["produced-documents"], "produced-documents/files/cda-documents-conform", "title"),
    "xdm-hash-tampered": (["produced-documents"], "produced-documents/files/xdm-packages-conform", "SHA-1"),
    "dmp-no-tls": (["dmp-feeding"], "dmp-feeding/transport/mutual-tls", ""),
    "dmp-tls-wrong-cert": (["dmp-feeding"], "dmp-feeding/vihf/vihf-consistent", "TLS"),
    "dmp-soap11": (["dmp-feeding"], "dmp-feeding/transport/soap12", "SOAP 1.2"),
    "dmp-action-missing": (["dmp-feeding"], "dmp-feeding/transport/ws-addressing", "Action"),
    "dmp-truncated-multipart": (["dmp-feeding"], "dmp-feeding/transport/mtom", "multipart"),
    "dmp-missing-part": (["dmp-feeding"], "dmp-feeding/transport/mtom", "cid:"),
    "dmp-vihf-missing": (["dmp-feeding"], "dmp-feeding/vihf/vihf-signed", "VIHF"),
    "dmp-vihf-signature-broken": (["dmp-feeding"], "dmp-feeding/vihf/vihf-signed", "signature"),
    "dmp-vihf-attribute-missing": (["dmp-feeding"], "dmp-feeding/vihf/vihf-attributes", "Secteur_Activite"),
    "dmp-vihf-version-wrong": (["dmp-feeding"], "dmp-feeding/vihf/vihf-attributes", "VIHF_Version"),
    "dmp-vihf-structure-mismatch": (["dmp-feeding"], "dmp-feeding/vihf/vihf-consistent", "authorInstitution"),
    "dmp-metadata-missing": (["dmp-feeding"], "dmp-feeding/metadata/required", "legalAuthenticator"),
    "dmp-authorperson-no-name": (["dmp-feeding"], "dmp-feeding/metadata/author-formats", "authorPerson"),
    "dmp-authorinstitution-format": (["dmp-feeding"], "dmp-feeding/metadata/author-formats", "authorInstitution"),
    "dmp-patientid-not-ins": (["dmp-feeding"], "dmp-feeding/metadata/patient-ins", "INS"),
    "dmp-ins-unknown-oid": (["dmp-feeding"], "dmp-feeding/metadata/patient-ins", "1.2.250.1.213.1.4.99"),
    "dmp-classcode-unknown": (["dmp-feeding"], "dmp-feeding/metadata/value-sets", "J57"),
    "dmp-hash-wrong": (["dmp-feeding"], "dmp-feeding/metadata/hash-and-size", "SHA-1"),
    "dmp-xades-missing": (["dmp-feeding"], "dmp-feeding/metadata/submission-signed", "XAdES"),
    "dmp-xades-manifest-wrong": (["dmp-feeding"], "dmp-feeding/metadata/submission-signed", "manifest"),
    "dmp-size-wrong": (["dmp-feeding"], "dmp-feeding/metadata/hash-and-size", "size"),
    "dmp-uniqueid-mismatch": (["dmp-feeding"], "dmp-feeding/metadata/matches-cda", "uniqueId"),
    "dmp-cda-invalid": (["dmp-feeding"], "dmp-feeding/metadata/cda-conforms", ""),
    "dmp-query-no-patient": (["dmp-feeding"], "dmp-feeding/transactions/stored-queries", "XDSDocumentEntryPatientId"),
    "dmp-update-wrong-status": (["dmp-feeding"], "dmp-feeding/transactions/updates", "Hidden"),
    "dmp-repo-hash-unchecked": (["dmp-repository"], "dmp-repository/register/refuses-wrong-hash", "Failure"),
    "dmp-repo-unknown-patient-accepted": (
        ["dmp-repository"],
        "dmp-repository/register/refuses-unknown-patient",
        "Failure",
    ),
    "dmp-repo-metadata-unchecked": (["dmp-repository"], "dmp-repository/register/refuses-missing-metadata", "Failure"),
    "dmp-repo-error-code-wrong": (["dmp-repository"], "dmp-repository/register/error-codes-standard", "DMP_ERREUR"),
    "dmp-repo-partial-success": (
        ["dmp-repository"],
        "dmp-repository/register/accepts-valid-submission",
        "PartialSuccess",
    ),
    "dmp-repo-action-wrong": (["dmp-repository"], "dmp-repository/register/answers-addressed", "Action"),
    "dmp-repo-no-relatesto": (["dmp-repository"], "dmp-repository/register/answers-addressed", "RelatesTo"),
    "dmp-repo-find-empty": (["dmp-repository"], "dmp-repository/retrieve/find-documents", "FindDocuments"),
    "dmp-repo-retrieve-corrupt": (["dmp-repository"], "dmp-repository/retrieve/retrieve-identical", "differs"),
    "dmp-repo-archive-ignored": (["dmp-repository"], "dmp-repository/update/archive", "Archived"),
}
# MSSanté faults: (suite, the one test that must fail, text its findings must contain); every other test of the
# suite passes. The CDA schematron pass of the XDM test is switched off except for the fault it judges.
MSS_CLIENT = "mssante-client"
MSS_RECEIVER = "mssante-receiver"
MSS_FAULT_TESTS = {
    "mss-plaintext-first": (MSS_CLIENT, "mssante-client/transport/starttls", "STARTTLS"),
    "mss-imap-plaintext-first": (MSS_CLIENT, "mssante-client/imap/fetches-over-imap-starttls", "in clear"),
    "mss-auth-plain": (MSS_CLIENT, "mssante-client/transport/authentication", "PLAIN"),
    "mss-tls-legacy-accepted": (MSS_CLIENT, "mssante-client/tls/refuses-legacy-tls", "TLS 1.0/1.1"),
    "mss-tls-any-cipher": (MSS_CLIENT, "mssante-client/tls/refuses-other-cipher", "CHACHA20"),
    "mss-tls-expired-accepted": (MSS_CLIENT, "mssante-client/tls/refuses-expired-certificate", "expired"),
    "mss-tls-any-ca": (MSS_CLIENT, "mssante-client/tls/refuses-untrusted-ca", "untrusted"),
    "mss-body-html": (MSS_CLIENT, "mssante-client/message/body-type", "text/html"),
    "mss-message-id-missing": (MSS_CLIENT, "mssante-client/message/message-id", "Message-ID"),
    "mss-from-no-display": (MSS_CLIENT, "mssante-client/message/from-display", "display name"),
    "mss-reply-to-missing": (MSS_CLIENT, "mssante-client/message/reply-to", "Reply-To"),
    "mss-latin1-text": (MSS_CLIENT, "mssante-client/message/utf8", "iso-8859-1"),
    "mss-nil-missing": (MSS_CLIENT, "mssante-client/message/nil", "X-MSS-NIL"),
    "mss-ins-header-wrong": (MSS_CLIENT, "mssante-client/message/ins", "OUI"),
    "mss-codecda-wrong": (MSS_CLIENT, "mssante-client/message/codecda", "11488-4"),
    "mss-mdn-not-requested": (MSS_CLIENT, "mssante-client/message/mdn-request", "Disposition-Notification-To"),
    "mss-subject-wrong": (MSS_CLIENT, "mssante-client/message/subject", "XDM/1.0/DDM"),
    "mss-two-patients": (MSS_CLIENT, "mssante-client/content/one-patient", "one patient"),
    "mss-xdm-hash": (MSS_CLIENT, "mssante-client/content/xdm-archive", "SHA-1"),
    "mss-pdf-name-wrong": (MSS_CLIENT, "mssante-client/content/pdf", "compte-rendu.pdf"),
    "mss-patient-address-ipp": (MSS_CLIENT, "mssante-client/patient/patient-address", "1234567890121"),
    "mss-receiver-accepts-unknown": (MSS_RECEIVER, "mssante-receiver/integration/unknown-patient", "902"),
    "mss-receiver-ignores-ins-mismatch": (MSS_RECEIVER, "mssante-receiver/integration/ins-mismatch", "904"),
    "mss-receiver-generic-code": (MSS_RECEIVER, "mssante-receiver/integration/ins-incomplete", "905"),
    "mss-receiver-integrates-two-patients": (MSS_RECEIVER, "mssante-receiver/integration/two-patients", "906"),
    "mss-receiver-ignores-hash": (MSS_RECEIVER, "mssante-receiver/integration/broken-hash", "906"),
    "mss-mdn-not-report": (MSS_RECEIVER, "mssante-receiver/integration/mdn-structure", "multipart/report"),
}
# the DMP-feeding faults are each proven in-process (tests/dmp/test_dmp_faults.py); three run the campaign here
_DMP_CAMPAIGN_FAST = {"dmp-hash-wrong", "dmp-vihf-signature-broken", "dmp-cda-invalid"}
_SLOW = {n for n in FAULT_TESTS if n.startswith("dmp-") and not n.startswith("dmp-repo-")} - _DMP_CAMPAIGN_FAST


def run(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "run"
    done = conformance("run", "--reference", "--output", out, "--lang", "en", "--quiet", *args, timeout=400)
    results = json.loads((out / "results.json").read_text(encoding="utf-8")) if (out / "results.json").exists() else {}
    return done.returncode, results, done.stdout + done.stderr


def test_every_fault_has_a_test():
    # FHIR faults are also judged, each against every FHIR suite, by tests/reference/test_fault_exactness.py
    assert set(FAULT_TESTS) | set(MSS_FAULT_TESTS) | set(FHIR_FAULTS) == set(FAULTS)


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
        "mssante-client",
        "mssante-receiver",
        "dmp-feeding",
        "dmp-repository",
    }
    skipped = {t["id"]: t["messages"] for t in results["tests"] if t["outcome"] == "skipped"}
    assert set(skipped) == {"fhir-basics/security/tls"}  # the reference serves plain http://
    assert "http://" in skipped["fhir-basics/security/tls"][0]
    not_passed = {t["id"]: t["messages"] for t in results["tests"] if t["outcome"] not in ("passed", "skipped")}
    assert not not_passed
    assert "Summary per suite" in output and "report.html" in output


def _fault_param(name: str):
    return pytest.param(name, marks=pytest.mark.slow) if name in _SLOW else name


@pytest.mark.parametrize("fault", [_fault_param(n) for n in sorted(FAULT_TESTS)])
def test_seeded_fault_fails_its_suite(tmp_path, fault):
    suites, test_id, text = FAULT_TESTS[fault]
    code, results, output = run(tmp_path, "--faults", fault, *[a for s in suites for a in ("--suite", s)])
    tests = {t["id"]: t for t in results.get("tests", [])}
    assert tests, output
    assert test_id in tests, sorted(tests)
    target = tests[test_id]
    should = target["requirements"][0]["strength"] != "SHALL"  # a SHOULD not met is a warning, exit 0
    assert target["outcome"] == ("warning" if should else "failed"), (target["outcome"], target["messages"])
    assert code == (0 if should else 1), output
    assert FAULTS[fault].capability in target["capabilities"] or FAULTS[fault].endpoint.startswith("fhir")
    if text:
        described = json.dumps([target["messages"], target["findings"]], ensure_ascii=False).lower()
        assert text.lower() in described, target["messages"]


# one fault per capability in the default run; every fault in the slow run (the rules and the reference's
# behaviours are also checked fault by fault, in-process, in tests/mssante)
MSS_QUICK = {
    "mss-plaintext-first",
    "mss-tls-any-ca",
    "mss-nil-missing",
    "mss-two-patients",
    "mss-patient-address-ipp",
    "mss-receiver-accepts-unknown",
    "mss-mdn-not-report",
}


@pytest.mark.parametrize(
    "fault", [f if f in MSS_QUICK else pytest.param(f, marks=pytest.mark.slow) for f in sorted(MSS_FAULT_TESTS)]
)
def test_seeded_mssante_fault_fails_exactly_its_test(tmp_path, fault):
    suite, test_id, text = MSS_FAULT_TESTS[fault]
    config = tmp_path / "campaign.toml"
    disabled = "[]" if fault == "mss-xdm-hash" else '["mss-xdm"]'
    config.write_text(f"[mssante]\nrules_disabled = {disabled}\n", encoding="utf-8")
    code, results, output = run(tmp_path, "--config", str(config), "--faults", fault, "--suite", suite)
    assert code == 1, output
    tests = {t["id"]: t for t in results.get("tests", [])}
    assert test_id in tests, sorted(tests)
    failing = sorted(i for i, t in tests.items() if t["outcome"] not in ("passed", "skipped"))
    assert failing == [test_id], {i: tests[i]["messages"] for i in failing}
    target = tests[test_id]
    assert FAULTS[fault].capability in target["capabilities"]
    described = json.dumps([target["messages"], target["findings"]], ensure_ascii=False).lower()
    assert text.lower() in described, target["messages"]
