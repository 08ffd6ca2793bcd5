"""The campaign session: opens the run, records each test's result, keeps results.json current, finishes and seals.

    session = CampaignSession.start(config, output=Path("out"), lang="fr", suites=["fhir-basics"])
    running = session.begin_test("fhir-basics/read/read-id")   # exchanges now go to this test's evidence
    session.add_result(result, running)                        # results.json rewritten, complete=false
    outcome = session.finish(interrupted=False)                # every output written, then the folder sealed

There is no pytest here: the plugin (`conformance.pytest_plugin.CampaignPlugin`) calls the session from its
hooks, for `conformance run` and for bare `pytest` on the suites alike. An interrupted run (SIGINT, SIGTERM)
leaves results.json with complete=false and no manifest.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.config import RunConfig
from conformance.evidence.exchange import Exchange
from conformance.findings import Finding
from conformance.results import RunResult, TestOutcome, TestResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_HARNESS = 2
EXIT_INTERRUPTED = 130

ListenerCallback = Callable[[str, int], None]
ResultCallback = Callable[[TestResult], None]


class CampaignError(Exception):
    """The harness itself cannot run (exit 2): bad options, unusable output folder, broken suites."""

    def __init__(self, message_fr: str, message_en: str) -> None:
        self.message_fr = message_fr
        self.message_en = message_en
        super().__init__(message_en)

    def render(self, lang: str = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message_en


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def default_run_dir(config: RunConfig, run_id: str) -> Path:
    """[run] output is the folder where runs go: each run gets its own sub-folder named by its id."""
    return (config.run.output or Path("runs")) / run_id


def prepare_run_dir(path: Path) -> Path:
    """The run folder, created empty; never inside another run (that would break its seal)."""
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
            f"dossier de sortie {path} impossible à créer : {exc}", f"cannot create output folder {path}: {exc}"
        ) from None
    return path


@dataclass
class RunningTest:
    """The test running now: transports and the `evidence` fixture add to it; it becomes part of a TestResult."""

    id: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: list[Finding] = field(default_factory=list)  # non-failing findings kept on the result
    attached: list[str] = field(default_factory=list)  # evidence files, relative to the run folder

    def note(self, *findings: Finding) -> None:
        for item in findings:
            if item not in self.notes:
                self.notes.append(item)

    def attach(self, path: str) -> None:
        if path not in self.attached:
            self.attached.append(path)


@dataclass
class CampaignResult:
    exit_code: int
    run_dir: Path
    run: RunResult
    outputs: list[Path] = field(default_factory=list)
    manifest: Path | None = None
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)  # harness problems (collection errors, writers)


@dataclass
class CampaignSession:
    config: RunConfig
    run_dir: Path
    lang: str = "fr"
    suites: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=new_run_id)
    pdf: bool = False
    listener_callbacks: list[ListenerCallback] = field(default_factory=list)
    write_partials: bool = True
    recorder: Any = None
    run: RunResult = field(init=False)
    listener: Any = None  # the session's MLLP listener (conformance.campaign.listener.Listener)
    listener_error: BaseException | None = None
    mss: Any = None  # the session's MSSanté channel (conformance.campaign.mssante.MssChannel)
    mss_peer: Any = None  # what makes the system act on it (the reference system, or None)
    mss_error: BaseException | None = None
    dmp_callbacks: list[Callable[[str], None]] = field(default_factory=list)  # called with the DMP listener's URL
    dmp_listener: Any = None  # the session's DMP listener (conformance.campaign.dmp.DmpListener)
    dmp_listener_error: BaseException | None = None
    on_result: ResultCallback | None = None  # progress display
    total: int = 0  # tests selected
    collection_errors: list[str] = field(default_factory=list)
    current: RunningTest | None = None
    termination: threading.Event = field(default_factory=threading.Event)  # SIGTERM received
    preflight: bool = True  # reach every configured endpoint before any suite (conformance.campaign.preflight)

    @classmethod
    def start(
        cls, config: RunConfig, *, output: Path | None = None, lang: str | None = None, suites: list[str] | None = None
    ) -> CampaignSession:
        """A new run: its folder created empty, the recorder open, results.json saying the run is incomplete."""
        run_id = new_run_id()
        run_dir = prepare_run_dir(Path(output) if output else default_run_dir(config, run_id))
        session = cls(
            config=config,
            run_dir=run_dir,
            lang=lang or config.run.language,
            suites=list(suites if suites is not None else config.run.suites),
            run_id=run_id,
        )
        session.open()
        session.write_partial()
        return session

    def open(self) -> None:
        from conformance.campaign.validators import use_validation_server

        use_validation_server(self.config.run.validation_server)
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

    # ------------------------------------------------------------ recording

    def record(self, exchange: Exchange) -> None:
        if self.recorder is not None:
            self.recorder.record(exchange)

    def note_on_current(self, item: Finding) -> None:
        """A transport's finding (e.g. credentials withheld from another origin) kept on the running test."""
        if self.current is not None:
            self.current.note(item)

    def begin_test(self, test_id: str) -> RunningTest:
        self.recorder.begin_test(test_id)
        self.current = RunningTest(test_id)
        return self.current

    def end_test(self, running: RunningTest) -> list[str]:
        """The test's evidence files (recorded exchanges, then attachments); exchanges go outside tests again."""
        self.current = None
        evidence = [str(p) for p in self.recorder.end_test() or []]
        return evidence + [p for p in running.attached if p not in evidence]

    def add_result(self, result: TestResult) -> None:
        self.run.tests.append(result)
        if self.write_partials:
            self.write_partial_safely()
        if self.on_result is not None:
            self.on_result(result)

    def write_partial(self) -> None:
        from conformance.reports import write_partial

        self.run.complete = False
        write_partial(self.run_dir, self.run)

    def write_partial_safely(self) -> None:
        try:
            self.write_partial()
        except Exception as exc:  # the run continues: the final write will retry
            self.run.warnings.append(f"partial results could not be written: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------ finishing

    def finish(self, *, interrupted: bool) -> CampaignResult:
        """Every output written and the folder sealed; interrupted: results.json partial, no seal."""
        run = self.run
        run.finished = datetime.now(UTC)
        result = CampaignResult(exit_code=EXIT_OK, run_dir=self.run_dir, run=run, interrupted=interrupted)
        result.problems.extend(self.collection_errors)
        if interrupted:
            self._leave_partial()
        else:
            self._write_outputs(result)
            result.manifest = self._seal(result)
        result.exit_code = exit_code(result)
        return result

    def finish_safely(self, *, interrupted: bool) -> CampaignResult:
        try:
            return self.finish(interrupted=interrupted)
        except KeyboardInterrupt:  # a signal while the outputs were written or sealed: never a half seal
            self.pdf = False
            return self.finish(interrupted=True)

    def _leave_partial(self) -> None:
        from conformance.evidence.sealing import MANIFEST, SIGNATURE

        self.run.complete = False
        self.run.warnings.append("run interrupted: results are partial and the run folder is not sealed")
        for seal_file in (MANIFEST, SIGNATURE):
            (self.run_dir / seal_file).unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            self.write_partial()

    def _write_outputs(self, result: CampaignResult) -> None:
        from conformance.reports import write_pdf, write_run_outputs

        self.run.complete = True
        try:
            result.outputs = list(write_run_outputs(self.run_dir, self.run, lang=self.lang) or [])
            if self.pdf:
                result.outputs.append(write_pdf(self.run_dir, lang=self.lang))
        except Exception as exc:
            result.problems.append(f"reports could not be written: {type(exc).__name__}: {exc}")
            written = getattr(exc, "written", None)  # the writers that succeeded (results.json first)
            if written:
                result.outputs = list(written)
            else:
                with contextlib.suppress(Exception):
                    self.write_partial()  # at least results.json
                    result.outputs = [self.run_dir / "results.json"]

    def _seal(self, result: CampaignResult) -> Path | None:
        from conformance.evidence.sealing import seal_run

        try:
            return seal_run(self.run_dir, signing_key=self.config.run.signing_key)
        except Exception as exc:
            result.problems.append(f"the run could not be sealed: {type(exc).__name__}: {exc}")
            return None

    # ------------------------------------------------------------ the one signal handler

    @contextlib.contextmanager
    def sigterm_interrupts(self) -> Iterator[None]:
        """SIGTERM behaves like Ctrl-C: the tests stop, the run folder is left partial and unsealed.

        The flag stays set even when code under test swallows the KeyboardInterrupt (asyncio callbacks, broad
        except clauses): the plugin then stops the session at the next test boundary.
        """
        import signal

        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            self.termination.set()
            raise KeyboardInterrupt(f"signal {signum}")

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)


def exit_code(result: CampaignResult) -> int:
    """130 interrupted; 2 the harness had a problem, an endpoint was unreachable, or the run is inconclusive
    (no SHALL failed but some test could not be judged, or no test ran at all); 1 a SHALL test failed;
    0 every executed SHALL test passed (SHOULD tests not met are warnings)."""
    outcomes = {t.outcome for t in result.run.tests}
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.problems or result.run.preflight_failed:
        return EXIT_HARNESS
    if TestOutcome.FAILED in outcomes:
        return EXIT_FAILED
    if TestOutcome.ERROR in outcomes or not any(o.executed for o in outcomes):
        return EXIT_HARNESS
    return EXIT_OK


def make_recorder(run_dir: Path, config: RunConfig) -> Any:
    """The run's evidence recorder (redacting the configuration's secrets)."""
    from conformance.evidence.recorder import EvidenceRecorder

    return EvidenceRecorder(run_dir, secrets=config.secrets(), pseudonymize=config.run.pseudonymize)


class CurrentTestSink:
    """An ExchangeSink for session-long transports: records go to the recorder, hence to the running test."""

    def __init__(self, session: CampaignSession) -> None:
        self.session = session

    def record(self, exchange: Exchange) -> None:
        self.session.record(exchange)
