"""Suppression file: known findings a team has decided to accept, each with its reason, kept visible.

Like the HL7 validator's advisor file or Inferno's message filters, but nothing disappears: a matched finding
stays in the output, marked "supprimé" with the reason, and no longer counts as an error or a warning for
`validate`'s verdict and exit code. In a campaign (`run`) the findings are marked the same way in
results.json and the report, which lists every suppression with how many findings it matched; a test's
outcome stays the suite's own.

Format (TOML; `validate --suppressions FILE`, `run --suppressions FILE` or `[run] suppressions = "FILE"`):

    [[suppress]]
    rule = "Terminology_TX_System_NotKnown"       # message id; * and ? wildcards (required)
    location = "Patient.identifier*"              # FHIRPath / XPath / PID-3 location pattern (default "*")
    test = "identity/*"                           # campaign test id pattern (default "*")
    reason = "ans.fr.terminologies is not published yet (ticket 123)"   # required, shown in the report

Patterns are case-sensitive shell-style globs (`fnmatch`), matched against the whole text.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from conformance.findings import Finding, Outcome

MAX_FILE_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000
_KEYS = {"rule", "location", "test", "reason"}


class SuppressionError(Exception):
    """The suppression file cannot be used; every problem is listed (French and English)."""

    def __init__(self, problems_fr: list[str], problems_en: list[str]) -> None:
        super().__init__("; ".join(problems_en))
        self.problems_fr = problems_fr
        self.problems_en = problems_en

    def message(self, lang: str = "fr") -> str:
        return "; ".join(self.problems_en if lang == "en" else self.problems_fr)


@dataclass(frozen=True, slots=True)
class Suppression:
    rule: str
    reason: str
    location: str = "*"
    test: str = "*"

    def matches(self, rule: str, location: str, test: str = "") -> bool:
        return (
            fnmatchcase(rule, self.rule)
            and fnmatchcase(location or "", self.location)
            and fnmatchcase(test or "", self.test)
        )


@dataclass(slots=True)
class Suppressions:
    entries: list[Suppression]
    source: str = ""
    sha256: str = ""
    matched: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.matched = [0] * len(self.entries)

    def reason_for(self, rule: str, location: str, test: str = "") -> str | None:
        """The reason of the first entry that matches (and it is counted), or None."""
        for index, entry in enumerate(self.entries):
            if entry.matches(rule, location, test):
                self.matched[index] += 1
                return entry.reason
        return None

    def apply(self, outcome: Outcome) -> Outcome:
        """`outcome` with its matched findings marked suppressed (never removed)."""
        outcome.findings = [self._mark(item) for item in outcome.findings]
        return outcome

    def _mark(self, item: Finding) -> Finding:
        if item.suppressed is not None:
            return item
        reason = self.reason_for(item.rule, item.location)
        return replace(item, suppressed=reason) if reason is not None else item

    def apply_to_results(self, results: dict[str, Any]) -> dict[str, Any]:
        """results.json data with the tests' matched findings marked, and the suppressions listed."""
        for test in results.get("tests") or []:
            for item in test.get("findings") or []:
                if "suppressed" in item:
                    continue
                reason = self.reason_for(str(item.get("rule", "")), str(item.get("location", "")), test.get("id", ""))
                if reason is not None:
                    item["suppressed"] = {"reason": reason}
        results["suppressions"] = self.describe()
        return results

    def describe(self) -> dict[str, Any]:
        return {
            "file": Path(self.source).name if self.source else "",
            "sha256": self.sha256,
            "entries": [
                {"rule": e.rule, "location": e.location, "test": e.test, "reason": e.reason, "matched": n}
                for e, n in zip(self.entries, self.matched, strict=True)
            ],
        }


def load_suppressions(path: Path | str) -> Suppressions:
    """Reads and checks a suppression file; SuppressionError names every problem at once."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuppressionError(
            [f"{path} : lecture impossible ({exc.strerror or exc})"], [f"{path}: cannot read ({exc.strerror or exc})"]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise SuppressionError([f"{path} : plus de 1 Mio"], [f"{path}: over 1 MiB"])
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SuppressionError([f"{path} : TOML invalide ({exc})"], [f"{path}: invalid TOML ({exc})"]) from None
    entries, problems_fr, problems_en = _entries(document.get("suppress"), path)
    unknown = set(document) - {"suppress"}
    if unknown:
        problems_fr.append(f"{path} : tables inconnues {sorted(unknown)} (seul [[suppress]] est lu)")
        problems_en.append(f"{path}: unknown tables {sorted(unknown)} (only [[suppress]] is read)")
    if problems_en:
        raise SuppressionError(problems_fr, problems_en)
    return Suppressions(entries, source=str(path), sha256=hashlib.sha256(data).hexdigest())


def _entries(raw: Any, path: Path) -> tuple[list[Suppression], list[str], list[str]]:
    entries: list[Suppression] = []
    problems_fr: list[str] = []
    problems_en: list[str] = []
    if raw is None:
        return entries, problems_fr, problems_en
    if not isinstance(raw, list) or len(raw) > MAX_ENTRIES:
        return (
            entries,
            [f"{path} : [[suppress]] doit être une liste de tables (au plus {MAX_ENTRIES})"],
            [f"{path}: [[suppress]] must be an array of tables (at most {MAX_ENTRIES})"],
        )
    for number, entry in enumerate(raw, 1):
        where = f"{path} [[suppress]] n°{number}"
        where_en = f"{path} [[suppress]] #{number}"
        if not isinstance(entry, Mapping):
            problems_fr.append(f"{where} : une table est attendue")
            problems_en.append(f"{where_en}: a table is expected")
            continue
        problems_before = len(problems_en)
        for key in sorted(set(entry) - _KEYS):
            problems_fr.append(f"{where} : clé inconnue « {key} » (clés : {', '.join(sorted(_KEYS))})")
            problems_en.append(f"{where_en}: unknown key '{key}' (keys: {', '.join(sorted(_KEYS))})")
        rule, reason = entry.get("rule"), entry.get("reason")
        for key, value in (("rule", rule), ("reason", reason)):
            if not isinstance(value, str) or not value.strip():
                problems_fr.append(f"{where} : « {key} » est obligatoire (texte non vide)")
                problems_en.append(f"{where_en}: '{key}' is required (non-empty text)")
        location, test = entry.get("location"), entry.get("test")
        for key, value in (("location", location), ("test", test)):
            if value is not None and not isinstance(value, str):
                problems_fr.append(f"{where} : « {key} » doit être un texte")
                problems_en.append(f"{where_en}: '{key}' must be text")
        if (
            len(problems_en) == problems_before
            and isinstance(rule, str)
            and isinstance(reason, str)
            and isinstance(location, str | None)
            and isinstance(test, str | None)
        ):
            entries.append(
                Suppression(
                    rule=rule.strip(),
                    reason=" ".join(reason.split()),
                    location=location or "*",
                    test=test or "*",
                )
            )
    return entries, problems_fr, problems_en


def from_configuration(configuration: Mapping[str, Any]) -> Suppressions | None:
    """The suppressions named by a run's configuration copy (`[run] suppressions`), if any."""
    run = configuration.get("run") if isinstance(configuration, Mapping) else None
    path = run.get("suppressions") if isinstance(run, Mapping) else None
    return load_suppressions(path) if path else None


def apply_all(outcomes: Iterable[Outcome], suppressions: Suppressions | None) -> list[Outcome]:
    return [suppressions.apply(o) for o in outcomes] if suppressions else list(outcomes)
