"""What the report shows, and in which order: substance first, noise grouped once in an annex.

Presentation only: results.json keeps every finding as produced; this module decides how a reader sees them.
- tests ordered by outcome: failures and harness errors first, then warnings, skipped, passed last;
- a test's findings grouped by (severity, rule): one row with the count and every location, never cut;
- terminology and package notices (a code system or value set the loaded packages lack, an element that
  matches no slice: informational) and the notices about the ANS CDA pack itself (a file missing from the
  pack, a case mismatch) are not repeated per test: they go to one annex, grouped by rule, with the tests
  that met them;
- unavailable FHIR package dependencies are named once per package (all versions on one line), in the annex;
- dates in French local time (Europe/Paris) to the second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from conformance.findings import line_column
from conformance.i18n import CatalogueKeyError, text

PARIS = ZoneInfo("Europe/Paris")
# Outcome order in the detail; outcomes this list does not know (a new verdict) come right after failures.
OUTCOME_ORDER = ("failed", "error", "inconclusive", "warning", "skipped", "not_applicable", "passed")
_UNKNOWN_OUTCOME_RANK = 2.5
SEVERITY_ORDER = ("fatal", "error", "warning", "information")

# Informational findings about what the loaded packages lack, not about the system's content.
TERMINOLOGY_NOTICES = frozenset(
    {
        "Terminology_TX_System_NotKnown",
        "Terminology_TX_NotChecked",
        "Terminology_TX_ValueSet_NotFound",
        "This_element_does_not_match_any_known_slice_",
        "Extension_EXT_Unknown_MissingPackage",
        "cda-valueset-unknown",
        "xdm-classCode-unchecked",
        "xdm-formatCode-unchecked",
    }
)
# Notices about the ANS CDA test pack itself, which the user cannot fix (whatever their severity).
PACK_NOTICE_PREFIXES = ("cda-pack-",)
_PACKAGE_WARNING = re.compile(r"^FHIR package dependency not available: (?P<name>[^#\s]+)#(?P<version>\S+)$")


def base_rule(rule: str) -> str:
    """A rule id without its instance suffix ("cda-valueset-unknown:d152e75-…" -> "cda-valueset-unknown")."""
    return rule.split(":", 1)[0]


def is_notice(item: Mapping[str, Any]) -> bool:
    """A finding that belongs to the annex rather than to its test."""
    rule = base_rule(str(item.get("rule", "")))
    if rule.startswith(PACK_NOTICE_PREFIXES):
        return True
    return item.get("severity") == "information" and rule in TERMINOLOGY_NOTICES


@dataclass
class FindingGroup:
    """One row of a test's findings: the same severity and rule, every location and distinct message."""

    severity: str
    rule: str
    locations: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    suppressed: str | None = None
    tests: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return max(len(self.locations), 1)


def _location(item: Mapping[str, Any], lang: str) -> str:
    where = " ".join(part for part in (item.get("resource"), item.get("location")) if part)
    line = item.get("line")
    if isinstance(line, int):
        column, file = item.get("column"), item.get("file")
        column = column if isinstance(column, int) else None
        where = f"{where} ({line_column(line, column, file if isinstance(file, str) else None, lang)})"
    return where.strip()


def group_findings(findings: Iterable[Mapping[str, Any]], lang: str, *, test_id: str = "") -> list[FindingGroup]:
    """Findings grouped by (severity, rule, suppression), worst first, in order of first appearance."""
    groups: dict[tuple[str, str, str | None], FindingGroup] = {}
    for item in findings:
        severity = str(item.get("severity", "information"))
        suppressed = item.get("suppressed")
        reason = suppressed.get("reason", "") if isinstance(suppressed, Mapping) else None
        key = (severity, base_rule(str(item.get("rule", ""))), reason)
        group = groups.get(key)
        if group is None:
            group = groups[key] = FindingGroup(severity, key[1], suppressed=reason)
        group.locations.append(_location(item, lang))
        message = (item.get("message") or {}).get(lang) or ""
        if message not in group.messages:
            group.messages.append(message)
        if test_id and test_id not in group.tests:
            group.tests.append(test_id)
    return sorted(groups.values(), key=lambda g: (g.suppressed is not None, _severity_rank(g.severity)))


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def outcome_rank(outcome: str) -> float:
    return OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else _UNKNOWN_OUTCOME_RANK


def ordered_tests(tests: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Failures first, passed last; within an outcome, the run's order."""
    indexed = list(enumerate(tests))
    return [test for _, test in sorted(indexed, key=lambda pair: (outcome_rank(str(pair[1]["outcome"])), pair[0]))]


@dataclass
class ReportView:
    """Everything the template shows that is not read straight from results.json."""

    tests: list[Mapping[str, Any]]
    findings: dict[str, list[FindingGroup]]
    messages: dict[str, list[str]]
    notices: list[FindingGroup]
    warnings: list[dict[str, Any]]
    missing_packages: list[tuple[str, list[str]]]
    counts_line: str
    outcomes: list[str]
    target_rows: list[tuple[str, str]]
    started: str
    finished: str


def build_view(results: Mapping[str, Any], lang: str) -> ReportView:
    tests = ordered_tests(results.get("tests") or [])
    findings: dict[str, list[FindingGroup]] = {}
    messages: dict[str, list[str]] = {}
    notices: dict[tuple[str, str], FindingGroup] = {}
    for test in tests:
        own = [f for f in test.get("findings") or [] if not is_notice(f)]
        findings[test["id"]] = group_findings(own, lang)
        messages[test["id"]] = _messages_not_in_findings(test, lang)
        for group in group_findings([f for f in test.get("findings") or [] if is_notice(f)], lang, test_id=test["id"]):
            _merge_notice(notices, group)
    warnings, missing = split_warnings(results.get("warnings") or [])
    outcomes = sorted({*OUTCOME_ORDER[-2:], *OUTCOME_ORDER[:2], *(str(t["outcome"]) for t in tests)}, key=outcome_rank)
    return ReportView(
        tests=tests,
        findings=findings,
        messages=messages,
        notices=sorted(notices.values(), key=lambda g: (_severity_rank(g.severity), g.rule)),
        warnings=warnings,
        missing_packages=missing,
        counts_line=counts_line(results.get("summary") or {}, lang),
        outcomes=outcomes,
        target_rows=target_rows(results.get("target") or {}, lang),
        started=local_time(results.get("started"), lang),
        finished=local_time(results.get("finished"), lang),
    )


def _messages_not_in_findings(test: Mapping[str, Any], lang: str) -> list[str]:
    """A test's messages, without those that only repeat one of its findings (shown in the table)."""
    said = {str((f.get("message") or {}).get(lang) or "") for f in test.get("findings") or []}
    said |= {str((f.get("message") or {}).get("fr") or "") for f in test.get("findings") or []}
    return [m for m in test.get("messages") or [] if m not in said and m.split("] ", 1)[-1] not in said]


def _merge_notice(notices: dict[tuple[str, str], FindingGroup], group: FindingGroup) -> None:
    """Pack notices are the same file for every document: one location counted once, the tests listed."""
    existing = notices.get((group.severity, group.rule))
    if existing is None:
        notices[(group.severity, group.rule)] = group
        group.locations = list(dict.fromkeys(group.locations))
        return
    for location in group.locations:
        if location not in existing.locations:
            existing.locations.append(location)
    existing.messages.extend(m for m in group.messages if m not in existing.messages)
    existing.tests.extend(t for t in group.tests if t not in existing.tests)


def split_warnings(warnings: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[str, list[str]]]]:
    """The run's warnings without the unavailable package dependencies, and those dependencies by package."""
    kept: list[dict[str, Any]] = []
    packages: dict[str, list[str]] = {}
    for warning in warnings:
        match = _PACKAGE_WARNING.match(str(warning.get("en", "")))
        if match:
            versions = packages.setdefault(match["name"], [])
            if match["version"] not in versions:
                versions.append(match["version"])
        else:
            kept.append(dict(warning))
    return kept, sorted(packages.items())


def counts_line(summary: Mapping[str, Any], lang: str) -> str:
    """ "118 tests : 110 réussis, 5 échoués, 1 non exécuté" (outcomes that occurred, worst first)."""
    total = int(summary.get("total", 0))
    parts = [
        _outcome_count(outcome, int(n), lang)
        for outcome, n in sorted(
            ((o, n) for o, n in summary.items() if o != "total" and isinstance(n, int) and n),
            key=lambda p: outcome_rank(p[0]),
        )
    ]
    head = text("noun.test", lang, n=total)
    return text("report_view.counts_line", lang, total=head, parts=", ".join(parts) or text("report.no_tests", lang))


def _outcome_count(outcome: str, n: int, lang: str) -> str:
    try:
        return text(f"report_view.outcome_count.{outcome}", lang, n=n)
    except CatalogueKeyError:
        return f"{n} {outcome}"


def target_rows(target: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """The system under test as label / value rows (known keys named in the reader's language)."""
    rows = []
    for key, value in target.items():
        try:
            label = text(f"report_view.target.{key}", lang)
        except CatalogueKeyError:
            label = str(key)
        rows.append((label, _plain(value)))
    return rows


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return "—" if value in (None, "") else str(value)


def local_time(value: Any, lang: str) -> str:
    """An ISO timestamp as the reader's wall clock: "02/12/2026 10:45:51 (heure de Paris)"."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.replace(microsecond=0).isoformat(sep=" ")
    local = moment.astimezone(PARIS)
    return text(
        "report_view.datetime",
        lang,
        date=local.strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"),
        time=local.strftime("%H:%M:%S"),
        zone=local.strftime("%Z"),
    )


_LOCAL_PATH = re.compile(r"^(?:/|~|[A-Za-z]:[\\/]|\.{1,2}/)")


def config_rows(configuration: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The configuration as "section.key = value" rows; secrets are already redacted; local paths are cut to
    their last part ("…/seal.pem"): where files sit on the tester's machine is neither evidence nor public."""
    rows: list[tuple[str, str]] = []
    for key, value in configuration.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(config_rows(value, dotted + "."))
        elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
            for index, item in enumerate(value):
                rows.extend(config_rows(item, f"{dotted}[{index}]."))
        elif value not in (None, "", [], {}):
            rows.append((dotted, _config_value(value)))
    return rows


def _config_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_config_value(v) for v in value)
    if isinstance(value, str) and _LOCAL_PATH.match(value) and "://" not in value:
        name = value.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
        return f"…/{name}" if name else "…"
    return str(value).lower() if isinstance(value, bool) else str(value)


def sources_note(results: Mapping[str, Any], lang: str) -> str:
    """One note for the catalogue's provisional parts, instead of caveats on every row."""
    indicators = results.get("indicators") or []
    unconfirmed = sum(1 for i in indicators if i.get("confirmation") != "established")
    descriptive = sum(1 for i in indicators if not i.get("title_verbatim"))
    no_code = sum(1 for i in indicators if not i.get("code"))
    if not (unconfirmed or descriptive or no_code):
        return ""
    programme = results.get("programme") or {}
    return text(
        "report_view.sources_note",
        lang,
        unconfirmed=text("report_view.sources_unconfirmed", lang, n=unconfirmed),
        descriptive=text("report_view.sources_descriptive", lang, n=descriptive),
        no_code=text("report_view.sources_no_code", lang, n=no_code),
        catalogue=f"{programme.get('id', '')} {programme.get('catalogue_version') or ''}".strip(),
    )
