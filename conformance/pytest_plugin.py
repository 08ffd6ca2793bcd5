"""pytest plugin (pytest11 entry point): fixtures and markers for the conformance suites.

Inert unless a campaign is active: `pytest --pyargs conformance.suites --conformance-config FILE`, or `conformance run`
(which hands a CampaignState over). Then each test becomes a TestResult (passed / failed with the
validators' findings / error naming the fault / skipped with the reason), its exchanges are recorded as
evidence attached to it, and results.json is rewritten (complete=false) as tests finish.

Markers: requirement(spec, section, text=""), capability(*ids), title_en(text). French title: the first
line of the test's docstring. Fixtures: config, fhir_client, fhir_validator, hl7v2, mllp_client,
mllp_listener, evidence, test_data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance.findings import Finding, Severity, finding
from conformance.results import Requirement, TestOutcome, TestResult

STATE_KEY = pytest.StashKey[Any]()
REPORTS_KEY = pytest.StashKey[list]()
STARTED_KEY = pytest.StashKey[datetime]()
OWNS_RUN_KEY = pytest.StashKey[bool]()

MARKERS = (
    "requirement(id): the requirement (id in conformance/profiles/requirements) a conformance test verifies",
    "capability(*ids): capability ids covered (vocabulary in CONTRACTS.md / the indicator catalogues)",
    "title_en(text): the English title of a conformance test (the French title is the docstring's first line)",
)


# ---------------------------------------------------------------- options and session


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "hopen-conformance campaign")
    group.addoption("--conformance-config", metavar="FILE", help="run the conformance suites with this TOML file")
    group.addoption("--conformance-output", metavar="DIR", help="run folder (default: [run] output, or runs/<id>)")
    group.addoption("--conformance-lang", choices=("fr", "en"), help="language of messages (default: [run] language)")


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.stash.get(STATE_KEY, None) is not None:
        return
    path = config.getoption("--conformance-config", default=None)
    if not path:
        return
    from conformance.campaign.state import CampaignState, default_run_dir, new_run_id
    from conformance.config import ConfigError, load_config

    try:
        run_config = load_config(path)
    except ConfigError as exc:
        raise pytest.UsageError(exc.render(config.getoption("--conformance-lang") or "fr")) from None
    lang = config.getoption("--conformance-lang") or run_config.run.language
    run_id = new_run_id()
    output = config.getoption("--conformance-output")
    run_dir = Path(output) if output else default_run_dir(run_config, run_id)
    state = CampaignState(config=run_config, run_dir=run_dir, lang=lang, suites=run_config.run.suites, run_id=run_id)
    state.open()
    config.stash[STATE_KEY] = state
    config.stash[OWNS_RUN_KEY] = True
    _interrupt_on_sigterm()
    from conformance.campaign.runner import write_partial_results

    write_partial_results(state)  # from the first moment, the folder says the run is incomplete


def _interrupt_on_sigterm() -> None:
    """Bare pytest: SIGTERM stops the run like Ctrl-C, leaving a partial, unsealed run folder."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def activate(config: pytest.Config, state: Any) -> None:
    """Used by the runner (as a plugin object's pytest_configure) to hand its CampaignState over."""
    config.stash[STATE_KEY] = state


def get_state(config: pytest.Config) -> Any:
    return config.stash.get(STATE_KEY, None)


def pytest_sessionstart(session: pytest.Session) -> None:
    state = get_state(session.config)
    if state is None:
        return
    from conformance.campaign.listener import start_session_listener

    try:
        start_session_listener(state)
    except Exception as exc:  # the receiver-side tests report it as an ERROR
        state.listener_error = exc
    from conformance.campaign.mssante import start_mss_channel

    try:
        start_mss_channel(state)
    except Exception as exc:  # the MSSanté tests report it as an ERROR
        state.mss_error = exc
    from conformance.campaign.dmp import start_dmp_listener

    try:
        start_dmp_listener(state)
    except Exception as exc:  # the DMP-feeding tests report it as an ERROR
        state.dmp_listener_error = exc


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = get_state(session.config)
    if state is None:
        return
    if state.listener is not None:
        state.listener.stop()
    if state.mss is not None:
        state.mss.stop()
    if getattr(state, "dmp_listener", None) is not None:
        state.dmp_listener.stop()
    if session.config.stash.get(OWNS_RUN_KEY, False):
        from conformance.campaign.runner import finish_run

        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        finish_run(state, interrupted=interrupted)
        print(f"\nconformance: run folder {state.run_dir}")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = get_state(config)
    if state is None:
        return
    if not state.suites:
        state.total = len(items)
        return
    kept, dropped = [], []
    for item in items:
        (kept if suite_of(item) in state.suites else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    state.total = len(items)


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    state = get_state(item.config)
    if state is None:
        yield
        return
    item.stash[REPORTS_KEY] = []
    item.stash[STARTED_KEY] = datetime.now(UTC)
    state.recorder.begin_test(test_id_of(item))
    state.current_item = item
    try:
        yield
    finally:
        state.current_item = None
        evidence = list(state.recorder.end_test() or [])
        evidence += [p for p in getattr(item, "_conformance_attached", []) if p not in evidence]
        result = build_result(item, state.lang, evidence)
        state.run.tests.append(result)
        if state.write_partials:
            write_partial_safely(state)
        callback = getattr(state, "on_result", None)
        if callback is not None:
            callback(result)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    if get_state(item.config) is None:
        return
    report = outcome.get_result()
    item.stash.setdefault(REPORTS_KEY, []).append((report, call.excinfo))


def build_result(item: pytest.Item, lang: str, evidence: list[str]) -> TestResult:
    title_fr, title_en = titles_of(item)
    outcome, messages, findings = classify(item.stash.get(REPORTS_KEY, []), lang)
    extra = getattr(item, "_conformance_findings", [])
    return TestResult(
        id=test_id_of(item),
        title=title_fr,
        title_en=title_en,
        suite=suite_of(item),
        group=group_of(item),
        capabilities=capabilities_of(item),
        requirements=requirements_of(item),
        outcome=outcome,
        messages=messages,
        findings=[*findings, *extra],
        evidence=evidence,
        started=item.stash.get(STARTED_KEY, None),
        finished=datetime.now(UTC),
    )


def classify(reports: list, lang: str) -> tuple[TestOutcome, list[str], list[Finding]]:
    """The verdict from the setup/call/teardown reports: the first non-passing phase decides."""
    for report, excinfo in reports:
        if report.passed:
            continue
        if report.skipped:
            return TestOutcome.SKIPPED, [_skip_reason(report)], []
        return _failure(report, excinfo, lang)
    if not reports:
        return TestOutcome.ERROR, ["test did not run"], []
    return TestOutcome.PASSED, [], []


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
    message = getattr(exc, "message", None)
    if callable(message):
        try:
            return str(message(lang))
        except TypeError:
            pass
    phase = {"setup": "préparation", "teardown": "nettoyage"}.get(report.when, "") if lang == "fr" else report.when
    prefix = f"[{phase}] " if report.when != "call" else ""
    return f"{prefix}{type(exc).__name__}: {exc}"[:2000]


def _error_finding(exc: BaseException | None, report: Any, lang: str) -> Finding:
    kind = getattr(exc, "kind", None) or (type(exc).__name__ if exc else "error")
    fr = _error_message(exc, report, "fr")
    en = _error_message(exc, report, "en")
    return finding(Severity.FATAL, "exception", f"harness-{kind}".lower(), "", fr, en, source="tool")


def write_partial_safely(state: Any) -> None:
    from conformance.campaign.runner import write_partial_results

    try:
        write_partial_results(state)
    except Exception as exc:  # the run continues: the final write will retry
        state.run.warnings.append(f"partial results could not be written: {type(exc).__name__}: {exc}")


# ---------------------------------------------------------------- fixtures


def _state_or_skip(request: pytest.FixtureRequest) -> Any:
    state = get_state(request.config)
    if state is None:
        pytest.skip("no conformance campaign (use --conformance-config FILE)")
    return state


def _skip(state: Any, fr: str, en: str) -> None:
    pytest.skip(fr if state.lang == "fr" else en)


@pytest.fixture(scope="session")
def config(request: pytest.FixtureRequest):
    """The validated RunConfig of the campaign."""
    return _state_or_skip(request).config


@pytest.fixture(scope="session")
def campaign(request: pytest.FixtureRequest):
    """The CampaignState (config, run folder, recorder, language)."""
    return _state_or_skip(request)


@pytest.fixture(scope="session")
def lang(campaign) -> str:
    return campaign.lang


@pytest.fixture(scope="session")
def test_data(campaign):
    return campaign.config.test_data


@pytest.fixture(scope="session")
def fhir_client(campaign):
    """The FHIR REST client for the system under test; its exchanges are attached to the running test."""
    if not campaign.config.fhir.base_url:
        _skip(campaign, "fhir.base_url n'est pas configuré", "fhir.base_url is not configured")
    from conformance.campaign.state import CurrentTestSink
    from conformance.transport.http import FhirClient

    client = FhirClient.from_config(
        campaign.config, sink=CurrentTestSink(campaign), on_finding=lambda f: note_on_current_test(campaign, f)
    )
    yield client
    client.close()


def note_on_current_test(state: Any, note: Finding) -> None:
    """A transport's finding (e.g. credentials withheld from another origin) kept on the running test."""
    item = getattr(state, "current_item", None)
    if item is None:
        return
    notes = getattr(item, "_conformance_findings", None)
    if notes is None:
        notes = []
        item._conformance_findings = notes
    if note not in notes:
        notes.append(note)


@pytest.fixture(scope="session")
def fhir_validator(campaign):
    """The FHIR validator, loaded once per session with the configured packages."""
    from conformance.campaign.validators import load_fhir_validator

    return load_fhir_validator(campaign)


@pytest.fixture(scope="session")
def hl7v2(campaign):
    """HL7 v2 helpers: PAM FR message builders, validate_message, make_ack, check_ack."""
    from conformance.campaign.hl7v2 import Hl7v2Helpers

    return Hl7v2Helpers(campaign)


@pytest.fixture(scope="session")
def mllp_client(campaign):
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
def mllp_listener(campaign):
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
def mss_channel(campaign):
    """The harness's MSSanté operator and correspondent ([mssante]): what the system submitted, TLS probes, MDNs."""
    if campaign.mss_error is not None:
        raise campaign.mss_error
    if campaign.mss is None:
        from conformance.campaign.mssante import start_mss_channel

        start_mss_channel(campaign, force=True)
    return campaign.mss


@pytest.fixture
def evidence(request: pytest.FixtureRequest, campaign):
    """Evidence for the running test: `.attach(name, data, media_type)`, `.record(exchange)`, `.note(finding)`."""
    from conformance.campaign.evidence import TestEvidence

    return TestEvidence(campaign, test_id_of(request.node), request.node)
