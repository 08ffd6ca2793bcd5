"""Suppression file: accepted findings stay visible as "supprimé" with their reason, never silently dropped;
for `validate` they no longer count; for `run` results.json and the report mark them and list the file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from lxml import html as lxml_html
from support.sample import fabricate_run

from conformance.cli import cli
from conformance.reports import write_run_outputs
from conformance.reports.results_json import load_schema, results_from_file
from conformance.suppressions import SuppressionError, load_suppressions

PATIENT = '{"resourceType": "Patient", "id": "p1", "text": {"status": "generated", "div": "<div xmlns=\\"http://www.w3.org/1999/xhtml\\">x</div>"}, "gender": "femme"}'
REASON = "Le DPI envoie le genre en français ; correctif en version 5.2 (ticket 4711)"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    patient = tmp_path / "patient.json"
    patient.write_text(PATIENT, encoding="utf-8")
    accepted = tmp_path / "suppressions.toml"
    accepted.write_text(
        f'[[suppress]]\nrule = "Terminology_TX_NoValid_*"\nlocation = "Patient.gender"\nreason = "{REASON}"\n',
        encoding="utf-8",
    )
    return {"patient": patient, "suppressions": accepted}


def _validate(*args: str | Path):
    return CliRunner().invoke(cli, ["validate", *map(str, args)], catch_exceptions=False)


def test_validate_without_suppressions_fails(files: dict[str, Path]) -> None:
    assert _validate(files["patient"]).exit_code == 1


def test_a_suppressed_finding_is_shown_with_its_reason_and_not_counted(files: dict[str, Path]) -> None:
    """SHALL: the accepted error is still printed, marked suppressed with the reason; the verdict is VALIDE."""
    result = _validate("--suppressions", files["suppressions"], files["patient"])
    assert result.exit_code == 0, result.output
    assert "VALIDE (0 erreur, 0 avertissement" in result.output and "1 supprimé" in result.output
    line = next(line for line in result.output.splitlines() if "Terminology_TX_NoValid_16" in line)
    assert line.lstrip().startswith("SUPPRIMÉ") and "ticket 4711" in line


def test_json_output_keeps_the_issue_as_information_with_the_reason(files: dict[str, Path]) -> None:
    result = _validate("--format", "json", "--lang", "en", "--suppressions", files["suppressions"], files["patient"])
    issues = json.loads(result.output)["issue"]
    issue = next(i for i in issues if any(e.get("valueString") == "Terminology_TX_NoValid_16" for e in i["extension"]))
    assert issue["severity"] == "information" and "ticket 4711" in issue["details"]["text"]


def test_a_bad_file_is_a_usage_error_naming_every_problem(tmp_path: Path, files: dict[str, Path]) -> None:
    """SHALL: exit 2, every problem at once (missing reason, unknown key), in French."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[[suppress]]\nrule = "x"\ncolour = "red"\n\n[[suppress]]\nreason = "r"\n', encoding="utf-8")
    result = _validate("--suppressions", bad, files["patient"])
    assert result.exit_code == 2
    output = result.output.replace("\u202f", " ")
    assert "« reason » est obligatoire" in output and "clé inconnue « colour »" in output
    assert "n°2" in output and "« rule » est obligatoire" in output
    with pytest.raises(SuppressionError):
        load_suppressions(tmp_path / "missing.toml")


def test_run_results_mark_suppressed_findings_and_list_the_file(tmp_path: Path) -> None:
    """SHALL: in a campaign the matched findings are marked (not removed), the file is named with its SHA-256
    and each entry says how many findings it matched; the report shows the reason; schema-valid."""
    accepted = tmp_path / "known.toml"
    accepted.write_text(
        '[[suppress]]\nrule = "*"\ntest = "identity/ins/*"\nreason = "Identité de test connue (ARS, 2026-11-20)"\n'
        '[[suppress]]\nrule = "never-matches"\nreason = "r"\n',
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    run, _ = fabricate_run(run_dir)
    run.configuration.setdefault("run", {})["suppressions"] = str(accepted)
    findings_before = sum(len(t.findings) for t in run.tests)
    write_run_outputs(run_dir, run)
    results = results_from_file(run_dir)
    jsonschema.validate(results, load_schema())
    marked = [f for t in results["tests"] for f in t["findings"] if "suppressed" in f]
    assert marked and all(
        t["id"].startswith("identity/ins/") for t in results["tests"] if any("suppressed" in f for f in t["findings"])
    )
    assert sum(len(t["findings"]) for t in results["tests"]) == findings_before  # nothing dropped
    entries = results["suppressions"]["entries"]
    assert entries[0]["matched"] == len(marked) and entries[1]["matched"] == 0
    assert results["suppressions"]["file"] == "known.toml" and len(results["suppressions"]["sha256"]) == 64
    page = lxml_html.fromstring((run_dir / "report.html").read_text(encoding="utf-8"))
    assert "Identité de test connue" in page.xpath("string(//table[@class='suppressions'])")
    rows = page.xpath("//tr[contains(@class, 'suppressed')]")
    assert rows and all("supprimé" in row.text_content() for row in rows)
