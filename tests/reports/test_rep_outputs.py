"""junit.xml, testreport.json (FHIR R4 TestReport, validated by the project's validator), allure-results,
and `conformance report` re-rendering beside a sealed run without breaking `verify`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from conformance.cli import cli
from conformance.evidence.sealing import verify_details
from conformance.reports.allure import allure_available


def test_junit_counts_and_cases(run_folder: Path) -> None:
    root = etree.parse(str(run_folder / "junit.xml")).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("10", "2", "1", "2")
    cases = root.findall(".//testcase")
    assert len(cases) == 10
    failed = [c for c in cases if c.find("failure") is not None]
    assert {c.get("name") for c in failed} == {"identity/ins/patient-ins-profile", "movements/pam/ack-wrong-control-id"}
    assert "fr-core-1" in failed[0].find("failure").text or "fr-core-1" in failed[1].find("failure").text


def test_testreport_shape(run_folder: Path) -> None:
    report = json.loads((run_folder / "testreport.json").read_text())
    assert report["resourceType"] == "TestReport" and report["status"] == "completed" and report["result"] == "fail"
    results = [t["action"][0]["assert"]["result"] for t in report["test"]]
    assert sorted(set(results)) == ["error", "fail", "pass", "skip"]
    assert report["score"] == round(100 * 5 / 8, 2)


def _fhir_validate():
    try:
        from conformance.validation.fhir import validate
    except ImportError:
        pytest.skip("the project's FHIR validator (conformance.validation.fhir.validate) is not there yet")
    return validate


def test_testreport_validates_with_the_projects_fhir_validator(run_folder: Path) -> None:
    validate = _fhir_validate()
    report = json.loads((run_folder / "testreport.json").read_text())
    outcome = validate(report)
    assert outcome.is_valid, outcome.render("en")
    assert not outcome.warnings, outcome.render("en")
    broken = dict(report)
    del broken["status"]
    assert not validate(broken).is_valid  # the control: the validator does check TestReport


def test_allure_results_written(run_folder: Path) -> None:
    files = list((run_folder / "allure-results").glob("*-result.json"))
    assert len(files) == 10
    statuses = {json.loads(f.read_text())["status"] for f in files}
    assert statuses == {"passed", "failed", "broken", "skipped"}


def test_report_command_renders_beside_a_sealed_run_and_verify_still_passes(run_folder: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["report", str(run_folder), "--lang", "en", "--pdf"])
    assert result.exit_code == 0, result.output
    html = run_folder / "renderings" / "report.en.html"
    assert html.is_file() and (run_folder / "renderings" / "report.en.pdf").read_bytes().startswith(b"%PDF")
    assert 'lang="en"' in html.read_text()
    details = verify_details(run_folder)
    assert details.intact, details.problems
    assert "renderings/report.en.html" in details.renderings
    verify = runner.invoke(cli, ["verify", str(run_folder), "--lang", "en"])
    assert verify.exit_code == 0 and "not sealed (renderings/)" in verify.output


def test_report_command_on_a_non_run_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code != 0 and "results.json" in result.output


@pytest.mark.network_tools
@pytest.mark.skipif(not allure_available(), reason="Allure 3 not installed (make node-deps)")
def test_allure_rendering(run_folder: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(run_folder), "--allure"])
    assert result.exit_code == 0, result.output
    report = run_folder / "renderings" / "allure-report"
    assert (report / "index.html").is_file()
    assert verify_details(run_folder).intact


def test_write_pdf_before_sealing(tmp_path: Path) -> None:
    from support.sample import fabricate_run

    from conformance.evidence.sealing import seal_run
    from conformance.reports import write_pdf, write_run_outputs
    from conformance.reports.pdf import find_chromium

    if find_chromium() is None and importlib.util.find_spec("weasyprint") is None:
        pytest.skip("no PDF engine (chromium or weasyprint)")
    run, _ = fabricate_run(tmp_path)
    write_run_outputs(tmp_path, run)
    assert write_pdf(tmp_path).read_bytes().startswith(b"%PDF")
    seal_run(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "report.pdf" in manifest["files"] and verify_details(tmp_path).intact


def test_report_command_on_a_damaged_results_file(run_folder: Path) -> None:
    results = run_folder / "results.json"
    data = json.loads(results.read_text())
    del data["tests"][0]["outcome"]
    results.write_text(json.dumps(data))
    outcome = CliRunner().invoke(cli, ["report", str(run_folder), "--lang", "en", "--force"])
    assert outcome.exit_code != 0 and "cannot be rendered" in outcome.output
    results.write_text("{ not json")
    assert CliRunner().invoke(cli, ["report", str(run_folder)]).exit_code != 0


def test_exchanges_outside_tests_are_listed(tmp_path: Path) -> None:
    from support.sample import fabricate_run

    from conformance.evidence.exchange import HttpExchange, HttpRequestRecord, utc_now
    from conformance.evidence.recorder import EvidenceRecorder
    from conformance.reports import write_run_outputs

    recorder = EvidenceRecorder(tmp_path)
    now = utc_now()
    recorder.record(
        HttpExchange(HttpRequestRecord("POST", "http://127.0.0.1:9/token", {}), None, now, now, error="refused")
    )
    run, _ = fabricate_run(tmp_path, recorder=recorder)
    write_run_outputs(tmp_path, run)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["run_evidence"] == ["evidence/_run/001-http.json"]
    assert 'href="evidence/_run/001-http.json"' in (tmp_path / "report.html").read_text()


def test_report_for_another_programme(run_folder: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(run_folder), "--programme", "hopen-2019"])
    assert result.exit_code == 0, result.output
    page = (run_folder / "renderings" / "report.hopen-2019.fr.html").read_text()
    assert 'data-indicator="hopen-2019.D2.2"' in page and "2019 — socle" in page
    assert verify_details(run_folder).intact
    bad = CliRunner().invoke(cli, ["report", str(run_folder), "--programme", "nope"])
    assert bad.exit_code != 0 and "programme inconnu" in bad.output
