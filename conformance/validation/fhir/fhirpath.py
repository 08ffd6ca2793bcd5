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

from conformance.validation.fhir.fastpath import Fallback, compile_fast

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


_OPTIONS = {
    "traceFn": _silent_trace,
    "userInvocationTable": {
        "hasValue": {"fn": _has_value, "arity": {0: []}},
        "htmlChecks": {"fn": _html_checks, "arity": {0: []}},
    },
}


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

    def __init__(self, use_fast: bool = True) -> None:
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
            compiled = fp_compile(prepare_expression(expression), _MODEL, _OPTIONS)
        except Exception as exc:  # the parser raises many kinds; an uncompilable rule is skipped, not fatal
            compiled = None
            self._errors[expression] = f"{type(exc).__name__}: {exc}"
        self._compiled[expression] = compiled
        return compiled

    def error(self, expression: str) -> str | None:
        return self._errors.get(expression)

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
        except Exception as exc:  # engine limitation, not an instance defect
            self._errors[expression] = f"{type(exc).__name__}: {exc}"
            return None
        return _verdict(result)


def _verdict(result: list[Any]) -> bool:
    """An invariant fails only on a single `false`; an empty result does not fail it."""
    return not (len(result) == 1 and result[0] is False)


# ---- native implementations of the hottest constraints -------------------------------------------------


def ext_1(extension: Any) -> bool:
    """extension.exists() != value.exists()"""
    if not isinstance(extension, dict):
        return True
    has_extension = bool(extension.get("extension"))
    has_value = any(key.lstrip("_").startswith("value") and key.lstrip("_")[5:6].isupper() for key in extension)
    return has_extension != has_value


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
