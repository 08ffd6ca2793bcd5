"""The campaign runner: runs the suites with pytest in-process, shows progress, writes and seals the run.

    result = run_campaign(load_config("campaign.toml"), suites=["fhir-basics"], output=Path("out"))
    result.exit_code   # 0 every executed test passed, 1 some failed or errored, 2 the harness could not run

The run folder: `--output DIR` (or `output=`) is the run folder itself; otherwise `[run] output` (default
`runs/`) receives one sub-folder per run, named by the run id. After the tests: write_run_outputs, then
seal_run. An interrupted run (SIGINT, SIGTERM) leaves results.json with complete=false and no manifest.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import pytest

from conformance.campaign.state import CampaignState, default_run_dir, new_run_id
from conformance.config import SUITES, ConfigError, RunConfig
from conformance.evidence.sealing import MANIFEST, SIGNATURE
from conformance.results import RunResult, TestOutcome, TestResult
from conformance.suites import suites_dir

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_HARNESS = 2
EXIT_INTERRUPTED = 130


class CampaignError(Exception):
    """The harness itself cannot run (exit 2): bad options, unusable output folder, broken suites."""

    def __init__(self, message_fr: str, message_en: str) -> None:
        self.message_fr = message_fr
        self.message_en = message_en
        super().__init__(message_en)

    def render(self, lang: str = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message_en


@dataclass
class CampaignResult:
    exit_code: int
    run_dir: Path
    run: RunResult
    outputs: list[Path] = field(default_factory=list)
    manifest: Path | None = None
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)  # harness problems (collection errors, writers)


def _check_suites(suites: Sequence[str]) -> list[str]:
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise CampaignError(
            f"suite inconnue: {', '.join(unknown)} (suites: {', '.join(SUITES)})",
            f"unknown suite: {', '.join(unknown)} (suites: {', '.join(SUITES)})",
        )
    return list(suites)


def _prepare_run_dir(path: Path) -> Path:
    from conformance.evidence.sealing import enclosing_run

    existing = enclosing_run(path)
    if existing is not None:
        raise CampaignError(
            f"le dossier de sortie {path} est dans une exécution existante ({existing}) : refusé, il en romprait le sceau",
            f"the output folder {path} is inside an existing run ({existing}): refused, it would break its seal",
        )
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise CampaignError(
            f"le dossier de sortie {path} existe et n'est pas vide",
            f"the output folder {path} exists and is not empty",
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CampaignError(
            f"dossier de sortie {path} impossible à créer: {exc}", f"cannot create output folder {path}: {exc}"
        ) from None
    return path


class _RunnerPlugin:
    """Hands the CampaignState to the conformance plugin and watches collection."""

    def __init__(self, state: CampaignState) -> None:
        self.state = state
        self.session: pytest.Session | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from conformance.pytest_plugin import activate

        activate(config, self.state)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple) -> None:
        # A KeyboardInterrupt raised by the SIGTERM handler can be swallowed by code under test (asyncio
        # callbacks, broad except clauses): the flag still stops the session at the next test boundary.
        if _termination_requested.is_set() and self.session is not None:
            self.session.shouldstop = "interrupted by a signal"

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = str(report.longrepr).strip().splitlines()
            self.state.collection_errors.append(f"{report.nodeid}: {lines[-1] if lines else 'collection error'}")


def run_campaign(
    config: RunConfig,
    *,
    suites: Sequence[str] | None = None,
    output: Path | None = None,
    lang: str | None = None,
    pdf: bool = False,
    listener_callbacks: Sequence[Callable[[str, int], None]] = (),
    mss_peer: Any = None,
    dmp_callbacks: Sequence[Callable[[str], None]] = (),
    progress: TextIO | None = None,
    extra_pytest_args: Sequence[str] = (),
) -> CampaignResult:
    """Run the campaign. Raises CampaignError when it cannot start (exit code 2 for the CLI)."""
    lang = lang or config.run.language
    selected = _check_suites(suites or config.run.suites)
    run_id = new_run_id()
    run_dir = _prepare_run_dir(Path(output) if output else default_run_dir(config, run_id))
    folder = suites_dir()
    if not folder.is_dir():
        raise CampaignError(f"suites introuvables: {folder}", f"suites not found: {folder}")
    state = CampaignState(config=config, run_dir=run_dir, lang=lang, suites=selected, run_id=run_id)
    state.listener_callbacks.extend(listener_callbacks)
    state.mss_peer = mss_peer
    state.dmp_callbacks.extend(dmp_callbacks)
    state.open()
    write_partial_results(state)  # from the first moment, the folder says the run is incomplete
    display = Progress(progress, lang) if progress is not None else None
    if display is not None:
        state.on_result = display.result
        display.start(state)
    args = [
        str(folder),
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-p",
        "no:randomly",
        "-o",
        f"timeout={max(300, int(config.timeouts.total * 3))}",
        *extra_pytest_args,
    ]
    _termination_requested.clear()
    with _interrupt_on_sigterm():
        code = pytest.main(args, plugins=[_RunnerPlugin(state)])
        interrupted = (
            code == pytest.ExitCode.INTERRUPTED or _termination_requested.is_set()
        ) and not state.collection_errors
        try:
            result = finish_run(state, interrupted=interrupted, pdf=pdf)
        except KeyboardInterrupt:  # a signal while the outputs were written or sealed: never a half seal
            result = finish_run(state, interrupted=True, pdf=False)
    result.problems.extend(state.collection_errors)
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        result.problems.append(f"pytest exit code {int(code)}")
    result.exit_code = campaign_exit_code(result, code)
    if display is not None:
        display.finish(result)
    return result


def campaign_exit_code(result: CampaignResult, pytest_code: int) -> int:
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.problems or pytest_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return EXIT_HARNESS
    if any(t.outcome in (TestOutcome.FAILED, TestOutcome.ERROR) for t in result.run.tests):
        return EXIT_FAILED
    return EXIT_OK


_termination_requested = threading.Event()


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: pytest stops, the run folder is left partial and unsealed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        _termination_requested.set()
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- writing the run


def _reports_api() -> tuple[Any, Any]:
    from conformance.reports import write_partial, write_run_outputs

    return write_partial, write_run_outputs


def write_partial_results(state: CampaignState) -> None:
    write_partial, _ = _reports_api()
    state.run.complete = False
    write_partial(state.run_dir, state.run)


def finish_run(state: CampaignState, *, interrupted: bool, pdf: bool = False) -> CampaignResult:
    run = state.run
    run.finished = datetime.now(UTC)
    result = CampaignResult(exit_code=EXIT_OK, run_dir=state.run_dir, run=run, interrupted=interrupted)
    if interrupted:
        run.complete = False
        run.warnings.append("run interrupted: results are partial and the run folder is not sealed")
        for seal_file in (MANIFEST, SIGNATURE):
            (state.run_dir / seal_file).unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            write_partial_results(state)
        return result
    run.complete = True
    _, write_run_outputs = _reports_api()
    try:
        result.outputs = list(write_run_outputs(state.run_dir, run, lang=state.lang) or [])
        if pdf:
            result.outputs += _write_pdf(state)
    except Exception as exc:
        result.problems.append(f"reports could not be written: {type(exc).__name__}: {exc}")
        written = getattr(exc, "written", None)  # the writers that succeeded (results.json first)
        if written:
            result.outputs = list(written)
        else:
            with contextlib.suppress(Exception):
                write_partial_results(state)  # at least results.json
                result.outputs = [state.run_dir / "results.json"]
    result.manifest = _seal(state, result)
    return result


def _write_pdf(state: CampaignState) -> list[Path]:
    from conformance.reports import write_pdf

    return [write_pdf(state.run_dir, lang=state.lang)]


def _seal(state: CampaignState, result: CampaignResult) -> Path | None:
    from conformance.evidence.sealing import seal_run

    try:
        return seal_run(state.run_dir, signing_key=state.config.run.signing_key)
    except Exception as exc:
        result.problems.append(f"the run could not be sealed: {type(exc).__name__}: {exc}")
        return None


# ---------------------------------------------------------------- progress and summary

_LABELS = {
    "fr": {"passed": "RÉUSSI", "failed": "ÉCHEC", "error": "ERREUR", "skipped": "IGNORÉ"},
    "en": {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED"},
}


class Progress:
    def __init__(self, stream: TextIO, lang: str) -> None:
        self.stream = stream
        self.lang = lang
        self.count = 0
        self.state: CampaignState | None = None

    def _print(self, text: str = "") -> None:
        print(_console(text, self.state.run_dir if self.state else None), file=self.stream, flush=True)

    def start(self, state: CampaignState) -> None:
        self.state = state
        fr = self.lang == "fr"
        self._print(("Campagne " if fr else "Campaign ") + state.run_id + f" -> {state.run_dir}")
        for key, value in state.config.target().items():
            if value:
                self._print(f"  {key}: {value}")
        for warning in state.config.warnings():
            self._print(("  ATTENTION: " if fr else "  WARNING: ") + warning)

    def result(self, test: TestResult) -> None:
        self.count += 1
        total = self.state.total if self.state else 0
        label = _LABELS[self.lang][test.outcome.value]
        title = test.title if self.lang == "fr" else test.title_en
        self._print(f"[{self.count:>3}/{total}] {label:<8} {test.id}  {title}")
        if test.outcome is not TestOutcome.PASSED and test.messages:
            self._print(f"{'':>18}{test.messages[0][:300]}")

    def finish(self, result: CampaignResult) -> None:
        for line in summary_lines(result, self.lang):
            self._print(line)


def summary_lines(result: CampaignResult, lang: str = "fr") -> list[str]:
    fr = lang == "fr"
    labels = _LABELS[lang]
    lines = ["", "Résumé par suite" if fr else "Summary per suite"]
    per_suite: dict[str, dict[str, int]] = {}
    for test in result.run.tests:
        counts = per_suite.setdefault(test.suite, dict.fromkeys(labels, 0))
        counts[test.outcome.value] += 1
    for suite, counts in per_suite.items():
        lines.append(f"  {suite:<18} " + "  ".join(f"{labels[k]} {v}" for k, v in counts.items()))
    if not per_suite:
        lines.append("  (aucun test exécuté)" if fr else "  (no test executed)")
    lines += _indicator_lines(result, lang)
    for problem in result.problems:
        lines.append(("PROBLÈME: " if fr else "PROBLEM: ") + problem)
    if result.interrupted:
        lines.append(
            "Exécution interrompue: résultats partiels, dossier non scellé"
            if fr
            else "Run interrupted: partial results, folder not sealed"
        )
    report = result.run_dir / "report.html"
    where = report if report.exists() else result.run_dir / "results.json"
    lines.append(("Rapport: " if fr else "Report: ") + str(where.resolve()))
    return lines


_INDICATOR_STATUS = {
    "fr": {"met": "atteint", "not_met": "non atteint", "partial": "partiel", "not_tested": "non testé"},
    "en": {"met": "met", "not_met": "not met", "partial": "partial", "not_tested": "not tested"},
}


def _indicator_lines(result: CampaignResult, lang: str) -> list[str]:
    """Per indicator, from the written results.json (the evidence layer maps capabilities to indicators)."""
    fr = lang == "fr"
    try:
        data = json.loads((result.run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    indicators = data.get("indicators") or data.get("indicator_summary") or []
    if isinstance(indicators, dict):
        indicators = [{"code": k, **(v if isinstance(v, dict) else {"status": v})} for k, v in indicators.items()]
    if not indicators:
        return []
    lines = ["Résumé par indicateur" if fr else "Summary per indicator"]
    for item in indicators:
        if not isinstance(item, dict):
            continue
        code = item.get("code") or item.get("id") or "?"
        title = item.get("title_fr" if fr else "title_en") or item.get("title") or ""
        if isinstance(title, dict):
            title = title.get(lang) or title.get("fr") or ""
        status = item.get("status") or item.get("verdict") or ""
        status = _INDICATOR_STATUS[lang].get(str(status), status)
        lines.append(f"  {code:<36} {status!s:<12} {title}"[:170])
    return lines


def print_summary(result: CampaignResult, lang: str = "fr", stream: TextIO | None = None) -> None:
    for line in summary_lines(result, lang):
        print(_console(line, result.run_dir), file=stream or sys.stdout)


def _console(text: str, run_dir: Path | None) -> str:
    """Console lines go through the run's redaction and pseudonymisation, control characters escaped."""
    from conformance.evidence.recorder import console_text

    return console_text(text, run_dir)


__all__ = [
    "EXIT_FAILED",
    "EXIT_HARNESS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "CampaignError",
    "CampaignResult",
    "ConfigError",
    "run_campaign",
]
