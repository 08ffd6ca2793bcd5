"""The state of one validation call, scoped per pass, and the helpers every aspect of the walk shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from conformance.findings import Finding, Severity
from conformance.validation.fhir.messages import texts
from conformance.validation.fhir.primitives import PRIMITIVES
from conformance.validation.fhir.structure import ElementNode

_UNSET: Any = object()


@dataclass(slots=True)
class Run:
    """State of one validation call. `profile`, `base_pass` and `profiled` describe the pass being walked:
    change them only through `scope`, which restores them when the pass ends."""

    lang: str
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)
    root: dict[str, Any] | None = None
    bundle_index: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    entry_urls: dict[int, str] = field(default_factory=dict)  # id() of an entry's resource -> the entry's fullUrl
    profile: str | None = None  # the profile walked (None: the base definition)
    base_pass: bool = True  # the base pass reports structure; profile passes only what the profile adds
    profiled: bool = False  # the current resource has profiles: their snapshots carry its bindings
    document_bundle: bool = False  # inside a document Bundle: references must resolve in it
    not_evaluated: dict[str, str] = field(default_factory=dict)
    owners: list[Any] = field(default_factory=list)  # the objects being walked, innermost last
    # while a walk is remembered (walk.py, _check_memoised): every add() call in order, and whether the walk
    # looked outside its item (then it is not remembered)
    recording: list[tuple[str, str, str, str, str, str, str | None]] | None = None
    tainted: bool = False

    def scope(self, *, profile: str | None = _UNSET, base_pass: bool = _UNSET, profiled: bool = _UNSET) -> _Scope:
        """A pass (a profile, a type profile, a contained resource): the given fields for its duration."""
        return _Scope(self, profile, base_pass, profiled)

    def probe(self, profile: str) -> Run:
        """A separate run sharing this one's resource and bundle, to ask whether an item conforms to a profile."""
        if self.recording is not None:
            self.tainted = True
        return Run(
            lang=self.lang,
            root=self.root,
            bundle_index=self.bundle_index,
            entry_urls=self.entry_urls,
            profile=profile,
            base_pass=False,
        )

    def add(
        self,
        severity: str,
        code: str,
        rule: str,
        location: str,
        fr: str,
        en: str,
        profile: str | None = None,
    ) -> None:
        location, en, fr = str(location), str(en), str(fr)
        if self.recording is not None:  # with the profile in force: a remembered walk may change it (a scope)
            self.recording.append((severity, code, rule, location, fr, en, profile or self.profile))
        key = (rule, location, en, severity)
        if key in self.findings:
            return
        self.findings[key] = Finding(
            Severity(severity), code, rule, location, fr, en, source="fhir", profile=profile or self.profile
        )

    def report(self, severity: str, code: str, rule: str, location: str, *args: Any) -> None:
        fr, en = texts(rule, *args)
        self.add(severity, code, rule, location, fr, en)

    def cardinality(self, label: str, minimum: int, maximum: int | None, count: int, loc: str, source: str) -> None:
        """The one place where min/max against a count is judged and reported (elements, slices, type slices)."""
        if maximum is not None and count > maximum:
            self.report("error", "structure", "Validation_VAL_Profile_Maximum", loc, label, maximum, count, source)
        if minimum > count:
            self.report("error", "structure", "Validation_VAL_Profile_Minimum", loc, label, minimum, count, source)


class _Scope:
    """The context manager of `Run.scope` (a class: entered once per extension, cheaper than a generator)."""

    __slots__ = ("_changes", "_run", "_saved")

    def __init__(self, run: Run, profile: Any, base_pass: Any, profiled: Any) -> None:
        self._run = run
        self._changes = (profile, base_pass, profiled)
        self._saved = (run.profile, run.base_pass, run.profiled)

    def __enter__(self) -> Run:
        run = self._run
        profile, base_pass, profiled = self._changes
        if profile is not _UNSET:
            run.profile = profile
        if base_pass is not _UNSET:
            run.base_pass = base_pass
        if profiled is not _UNSET:
            run.profiled = profiled
        return run

    def __exit__(self, *_exc: object) -> None:
        self._run.profile, self._run.base_pass, self._run.profiled = self._saved


# ---- shared helpers -------------------------------------------------------------------------------------

JSON_KIND_NAMES = {"string": "a JSON String", "boolean": "a JSON Boolean", "number": "a JSON Number"}


def json_kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def seq(value: Any) -> list[Any]:
    """A repeating element as a list, whatever the input holds (malformed shapes are reported elsewhere)."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def as_decimal(value: Any) -> Decimal | None:
    """A JSON number or numeric text as an exact Decimal (None: not a number; a boolean is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def base_url(path: str) -> str:
    return "http://hl7.org/fhir/StructureDefinition/" + path.split(".", 1)[0]


def all_primitive(node: ElementNode) -> bool:
    return all(code in PRIMITIVES for code in node.type_codes)


def all_contained(root: dict[str, Any], resource: dict[str, Any]) -> list[dict[str, Any]]:
    contained = [c for c in seq(resource.get("contained")) if isinstance(c, dict)]
    if root is not resource:
        contained.extend(c for c in seq(root.get("contained")) if isinstance(c, dict))
    return contained
