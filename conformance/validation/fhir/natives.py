"""Native answers of costly resource invariants, each equal to the compiled subset's answer on the same item.

Each function reads the item with the compiled subset's own helpers (`_children`, `_all_children`), so names
that are choice names (`code`) resolve the same way, and answers None (the compiled form then runs, and
fhirpathpy after it when that one falls back) on anything it does not read the common way: an item that is
not a plain object, a path that is not one string, a code that is not a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.validation.fhir.fastpath import CHOICE_NAMES, _all_children, _children, _deep_unique, _path


def present(item: Any, name: str) -> bool:
    """`name.exists()` on the item: bool(_children([item], name)) without the list when the item is a dict."""
    if type(item) is dict:
        value = item.get(name)
        if value is not None:
            if name not in CHOICE_NAMES:
                return any(v is not None for v in value) if type(value) is list else True
            return any(v is not None for v in value) if isinstance(value, list) else True
    return bool(_children([item], name))


def _vsd_6(item: Any) -> bool:
    """code.exists() or display.exists()"""
    return present(item, "code") or present(item, "display")


def _vsd_9(item: Any) -> bool:
    """code.exists() or abstract = true: true when `abstract` is absent (empty), false unless it is one true."""
    if present(item, "code"):
        return True
    values = _children([item], "abstract")
    return not values or (len(values) == 1 and values[0] is True)


def _vsd_10(item: Any) -> bool:
    """code.empty() or system.exists()"""
    return not present(item, "code") or present(item, "system")


def _sdf_9(item: Any) -> bool | None:
    """The root elements (a path without '.') of the children's `element` lists have no label, code nor
    requirements; the three `where` of the expression select the same elements, so they are selected once."""
    if type(item) is not dict:
        return None
    roots: list[Any] = []
    for element in _children(_all_children(item), "element"):
        if not isinstance(element, dict):
            continue
        path = element.get("path")
        if type(path) is str:
            if "." not in path:
                roots.append(element)
        elif path is not None:
            return None  # several paths, or not a string: the compiled form decides (or falls back)
    return not _children(roots, "label") and not _children(roots, "code") and not _children(roots, "requirements")


def _csd_1(item: Any) -> bool | None:
    """concept.code.combine($this.descendants().concept.code).isDistinct(): the codes of the top concepts and
    of every `concept` under an object below the item, all distinct (strings only: else None)."""
    if type(item) is not dict:
        return None
    below: list[Any] = []  # the `concept` values of every object below the item, as .concept gives them
    stack = [item]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            kind = type(value)
            if kind is not dict and kind is not list:
                if isinstance(value, dict | list):
                    return None  # a dict or list subclass: left to the compiled form
                continue  # a primitive has nothing below it
            if not isinstance(key, str) or key == "resourceType" or key[:1] == "_":
                continue
            for kid in value if kind is list else (value,):
                if type(kid) is dict:
                    stack.append(kid)
                    below += _children([kid], "concept")
                elif isinstance(kid, dict | list):
                    return None  # a list in a list (not walked by descendants()), or a subclass
    codes = _children(_children([item], "concept"), "code") + _children(below, "code")
    if not all(type(code) is str for code in codes):
        return None
    return len(set(codes)) == len(codes)


def _all_have(items: list[Any], names: tuple[str, ...]) -> bool:
    """`items.all(a.exists() and b.exists() ...)`: each item has every name (no Env per item)."""
    for item in items:
        for name in names:
            value = item.get(name) if type(item) is dict else None
            if (value is None or isinstance(value, list)) and not present(item, name):  # else present
                return False
    return True


def _sdf_3(item: Any) -> bool:
    """element.all(definition.exists() and min.exists() and max.exists())"""
    return _all_have(_path([item], ("element",)), ("definition", "min", "max"))


def _sdf_8b(item: Any) -> bool:
    """element.all(base.exists())"""
    return _all_have(_path([item], ("element",)), ("base",))


def _sdf_14(item: Any) -> bool:
    """snapshot.element.all(id.exists()) and differential.element.all(id.exists())"""
    snapshot = _all_have(_path([item], ("snapshot", "element")), ("id",))
    return snapshot and _all_have(_path([item], ("differential", "element")), ("id",))


def _sdf_16(item: Any) -> bool:
    """snapshot.element.all(id.exists()) and snapshot.element.id.trace('ids').isDistinct()"""
    if not _all_have(_path([item], ("snapshot", "element")), ("id",)):
        return False
    ids = _path([item], ("snapshot", "element", "id"))
    return len(_deep_unique(ids)) == len(ids)


NATIVE_RESOURCE_RULES: dict[str, Callable[[Any], bool | None]] = {
    "code.exists() or display.exists()": _vsd_6,
    "code.exists() or abstract = true": _vsd_9,
    "code.empty() or system.exists()": _vsd_10,
    "children().element.where(path.contains('.').not()).label.empty() and "
    "children().element.where(path.contains('.').not()).code.empty() and "
    "children().element.where(path.contains('.').not()).requirements.empty()": _sdf_9,
    "concept.code.combine($this.descendants().concept.code).isDistinct()": _csd_1,
    "element.all(definition.exists() and min.exists() and max.exists())": _sdf_3,
    "element.all(base.exists())": _sdf_8b,
    "snapshot.element.all(id.exists()) and differential.element.all(id.exists())": _sdf_14,
    "snapshot.element.all(id.exists()) and snapshot.element.id.trace('ids').isDistinct()": _sdf_16,
}
