"""The in-memory shape of a campaign run: what the suites produce and the reports read.

The pytest plugin fills TestResult objects as tests finish; the evidence layer writes them to
`results.json` (schema in conformance/reports/) and the reports render them. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from conformance.findings import Finding


class TestOutcome(StrEnum):
    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"  # a SHALL requirement is not met
    WARNING = "warning"  # a SHOULD (or MAY) requirement is not met: reported, never makes an indicator "not met"
    ERROR = "error"  # the harness could not judge (timeout, unreachable, crash): inconclusive, never a failure
    SKIPPED = "skipped"  # the configuration does not provide what the test needs (reason given)
    NOT_APPLICABLE = "not_applicable"  # the requirement does not apply to this system (reason given)

    @property
    def executed(self) -> bool:
        """The test judged the system (passed, failed, warning) or tried to (error)."""
        return self not in (TestOutcome.SKIPPED, TestOutcome.NOT_APPLICABLE)


OUTCOMES = tuple(o.value for o in TestOutcome)


@dataclass(slots=True)
class Requirement:
    """What a test verifies: its id in the requirements catalogue, the specification and section that state it,
    and its strength in the specification's own words (SHALL / SHOULD / MAY)."""

    specification: str
    section: str
    text: str = ""  # the statement, in French
    id: str = ""
    strength: str = "SHALL"
    version: str = ""  # of the specification
    text_en: str = ""


@dataclass(slots=True)
class TestResult:
    __test__ = False

    id: str  # stable: "<suite>/<group>/<test>", e.g. "fhir-basics/capability/metadata-is-r4"
    title: str  # French title; title_en for English reports
    title_en: str
    suite: str
    group: str
    capabilities: list[str]  # capability ids, e.g. "fhir.rest.read", "ins.search"
    requirements: list[Requirement]
    outcome: TestOutcome
    messages: list[str] = field(default_factory=list)  # why it failed / was skipped, in the run's language
    findings: list[Finding] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # paths relative to the run folder
    started: datetime | None = None
    finished: datetime | None = None
    indicators: list[str] = field(default_factory=list)  # filled from the catalogue at report time

    @property
    def requirement_id(self) -> str:
        """The id of the one requirement this test verifies ("" for a test outside the catalogue)."""
        return self.requirements[0].id if self.requirements else ""

    @property
    def strength(self) -> str:
        """SHALL / SHOULD / MAY: a SHOULD test that fails is a warning, not a requirement not met."""
        return self.requirements[0].strength if self.requirements else "SHALL"


@dataclass(slots=True)
class EndpointCheck:
    """One configured endpoint reached (or not) by the preflight, before any suite ran."""

    endpoint: str  # e.g. "fhir", "mllp.receiver", "mllp.listener", "auth.token"
    target: str  # URL or host:port, no credentials
    ok: bool
    cause: str | None = None  # a conformance.transport.failure code: "name-resolution", "refused", "tls"...
    message_fr: str = ""
    message_en: str = ""
    elapsed_ms: float = 0.0

    def message(self, lang: str = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message_en


@dataclass(slots=True)
class RunResult:
    run_id: str
    tool_version: str
    packages: dict[str, str]  # FHIR package / rule set name -> version actually loaded
    target: dict[str, Any]  # endpoints under test (no secrets)
    configuration: dict[str, Any]  # the run configuration, secrets redacted
    programme: str  # indicator catalogue id, e.g. "hopen2-2024"
    language: str
    started: datetime
    finished: datetime | None = None
    complete: bool = False  # False while running or when interrupted
    tests: list[TestResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. TLS verification off, generated signing key
    preflight: list[EndpointCheck] = field(default_factory=list)

    @property
    def preflight_failed(self) -> bool:
        return any(not check.ok for check in self.preflight)
