"""report.pdf: the HTML report printed by headless Chromium (Debian's), or WeasyPrint (the `pdf` extra)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
)


class PdfError(Exception):
    pass


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_command(browser: str, profile_dir: str, *extra: str) -> list[str]:
    return [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *extra]


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120) -> Path:
    """Prints `html_path` to `pdf_path`. Chromium first; WeasyPrint when Chromium is absent."""
    browser = find_chromium()
    if browser:
        return _with_chromium(browser, Path(html_path), Path(pdf_path), timeout)
    try:
        import weasyprint  # type: ignore[import-not-found]
    except ImportError:
        raise PdfError("no PDF engine: install Debian's chromium (make system-deps) or the `pdf` extra") from None
    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    return Path(pdf_path)


def _with_chromium(browser: str, html_path: Path, pdf_path: Path, timeout: float) -> Path:
    with tempfile.TemporaryDirectory(prefix="hopen-chromium-") as profile:
        command = chromium_command(
            browser, profile, f"--print-to-pdf={pdf_path.resolve()}", html_path.resolve().as_uri()
        )
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"chromium did not print the report within {timeout:.0f} s") from None
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = completed.stderr.strip().splitlines()[-3:]
        raise PdfError(f"chromium could not print the report (exit {completed.returncode}): {' | '.join(tail)}")
    return pdf_path
