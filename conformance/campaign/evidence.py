"""Per-test evidence helper handed to suites by the `evidence` fixture."""

from __future__ import annotations

import json
from typing import Any

from conformance.evidence.exchange import Exchange
from conformance.findings import Finding, Outcome


class TestEvidence:
    __test__ = False

    def __init__(self, state: Any, test_id: str, node: Any) -> None:
        self.state = state
        self.test_id = test_id
        self.node = node

    def attach(self, name: str, data: bytes | str, media_type: str = "application/octet-stream") -> str | None:
        """Attach a file (validated document, OperationOutcome...) to the running test; returns its path."""
        path = self.state.recorder.attach(self.test_id, name, data, media_type)
        if path:
            attached = getattr(self.node, "_conformance_attached", None)
            if attached is None:
                attached = []
                self.node._conformance_attached = attached
            attached.append(str(path))
        return path

    def record(self, exchange: Exchange) -> None:
        self.state.record(exchange)

    def note(self, *findings: Finding) -> None:
        """Keep non-fatal findings (warnings, information) on the test's result."""
        notes = getattr(self.node, "_conformance_findings", None)
        if notes is None:
            notes = []
            self.node._conformance_findings = notes
        notes.extend(findings)

    def outcome(self, name: str, outcome: Outcome) -> None:
        """Attach a validation outcome as an OperationOutcome, and keep its warnings on the result."""
        body = json.dumps(outcome.to_operation_outcome(self.state.lang), ensure_ascii=False, indent=1)
        self.attach(name, body, "application/fhir+json")
        self.note(*[f for f in outcome.findings if not f.severity.is_failure])
