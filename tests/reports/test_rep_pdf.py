"""report.pdf as printed by Debian's headless chromium: compact, numbered pages, outcomes readable in black
and white (a mark and a word, not only a colour), no local path; read back with a PDF parser."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from conformance.reports import rerender_run
from conformance.reports.pdf import find_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="Debian's chromium is not installed (make system-deps)"),
]
CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def _pages(pdf: Path) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(pdf).pages]


def _check_numbered_and_dense(pages: list[str]) -> None:
    for number, text in enumerate(pages, 1):
        assert f"Page {number} / {len(pages)}" in text, f"page {number} has no page number"
    # no mostly blank page before the last; a page may hold a single tall findings row (rows are never split
    # across pages), a few hundred characters: a mostly blank page has far fewer
    for number, text in enumerate(pages[:-1], 1):
        assert len(text) > 300, f"page {number} is mostly blank ({len(text)} characters)"


def test_small_run_pdf(run_folder: Path) -> None:
    """SHALL: page numbers on every page; Réussi and Échoué told apart without colour (✔ / ✘)."""
    pdf = next(p for p in rerender_run(run_folder, pdf=True) if p.suffix == ".pdf")
    pages = _pages(pdf)
    assert len(pages) <= 4
    _check_numbered_and_dense(pages)
    text = "\n".join(pages)
    assert re.search(r"✘\s*Échoué", text) and re.search(r"✔\s*Réussi", text)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("pdf") / "run"
    completed = subprocess.run(
        [CONFORMANCE, "run", "--reference", "--faults", "ins-wrong-oid", "--output", str(run_dir), "--quiet", "--pdf"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 1, completed.stderr[-3000:]
    return run_dir


def test_reference_campaign_pdf_is_compact(reference_run: Path) -> None:
    """SHOULD: about a page per 5 to 10 tests, numbered, no blank page, no local path, no raw JSON."""
    pages = _pages(reference_run / "report.pdf")
    tests = len(re.findall(r'data-outcome="', (reference_run / "report.html").read_text(encoding="utf-8")))
    assert len(pages) <= max(3, tests // 5), (len(pages), tests)
    _check_numbered_and_dense(pages)
    text = "\n".join(pages)
    assert not re.search(r"/tmp/|/home/|/root/|/work/", text)
    assert '{"' not in text
