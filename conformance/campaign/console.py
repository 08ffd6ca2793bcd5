"""What `conformance run` prints: one line per test as it finishes, then the summary per suite and per indicator.

Everything comes from the in-memory results (the session's TestResult objects and their indicator evaluation),
never from re-reading the run's files. Each line goes through the run's redaction and pseudonymisation.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TextIO

from conformance.campaign.session import CampaignResult, CampaignSession
from conformance.i18n import localise, text, typography
from conformance.results import TestOutcome, TestResult

LABELS = {
    "fr": {
        "passed": "RÉUSSI",
        "failed": "ÉCHEC",
        "warning": "AVERT.",
        "error": "ERREUR",
        "skipped": "IGNORÉ",
        "not_applicable": "N/A",
    },
    "en": {
        "passed": "PASSED",
        "failed": "FAILED",
        "warning": "WARNING",
        "error": "ERROR",
        "skipped": "SKIPPED",
        "not_applicable": "N/A",
    },
}

INDICATOR_STATUS = {
    "fr": {
        "met": "atteint",
        "not_met": "non atteint",
        "inconclusive": "non concluant",
        "partial": "partiel",
        "not_tested": "non testé",
        "out_of_scope": "hors périmètre",
    },
    "en": {
        "met": "met",
        "not_met": "not met",
        "inconclusive": "inconclusive",
        "partial": "partial",
        "not_tested": "not tested",
        "out_of_scope": "out of scope",
    },
}
VERDICT = {
    "fr": {
        "met": "Verdict : toutes les exigences SHALL testées sont satisfaites",
        "not_met": "Verdict : au moins une exigence SHALL n'est pas satisfaite",
        "inconclusive": "Verdict : non concluant (le banc n'a pas pu tout juger ; ce n'est pas un constat de non-conformité)",
        "not_tested": "Verdict : rien n'a été testé",
    },
    "en": {
        "met": "Verdict: every SHALL requirement tested is met",
        "not_met": "Verdict: at least one SHALL requirement is not met",
        "inconclusive": "Verdict: inconclusive (the harness could not judge everything; nothing is declared not met for that)",
        "not_tested": "Verdict: nothing was tested",
    },
}


class Progress:
    """The per-test progress display (the session's `on_result` callback)."""

    def __init__(self, stream: TextIO, lang: str) -> None:
        self.stream = stream
        self.lang = lang
        self.count = 0
        self.session: CampaignSession | None = None

    def _print(self, text: str = "") -> None:
        print(console(text, self.session.run_dir if self.session else None), file=self.stream, flush=True)

    def start(self, session: CampaignSession) -> None:
        self.session = session
        session.on_result = self.result
        fr = self.lang == "fr"
        self._print(("Campagne " if fr else "Campaign ") + session.run_id + f" -> {session.run_dir}")
        for key, value in session.config.target().items():
            if value:
                self._print(typography(f"  {_target_label(key, self.lang)}: {value}", self.lang))
        for warning in session.config.warnings():
            self._print(typography(("  ATTENTION: " if fr else "  WARNING: ") + warning, self.lang))

    def result(self, test: TestResult) -> None:
        self.count += 1
        total = self.session.total if self.session else 0
        label = LABELS[self.lang][test.outcome.value]
        title = test.title if self.lang == "fr" else test.title_en
        self._print(f"[{self.count:>3}/{total}] {label:<8} {test.id}  {title}")
        if test.outcome is not TestOutcome.PASSED and test.messages:
            self._print(f"{'':>18}{localise(test.messages[0][:300], self.lang)}")

    def finish(self, result: CampaignResult) -> None:
        for line in summary_lines(result, self.lang):
            self._print(line)


def summary_lines(result: CampaignResult, lang: str = "fr") -> list[str]:
    fr = lang == "fr"
    labels = LABELS[lang]
    lines = ["", "Résumé par suite" if fr else "Summary per suite"]
    per_suite: dict[str, dict[str, int]] = {}
    for test in result.run.tests:
        counts = per_suite.setdefault(test.suite, dict.fromkeys(labels, 0))
        counts[test.outcome.value] += 1
    for suite, counts in per_suite.items():
        shown = [(k, v) for k, v in counts.items() if v or k in ("passed", "failed")]  # rarer outcomes when they occur
        lines.append(f"  {suite:<18} " + "  ".join(f"{labels[k]} {v}" for k, v in shown))
    if not per_suite:
        lines.append("  (aucun test exécuté)" if fr else "  (no test executed)")
    lines += preflight_lines(result, lang)
    if not result.run.preflight_failed:
        lines += indicator_lines(result, lang)
    lines.append(typography(VERDICT[lang][run_verdict_of(result)], lang))
    for problem in result.problems:
        lines.append(typography(("PROBLÈME: " if fr else "PROBLEM: ") + problem, lang))
    if result.interrupted:
        lines.append(
            "Exécution interrompue\u202f: résultats partiels, dossier non scellé"
            if fr
            else "Run interrupted: partial results, folder not sealed"
        )
    report = result.run_dir / "report.html"
    where = report if report.exists() else result.run_dir / "results.json"
    lines.append(text("run.report", lang, path=where.resolve()))
    return lines


def run_verdict_of(result: CampaignResult) -> str:
    from conformance.reports.indicators import run_verdict

    return run_verdict([t.outcome.value for t in result.run.tests], preflight_failed=result.run.preflight_failed)


def preflight_lines(result: CampaignResult, lang: str) -> list[str]:
    """The endpoints the preflight could not reach, each with its cause; nothing when all were reached."""
    failed = [check for check in result.run.preflight if not check.ok]
    if not failed:
        return []
    fr = lang == "fr"
    lines = [
        "Vérification préalable : point d'accès injoignable, aucune suite exécutée"
        if fr
        else "Preflight: endpoint unreachable, no suite was run"
    ]
    lines += [typography("  " + check.message(lang), lang) for check in failed]
    lines.append(
        "  (vérifiez la configuration ; --no-preflight lance les suites quand même)"
        if fr
        else "  (check the configuration; --no-preflight runs the suites anyway)"
    )
    return lines


def indicator_lines(result: CampaignResult, lang: str) -> list[str]:
    """One line per indicator of the run's programme, judged from the in-memory test results."""
    from conformance.reports.indicators import evaluate_run

    evaluations = evaluate_run(result.run)
    if not evaluations:
        return []
    lines = ["Résumé par indicateur" if lang == "fr" else "Summary per indicator"]
    for evaluation in evaluations:
        status = INDICATOR_STATUS[lang].get(evaluation.status, evaluation.status)
        title = evaluation.indicator.title(lang)
        head = f"  {evaluation.indicator.label:<36} {status:<12} "
        wrapped = textwrap.wrap(title, width=max(40, 118 - len(head))) or [""]
        lines.append(head + wrapped[0])  # full titles: wrapped under the title column, never cut
        lines.extend(" " * len(head) + part for part in wrapped[1:])
    return lines


def _target_label(key: str, lang: str) -> str:
    from conformance.i18n import CatalogueKeyError

    try:
        return text(f"report_view.target.{key}", lang)
    except CatalogueKeyError:
        return key


def print_summary(result: CampaignResult, lang: str = "fr", stream: TextIO | None = None) -> None:
    for line in summary_lines(result, lang):
        print(console(line, result.run_dir), file=stream or sys.stdout)


def console(text: str, run_dir: Path | None) -> str:
    """Console lines go through the run's redaction and pseudonymisation, control characters escaped."""
    from conformance.evidence.recorder import console_text

    return console_text(text, run_dir)
