"""What a reader sees first in report.html: failures before passes, findings grouped by rule with every
location, terminology / package / CDA-pack notices once in an annex, French dates, a readable summary line."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from conformance.reports.html import render_html
from conformance.reports.presentation import config_rows, counts_line, local_time
from conformance.reports.results_json import results_from_file


def _finding(rule: str, location: str, severity: str = "error", message: str = "m", source: str = "fhir") -> dict:
    return {
        "severity": severity,
        "code": "invalid",
        "rule": rule,
        "location": location,
        "message": {"fr": message, "en": message},
        "source": source,
    }


@pytest.fixture
def results(run_folder: Path) -> dict[str, Any]:
    data = copy.deepcopy(results_from_file(run_folder))
    failed = next(t for t in data["tests"] if t["id"] == "identity/ins/patient-ins-profile")
    failed["findings"] = [
        _finding("pam-fr-ins-c", f"PID-3[{i}]", message=f"INS-C interdit (identifiant {i})") for i in range(1, 6)
    ] + [
        _finding("Terminology_TX_System_NotKnown", "Patient.identifier[0].type", "information"),
        _finding("cda-pack-include-case", "../include/E_x.sch", "warning", source="tool"),
    ]
    other = next(t for t in data["tests"] if t["id"] == "movements/pam/ack-wrong-control-id")
    other["findings"] = [
        *other["findings"],
        _finding("cda-pack-include-case", "../include/E_x.sch", "warning", source="tool"),
        _finding("Terminology_TX_System_NotKnown", "Patient.identifier[0].type", "information"),
    ]
    data["warnings"] = [
        {
            "code": None,
            "fr": f"Dépendance… {v}",
            "en": f"FHIR package dependency not available: ans.fr.terminologies#{v}",
        }
        for v in ("1.7.0", "1.10.0")
    ] + data["warnings"]
    data["target"] = {"name": "SIH Exemple", "fhir_base_url": "https://sih.example/fhir"}
    data["started"] = "2026-12-02T09:45:51.158691+00:00"
    data["configuration"] = {"tls": {"ca_bundle": "/home/alice/certs/ca.pem"}, "fhir": {"base_url": "https://x/fhir"}}
    return data


def _page(results: dict[str, Any], lang: str = "fr") -> lxml_html.HtmlElement:
    return lxml_html.fromstring(render_html(results, lang))


def test_failures_come_first_and_passed_tests_are_folded(results: dict[str, Any]) -> None:
    """SHALL: the detail opens on what failed; passed tests are collapsed at the end."""
    page = _page(results)
    outcomes = [block.get("data-outcome") for block in page.xpath("//h2[@id='tests']/following::div[@data-outcome]")]
    first_passed = outcomes.index("passed")
    assert set(outcomes[:first_passed]) <= {"failed", "error", "skipped"}
    assert outcomes[0] == "failed" and set(outcomes[first_passed:]) == {"passed"}
    assert page.xpath("//details[@id='passed-tests'][not(@open)]//div[@data-outcome='passed']")


def test_repeated_findings_are_one_row_with_count_and_every_location(results: dict[str, Any]) -> None:
    """SHALL: five findings of one rule read as one row "5", all five locations and messages, none cut."""
    page = _page(results)
    rows = page.xpath("//div[@data-outcome='failed']//table[@class='findings']//tr[td[2]='pam-fr-ins-c']")
    assert len(rows) == 1
    assert rows[0].xpath("string(td[3])").strip() == "5"
    text = rows[0].text_content()
    assert all(f"PID-3[{i}]" in text and f"(identifiant {i})" in text for i in range(1, 6))
    assert "…" not in text


def test_terminology_and_pack_notices_are_listed_once_in_the_annex(results: dict[str, Any]) -> None:
    """SHALL: notices the user cannot fix leave the tests' tables and appear once, naming the tests."""
    page = _page(results)
    in_tests = page.xpath(
        "//div[@data-outcome]//td[2][.='Terminology_TX_System_NotKnown' or .='cda-pack-include-case']"
    )
    assert in_tests == []
    annex = page.xpath("//h2[@id='notices']/following-sibling::table[1]")[0]
    pack = annex.xpath(".//tr[td[2]='cda-pack-include-case']")
    assert len(pack) == 1 and pack[0].xpath("string(td[3])").strip() == "1"  # one file of the pack, once
    assert "identity/ins/patient-ins-profile" in pack[0].text_content()
    assert "movements/pam/ack-wrong-control-id" in pack[0].text_content()


def test_unavailable_packages_are_named_once_outside_the_warnings_box(results: dict[str, Any]) -> None:
    page = _page(results)
    assert "ans.fr.terminologies" not in page.xpath("string(//*[@id='warnings'])")
    line = page.xpath("string(//*[@id='missing-packages'])")
    assert line.count("ans.fr.terminologies") == 1 and "1.7.0, 1.10.0" in line


def test_dates_target_and_counts_read_naturally(results: dict[str, Any]) -> None:
    """SHOULD: French local time to the second; the system under test as a table; one unambiguous line."""
    page = _page(results)
    meta = page.xpath("string(//dl[@class='meta'])")
    assert "02/12/2026 à 10:45:51 (heure de Paris" in meta and ".158691" not in meta
    rows = {r.xpath("string(th)"): r.xpath("string(td)") for r in page.xpath("//table[@id='target']//tr")}
    assert rows["URL de base FHIR"] == "https://sih.example/fhir" and rows["Nom"] == "SIH Exemple"
    line = page.xpath("string(//*[@id='counts'])")
    assert re.fullmatch(r"10 tests\u202f: 2 échoués, 1 en erreur \(banc\), 2 non exécutés, 5 réussis", line), line


def test_indicator_caveats_are_one_note_not_three_per_row(results: dict[str, Any]) -> None:
    page = _page(results)
    table = page.xpath("string(//table[@id='indicator-table'])")
    assert "non confirmé" not in table and "non officiel" not in table and "pas de code" not in table
    assert len(page.xpath("//*[@id='indicator-sources']")) == 1


def test_configuration_annex_hides_local_paths(results: dict[str, Any]) -> None:
    """SHALL: where files sit on the tester's machine does not reach the report."""
    page = _page(results)
    annex = page.xpath("string(//*[@id='configuration-table'])")
    assert "/home/alice" not in annex and "…/ca.pem" in annex and "https://x/fhir" in annex
    assert ("tls.ca_bundle", "…/ca.pem") in config_rows({"tls": {"ca_bundle": "C:\\certs\\ca.pem"}})


def test_english_rendering_uses_english_words(results: dict[str, Any]) -> None:
    page = _page(results, "en")
    assert page.xpath("string(//*[@id='counts'])").startswith("10 tests: 2 failed")
    assert counts_line({"total": 1, "passed": 1}, "en") == "1 test: 1 passed"
    assert local_time("2026-07-01T08:00:00+00:00", "fr").startswith("01/07/2026 à 10:00:00")
