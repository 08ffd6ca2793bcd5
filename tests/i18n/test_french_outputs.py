"""French runs read as French: the commands users type, and the report of a reference campaign, carry no
English fragment (outside identifiers, paths and quoted values). Checked with the real `conformance` command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.settings import cda_pack_dir, hl7v2_samples_dir
from conformance.validation.cda.xdm_build import build_xdm

from .conftest import conformance
from .english import english_fragments, html_prose

INVALID_PATIENT = '{"resourceType": "Patient", "id": "p1", "birthDate": "25/12/1974", "gender": "femme", "foo": 1}'
INVALID_PATIENT_XML = (
    '<Patient xmlns="http://hl7.org/fhir"><id value="p2"/><gender value="femme"/><birthDate value="25/12/1974"/>'
    '<unknownElement value="x"/></Patient>'
)


def _french(output: str) -> None:
    assert english_fragments(output) == [], output[-3000:]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    patient = folder / "patient.json"
    patient.write_text(INVALID_PATIENT, encoding="utf-8")
    oru = next(hl7v2_samples_dir().rglob("message_ORU_CR_Bio_INIT_N3_SEGUR.hl7"))
    cda = cda_pack_dir() / "ExemplesCDA" / "CSE-CS24_2024.01.xml"
    patient_xml = folder / "patient.xml"
    patient_xml.write_text(INVALID_PATIENT_XML, encoding="utf-8")
    # a CDA with one defect reported by three checks (XSD, header rule, schematron)
    broken_cda = folder / "sans-id.xml"
    broken_cda.write_bytes(re.sub(rb"\n\s*<id root=\"[^\"]*\"/>", b"", cda.read_bytes(), count=1))
    broken = folder / "tronque.json"
    broken.write_text(INVALID_PATIENT[:40], encoding="utf-8")
    xdm = folder / "envoi.zip"
    xdm.write_bytes(build_xdm([cda.read_bytes()]))
    return {
        "fhir": patient,
        "fhir-broken": broken,
        "fhir-xml": patient_xml,
        "hl7v2": oru,
        "cda": cda,
        "cda-defect": broken_cda,
        "xdm": xdm,
    }


@pytest.mark.parametrize("kind", ["fhir", "fhir-broken", "fhir-xml", "hl7v2", "cda", "cda-defect", "xdm"])
def test_validate_speaks_french(inputs: dict[str, Path], kind: str) -> None:
    """SHALL: verdict, counts, severities and the harness's own messages are French."""
    completed = conformance("validate", inputs[kind])
    assert completed.returncode in (0, 1), completed.stderr
    assert "INVALIDE (" in completed.stdout or "VALIDE (" in completed.stdout
    assert "error(s)" not in completed.stdout and "ERROR " not in completed.stdout
    if kind != "fhir-broken":  # not read as a resource: nothing applied
        assert "Appliqué\u202f: " in completed.stdout  # what the input was judged against
    _french(completed.stdout + completed.stderr)


def test_the_english_detector_finds_english() -> None:
    """The check above can fail: English prose is found, quoted texts and identifiers are not."""
    assert english_fragments("ERREUR [x] : The value for code SHALL be selected from the value set")
    assert english_fragments("  --profile URL  Profile canonical URL to validate against (repeatable).")
    assert english_fragments("Erreur : allure generate failed (exit 1)")
    assert english_fragments("ERREUR [x] : « The value SHALL be 'EVN' » (SMDS_CDAClinicalDocument)") == []
    assert english_fragments("Rapport : /tmp/the-run/report.html ; règle Validation_VAL_Profile_Unknown") == []
    assert english_fragments("Contrainte x non respectée : « The IG's text » [a.exists() or b.exists()]") == []


def test_validate_summary_speaks_french(inputs: dict[str, Path]) -> None:
    completed = conformance("validate", "--summary", inputs["fhir"], inputs["hl7v2"])
    assert "Total\u202f: 3 éléments" in completed.stdout  # the ORU carries a CDA: two verdicts
    _french(completed.stdout)


def test_the_same_output_in_english_on_request(inputs: dict[str, Path]) -> None:
    completed = conformance("validate", "--lang", "en", inputs["fhir"])
    assert "INVALID (3 errors, 1 warning)" in completed.stdout
    assert "ERROR " in completed.stdout


@pytest.mark.parametrize(
    "args",
    [("validate", "--bogus", "x"), ("validate",), ("valdate",), ("validate", "/nonexistent/file.json")],
    ids=["unknown-option", "missing-argument", "unknown-command", "missing-file"],
)
def test_usage_errors_are_french(args: tuple[str, ...]) -> None:
    """SHALL: the command-line library's usage errors are French too (exit 2)."""
    completed = conformance(*args)
    assert completed.returncode == 2
    assert "Erreur\u202f:" in completed.stderr and "Utilisation\u202f:" in completed.stderr
    _french(completed.stderr)


def test_usage_errors_in_english_with_lang_en() -> None:
    completed = conformance("validate", "--lang", "en", "/nonexistent/file.json")
    assert completed.returncode == 2
    assert "Error: Invalid value" in completed.stderr


def test_serve_list_speaks_french() -> None:
    completed = conformance("serve", "--list")
    assert completed.returncode == 0
    assert "Défauts injectables" in completed.stdout and "Modes hostiles" in completed.stdout
    _french(completed.stdout)


def test_packages_list_speaks_french() -> None:
    completed = conformance("packages", "list")
    assert completed.returncode == 0
    assert "Examples" not in completed.stdout
    _french(completed.stdout)


def test_keys_speak_french(tmp_path: Path) -> None:
    env = {"HOPEN_TRUSTED_KEYS": str(tmp_path / "trusted")}
    created = conformance("keys", "create", tmp_path / "seal.pem", "--organisation", "CH Exemple", env=env)
    assert created.returncode == 0, created.stderr
    listed = conformance("keys", "list", env=env)
    _french(created.stdout + listed.stdout)


def test_verify_of_a_missing_folder_is_a_usage_error() -> None:
    """SHALL: a folder that does not exist is not "altered" (exit 2, says so in French)."""
    completed = conformance("verify", "/nonexistent/run")
    assert completed.returncode == 2
    assert "ALTÉRÉ" not in completed.stderr
    _french(completed.stderr)


def test_help_speaks_french() -> None:
    for args in ((), ("validate",), ("run",), ("serve",), ("report",), ("verify",), ("packages", "list")):
        completed = conformance(*args, "--help")
        assert completed.returncode == 0 and "Utilisation\u202f:" in completed.stdout
        _french(completed.stdout)


def test_reference_run_without_fault_speaks_french(tmp_path: Path) -> None:
    """SHALL: a passing campaign's console and report read as French too."""
    run_dir = tmp_path / "run"
    completed = conformance("run", "--reference", "--suite", "identity", "--suite", "pam", "--output", run_dir)
    assert completed.returncode == 0, completed.stderr[-3000:]
    _french(completed.stdout + completed.stderr)
    assert english_fragments(html_prose((run_dir / "report.html").read_text(encoding="utf-8"))) == []


def test_reference_run_with_faults_of_every_family_speaks_french(tmp_path: Path) -> None:
    """SHALL: failures of the FHIR, PAM, documents, XDM, DMP and MSSanté suites are reported in French."""
    faults = "patient-profile-invalid,errors-html,paging-broken,zbe-missing,ack-wrong-msa2,xdm-hash-tampered,"
    faults += "dmp-vihf-missing,dmp-repo-hash-unchecked,mss-reply-to-missing,mss-latin1-text,docref-invalid"
    run_dir = tmp_path / "run"
    completed = conformance("run", "--reference", "--faults", faults, "--quiet", "--output", run_dir)
    assert completed.returncode == 1, completed.stderr[-3000:]
    _french(completed.stdout + completed.stderr)
    assert english_fragments(html_prose((run_dir / "report.html").read_text(encoding="utf-8"))) == []


def test_reference_run_report_and_verify_speak_french(faulty_reference_run) -> None:
    """SHALL: the HTML report of a campaign with failures, verify and report read as French."""
    run_dir, completed = faulty_reference_run
    _french(completed.stdout + completed.stderr)  # the run console: summary, warnings, report path
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert english_fragments(html_prose(report)) == []
    verified = conformance("verify", run_dir)
    assert verified.returncode == 0
    _french(verified.stdout)
    rendered = conformance("report", run_dir)
    assert rendered.returncode == 0, rendered.stderr
    _french(rendered.stdout + rendered.stderr)
