"""The campaign runner behind `conformance run`: runs the suites with pytest in-process through one session.

    result = run_campaign(load_config("campaign.toml"), suites=["fhir-basics"], output=Path("out"))
    result.exit_code   # 0 every SHALL passed, 1 a SHALL failed, 2 harness problem / unreachable / inconclusive

The run folder: `--output DIR` (or `output=`) is the run folder itself; otherwise `[run] output` (default
`runs/`) receives one sub-folder per run, named by the run id. The session (conformance.campaign.session)
opens, records, finishes and seals the run; the plugin (conformance.pytest_plugin.CampaignPlugin) feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import pytest

from conformance.campaign.console import Progress
from conformance.campaign.session import CampaignError, CampaignResult, CampaignSession, exit_code
from conformance.config import SUITES, RunConfig
from conformance.pytest_plugin import CampaignPlugin
from conformance.suites import suites_dir

_HARNESS_EXIT = (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR)


def _check_suites(suites: Sequence[str]) -> list[str]:
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise CampaignError(
            f"suite inconnue: {', '.join(unknown)} (suites: {', '.join(SUITES)})",
            f"unknown suite: {', '.join(unknown)} (suites: {', '.join(SUITES)})",
        )
    return list(suites)


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
    preflight: bool = True,
) -> CampaignResult:
    """Run the campaign. Raises CampaignError when it cannot start (exit code 2 for the CLI)."""
    selected = _check_suites(suites or config.run.suites)
    folder = suites_dir()
    if not folder.is_dir():
        raise CampaignError(f"suites introuvables: {folder}", f"suites not found: {folder}")
    session = CampaignSession.start(config, output=output, lang=lang, suites=selected)
    session.pdf = pdf
    session.preflight = preflight
    session.listener_callbacks.extend(listener_callbacks)
    session.mss_peer = mss_peer
    session.dmp_callbacks.extend(dmp_callbacks)
    display = Progress(progress, session.lang) if progress is not None else None
    if display is not None:
        display.start(session)
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
    with session.sigterm_interrupts():
        code = pytest.main(args, plugins=[CampaignPlugin(session)])
        interrupted = code == pytest.ExitCode.INTERRUPTED or session.termination.is_set()
        result = session.finish_safely(interrupted=interrupted and not session.collection_errors)
    if code in _HARNESS_EXIT:
        result.problems.append(f"pytest exit code {int(code)}")
        result.exit_code = exit_code(result)
    if display is not None:
        display.finish(result)
    return result
