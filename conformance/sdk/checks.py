"""Checks: one line each, findings per resource, and a test that keeps going after a failed check.

    expect(bundle.get("type") == "searchset", SEARCH_BUNDLE_TYPE, "Bundle.type", got=bundle.get("type"))
    with resource("DocumentReference", doc["id"]):      # findings of this block name DocumentReference/<id>
        url = require(attachment_url(doc), DOCREF_URL, "content[0].attachment.url", ref=ref)  # stops the block
        ...

Inside a test (the suites' plugin opens a `Verdict` around each test's body), a failed `expect` records a finding
and the test goes on; at its end the test fails with every finding recorded. A failed `require` also stops: the
enclosing `resource` block (the next resource is judged), or else the test. Outside a verdict (a fixture, a
helper called from a script) both raise at once. A ConformanceFailure carries the findings: the campaign reports
the test as failed with them; any other exception is a harness error (inconclusive), never a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import NoReturn, TypeVar

from _pytest.outcomes import Skipped

from conformance.findings import Finding, Outcome
from conformance.sdk.rules import Rule

T = TypeVar("T")


class ConformanceFailure(AssertionError):
    """The system under test does not meet the requirement. Carries the findings that say why."""

    def __init__(self, findings: Iterable[Finding], summary_fr: str = "", summary_en: str = "") -> None:
        self.findings = list(findings)
        errors = [f for f in self.findings if f.severity.is_failure] or self.findings
        self.summary_fr = summary_fr or _summary(errors, "fr")
        self.summary_en = summary_en or _summary(errors, "en")
        super().__init__(self.summary_en)

    def message(self, lang: str = "fr") -> str:
        return self.summary_fr if lang == "fr" else self.summary_en


def _summary(findings: list[Finding], lang: str) -> str:
    def one(item: Finding) -> str:
        return f"{item.resource} : {item.message(lang)}" if item.resource else item.message(lang)

    text = "; ".join(one(f) for f in findings[:5])
    if len(findings) > 5:
        text += f" (+{len(findings) - 5} autres)" if lang == "fr" else f" (+{len(findings) - 5} more)"
    return text


class NotApplicable(Skipped):
    """The requirement does not apply to this system (e.g. it declares no Patient search): the test is
    "not applicable", with the reason, and counts neither for nor against an indicator."""

    def __init__(self, reason_fr: str, reason_en: str = "") -> None:
        self.reason_fr = reason_fr
        self.reason_en = reason_en or reason_fr
        super().__init__(msg=reason_fr)

    def message(self, lang: str = "fr") -> str:
        return self.reason_fr if lang == "fr" else self.reason_en


def not_applicable(reason_fr: str, reason_en: str = "") -> NoReturn:
    """End the test as not applicable, with the reason (French, English)."""
    raise NotApplicable(reason_fr, reason_en)


class _Stop(ConformanceFailure):
    """A failed `require` inside a verdict: ends the enclosing resource block (or the test)."""


@dataclass(slots=True)
class Verdict:
    """The findings of one test so far, and the resource being judged."""

    findings: list[Finding] = field(default_factory=list)
    resource: str | None = None

    def record(self, item: Finding) -> None:
        if self.resource is not None and item.resource is None:
            item = replace(item, resource=self.resource)
        self.findings.append(item)

    @property
    def failed(self) -> bool:
        return bool(self.findings)

    def failure(self, cause: ConformanceFailure | None = None) -> ConformanceFailure:
        """One ConformanceFailure with every finding recorded, then those of `cause` not yet recorded."""
        extra = [f for f in (cause.findings if cause else []) if f not in self.findings]
        return ConformanceFailure([*self.findings, *extra])


_CURRENT: ContextVar[Verdict | None] = ContextVar("conformance_verdict", default=None)


@contextmanager
def verdict() -> Iterator[Verdict]:
    """Collect the findings of a block; at its end, fail with all of them (if any). The plugin wraps each test."""
    scope = Verdict()
    token = _CURRENT.set(scope)
    try:
        yield scope
    except ConformanceFailure as exc:
        raise scope.failure(exc) from None
    finally:
        _CURRENT.reset(token)
    if scope.failed:
        raise scope.failure()


def current_verdict() -> Verdict | None:
    return _CURRENT.get()


@contextmanager
def resource(resource_type: str, resource_id: object) -> Iterator[str]:
    """Judge one resource (or message, document, package): its findings name it; a failed `require` ends only it."""
    label = f"{resource_type}/{resource_id}" if resource_id not in (None, "") else resource_type
    scope = _CURRENT.get()
    if scope is None:
        with verdict(), resource(resource_type, resource_id) as inner:
            yield inner
        return
    outer = scope.resource
    scope.resource = label
    try:
        yield label
    except _Stop:
        pass
    finally:
        scope.resource = outer


def report(items: Iterable[Finding]) -> bool:
    """Record findings made elsewhere (a validator's, filtered): False when there was at least one."""
    found = list(items)
    scope = _CURRENT.get()
    if not found:
        return True
    if scope is None:
        raise ConformanceFailure(found)
    for item in found:
        scope.record(item)
    return False


def expect(condition: object, rule: Rule, location: str = "", /, **values: object) -> bool:
    """Check one thing; a failure records the rule's finding and the test goes on. Returns bool(condition)."""
    rule.check_values(values)
    if condition:
        return True
    scope = _CURRENT.get()
    item = rule.finding(location, scope.resource if scope else None, **values)
    if scope is None:
        raise ConformanceFailure([item])
    scope.record(item)
    return False


def require(condition: T | None, rule: Rule, location: str = "", /, **values: object) -> T:
    """Check something the rest of the block needs; a failure records the finding and stops the block.

    Returns the condition itself (narrowed: not None), so `url = require(doc.get("url"), RULE, ...)` reads well.
    """
    rule.check_values(values)
    if condition:
        return condition
    fail(rule, location, **values)


def fail(rule: Rule, location: str = "", /, **values: object) -> NoReturn:
    """The check of `rule` failed: record its finding and stop the enclosing resource block (or the test)."""
    scope = _CURRENT.get()
    item = rule.finding(location, scope.resource if scope else None, **values)
    if scope is None:
        raise ConformanceFailure([item])
    scope.record(item)
    raise _Stop([item])


def findings_of(outcomes: Outcome | Iterable[Outcome], *rules: str, exclude: Iterable[str] = ()) -> list[Finding]:
    """The failing findings of validator outcomes, filtered by rule id (or id prefix ending in '*').

    With `rules`, only those; with `exclude`, all but those. Each finding names its outcome's subject as resource,
    so a suite reports the validator's own finding (its rule id, location and message) instead of re-checking.
    """
    wanted, unwanted = _matcher(rules), _matcher(exclude)
    selected: list[Finding] = []
    for outcome in [outcomes] if isinstance(outcomes, Outcome) else outcomes:
        for item in outcome.findings:
            if not item.severity.is_failure:
                continue
            if (rules and not wanted(item.rule)) or (exclude and unwanted(item.rule)):
                continue
            selected.append(item if item.resource else replace(item, resource=outcome.subject))
    return selected


def _matcher(patterns: Iterable[str]) -> _RuleMatcher:
    return _RuleMatcher(tuple(patterns))


@dataclass(frozen=True, slots=True)
class _RuleMatcher:
    patterns: tuple[str, ...]

    def __call__(self, rule_id: str) -> bool:
        return any(rule_id.startswith(p[:-1]) if p.endswith("*") else rule_id == p for p in self.patterns)


def expect_valid(outcomes: Outcome | Iterable[Outcome], *, exclude: Iterable[str] = ()) -> bool:
    """Every error of the validator outcomes is a finding of the test (each naming its subject), except the
    rules in `exclude` (those another requirement's test reports). Warnings are kept as evidence, not failures."""
    return report(findings_of(outcomes, exclude=exclude))
