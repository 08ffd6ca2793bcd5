"""Assertions for the suites: a failed check carries Findings (not just text), in French and English.

    expect(resp.status == 200, "fhir-read-status", f"HTTP {resp.status} au lieu de 200", f"HTTP {resp.status} instead of 200")
    expect_valid(validator.validate(resource, profiles=[PATIENT_INS]))   # fails with the validator's findings

The pytest plugin turns a ConformanceFailure into a FAILED TestResult whose findings are these Findings.
Any other exception (transport fault, timeout) becomes an ERROR naming the fault.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.findings import Outcome, Severity, finding
from conformance.sdk.checks import ConformanceFailure


def fail(rule: str, fr: str, en: str, *, location: str = "", code: str = "processing") -> None:
    raise ConformanceFailure([finding(Severity.ERROR, code, rule, location, fr, en, source="suite")])


def expect(condition: object, rule: str, fr: str, en: str, *, location: str = "", code: str = "processing") -> None:
    """Fail the test with one finding (rule id, French and English message) when `condition` is false."""
    if not condition:
        fail(rule, fr, en, location=location, code=code)


def expect_valid(outcome: Outcome | Iterable[Outcome], what_fr: str = "", what_en: str = "") -> None:
    """Fail with every finding of the outcome(s) when any has an error (warnings are kept, not fatal)."""
    outcomes = [outcome] if isinstance(outcome, Outcome) else list(outcome)
    invalid = [o for o in outcomes if not o.is_valid]
    if not invalid:
        return
    findings = [f for o in outcomes for f in o.findings]
    subjects = ", ".join(o.subject for o in invalid[:3])
    first = invalid[0].errors[0]
    raise ConformanceFailure(
        findings,
        f"{what_fr or subjects} non conforme: {first.message_fr}"
        + (f" (+{sum(len(o.errors) for o in invalid) - 1} autres erreurs)" if len(invalid[0].errors) > 1 else ""),
        f"{what_en or subjects} does not conform: {first.message_en}"
        + (f" (+{sum(len(o.errors) for o in invalid) - 1} more errors)" if len(invalid[0].errors) > 1 else ""),
    )
