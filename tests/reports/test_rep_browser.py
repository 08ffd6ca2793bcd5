"""report.html in a real headless browser (Debian's chromium): renders in French and English with the
indicator table, prints to PDF; and it is self-contained (nothing fetched from outside)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from conformance.reports import rerender_run
from conformance.reports.pdf import chromium_command, find_chromium, html_to_pdf

pytestmark = pytest.mark.browser
BROWSER = find_chromium()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="Debian's chromium is not installed (make system-deps)")


def _chromium(profile: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    command = chromium_command(BROWSER, str(profile), *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _dom(page: Path, profile: Path) -> lxml_html.HtmlElement:
    completed = _chromium(profile, "--dump-dom", page.resolve().as_uri())
    assert completed.returncode == 0, completed.stderr[-2000:]
    return lxml_html.fromstring(completed.stdout)


def test_report_is_self_contained(run_folder: Path) -> None:
    text = (run_folder / "report.html").read_text()
    tree = lxml_html.fromstring(text)
    assert not tree.xpath("//script | //link | //iframe | //img[not(starts-with(@src, 'data:'))]")
    external = [h for h in tree.xpath("//a/@href") if re.match(r"^[a-z]+:", h)]
    assert external == []
    assert "@media print" in text and "Content-Security-Policy" in text


@needs_browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_report_renders_in_chromium_with_the_indicator_table(run_folder: Path, tmp_path: Path, lang: str) -> None:
    page = run_folder / "report.html" if lang == "fr" else rerender_run(run_folder, lang="en")[0]
    dom = _dom(page, tmp_path / "profile")
    assert dom.xpath("string(/html/@lang)") == lang
    rows = dom.xpath("//table[@id='indicator-table']/tbody/tr")
    assert len(rows) == 4  # the four HOP'EN 2 usage-objective groups
    statuses = {row.get("data-status") for row in rows}
    assert {"not_met", "not_tested"} <= statuses
    heading = dom.xpath("string(//h1)")
    assert heading == ("Rapport de conformité" if lang == "fr" else "Conformance report")
    statement = dom.xpath("string(//*[@id='statement'])")
    assert ("chiffres propres de l'établissement" if lang == "fr" else "establishment's own figures") in statement
    tests = dom.xpath("//div[@data-outcome]")
    assert {t.get("data-outcome") for t in tests} == {"passed", "failed", "error", "skipped"}
    links = dom.xpath("//ul[@class='evidence']//a/@href")
    prefix = "" if lang == "fr" else "../"
    assert links and all(link.startswith(prefix + "evidence/") for link in links)
    for link in links:
        assert (page.parent / link).resolve().is_file(), link


@needs_browser
def test_screenshot_and_pdf(run_folder: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    completed = _chromium(
        tmp_path / "profile", "--window-size=1200,1800", f"--screenshot={shot}", (run_folder / "report.html").as_uri()
    )
    assert completed.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = html_to_pdf(run_folder / "report.html", tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    if pdftotext := subprocess.run(["which", "pdftotext"], capture_output=True, text=True).stdout.strip():
        text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
        assert "Rapport de conformité" in text and "Indicateurs" in text
