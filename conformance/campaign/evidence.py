"""Per-test evidence helper handed to suites by the `evidence` fixture."""

from __future__ import annotations

import json

from conformance.campaign.session import CampaignSession, RunningTest
from conformance.evidence.exchange import Exchange
from conformance.findings import Finding, Outcome


class TestEvidence:
    __test__ = False

    def __init__(self, session: CampaignSession, running: RunningTest) -> None:
        self.session = session
        self.running = running
        self.test_id = running.id

    def attach(self, name: str, data: bytes | str, media_type: str = "application/octet-stream") -> str | None:
        """Attach a file (validated document, OperationOutcome...) to the running test; returns its path."""
        path = self.session.recorder.attach(self.test_id, name, data, media_type)
        if path:
            self.running.attached.append(str(path))
        return path

    def record(self, exchange: Exchange) -> None:
        self.session.record(exchange)

    def note(self, *findings: Finding) -> None:
        """Keep non-fatal findings (warnings, information) on the test's result."""
        self.running.notes.extend(findings)

    def outcome(self, name: str, outcome: Outcome) -> None:
        """Attach a validation outcome as an OperationOutcome, and keep its warnings on the result."""
        body = json.dumps(outcome.to_operation_outcome(self.session.lang), ensure_ascii=False, indent=1)
        self.attach(name, body, "application/fhir+json")
        self.note(*[f for f in outcome.findings if not f.severity.is_failure])
