"""Local terminology: ValueSet expansion from the loaded packages and code membership.

Membership answers True (in the value set), False (certainly not in it) or None (cannot tell: the value
set, one of its code systems, or a filter is not available locally). None never becomes an error: the
validator reports it as information naming what is missing, as the reference validator does without a
terminology server.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Code systems too large to ship in packages: never "unknown code" errors for these, only "cannot tell".
EXTERNAL_SYSTEMS = frozenset(
    {
        "http://snomed.info/sct",
        "http://loinc.org",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://unitsofmeasure.org",
        "urn:ietf:bcp:47",
        "urn:ietf:bcp:13",
        "urn:iso:std:iso:3166",
        "urn:iso:std:iso:4217",
        "http://hl7.org/fhir/sid/icd-10",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://hl7.org/fhir/sid/cvx",
        "http://hl7.org/fhir/sid/ndc",
        "http://www.ama-assn.org/go/cpt",
        "http://www.whocc.no/atc",
    }
)


class Context(Protocol):
    def value_set(self, url: str) -> dict[str, Any] | None: ...
    def code_system(self, url: str) -> dict[str, Any] | None: ...


@dataclass(slots=True)
class CodeSystemIndex:
    url: str
    complete: bool
    case_sensitive: bool
    codes: dict[str, dict[str, Any]]
    parents: dict[str, set[str]]

    def has(self, code: str) -> bool:
        if code in self.codes:
            return True
        return not self.case_sensitive and code.lower() in {c.lower() for c in self.codes}

    def descendants(self, code: str) -> set[str]:
        children: dict[str, set[str]] = {}
        for child, parents in self.parents.items():
            for parent in parents:
                children.setdefault(parent, set()).add(child)
        found: set[str] = set()
        stack = [code]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found


@dataclass(slots=True)
class Expansion:
    """What a ValueSet contains, as far as the local packages can tell."""

    url: str
    codes: set[tuple[str, str]] = field(default_factory=set)  # (system, code)
    whole_systems: set[str] = field(default_factory=set)  # every code of these (local, complete) systems
    unknown_systems: set[str] = field(default_factory=set)  # included but not checkable here
    missing: list[str] = field(default_factory=list)  # value sets / code systems not found
    excluded: set[tuple[str, str]] = field(default_factory=set)
    has_excludes_unknown: bool = False
    _bare_codes: set[str] | None = None

    def bare_codes(self) -> set[str]:
        if self._bare_codes is None:
            self._bare_codes = {c for _, c in self.codes}
        return self._bare_codes

    def contains(self, system: str | None, code: str, indexes: dict[str, CodeSystemIndex]) -> bool | None:
        if system is not None and (system, code) in self.excluded:
            return False
        if system is None:
            if code in self.bare_codes():
                return True
            for whole in self.whole_systems:
                index = indexes.get(whole)
                if index is None:
                    return None
                if index.has(code):
                    return True
            return None if (self.unknown_systems or self.missing) else False
        if (system, code) in self.codes:
            return True
        if system in self.whole_systems:
            index = indexes.get(system)
            return index.has(code) if index else None
        if system in self.unknown_systems:
            return None
        return None if self.missing else False


class Terminology:
    """Expands value sets once and answers membership questions; optionally asks a terminology server."""

    def __init__(self, context: Context, server: str | None = None, cache_dir: Path | None = None) -> None:
        self._context = context
        self._expansions: dict[str, Expansion | None] = {}
        self._indexes: dict[str, CodeSystemIndex | None] = {}
        self._lock = threading.Lock()
        self._server = TerminologyServer(server, cache_dir) if server else None

    def code_system(self, url: str) -> CodeSystemIndex | None:
        url = url.split("|", 1)[0]
        if url in self._indexes:
            return self._indexes[url]
        resource = self._context.code_system(url)
        index = _index_code_system(resource) if resource else None
        self._indexes[url] = index
        return index

    def expansion(self, url: str) -> Expansion | None:
        url = url.split("|", 1)[0]
        if url in self._expansions:
            return self._expansions[url]
        self._expansions[url] = None  # guards against import cycles
        resource = self._context.value_set(url)
        result = self._expand(resource, url, depth=0) if resource else None
        self._expansions[url] = result
        return result

    def warm(self, urls: list[str]) -> int:
        """Expand these value sets now, with the code systems they include whole, as a validation service or a
        batch worker does at start-up: the first validations that meet them no longer pay for it. Returns the
        number expanded."""
        expanded = 0
        for url in urls:
            expansion = self.expansion(url)
            if expansion is not None:
                expanded += 1
                for system in sorted(expansion.whole_systems):
                    self.code_system(system)
        return expanded

    def _expand(self, vs: dict[str, Any], url: str, depth: int) -> Expansion:
        exp = Expansion(url)
        compose = vs.get("compose")
        if not compose:
            for contains in _flatten_contains(vs.get("expansion", {}).get("contains", ())):
                if contains.get("system") and contains.get("code"):
                    exp.codes.add((contains["system"], contains["code"]))
            if not vs.get("expansion"):
                exp.missing.append(url)
            return exp
        for include in compose.get("include", ()):
            self._include(exp, include, depth, exclude=False)
        for exclude in compose.get("exclude", ()):
            self._include(exp, exclude, depth, exclude=True)
        return exp

    def _include(self, exp: Expansion, include: dict[str, Any], depth: int, *, exclude: bool) -> None:
        system = include.get("system")
        codes: set[tuple[str, str]] | None = None
        unknown = False
        if system:
            codes, unknown, whole = self._system_part(exp, system, include)
            if whole and not exclude and not include.get("valueSet"):
                if unknown:
                    exp.unknown_systems.add(system)
                else:
                    exp.whole_systems.add(system)
                return
        for vs_url in include.get("valueSet", ()):
            sub = self.expansion(vs_url) if depth < 10 else None
            if sub is None:
                exp.missing.append(vs_url.split("|", 1)[0])
                unknown = True
                continue
            exp.missing.extend(sub.missing)
            sub_codes = set(sub.codes)
            for whole_system in sub.whole_systems:
                index = self.code_system(whole_system)
                if index:
                    sub_codes |= {(whole_system, c) for c in index.codes}
            if sub.unknown_systems:
                unknown = True
                if not exclude:
                    exp.unknown_systems |= sub.unknown_systems
            codes = sub_codes if codes is None else (codes & sub_codes)
        if codes is None:
            return
        if exclude:
            exp.excluded |= codes
            if unknown:
                exp.has_excludes_unknown = True
        else:
            exp.codes |= codes
            if unknown and system:
                exp.unknown_systems.add(system)

    def _system_part(
        self, exp: Expansion, system: str, include: dict[str, Any]
    ) -> tuple[set[tuple[str, str]] | None, bool, bool]:
        """(codes, unknown, whole-system) for the system part of an include."""
        concepts = include.get("concept")
        filters = include.get("filter")
        if concepts:
            return {(system, c["code"]) for c in concepts if c.get("code")}, False, False
        index = self.code_system(system)
        if not filters:
            if index is None or not index.complete:
                if index is None and system not in EXTERNAL_SYSTEMS:
                    exp.missing.append(system)
                return None, True, True
            return None, False, True
        if index is None or not index.complete:
            if index is None and system not in EXTERNAL_SYSTEMS:
                exp.missing.append(system)
            return set(), True, False
        selected: set[str] | None = None
        for flt in filters:
            found = _apply_filter(index, flt)
            if found is None:
                return set(), True, False
            selected = found if selected is None else selected & found
        return {(system, c) for c in (selected or set())}, False, False

    def check(self, vs_url: str, system: str | None, code: str) -> tuple[bool | None, list[str]]:
        """Is (system, code) in the value set? Returns (answer, names of what is missing to tell)."""
        expansion = self.expansion(vs_url)
        if expansion is None:
            answer = self._server.validate_code(vs_url, system, code) if self._server else None
            return answer, [vs_url.split("|", 1)[0]]
        indexes = {s: i for s in expansion.whole_systems if (i := self.code_system(s)) is not None}
        answer = expansion.contains(system, code, indexes)
        if answer is None and self._server:
            answer = self._server.validate_code(vs_url, system, code)
        missing = sorted(set(expansion.missing)) if answer is None else []
        if answer is None and not missing and system:
            missing = [system]
        return answer, missing

    def code_known(self, system: str, code: str) -> bool | None:
        """Is the code defined in its (complete, local) code system? None when the system is not here."""
        index = self.code_system(system)
        if index is None or not index.complete:
            return None
        return index.has(code)


def _index_code_system(cs: dict[str, Any]) -> CodeSystemIndex:
    codes: dict[str, dict[str, Any]] = {}
    parents: dict[str, set[str]] = {}

    def walk(concepts: list[dict[str, Any]], parent: str | None) -> None:
        for concept in concepts:
            code = concept.get("code")
            if not code:
                continue
            codes[code] = concept
            if parent:
                parents.setdefault(code, set()).add(parent)
            for prop in concept.get("property", ()):
                if prop.get("code") in ("parent", "subsumedBy") and prop.get("valueCode"):
                    parents.setdefault(code, set()).add(prop["valueCode"])
            walk(concept.get("concept", ()), code)

    walk(cs.get("concept", ()), None)
    return CodeSystemIndex(
        url=cs.get("url", ""),
        complete=cs.get("content", "complete") == "complete",
        case_sensitive=bool(cs.get("caseSensitive", True)),
        codes=codes,
        parents=parents,
    )


def _apply_filter(index: CodeSystemIndex, flt: dict[str, Any]) -> set[str] | None:
    op, prop, value = flt.get("op"), flt.get("property"), flt.get("value", "")
    if prop in ("concept", "code") and op == "is-a":
        return ({value} | index.descendants(value)) if value in index.codes else set()
    if prop in ("concept", "code") and op == "descendent-of":
        return index.descendants(value)
    if prop in ("concept", "code") and op == "is-not-a":
        return set(index.codes) - ({value} | index.descendants(value))
    if prop in ("concept", "code") and op == "in":
        return {v.strip() for v in value.split(",")} & set(index.codes)
    if op == "=":
        found = set()
        for code, concept in index.codes.items():
            for p in concept.get("property", ()):
                if p.get("code") == prop and value in {str(v) for k, v in p.items() if k.startswith("value")}:
                    found.add(code)
        return found
    return None


def _flatten_contains(contains: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for item in contains or ():
        result.append(item)
        result.extend(_flatten_contains(item.get("contains")))
    return result


class TerminologyServer:
    """A FHIR terminology server asked `$validate-code`, answers cached on disk. Off unless configured."""

    def __init__(self, base_url: str, cache_dir: Path | None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._cache: dict[str, bool | None] = {}
        self._cache_file = (cache_dir / "tx-cache.json") if cache_dir else None
        if self._cache_file and self._cache_file.exists():
            try:
                self._cache = json.loads(self._cache_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._cache = {}

    def validate_code(self, vs_url: str, system: str | None, code: str) -> bool | None:
        key = f"{vs_url}|{system}|{code}"
        if key in self._cache:
            return self._cache[key]
        params = {"url": vs_url, "code": code}
        if system:
            params["system"] = system
        url = f"{self.base_url}/ValueSet/$validate-code?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
        answer: bool | None = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
            for parameter in body.get("parameter", ()):
                if parameter.get("name") == "result":
                    answer = bool(parameter.get("valueBoolean"))
        except (OSError, ValueError):
            return None  # unreachable server: cannot tell, not cached
        self._cache[key] = answer
        if self._cache_file:
            try:
                self._cache_file.parent.mkdir(parents=True, exist_ok=True)
                self._cache_file.write_text(json.dumps(self._cache), encoding="utf-8")
            except OSError:
                pass
        return answer
