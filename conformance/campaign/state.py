"""The campaign's session state: configuration, run folder, evidence recorder, the RunResult being filled.

The pytest plugin creates one CampaignState per session (from `--conformance-config`, or handed over by the
runner, which may also register callbacks for when the harness's MLLP listener is up).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.config import RunConfig
from conformance.evidence.exchange import Exchange
from conformance.results import RunResult

ListenerCallback = Callable[[str, int], None]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def default_run_dir(config: RunConfig, run_id: str) -> Path:
    """[run] output is the folder where runs go: each run gets its own sub-folder named by its id."""
    return (config.run.output or Path("runs")) / run_id


@dataclass
class CampaignState:
    config: RunConfig
    run_dir: Path
    lang: str = "fr"
    suites: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=new_run_id)
    listener_callbacks: list[ListenerCallback] = field(default_factory=list)
    write_partials: bool = True
    recorder: Any = None
    run: RunResult | None = None
    listener: Any = None  # the session's MLLP listener (conformance.campaign.listener.Listener)
    listener_error: BaseException | None = None
    mss: Any = None  # the session's MSSanté channel (conformance.campaign.mssante.MssChannel)
    mss_peer: Any = None  # what makes the system act on it (the reference system, or None)
    mss_error: BaseException | None = None
    dmp_callbacks: list[Callable[[str], None]] = field(default_factory=list)  # called with the DMP listener's URL
    dmp_listener: Any = None  # the session's DMP listener (conformance.campaign.dmp.DmpListener)
    dmp_listener_error: BaseException | None = None
    on_result: Callable[[Any], None] | None = None  # progress display
    total: int = 0  # tests selected
    collection_errors: list[str] = field(default_factory=list)
    current_item: Any = None  # the pytest item running now (transports note findings on it)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.recorder = make_recorder(self.run_dir, self.config)
        self.run = RunResult(
            run_id=self.run_id,
            tool_version=__version__,
            packages={},
            target=self.config.target(),
            configuration=self.config.redacted(),
            programme=self.config.run.programme,
            language=self.lang,
            started=datetime.now(UTC),
            warnings=list(self.config.warnings()),
        )

    def record(self, exchange: Exchange) -> None:
        if self.recorder is not None:
            self.recorder.record(exchange)


def make_recorder(run_dir: Path, config: RunConfig) -> Any:
    """The run's evidence recorder (redacting the configuration's secrets)."""
    from conformance.evidence.recorder import EvidenceRecorder

    return EvidenceRecorder(run_dir, secrets=config.secrets(), pseudonymize=config.run.pseudonymize)


class CurrentTestSink:
    """An ExchangeSink for session-long transports: records go to the recorder, hence to the running test."""

    def __init__(self, state: CampaignState) -> None:
        self.state = state

    def record(self, exchange: Exchange) -> None:
        self.state.record(exchange)
