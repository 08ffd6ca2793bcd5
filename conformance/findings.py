"""One shape for every finding, whatever produced it (FHIR, HL7 v2, CDA validators, suite assertions).

A Finding mirrors one OperationOutcome.issue as the HL7 Java validator writes it: severity, an IssueType
code, a stable rule id (the validator's message id or the constraint key), a location (FHIRPath for FHIR,
`PID-3[2].4.2` for HL7 v2, XPath for CDA) and a message in French and English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.i18n import count, localise, text
from conformance.i18n import severity as severity_label

MESSAGE_ID_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
ISSUE_SOURCE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-source"
ISSUE_LINE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"


def line_column(line: int, column: int | None, file: str | None, lang: str) -> str:
    """Where a finding is in its text: "ligne 3, colonne 5", after the evidence file's name when it has one."""
    key = "finding.line_column" if column is not None else "finding.line"
    where = text(key, lang, line=line, column=column)
    return text("finding.in_file", lang, file=file, where=where) if file else where


class Severity(StrEnum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def is_failure(self) -> bool:
        return self in (Severity.FATAL, Severity.ERROR)


_RANKS = {Severity.FATAL: 3, Severity.ERROR: 2, Severity.WARNING: 1, Severity.INFORMATION: 0}


@dataclass(frozen=True, slots=True)
class Finding:
    """One issue. `code` is a FHIR IssueType code; `rule` is the stable id users grep for."""

    severity: Severity
    code: str
    rule: str
    location: str
    message_fr: str
    message_en: str
    source: str = ""  # "fhir", "hl7v2", "cda", "xdm", "suite", "tool"
    profile: str | None = None
    line: int | None = None
    column: int | None = None
    resource: str | None = None  # the resource (message, document) judged, e.g. "DocumentReference/42"
    file: str | None = None  # the evidence file (run-relative) that `line` and `column` count in, when not the input
    suppressed: str | None = None  # the reason, when a suppression file accepted this finding (still shown)

    def message(self, lang: str = "fr") -> str:
        return self.message_en if lang == "en" else self.message_fr

    def to_issue(self, lang: str = "fr") -> dict[str, Any]:
        """This finding as an OperationOutcome.issue (JSON)."""
        extensions: list[dict[str, Any]] = [{"url": MESSAGE_ID_EXTENSION, "valueString": self.rule}]
        if self.source:
            extensions.append({"url": ISSUE_SOURCE_EXTENSION, "valueString": self.source})
        if self.line is not None:
            extensions.append({"url": ISSUE_LINE_EXTENSION, "valueInteger": self.line})
        details = self.message(lang)
        if self.suppressed is not None:  # accepted by a suppression file: informational, reason first
            details = f"{text('finding.suppressed_reason', lang, reason=self.suppressed)} — {details}"
        issue: dict[str, Any] = {
            "extension": extensions,
            "severity": self.severity.value if self.suppressed is None else Severity.INFORMATION.value,
            "code": self.code,
            "details": {"text": details},
            "expression": [self.location] if self.location else [],
        }
        if not issue["expression"]:
            del issue["expression"]
        if self.profile:
            issue["details"]["coding"] = [{"system": self.profile, "code": self.rule}]
        return issue

    def to_dict(self) -> dict[str, Any]:
        data = {
            "severity": self.severity.value,
            "code": self.code,
            "rule": self.rule,
            "location": self.location,
            "message": {"fr": self.message_fr, "en": self.message_en},
            "source": self.source,
        }
        for key in ("profile", "line", "column", "resource", "file"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.suppressed is not None:
            data["suppressed"] = {"reason": self.suppressed}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        message = data.get("message", {})
        return cls(
            severity=Severity(data["severity"]),
            code=data["code"],
            rule=data["rule"],
            location=data.get("location", ""),
            message_fr=message.get("fr", ""),
            message_en=message.get("en", ""),
            source=data.get("source", ""),
            profile=data.get("profile"),
            line=data.get("line"),
            column=data.get("column"),
            resource=data.get("resource"),
            file=data.get("file") if isinstance(data.get("file"), str) else None,
            suppressed=(data.get("suppressed") or {}).get("reason")
            if isinstance(data.get("suppressed"), dict)
            else None,
        )

    def render(self, lang: str = "fr") -> str:
        where = f" @ {self.location}" if self.location else ""
        if self.resource:
            where = f" @ {self.resource}" + (f" {self.location}" if self.location else "")
        if self.line is not None:
            where += f" ({line_column(self.line, self.column, self.file, lang)})"
        label = severity_label(self.severity.value, lang).upper()
        line = f"{label:<13} [{self.rule}]{where}: {self.message(lang)}"
        if self.suppressed is not None:
            line = f"{severity_label('suppressed', lang).upper():<13} ({label.lower()}) [{self.rule}]{where}: "
            line += f"{self.message(lang)} — {text('finding.suppressed_reason', lang, reason=self.suppressed)}"
        return localise(line, lang)


_SEVERITIES: dict[Severity | str, Severity] = {
    **{level.value: level for level in Severity},
    **{level: level for level in Severity},
}


def finding(
    severity: Severity | str,
    code: str,
    rule: str,
    location: str,
    fr: str,
    en: str,
    **extra: Any,
) -> Finding:
    """Short constructor used by validators: finding("error", "structure", "fhir-unknown-element", ...)."""
    return Finding(severity_of(severity), code, rule, location, fr, en, **extra)


def severity_of(value: Severity | str) -> Severity:
    """The Severity named `value` ("error"...): a dict lookup, cheaper than Enum's lookup by value (hot path)."""
    return _SEVERITIES.get(value) or Severity(value)


@dataclass(slots=True)
class Outcome:
    """The findings for one validated subject (a resource, a message, a document, a package)."""

    subject: str
    kind: str  # "fhir", "hl7v2", "cda", "xdm", ...
    findings: list[Finding] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # e.g. profiles used, message type

    def add(self, item: Finding) -> None:
        self.findings.append(item)

    def extend(self, items: Iterable[Finding]) -> None:
        self.findings.extend(items)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    @property
    def errors(self) -> list[Finding]:
        """Error and fatal findings, except those a suppression file accepted (they are still listed)."""
        return [f for f in self.findings if f.severity.is_failure and f.suppressed is None]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING and f.suppressed is None]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is not None]

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def to_operation_outcome(self, lang: str = "fr") -> dict[str, Any]:
        issues = [f.to_issue(lang) for f in sorted(self.findings, key=lambda f: -f.severity.rank)]
        if not issues:
            issues = [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"text": text("verdict.no_issue", lang)},
                }
            ]
        return {"resourceType": "OperationOutcome", "issue": issues}

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "valid": self.is_valid,
            "findings": [f.to_dict() for f in self.findings],
            "details": self.details,
        }

    def render(self, lang: str = "fr") -> str:
        """The verdict line, e.g. "x.json [fhir] : INVALIDE (3 erreurs, 1 avertissement)", then each finding."""
        verdict = text("verdict.valid" if self.is_valid else "verdict.invalid", lang)
        counts = text(
            "verdict.counts",
            lang,
            errors=count("noun.error", len(self.errors), lang),
            warnings=count("noun.warning", len(self.warnings), lang),
        )
        if self.suppressed:
            counts += " ; " + text(
                "verdict.suppressed", lang, count=count("noun.suppressed", len(self.suppressed), lang)
            )
        head = text("verdict.line", lang, subject=self.subject, kind=self.kind, verdict=verdict, counts=counts)
        return "\n".join([head, *("  " + f.render(lang) for f in self.findings)])
