"""pytest plugin (pytest11 entry point): the campaign's hooks, fixtures and markers for the conformance suites.

Inert unless a campaign is active: bare `pytest conformance/suites --conformance-config FILE` (this module then
opens a CampaignSession and registers a CampaignPlugin for it), or `conformance run` (the runner registers
the CampaignPlugin of its own session). Either way each test becomes a TestResult (passed / failed with the
validators' findings / error naming the fault / skipped with the reason), its exchanges are recorded as
evidence attached to it, and results.json is rewritten (complete=false) as tests finish.

Markers: requirement(id), capability(*ids), title_en(text). French title: the first line of the test's
docstring. Fixtures: config, campaign, lang, fhir_client, fhir_validator, hl7v2, mllp_client, mllp_listener,
mss_channel, evidence, test_data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.campaign.session import CampaignError, CampaignSession, RunningTest
from conformance.findings import Finding, Severity, finding
from conformance.i18n import told
from conformance.results import Requirement, TestOutcome, TestResult

if TYPE_CHECKING:
    from conformance.campaign.evidence import TestEvidence
    from conformance.campaign.hl7v2 import Hl7v2Helpers, MllpSender
    from conformance.config import RunConfig, TestData
    from conformance.transport.http import FhirClient

SESSION_KEY = pytest.StashKey[CampaignSession]()
REPORTS_KEY = pytest.StashKey[list[tuple[pytest.TestReport, Any]]]()
RUNNING_KEY = pytest.StashKey[RunningTest]()
PLUGIN_NAME = "conformance-campaign"

MARKERS = (
    "requirement(id): the requirement (id in conformance/profiles/requirements) a conformance test verifies",
    "capability(*ids): capability ids covered (vocabulary in CONTRACTS.md / the indicator catalogues)",
    "title_en(text): the English title of a conformance test (the French title is the docstring's first line)",
)


# ---------------------------------------------------------------- options: bare pytest opens its own session


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "hopen-conformance campaign")
    group.addoption("--conformance-config", metavar="FILE", help="run the conformance suites with this TOML file")
    group.addoption("--conformance-output", metavar="DIR", help="run folder (default: [run] output, or runs/<id>)")
    group.addoption("--conformance-lang", choices=("fr", "en"), help="language of messages (default: [run] language)")


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    path = config.getoption("--conformance-config", default=None)
    if not path or config.stash.get(SESSION_KEY, None) is not None:  # no campaign, or the runner's own
        return
    from conformance.config import ConfigError, load_config

    lang = config.getoption("--conformance-lang")
    try:
        run_config = load_config(path)
        output = config.getoption("--conformance-output")
        session = CampaignSession.start(run_config, output=Path(output) if output else None, lang=lang)
    except (ConfigError, CampaignError) as exc:
        raise pytest.UsageError(exc.render(lang or "fr")) from None
    config.pluginmanager.register(CampaignPlugin(session, owns_run=True), PLUGIN_NAME)


def get_session(config: pytest.Config) -> CampaignSession | None:
    return config.stash.get(SESSION_KEY, None)


# ---------------------------------------------------------------- the campaign's hooks


class CampaignPlugin:
    """The hooks of one campaign session; what belongs to one test lives in its item.stash.

    `owns_run`: bare pytest, where the plugin also installs the SIGTERM handler and finishes and seals the run
    at the end of the session; `conformance run` does both itself around pytest.main.
    """

    def __init__(self, session: CampaignSession, *, owns_run: bool = False) -> None:
        self.session = session
        self.owns_run = owns_run
        self._signals = contextlib.ExitStack()

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SESSION_KEY] = self.session
        if self.owns_run:
            self._signals.enter_context(self.session.sigterm_interrupts())

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._signals.close()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        start_session_channels(self.session)
        if self.session.preflight:
            from conformance.campaign.preflight import run_preflight

            try:
                self.session.run.preflight = run_preflight(self.session)
            except Exception as exc:  # the harness's own fault: reported, the suites still run
                self.session.collection_errors.append(f"preflight failed: {type(exc).__name__}: {exc}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = str(report.longrepr).strip().splitlines()
            self.session.collection_errors.append(f"{report.nodeid}: {lines[-1] if lines else 'collection error'}")

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if self.session.run.preflight_failed:  # an endpoint is unreachable: nothing is judged
            config.hook.pytest_deselected(items=list(items))
            items[:] = []
        if self.session.suites:
            kept = [item for item in items if suite_of(item) in self.session.suites]
            dropped = [item for item in items if suite_of(item) not in self.session.suites]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = kept
        self.session.total = len(items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        item.stash[REPORTS_KEY] = []
        running = item.stash[RUNNING_KEY] = self.session.begin_test(test_id_of(item))
        try:
            return (yield)
        finally:
            evidence = self.session.end_test(running)
            self.session.add_result(build_result(item, self.session.lang, evidence, running))
            if self.session.termination.is_set():  # the KeyboardInterrupt may have been swallowed by the test
                item.session.shouldstop = "interrupted by a signal"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        item.stash.setdefault(REPORTS_KEY, []).append((report, call.excinfo))
        return report

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        stop_session_channels(self.session)
        if not self.owns_run:
            return
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or self.session.termination.is_set()
        result = self.session.finish_safely(interrupted=interrupted and not self.session.collection_errors)
        print(f"\nconformance: run folder {self.session.run_dir}")
        session.exitstatus = result.exit_code


def start_session_channels(session: CampaignSession) -> None:
    """The harness's own listeners (MLLP, MSSanté, DMP), up from the start so the system can send any time.

    A listener that cannot start is kept as the error of the tests that need it (they are inconclusive).
    """
    from conformance.campaign.dmp import start_dmp_listener
    from conformance.campaign.listener import start_session_listener
    from conformance.campaign.mssante import start_mss_channel

    try:
        start_session_listener(session)
    except Exception as exc:
        session.listener_error = exc
    try:
        start_mss_channel(session)
    except Exception as exc:
        session.mss_error = exc
    try:
        start_dmp_listener(session)
    except Exception as exc:
        session.dmp_listener_error = exc


def stop_session_channels(session: CampaignSession) -> None:
    for channel in (session.listener, session.mss, session.dmp_listener):
        if channel is not None:
            channel.stop()


# ---------------------------------------------------------------- identity of a test


def suite_of(item: pytest.Item) -> str:
    return Path(str(item.path)).parent.name.replace("_", "-")


def group_of(item: pytest.Item) -> str:
    return Path(str(item.path)).stem.removeprefix("test_").replace("_", "-")


def test_id_of(item: pytest.Item) -> str:
    name = getattr(item, "originalname", None) or item.name.split("[")[0]
    name = name.removeprefix("test_").replace("_", "-")
    param = item.name[len(item.name.split("[")[0]) :]
    return f"{suite_of(item)}/{group_of(item)}/{name}{param}"


def titles_of(item: pytest.Item) -> tuple[str, str]:
    doc = (getattr(item, "obj", None).__doc__ or "").strip() if getattr(item, "obj", None) else ""
    title_fr = doc.splitlines()[0].strip() if doc else item.name
    marker = item.get_closest_marker("title_en")
    title_en = str(marker.args[0]) if marker and marker.args else title_fr
    return title_fr, title_en


def requirements_of(item: pytest.Item) -> list[Requirement]:
    """The requirement a test verifies: an id of the requirements catalogue (or legacy spec/section pairs)."""
    from conformance.sdk.suite_hooks import result_requirement

    result = []
    for marker in item.iter_markers("requirement"):
        if len(marker.args) == 1 and not marker.kwargs:
            result.append(result_requirement(str(marker.args[0])))
            continue
        args = [*list(marker.args), "", ""]
        result.append(Requirement(str(args[0]), str(args[1]), str(marker.kwargs.get("text", ""))))
    return result


def capabilities_of(item: pytest.Item) -> list[str]:
    seen: list[str] = []
    for marker in item.iter_markers("capability"):
        for cap in marker.args:
            if cap not in seen:
                seen.append(str(cap))
    return seen


# ---------------------------------------------------------------- each test -> TestResult


def build_result(item: pytest.Item, lang: str, evidence: list[str], running: RunningTest) -> TestResult:
    title_fr, title_en = titles_of(item)
    outcome, messages, findings = classify(item.stash.get(REPORTS_KEY, []), lang)
    requirements = requirements_of(item)
    if outcome is TestOutcome.FAILED and requirements and requirements[0].strength != "SHALL":
        outcome = TestOutcome.WARNING  # a SHOULD / MAY not met: reported, never a requirement not met
    extra = list(running.notes)
    return TestResult(
        id=test_id_of(item),
        title=title_fr,
        title_en=title_en,
        suite=suite_of(item),
        group=group_of(item),
        capabilities=capabilities_of(item),
        requirements=requirements,
        outcome=outcome,
        messages=messages,
        findings=[*findings, *extra],
        evidence=evidence,
        started=running.started,
        finished=datetime.now(UTC),
    )


def classify(reports: list[tuple[pytest.TestReport, Any]], lang: str) -> tuple[TestOutcome, list[str], list[Finding]]:
    """The verdict from the setup/call/teardown reports: the first non-passing phase decides."""
    for report, excinfo in reports:
        if report.passed:
            continue
        if report.skipped:
            return _skipped(report, excinfo, lang)
        return _failure(report, excinfo, lang)
    if not reports:
        return TestOutcome.ERROR, ["test did not run"], []
    return TestOutcome.PASSED, [], []


def _skipped(report: Any, excinfo: Any, lang: str) -> tuple[TestOutcome, list[str], list[Finding]]:
    from conformance.sdk.checks import NotApplicable

    exc = excinfo.value if excinfo is not None else None
    if isinstance(exc, NotApplicable):
        return TestOutcome.NOT_APPLICABLE, [exc.message(lang)], []
    return TestOutcome.SKIPPED, [_skip_reason(report)], []


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failure(report: Any, excinfo: Any, lang: str) -> tuple[TestOutcome, list[str], list[Finding]]:
    from conformance.sdk.checks import ConformanceFailure

    exc = excinfo.value if excinfo is not None else None
    if isinstance(exc, ConformanceFailure):  # also from a fixture: what the system served does not conform
        return TestOutcome.FAILED, [exc.message(lang)], list(exc.findings)
    if isinstance(exc, AssertionError) and report.when == "call":
        text = str(exc).split("\n")[0] or "assertion failed"
        return (
            TestOutcome.FAILED,
            [text],
            [finding(Severity.ERROR, "processing", "suite-assertion", "", text, text, source="suite")],
        )
    return TestOutcome.ERROR, [_error_message(exc, report, lang)], [_error_finding(exc, report, lang)]


def _error_message(exc: BaseException | None, report: Any, lang: str) -> str:
    if exc is None:
        return str(report.longreprtext).strip().splitlines()[-1] if report.longreprtext else "error"
    own = told(exc, lang)
    if own is not None:
        return own
    phase = {"setup": "préparation", "teardown": "nettoyage"}.get(report.when, "") if lang == "fr" else report.when
    prefix = f"[{phase}] " if report.when != "call" else ""
    return f"{prefix}{type(exc).__name__}: {exc}"[:2000]


def _error_finding(exc: BaseException | None, report: Any, lang: str) -> Finding:
    kind = getattr(exc, "kind", None) or (type(exc).__name__ if exc else "error")
    fr = _error_message(exc, report, "fr")
    en = _error_message(exc, report, "en")
    return finding(Severity.FATAL, "exception", f"harness-{kind}".lower(), "", fr, en, source="tool")


# ---------------------------------------------------------------- fixtures


def _session_or_skip(request: pytest.FixtureRequest) -> CampaignSession:
    session = get_session(request.config)
    if session is None:
        pytest.skip("no conformance campaign (use --conformance-config FILE)")
    return session


def _skip(session: CampaignSession, fr: str, en: str) -> None:
    pytest.skip(fr if session.lang == "fr" else en)


@pytest.fixture(scope="session")
def config(request: pytest.FixtureRequest) -> RunConfig:
    """The validated RunConfig of the campaign."""
    return _session_or_skip(request).config


@pytest.fixture(scope="session")
def campaign(request: pytest.FixtureRequest) -> CampaignSession:
    """The CampaignSession (config, run folder, recorder, language)."""
    return _session_or_skip(request)


@pytest.fixture(scope="session")
def lang(campaign: CampaignSession) -> str:
    return campaign.lang


@pytest.fixture(scope="session")
def test_data(campaign: CampaignSession) -> TestData:
    return campaign.config.test_data


@pytest.fixture(scope="session")
def fhir_client(campaign: CampaignSession) -> Generator[FhirClient, None, None]:
    """The FHIR REST client for the system under test; its exchanges are attached to the running test."""
    if not campaign.config.fhir.base_url:
        _skip(campaign, "fhir.base_url n'est pas configuré", "fhir.base_url is not configured")
    from conformance.campaign.session import CurrentTestSink
    from conformance.transport.http import FhirClient

    client = FhirClient.from_config(
        campaign.config, sink=CurrentTestSink(campaign), on_finding=campaign.note_on_current
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def fhir_validator(campaign: CampaignSession) -> Any:
    """The FHIR validator, loaded once per session with the configured packages."""
    from conformance.campaign.validators import load_fhir_validator

    return load_fhir_validator(campaign)


@pytest.fixture(scope="session")
def hl7v2(campaign: CampaignSession) -> Hl7v2Helpers:
    """HL7 v2 helpers: PAM FR message builders, validate_message, make_ack, check_ack."""
    from conformance.campaign.hl7v2 import Hl7v2Helpers

    return Hl7v2Helpers(campaign)


@pytest.fixture(scope="session")
def mllp_client(campaign: CampaignSession) -> MllpSender:
    """Sends messages to the system's MLLP receiver ([mllp] host/port) and returns the ACKs."""
    mllp = campaign.config.mllp
    if not mllp.host or mllp.port is None:
        _skip(
            campaign,
            "[mllp] host/port (récepteur du système) non configuré",
            "[mllp] host/port (system receiver) not configured",
        )
    from conformance.campaign.hl7v2 import MllpSender

    return MllpSender(campaign)


@pytest.fixture(scope="session")
def mllp_listener(campaign: CampaignSession) -> Any:
    """The harness's MLLP listener ([mllp.listener]): collects what the system sends during the run."""
    if campaign.listener_error is not None:
        raise campaign.listener_error
    if campaign.listener is None:
        if campaign.config.mllp.listener is None:
            _skip(campaign, "[mllp.listener] non configuré", "[mllp.listener] not configured")
        from conformance.campaign.listener import start_session_listener

        start_session_listener(campaign, force=True)
    return campaign.listener


@pytest.fixture(scope="session")
def mss_channel(campaign: CampaignSession) -> Any:
    """The harness's MSSanté operator and correspondent ([mssante]): what the system submitted, TLS probes, MDNs."""
    if campaign.mss_error is not None:
        raise campaign.mss_error
    if campaign.mss is None:
        from conformance.campaign.mssante import start_mss_channel

        start_mss_channel(campaign, force=True)
    return campaign.mss


@pytest.fixture
def evidence(request: pytest.FixtureRequest, campaign: CampaignSession) -> TestEvidence:
    """Evidence for the running test: `.attach(name, data, media_type)`, `.record(exchange)`, `.note(finding)`."""
    from conformance.campaign.evidence import TestEvidence

    return TestEvidence(campaign, request.node.stash[RUNNING_KEY])
