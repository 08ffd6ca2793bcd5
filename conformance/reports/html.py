"""report.html: self-contained (inline CSS, no script, no external fetch), French or English, printable."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from conformance.i18n import localise, section, severity, text
from conformance.reports.evidence_view import evidence_views
from conformance.reports.presentation import build_view, config_rows, local_time, sources_note

LANGUAGES = ("fr", "en")
# Outcomes told apart without colour (black and white print): a mark and the word, never the colour alone.
OUTCOME_MARKS = {
    "passed": "✔",
    "met": "✔",
    "failed": "✘",
    "not_met": "✘",
    "error": "⚠",
    "inconclusive": "?",
    "warning": "!",
    "partial": "◐",
    "skipped": "–",
    "not_tested": "○",
    "out_of_scope": "○",
    "not_applicable": "∅",
}
SEVERITY_MARKS = {"fatal": "✘", "error": "✘", "warning": "!", "information": "i"}
MAX_EVIDENCE_LINKS = 200
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_REPORTS = resources.files("conformance.reports")


@lru_cache(maxsize=4)
def translations(lang: str) -> dict[str, Any]:
    """The report's part of the message catalogue (conformance/i18n), French typography applied."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r} (supported: {', '.join(LANGUAGES)})")
    return section("report", lang)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["localise"] = localise
    environment.filters["severity"] = severity
    return environment


def _anchor(test_id: str) -> str:
    readable = _ANCHOR_UNSAFE.sub("-", test_id)[:60]
    return f"{readable}-{hashlib.sha256(test_id.encode()).hexdigest()[:6]}"


def render_html(results: dict[str, Any], lang: str = "fr", *, base: str = "", run_dir: Path | None = None) -> str:
    """The report for a results.json document. `base` prefixes evidence links (e.g. "../" from renderings/);
    with `run_dir`, each evidence file gets a readable view (the files themselves are not changed)."""
    environment = _environment()
    css = _REPORTS.joinpath("templates", "report.css").read_text(encoding="utf-8")
    tests_by_id = {test["id"]: test for test in results["tests"]}
    return environment.get_template("report.html.j2").render(
        r=results,
        t=translations(lang),
        tv=section("report_view", lang),
        tt=lambda key, **params: text(key, lang, **params),
        view=build_view(results, lang),
        lang=lang,
        css=css,
        base=base,
        marks=OUTCOME_MARKS,
        sev_mark=SEVERITY_MARKS,
        tests_by_id=tests_by_id,
        anchors={test_id: _anchor(test_id) for test_id in tests_by_id},
        max_evidence_links=MAX_EVIDENCE_LINKS,
        evidence_views=evidence_views(
            run_dir,
            results["tests"],
            MAX_EVIDENCE_LINKS,
            pseudonymized=(results.get("privacy") or {}).get("pseudonymized") is not False,
        ),
        config_rows=config_rows(results.get("configuration") or {}),
        sources_note=sources_note(results, lang),
        generated=local_time(datetime.now(UTC).isoformat(), lang),
    )
