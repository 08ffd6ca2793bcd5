"""Indicator catalogues (conformance/profiles/indicators/<programme>.yaml) and the evaluation of a run against one.

A capability is judged from its tests by strength: a failed test is a SHALL not met, a warning a SHOULD (or MAY)
not met, an error a test the harness could not judge:
- met:          tests were executed, no SHALL failed, none errored (warnings allowed);
- not_met:      a SHALL test failed (whatever else happened);
- inconclusive: no SHALL failed, but some test errored, so the harness cannot say "met";
- not_tested:   no test was executed (none exist, or all were skipped or not applicable).
An indicator: not_met when a capability is not met; else inconclusive when one is inconclusive; met when all are
met; partial when some are met and the others not tested; not_tested when none was tested; out_of_scope when it
maps to no capability the harness can test. Errors alone never make anything "not met".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from conformance.results import OUTCOMES, RunResult, TestOutcome, TestResult
from conformance.settings import package_dir
from conformance.yamldoc import load_yaml

INDICATORS_DIR = package_dir("profiles", "indicators")
CAPABILITIES_FILE = "capabilities.yaml"
DEFAULT_PROGRAMME = "hopen2-2024"
STATUSES = ("met", "partial", "not_met", "inconclusive", "not_tested", "out_of_scope")
CAPABILITY_STATUSES = ("met", "not_met", "inconclusive", "not_tested")


class CatalogueError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    code: str | None
    level: str
    title_fr: str
    title_en: str
    title_verbatim: bool
    status: str  # "established" or "unconfirmed"
    capabilities: tuple[str, ...]
    parent: str | None = None
    note: str | None = None  # English
    note_fr: str | None = None
    target: Mapping[str, str] | None = None

    def title(self, lang: str = "fr") -> str:
        return self.title_en if lang == "en" else self.title_fr

    @property
    def label(self) -> str:
        """The official code when there is one, else this tool's id."""
        return self.code or self.id


@dataclass(frozen=True, slots=True)
class Catalogue:
    id: str
    version: str
    name_fr: str
    name_en: str
    source: Mapping[str, Any]
    usage_statement: Mapping[str, str]
    indicators: tuple[Indicator, ...]
    path: str = ""

    def name(self, lang: str = "fr") -> str:
        return self.name_en if lang == "en" else self.name_fr

    def indicators_for(self, capabilities: Iterable[str]) -> list[Indicator]:
        wanted = set(capabilities)
        return [i for i in self.indicators if wanted & set(i.capabilities)]


@dataclass(slots=True)
class CapabilityEvaluation:
    id: str
    status: str
    tests: list[str] = field(default_factory=list)


@dataclass(slots=True)
class IndicatorEvaluation:
    indicator: Indicator
    status: str
    capabilities: list[CapabilityEvaluation]
    counts: dict[str, int]


def available_programmes() -> list[str]:
    return sorted(p.stem for p in INDICATORS_DIR.glob("*.yaml") if p.name != CAPABILITIES_FILE)


@lru_cache(maxsize=16)
def load_catalogue(programme: str = DEFAULT_PROGRAMME, directory: Path | None = None) -> Catalogue:
    """The catalogue of one programme ("hopen-2019", "hopen2-2024", "segur-referencement")."""
    base = Path(directory) if directory else INDICATORS_DIR
    path = base / f"{programme}.yaml"
    if not path.is_file() or "/" in programme or programme == CAPABILITIES_FILE.removesuffix(".yaml"):
        known = ", ".join(available_programmes())
        raise CatalogueError(f"unknown programme {programme!r} (known: {known})")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
        meta = data["programme"]
        indicators = tuple(_indicator(entry) for entry in data["indicators"])
        return Catalogue(
            id=data["catalogue"],
            version=str(data["version"]),
            name_fr=meta["name_fr"],
            name_en=meta["name_en"],
            source=meta.get("source", {}),
            usage_statement=data.get("usage_statement", {}),
            indicators=indicators,
            path=str(path),
        )
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise CatalogueError(f"{path}: malformed catalogue ({type(error).__name__}: {error})") from None


@lru_cache(maxsize=1)
def load_capabilities() -> dict[str, dict[str, str]]:
    """Capability id -> {"fr": title, "en": title}."""
    data = load_yaml((INDICATORS_DIR / CAPABILITIES_FILE).read_text(encoding="utf-8"))
    return {key: dict(value) for key, value in data["capabilities"].items()}


def capability_title(capability: str, lang: str = "fr") -> str:
    titles = load_capabilities().get(capability)
    return titles.get(lang, titles.get("fr", capability)) if titles else capability


def _indicator(entry: Mapping[str, Any]) -> Indicator:
    code = entry.get("code")
    return Indicator(
        id=str(entry["id"]),
        code=str(code) if code is not None else None,
        level=str(entry.get("level", "indicator")),
        title_fr=str(entry["title_fr"]),
        title_en=str(entry.get("title_en", entry["title_fr"])),
        title_verbatim=bool(entry.get("title_verbatim", False)),
        status=str(entry.get("status", "unconfirmed")),
        capabilities=tuple(entry.get("capabilities") or ()),
        parent=entry.get("parent"),
        note=entry.get("note"),
        note_fr=entry.get("note_fr") or entry.get("note"),
        target=entry.get("target"),
    )


def evaluate(catalogue: Catalogue, tests: Sequence[Mapping[str, Any]]) -> list[IndicatorEvaluation]:
    """Judges each indicator from the tests (results.json test entries: id, capabilities, outcome)."""
    by_capability: dict[str, list[Mapping[str, Any]]] = {}
    for test in tests:
        for capability in test.get("capabilities", []):
            by_capability.setdefault(capability, []).append(test)
    evaluations = []
    for indicator in catalogue.indicators:
        capabilities = [_evaluate_capability(c, by_capability.get(c, [])) for c in indicator.capabilities]
        relevant = {t["id"]: t for c in indicator.capabilities for t in by_capability.get(c, [])}
        counts = dict.fromkeys(OUTCOMES, 0)
        for test in relevant.values():
            counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
        evaluations.append(IndicatorEvaluation(indicator, _indicator_status(capabilities), capabilities, counts))
    return evaluations


def evaluate_run(run: RunResult) -> list[IndicatorEvaluation]:
    """The indicators of the run's programme judged from its in-memory results ([] for an unknown programme)."""
    try:
        catalogue = load_catalogue(run.programme)
    except CatalogueError:
        return []
    return evaluate(catalogue, [_as_entry(t) for t in run.tests])


def run_verdict(outcomes: Iterable[str], *, preflight_failed: bool = False) -> str:
    """The run as a whole, by the same rule as a capability; an unreachable endpoint makes it inconclusive."""
    if preflight_failed:
        return "inconclusive"
    return _status_of({TestOutcome(o) for o in outcomes})


def _as_entry(test: TestResult) -> dict[str, Any]:
    """What the roll-up reads of a test, in the shape of its results.json entry."""
    return {"id": test.id, "capabilities": list(test.capabilities), "outcome": test.outcome.value}


def _evaluate_capability(capability: str, tests: list[Mapping[str, Any]]) -> CapabilityEvaluation:
    status = _status_of({TestOutcome(t["outcome"]) for t in tests})
    return CapabilityEvaluation(capability, status, [t["id"] for t in tests])


def _status_of(outcomes: set[TestOutcome]) -> str:
    if TestOutcome.FAILED in outcomes:
        return "not_met"
    if TestOutcome.ERROR in outcomes:
        return "inconclusive"
    if any(o.executed for o in outcomes):
        return "met"
    return "not_tested"


def _indicator_status(capabilities: list[CapabilityEvaluation]) -> str:
    if not capabilities:
        return "out_of_scope"
    statuses = {c.status for c in capabilities}
    if "not_met" in statuses:
        return "not_met"
    if "inconclusive" in statuses:
        return "inconclusive"
    if statuses == {"met"}:
        return "met"
    if "met" in statuses:
        return "partial"
    return "not_tested"
