"""Run outputs: results.json, report.html, junit.xml, testreport.json, allure-results/, report.pdf.

Order of a finished run (what `finalize_run` does):
    write_run_outputs(run_dir, run)  ->  seal_run(run_dir, key)
During a run, `write_partial` keeps results.json current with "complete": false, so a killed run leaves
a folder that says it is incomplete and that is never sealed.

Later renderings (`conformance report DIR --lang en --pdf --allure`, i.e. `rerender_run`) go to
DIR/renderings/, which the manifest excludes and `verify` lists separately: the sealed files stay intact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.evidence.recorder import EVIDENCE_DIR, OUTSIDE_TEST, Privacy, privacy_for, write_atomic
from conformance.evidence.sanitize import clean_data
from conformance.evidence.sealing import (
    GENERATED_KEY_WARNING_EN,
    GENERATED_KEY_WARNING_FR,
    RENDERINGS_DIR,
    load_signing_key,
    seal_run,
)
from conformance.reports.allure import render_allure, write_allure_results
from conformance.reports.html import render_html
from conformance.reports.junit import render_junit
from conformance.reports.pdf import html_to_pdf
from conformance.reports.results_json import build_results, remap_programme, results_from_file
from conformance.reports.testreport import render_testreport
from conformance.results import RunResult

__all__ = ["ReportWriteError", "finalize_run", "rerender_run", "write_partial", "write_pdf", "write_run_outputs"]

RESULTS = "results.json"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
JUNIT = "junit.xml"
TESTREPORT = "testreport.json"
ALLURE_RESULTS = "allure-results"


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")


def _privacy(run_dir: Path, privacy: Privacy | None) -> Privacy:
    return privacy or privacy_for(run_dir) or Privacy()


def _run_evidence(run_dir: Path) -> list[str]:
    """Exchanges recorded outside any test (set-up, token requests, listener traffic between tests)."""
    folder = run_dir / EVIDENCE_DIR / OUTSIDE_TEST
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(run_dir).as_posix() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
    )


def write_partial(run_dir: Path, run: RunResult, *, privacy: Privacy | None = None) -> None:
    """results.json with "complete": false (atomic replace: a kill mid-write keeps the previous file)."""
    run_dir = Path(run_dir)
    results = build_results(run, complete=False, privacy=_privacy(run_dir, privacy))
    results["run_evidence"] = _run_evidence(run_dir)
    write_atomic(run_dir / RESULTS, _json_bytes(clean_data(results)))


def write_run_outputs(
    run_dir: Path,
    run: RunResult,
    *,
    lang: str = "fr",
    privacy: Privacy | None = None,
    pdf: bool = False,
    extra_warnings: Sequence[Mapping[str, str]] = (),
) -> list[Path]:
    """Writes every output of the run; results.json says complete only if `run.complete` is true."""
    run_dir = Path(run_dir)
    results = build_results(
        run, complete=run.complete, privacy=_privacy(run_dir, privacy), extra_warnings=list(extra_warnings)
    )
    results["run_evidence"] = _run_evidence(run_dir)
    return write_outputs_from_results(run_dir, results, lang=lang, pdf=pdf)


class ReportWriteError(Exception):
    """Some renderings could not be written; results.json (and every other writer that succeeded) was."""

    def __init__(self, failures: list[str], written: list[Path]) -> None:
        super().__init__("; ".join(failures))
        self.failures = failures
        self.written = written


def write_outputs_from_results(run_dir: Path, results: dict[str, Any], *, lang: str, pdf: bool) -> list[Path]:
    """Every writer takes the same cleaned, XML-safe data; results.json goes first, and one writer failing
    does not stop the others (ReportWriteError names the failures afterwards)."""
    results = clean_data(results)
    written: list[Path] = []
    failures: list[str] = []
    steps = [
        (RESULTS, lambda: _write(run_dir / RESULTS, _json_bytes(results))),
        (
            REPORT_HTML,
            lambda: _write(run_dir / REPORT_HTML, render_html(results, lang, run_dir=run_dir).encode("utf-8")),
        ),
        (JUNIT, lambda: _write(run_dir / JUNIT, render_junit(results, lang))),
        (TESTREPORT, lambda: _write(run_dir / TESTREPORT, _json_bytes(render_testreport(results, lang)))),
        (ALLURE_RESULTS, lambda: _allure_once(run_dir, results, lang)),
    ]
    if pdf:
        steps.append((REPORT_PDF, lambda: html_to_pdf(run_dir / REPORT_HTML, run_dir / REPORT_PDF)))
    for name, step in steps:
        try:
            path = step()
        except Exception as error:  # a writer's bug must not cost the other outputs
            failures.append(f"{name}: {type(error).__name__}: {error}"[:500])
            continue
        if path is not None:
            written.append(path)
    if failures:
        raise ReportWriteError(failures, written)
    return written


def _write(path: Path, data: bytes) -> Path:
    write_atomic(path, data)
    return path


def _allure_once(run_dir: Path, results: dict[str, Any], lang: str) -> Path | None:
    allure_dir = run_dir / ALLURE_RESULTS
    if allure_dir.exists() and any(allure_dir.iterdir()):
        return None
    return write_allure_results(results, allure_dir, lang)


def write_pdf(run_dir: Path, *, lang: str = "fr") -> Path:
    """report.pdf beside report.html (call before sealing; afterwards use rerender_run(..., pdf=True))."""
    run_dir = Path(run_dir)
    if not (run_dir / REPORT_HTML).exists():
        write_atomic(
            run_dir / REPORT_HTML,
            render_html(clean_data(results_from_file(run_dir)), lang, run_dir=run_dir).encode("utf-8"),
        )
    return html_to_pdf(run_dir / REPORT_HTML, run_dir / REPORT_PDF)


def finalize_run(
    run_dir: Path,
    run: RunResult,
    *,
    lang: str = "fr",
    signing_key: Path | None = None,
    key_password: bytes | None = None,
    privacy: Privacy | None = None,
    pdf: bool = False,
) -> Path | None:
    """Writes the outputs and, if the run is complete, seals them. Returns manifest.json (None: not sealed).

    Without a configured key a one-run key is generated, and results.json and the report say so.
    """
    run_dir = Path(run_dir)
    key = load_signing_key(signing_key, key_password)
    warnings = []
    if key.generated:
        warnings.append(
            {"code": "generated-signing-key", "fr": GENERATED_KEY_WARNING_FR, "en": GENERATED_KEY_WARNING_EN}
        )
    write_run_outputs(run_dir, run, lang=lang, privacy=privacy, pdf=pdf, extra_warnings=warnings)
    if not run.complete:
        return None
    return seal_run(run_dir, key)


SEAL_BROKEN_FR = (
    "SCEAU ROMPU : ce dossier a été modifié depuis son scellement ou n'est pas scellé ; ce rendu n'est pas une preuve."
)
SEAL_BROKEN_EN = (
    "SEAL BROKEN: this folder was changed since it was sealed, or is not sealed; this rendering is no evidence."
)


def rerender_run(
    run_dir: Path,
    *,
    lang: str = "fr",
    pdf: bool = False,
    allure: bool = False,
    programme: str | None = None,
    seal_problems: Sequence[str] = (),
) -> list[Path]:
    """Renders an existing run again into DIR/renderings/ (never touching sealed files).

    `programme` judges the same tests against another catalogue (e.g. the run was made for HOP'EN 2 and
    the file is for Hop'en 2019): the rendering is named report.<programme>.<lang>.html. `seal_problems`
    (what verify found, when the rendering was forced) head the rendering's warnings.
    """
    run_dir = Path(run_dir)
    results = clean_data(results_from_file(run_dir))
    if seal_problems:
        details = "; ".join(seal_problems[:20])
        warning = {"code": "seal-broken", "fr": f"{SEAL_BROKEN_FR} ({details})", "en": f"{SEAL_BROKEN_EN} ({details})"}
        results["warnings"] = [warning, *(results.get("warnings") or [])]
    stem = f"report.{lang}"
    if programme and programme != results.get("programme", {}).get("id"):
        results = remap_programme(results, programme)
        stem = f"report.{programme}.{lang}"
    out = run_dir / RENDERINGS_DIR
    out.mkdir(exist_ok=True)
    written = []
    html_path = out / f"{stem}.html"
    write_atomic(html_path, render_html(results, lang, base="../", run_dir=run_dir).encode("utf-8"))
    written.append(html_path)
    if pdf:
        written.append(html_to_pdf(html_path, out / f"{stem}.pdf"))
    if allure:
        source = run_dir / ALLURE_RESULTS
        if not source.is_dir() or not any(source.iterdir()):
            source = write_allure_results(results, out / ALLURE_RESULTS, lang)
        written.append(render_allure(source, out / "allure-report"))
    return written
