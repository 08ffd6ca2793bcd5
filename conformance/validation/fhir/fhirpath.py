"""FHIRPath invariants: each expression compiled once (fhirpathpy), the hottest ones answered natively.

Native checks must give the same answer as the expression; tests compare both on the same inputs.
fhirpathpy gaps worked around here: `hasValue()` is not implemented (added through the user invocation
table), and `as(T)` raises on collections of more than one item, which breaks R4 `dom-3` (rewritten to
`ofType(T)`, which is what `as` means for the one-item case and what the reference validator does for more).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from fhirpathpy import compile as fp_compile
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from conformance.validation.fhir.fastpath import TYPE_SUFFIXES, Fallback, compile_fast
from conformance.validation.fhir.natives import NATIVE_RESOURCE_RULES
from conformance.validation.patterns import PatternTimeout, guard_fhirpathpy

guard_fhirpathpy()

_MODEL = models["r4"]
_AS_CALL = re.compile(r"\.as\(")


def _has_value(inputs: list[Any]) -> list[bool]:
    if len(inputs) != 1:
        return [False]
    item = inputs[0]
    return [item is not None and not isinstance(item, dict | list)]


def _html_checks(inputs: list[Any]) -> list[bool]:
    return [True]  # narrative XHTML rules are checked natively (see _xhtml_ok)


def _silent_trace(*_args: Any) -> None:
    """fhirpathpy prints trace() output by default."""


_OPTIONS: dict[str, Any] = {
    "traceFn": _silent_trace,
    "userInvocationTable": {
        "hasValue": {"fn": _has_value, "arity": {0: []}},
        "htmlChecks": {"fn": _html_checks, "arity": {0: []}},
    },
}


def _member_of(check: Callable[[str | None, str, str], bool | None]) -> Callable[..., list[bool]]:
    """FHIRPath memberOf(valueSet) on codes, Codings and CodeableConcepts: empty when it cannot be told."""

    def member_of(inputs: list[Any], value_set: Any) -> list[bool]:
        if len(inputs) != 1 or not isinstance(value_set, str):
            return []
        item = getattr(inputs[0], "data", inputs[0])
        if isinstance(item, str):
            codings: list[tuple[str | None, str]] = [(None, item)]
        elif isinstance(item, dict) and isinstance(item.get("code"), str):
            codings = [(item.get("system"), item["code"])]
        elif isinstance(item, dict):
            codings = [
                (c.get("system"), c["code"])
                for c in item.get("coding") or ()
                if isinstance(c, dict) and isinstance(c.get("code"), str)
            ]
        else:
            return []
        answers = [check(system, code, value_set) for system, code in codings]
        if any(answer is True for answer in answers):
            return [True]
        return [False] if answers and all(answer is False for answer in answers) else []

    return member_of


_SYSTEM_TYPE_TEST = re.compile(r"\b(is|ofType\() ?(Boolean|String|Integer|Decimal|Date|DateTime|Time)\b")


def prepare_expression(expression: str) -> str:
    """Rewrites for fhirpathpy: `as` on collections, and `is Boolean` on FHIR primitives (true in the Java engine)."""
    expression = _AS_CALL.sub(".ofType(", expression)
    return _SYSTEM_TYPE_TEST.sub(
        lambda m: f"{m.group(1)}{' ' if m.group(1) == 'is' else ''}{_lower_first(m.group(2))}", expression
    )


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


class ExpressionCache:
    """Compiled expressions keyed by text. A compile failure is remembered (None) and reported once.

    Each expression is compiled by the fast subset compiler when it can be (fastpath.py), and by fhirpathpy
    otherwise or when the fast form asks for the full engine at run time.
    """

    def __init__(
        self, use_fast: bool = True, member_of: Callable[[str | None, str, str], bool | None] | None = None
    ) -> None:
        """`member_of(system, code, value_set)` answers FHIRPath `memberOf()` (None: not known)."""
        self._options: dict[str, Any] = _OPTIONS
        if member_of is not None:
            table = {
                **_OPTIONS["userInvocationTable"],
                "memberOf": {"fn": _member_of(member_of), "arity": {1: ["String"]}},
            }
            self._options = {**_OPTIONS, "userInvocationTable": table}
        self._fast: dict[str, Callable[..., list[Any]] | None] = {}
        self.use_fast = use_fast
        self._compiled: dict[str, Callable[..., list[Any]] | None] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, expression: str) -> Callable[..., list[Any]] | None:
        try:
            return self._compiled[expression]
        except KeyError:
            pass
        try:
            compiled = fp_compile(prepare_expression(expression), _MODEL, self._options)
        except Exception as exc:  # the parser raises many kinds; an uncompilable rule is skipped, not fatal
            compiled = None
            self._errors[expression] = f"{type(exc).__name__}: {exc}"
        self._compiled[expression] = compiled
        return compiled

    def error(self, expression: str) -> str | None:
        return self._errors.get(expression)

    def note_error(self, expression: str, reason: str) -> None:
        self._errors[expression] = reason

    def fast(self, expression: str) -> Callable[..., list[Any]] | None:
        try:
            return self._fast[expression]
        except KeyError:
            pass
        try:
            compiled = compile_fast(expression)
        except Exception:  # Unsupported, or a parse error the full engine will report
            compiled = None
        self._fast[expression] = compiled
        return compiled

    def evaluate(self, expression: str, item: Any, resource: Any, root: Any, path: str = "") -> bool | None:
        """True/False for a boolean invariant; None when the engine cannot evaluate it."""
        if self.use_fast:
            fast = self.fast(expression)
            if fast is not None:
                try:
                    return _verdict(fast(item, resource, root))
                except Fallback:
                    pass
        return self.evaluate_full(expression, item, resource, root, path)

    def evaluate_full(self, expression: str, item: Any, resource: Any, root: Any, path: str = "") -> bool | None:
        """The same question asked of fhirpathpy only."""
        compiled = self.get(expression)
        if compiled is None:
            return None
        try:
            if path and isinstance(item, dict) and "resourceType" not in item:
                item = ResourceNode.create_node(item, path)  # typed, so choice names like `value` resolve
            result = compiled(item, {"resource": resource, "rootResource": root})
        except PatternTimeout as exc:  # a profile's pattern past its deadline: neither a pass nor a fail
            self._errors[expression] = str(exc)
            return None
        except Exception as exc:  # engine limitation, not an instance defect
            self._errors[expression] = f"{type(exc).__name__}: {exc}"
            return None
        return _verdict(result)

    def values(self, expression: str, resource: dict[str, Any]) -> list[Any] | None:
        """The values of an expression on a resource (fhirpathpy); None when the engine cannot evaluate it."""
        compiled = self.get(expression)
        if compiled is None:
            return None
        try:
            return list(compiled(resource, {"resource": resource, "rootResource": resource}))
        except Exception as exc:  # engine limitation or a bad expression, not an instance defect
            self._errors[expression] = f"{type(exc).__name__}: {exc}"
            return None


def _verdict(result: list[Any]) -> bool:
    """An invariant fails only on a single `false`; an empty result does not fail it."""
    return not (len(result) == 1 and result[0] is False)


# ---- native implementations of the hottest constraints -------------------------------------------------


def ext_1(extension: Any) -> bool:
    """extension.exists() != value.exists()"""
    if not isinstance(extension, dict):
        return True
    has_extension = bool(extension.get("extension"))
    for key in extension:
        if isinstance(key, str) and "value" in key:  # most keys (url, extension, id) fail this cheap test
            bare = key.lstrip("_")
            if bare.startswith("value") and bare[5:6].isupper():
                return not has_extension
    return has_extension


def _contained(resource: dict[str, Any]) -> list[Any]:
    """`contained` as a list, whatever the input holds (a malformed value is reported by the structure checks)."""
    value = resource.get("contained")
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def dom_2(resource: dict[str, Any]) -> bool:
    """contained.contained.empty()"""
    return not any(isinstance(c, dict) and c.get("contained") for c in _contained(resource))


def dom_4(resource: dict[str, Any]) -> bool:
    """contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()"""
    for contained in _contained(resource):
        meta = contained.get("meta") if isinstance(contained, dict) else None
        if isinstance(meta, dict) and ("versionId" in meta or "lastUpdated" in meta):
            return False
    return True


def dom_5(resource: dict[str, Any]) -> bool:
    """contained.meta.security.empty()"""
    for contained in _contained(resource):
        meta = contained.get("meta") if isinstance(contained, dict) else None
        if isinstance(meta, dict) and meta.get("security"):
            return False
    return True


def dom_6(resource: dict[str, Any]) -> bool:
    """text.`div`.exists()"""
    text = resource.get("text")
    return isinstance(text, dict) and "div" in text


def dom_3(resource: dict[str, Any]) -> bool:
    """Every contained resource is referenced from the resource by '#id', or references its container ('#')."""
    contained = [c for c in _contained(resource) if isinstance(c, dict)]
    if not contained:
        return True
    refs: set[str] = set()
    _collect_local_refs(resource, refs)
    for item in contained:
        item_id = item.get("id")
        if item_id is not None and f"#{item_id}" in refs:
            continue
        inner: set[str] = set()
        _collect_local_refs(item, inner)
        if "#" in inner:
            continue
        return False
    return True


def _collect_local_refs(node: Any, refs: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if value.startswith("#") and key != "div":
                    refs.add(value)
            else:
                _collect_local_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, str):
                if value.startswith("#"):
                    refs.add(value)
            else:
                _collect_local_refs(value, refs)


def ref_1(reference: dict[str, Any], root: dict[str, Any]) -> bool:
    """reference.startsWith('#').not() or (reference.substring(1) in %rootResource.contained.id)"""
    value = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(value, str) or not value.startswith("#"):
        return True
    ids = {c.get("id") for c in _contained(root) if isinstance(c, dict)}
    return value[1:] in ids


NATIVE_RESOURCE: dict[str, Callable[[dict[str, Any]], bool]] = {
    "dom-2": dom_2,
    "dom-3": dom_3,
    "dom-4": dom_4,
    "dom-5": dom_5,
    "dom-6": dom_6,
}
# ele-1 is enforced structurally (empty objects, primitives without value or extension); txt-1/txt-2 natively.
SKIPPED = frozenset({"ele-1", "txt-1", "txt-2"})


# ---- ElementDefinition rules (eld-*): ~20 per element of every StructureDefinition, the bulk of the work on
# conformance resources. Each function answers exactly what its expression answers on the JSON model (an
# empty FHIRPath result passes); the agreement test runs them against fhirpathpy on the R4 examples.

# The choice-type suffixes fhirpathpy's R4 model also knows (it carries these three R5 types too).
_TYPE_SUFFIX_NAMES = TYPE_SUFFIXES | {"Integer64", "CodeableReference", "RatioRange"}


def _has(item: dict[str, Any], name: str) -> bool:
    value = item.get(name)
    if value is not None and value != []:
        return True
    return ("_" + name) in item


def _choice_keys(name: str) -> frozenset[str]:
    """Every key of a choice element `name[x]`: `nameType` and `_nameType` for each type suffix."""
    return frozenset(prefix + name + suffix for prefix in ("", "_") for suffix in _TYPE_SUFFIX_NAMES)


_CHOICE_KEYS = {name: _choice_keys(name) for name in ("fixed", "pattern", "defaultValue")}


def _has_choice(item: dict[str, Any], name: str) -> bool:
    """Some key of the item is `name` (or `_name`) followed by a type suffix: one set test, not a scan."""
    keys = _CHOICE_KEYS.get(name)
    if keys is None:
        keys = _CHOICE_KEYS[name] = _choice_keys(name)
    return not keys.isdisjoint(item)


def _list(item: dict[str, Any], name: str) -> list[Any]:
    value = item.get(name)
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, list) else [value]


def _distinct(values: list[Any]) -> bool:
    if all(isinstance(v, str) for v in values):
        return len(set(values)) == len(values)
    return all(values[i] != values[j] for i in range(len(values)) for j in range(i + 1, len(values)))


def _eld_2(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    minimum, maximum = item.get("min"), item.get("max")
    if minimum is None or maximum is None or maximum == "*":
        return True
    if not isinstance(maximum, str) or not isinstance(minimum, int) or isinstance(minimum, bool):
        return None
    if not re.fullmatch(r"[+-]?\d+", maximum):
        return True  # toInteger() is empty: the whole expression is empty
    return minimum <= int(maximum)


def _eld_3(item: Any) -> bool | None:
    if not isinstance(item, str):
        return None
    if item == "*" or not re.fullmatch(r"[+-]?\d+", item):
        return True
    return int(item) >= 0


def _eld_4(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    if not _list(item, "aggregation"):
        return True
    code = item.get("code")
    return code is None or code in ("Reference", "canonical")


def _eld_17(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    code = item.get("code")
    if code is None or code in ("Reference", "canonical"):
        return True
    return not _list(item, "targetProfile")


def _select_distinct(field: str, key: str) -> Callable[[Any], bool | None]:
    def rule(item: Any) -> bool | None:
        if not isinstance(item, dict):
            return None
        entries = item.get(field)
        if entries is None or (type(entries) is list and len(entries) <= 1) or type(entries) is dict:
            return True  # at most one value: distinct
        values = [entry.get(key) for entry in _list(item, field) if isinstance(entry, dict)]
        return _distinct([v for v in values if v is not None])

    return rule


def _choice_empty_or_single_type(name: str) -> Callable[[Any], bool | None]:
    def rule(item: Any) -> bool | None:
        if not isinstance(item, dict):
            return None
        return not _has_choice(item, name) or len(_list(item, "type")) <= 1

    return rule


def _eld_8(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    return not _has_choice(item, "pattern") or not _has_choice(item, "fixed")


def _eld_11(item: Any) -> bool | None:
    # type.select(<boolean>).exists() is true as soon as one type has a code: the rule never fails
    return True if isinstance(item, dict) else None


def _eld_15(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    return not _has_choice(item, "defaultValue") or not _has(item, "meaningWhenMissing")


def _eld_18(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    return item.get("isModifier") is not True or _has(item, "isModifierReason")


def _eld_22(item: Any) -> bool | None:
    if not isinstance(item, dict):
        return None
    return not _has(item, "sliceIsConstraining") or _has(item, "sliceName")


def _path_matches(pattern: str) -> Callable[[Any], bool | None]:
    compiled = re.compile(pattern)

    def rule(item: Any) -> bool | None:
        if not isinstance(item, dict):
            return None
        path = item.get("path")
        if path is None:
            return True
        return compiled.search(path) is not None if isinstance(path, str) else None

    return rule


NATIVE_BY_EXPRESSION: dict[str, Callable[[Any], bool | None]] = {
    "min.empty() or max.empty() or (max = '*') or iif(max != '*', min <= max.toInteger())": _eld_2,
    "empty() or ($this = '*') or (toInteger() >= 0)": _eld_3,
    "aggregation.empty() or (code = 'Reference') or (code = 'canonical')": _eld_4,
    "(code='Reference' or code = 'canonical') or targetProfile.empty()": _eld_17,
    "type.select(code).isDistinct()": _select_distinct("type", "code"),
    "constraint.select(key).isDistinct()": _select_distinct("constraint", "key"),
    "fixed.empty() or (type.count()  <= 1)": _choice_empty_or_single_type("fixed"),
    "pattern.empty() or (type.count() <= 1)": _choice_empty_or_single_type("pattern"),
    "pattern.empty() or fixed.empty()": _eld_8,
    "binding.empty() or type.code.empty() or type.select((code = 'code') or (code = 'Coding') or (code='CodeableConcept') or (code = 'Quantity') or (code = 'string') or (code = 'uri')).exists()": _eld_11,
    "defaultValue.empty() or meaningWhenMissing.empty()": _eld_15,
    "(isModifier.exists() and isModifier) implies isModifierReason.exists()": _eld_18,
    "sliceIsConstraining.exists() implies sliceName.exists()": _eld_22,
    "path.matches('[A-Za-z][A-Za-z0-9]*(\\\\.[a-z][A-Za-z0-9]*(\\\\[x])?)*')": _path_matches(
        "[A-Za-z][A-Za-z0-9]*(\\.[a-z][A-Za-z0-9]*(\\[x])?)*"
    ),
    **NATIVE_RESOURCE_RULES,
}
