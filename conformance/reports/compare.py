"""Two runs side by side: which findings are new, fixed or unchanged, and which tests changed outcome.

    diff = compare_runs(load_run(Path("runs/a")), load_run(Path("runs/b")))
    diff.new, diff.fixed, diff.unchanged      # FindingKey lists; diff.to_dict() is what `--json` prints

A finding is keyed by the test, the resource it is about, the rule and the location, never by its message
(which carries values that change from run to run), so one resource's defect never hides another's. Suppressed
findings are left out. A test that ran in one run only is listed as such, its findings neither new nor fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_RESULTS_BYTES = 256 * 1024 * 1024


class CompareError(Exception):
    def __init__(self, message_fr: str, message_en: str) -> None:
        self.message_fr = message_fr
        self.message_en = message_en
        super().__init__(message_en)

    def message(self, lang: str = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message_en


@dataclass(frozen=True, slots=True, order=True)
class FindingKey:
    test: str
    resource: str
    rule: str
    location: str


@dataclass(frozen=True, slots=True)
class OutcomeChange:
    test: str
    before: str
    after: str


@dataclass(slots=True)
class RunDiff:
    before: str  # run ids
    after: str
    new: list[FindingKey] = field(default_factory=list)
    fixed: list[FindingKey] = field(default_factory=list)
    unchanged: list[FindingKey] = field(default_factory=list)
    outcomes: list[OutcomeChange] = field(default_factory=list)
    only_before: list[str] = field(default_factory=list)  # tests that ran in one run only
    only_after: list[str] = field(default_factory=list)
    messages: dict[FindingKey, dict[str, str]] = field(default_factory=dict)  # the latest message of each key
    verdicts: tuple[str, str] = ("", "")

    def to_dict(self) -> dict[str, Any]:
        def rows(keys: Iterable[FindingKey]) -> list[dict[str, Any]]:
            return [
                {
                    "test": k.test,
                    "resource": k.resource,
                    "rule": k.rule,
                    "location": k.location,
                    "message": self.messages.get(k),
                }
                for k in keys
            ]

        return {
            "before": self.before,
            "after": self.after,
            "verdict": {"before": self.verdicts[0], "after": self.verdicts[1]},
            "counts": {"new": len(self.new), "fixed": len(self.fixed), "unchanged": len(self.unchanged)},
            "new": rows(self.new),
            "fixed": rows(self.fixed),
            "unchanged": rows(self.unchanged),
            "outcome_changes": [{"test": c.test, "before": c.before, "after": c.after} for c in self.outcomes],
            "only_before": self.only_before,
            "only_after": self.only_after,
        }


def load_run(run_dir: Path) -> dict[str, Any]:
    """A run folder's results.json (bounded); CompareError when there is none or it cannot be read."""
    path = Path(run_dir) / "results.json"
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise CompareError(f"{path} : fichier trop volumineux", f"{path}: file too large")
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CompareError(
            f"{run_dir} n'est pas un dossier d'exécution (results.json absent)",
            f"{run_dir} is not a run folder (no results.json)",
        ) from None
    except (OSError, ValueError) as exc:
        raise CompareError(f"{path} illisible : {exc}", f"{path} unreadable: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise CompareError(f"{path} : ce n'est pas un results.json", f"{path}: not a results.json")
    return data


def compare_runs(before: Mapping[str, Any], after: Mapping[str, Any]) -> RunDiff:
    diff = RunDiff(str(before.get("run_id", "")), str(after.get("run_id", "")))
    diff.verdicts = (str(before.get("verdict", "")), str(after.get("verdict", "")))
    tests_before, tests_after = _tests(before), _tests(after)
    common = tests_before.keys() & tests_after.keys()
    diff.only_before = sorted(tests_before.keys() - tests_after.keys())
    diff.only_after = sorted(tests_after.keys() - tests_before.keys())
    keys_before = _findings(tests_before[t] for t in common)
    keys_after = _findings(tests_after[t] for t in common)
    diff.messages = {**keys_before, **keys_after}
    diff.new = sorted(keys_after.keys() - keys_before.keys())
    diff.fixed = sorted(keys_before.keys() - keys_after.keys())
    diff.unchanged = sorted(keys_before.keys() & keys_after.keys())
    for test_id in sorted(common):
        old, new = str(tests_before[test_id].get("outcome")), str(tests_after[test_id].get("outcome"))
        if old != new:
            diff.outcomes.append(OutcomeChange(test_id, old, new))
    return diff


def _tests(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(t.get("id")): t for t in results.get("tests", []) if isinstance(t, Mapping) and t.get("id")}


def _findings(tests: Iterable[Mapping[str, Any]]) -> dict[FindingKey, dict[str, str]]:
    keys: dict[FindingKey, dict[str, str]] = {}
    for test in tests:
        for item in test.get("findings") or []:
            if not isinstance(item, Mapping) or item.get("suppressed"):
                continue
            if item.get("severity") not in ("fatal", "error", "warning"):
                continue  # informational findings are evidence, not defects to follow up
            key = FindingKey(
                str(test.get("id")),
                str(item.get("resource") or ""),
                str(item.get("rule", "")),
                str(item.get("location", "")),
            )
            message = item.get("message")
            keys[key] = dict(message) if isinstance(message, Mapping) else {"fr": str(message), "en": str(message)}
    return keys


def diff_lines(diff: RunDiff, lang: str = "fr") -> list[str]:
    """The terminal view: counts, then each new and fixed finding, then outcome changes."""
    fr = lang == "fr"
    lines = [
        (f"Comparaison {diff.before} → {diff.after}" if fr else f"Comparison {diff.before} → {diff.after}"),
        (
            f"  {len(diff.new)} nouveaux constats, {len(diff.fixed)} corrigés, {len(diff.unchanged)} inchangés"
            if fr
            else f"  {len(diff.new)} new findings, {len(diff.fixed)} fixed, {len(diff.unchanged)} unchanged"
        ),
    ]
    if any(diff.verdicts):
        label = "  Verdict : " if fr else "  Verdict: "
        lines.append(f"{label}{diff.verdicts[0] or '?'} → {diff.verdicts[1] or '?'}")
    for title_fr, title_en, keys in (("Nouveaux", "New", diff.new), ("Corrigés", "Fixed", diff.fixed)):
        if keys:
            lines.append(title_fr if fr else title_en)
            lines.extend(_finding_line(diff, key, lang) for key in keys)
    if diff.outcomes:
        lines.append("Tests au résultat changé" if fr else "Tests whose outcome changed")
        lines.extend(
            f"  {c.test} : {c.before} → {c.after}" if fr else f"  {c.test}: {c.before} → {c.after}"
            for c in diff.outcomes
        )
    for title_fr, title_en, tests in (
        ("Tests seulement dans la première exécution", "Tests only in the first run", diff.only_before),
        ("Tests seulement dans la seconde exécution", "Tests only in the second run", diff.only_after),
    ):
        if tests:
            lines.append(title_fr if fr else title_en)
            lines.extend(f"  {t}" for t in tests)
    return lines


def _finding_line(diff: RunDiff, key: FindingKey, lang: str) -> str:
    where = " ".join(part for part in (key.resource, key.location) if part)
    message = (diff.messages.get(key) or {}).get(lang, "")
    separator = " : " if lang == "fr" else ": "
    head = f"  {key.test} [{key.rule}]" + (f" {where}" if where else "")
    return head + (f"{separator}{message[:200]}" if message else "")
