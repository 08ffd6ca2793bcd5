"""Native answers of costly resource invariants, each equal to the compiled subset's answer on the same item.

Each function reads the item with the compiled subset's own helpers (`_children`, `_all_children`), so names
that are choice names (`code`) resolve the same way, and answers None (the compiled form then runs, and
fhirpathpy after it when that one falls back) on anything it does not read the common way: an item that is
not a plain object, a path that is not one string, a code that is not a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conformance.validation.fhir.fastpath import (
    CHOICE_NAMES,
    Fallback,
    _all_children,
    _children,
    _deep_unique,
    _equal,
    _matches,
    _path,
    _singleton,
    string_literal_value,
)
from conformance.validation.patterns import PatternTimeout


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
            if kind is str:
                continue  # the common primitive
            if kind is not dict and kind is not list:
                if isinstance(value, dict | list):
                    return None  # a dict or list subclass: left to the compiled form
                continue  # a primitive has nothing below it
            if not isinstance(key, str) or key == "resourceType" or key[:1] == "_":
                continue
            for kid in value if kind is list else (value,):
                if type(kid) is dict:
                    stack.append(kid)
                    concepts = kid.get("concept")  # _children([kid], "concept"), inline
                    if concepts is not None:
                        if type(concepts) is list:
                            below += [concept for concept in concepts if concept is not None]
                        else:
                            below.append(concepts)
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


# ---- StructureDefinition rules: one call each per StructureDefinition, written with the compiled subset's
# semantics: a Fallback it would raise (several values, a typed comparison) makes the native answer None.


def _answering(rule: Callable[[dict[str, Any]], bool | None]) -> Callable[[Any], bool | None]:
    """The rule on a plain object; None on anything else, where the compiled form would fall back, or on a
    pattern past its deadline (the compiled form then reports it)."""

    def run(item: Any) -> bool | None:
        if type(item) is not dict:
            return None
        try:
            return rule(item)
        except (Fallback, PatternTimeout):
            return None

    return run


def _string(values: list[Any]) -> str | None:
    """The input of a string function (startsWith, contains, matches): None when empty."""
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str):
        raise Fallback("string function")
    return values[0]


def _equals(values: list[Any], literal: Any) -> bool | None:
    """`values = literal`: None (empty) when there is no value."""
    if not values:
        return None
    return len(values) == 1 and _equal(values[0], literal)


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _or(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    return _three_valued(a, b, dominant=True)


def _and(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    return _three_valued(a, b, dominant=False)


def _three_valued(a: bool | None, b: Callable[[], bool | None], *, dominant: bool) -> bool | None:
    """FHIRPath's `or` (dominant True) and `and` (dominant False) on one value and the thunk of the other."""
    if a is dominant:
        return dominant
    right = b()
    if right is dominant:
        return dominant
    return None if a is None or right is None else not dominant


def _implies(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    if a is False:
        return True
    right = b()
    if a is True:
        return right
    return True if right is True else None


def _verdict(answer: bool | None) -> bool:
    return answer is not False


_SDF_19 = (
    "url.startsWith('http://hl7.org/fhir/StructureDefinition') implies (differential.element.type.code.all("
    "matches('^[a-zA-Z0-9]+$') or matches('^http:\\\\/\\\\/hl7\\\\.org\\\\/fhirpath\\\\/System\\\\.[A-Z][A-Za-z]+$'))"
    " and snapshot.element.type.code.all(matches('^[a-zA-Z0-9\\\\.]+$') or "
    "matches('^http:\\\\/\\\\/hl7\\\\.org\\\\/fhirpath\\\\/System\\\\.[A-Z][A-Za-z]+$')))"
)
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")
_CORE_PREFIX, _DIFF_CODE, _SYSTEM_CODE, _SNAP_CODE, _ = (
    string_literal_value(literal) for literal in _LITERAL.findall(_SDF_19)
)


def _from_core(item: dict[str, Any]) -> bool | None:
    """url.startsWith('http://hl7.org/fhir/StructureDefinition')"""
    url = _string(_children([item], "url"))
    return None if url is None else url.startswith(_CORE_PREFIX)


def _codes_match(codes: list[Any], pattern: str) -> bool:
    """codes.all(matches(pattern) or matches(<System type>))"""
    for code in codes:
        if not isinstance(code, str):
            raise Fallback("string function")
        if not _matches(code, pattern) and not _matches(code, _SYSTEM_CODE):
            return False
    return True


@_answering
def _sdf_19(item: dict[str, Any]) -> bool:
    def codes() -> bool:
        differential = _path([item], ("differential", "element", "type", "code"))
        if not _codes_match(differential, _DIFF_CODE):
            return False
        return _codes_match(_path([item], ("snapshot", "element", "type", "code")), _SNAP_CODE)

    return _verdict(_implies(_from_core(item), codes))


@_answering
def _sdf_22(item: dict[str, Any]) -> bool:
    """url.startsWith(core) implies (snapshot.element.defaultValue.empty() and differential...empty())"""

    def no_default() -> bool:
        if _path([item], ("snapshot", "element", "defaultValue")):
            return False
        return not _path([item], ("differential", "element", "defaultValue"))

    return _verdict(_implies(_from_core(item), no_default))


@_answering
def _sdf_23(item: dict[str, Any]) -> bool:
    """(snapshot | differential).element.all(path.contains('.').not() implies sliceName.empty()): the union's
    duplicates do not change all()."""
    containers = _children([item], "snapshot") + _children([item], "differential")
    for element in _children(containers, "element"):
        path = element.get("path") if type(element) is dict else None
        if type(path) is str:
            if "." in path or not present(element, "sliceName"):
                continue
            return False
        value = _string(_children([element], "path"))
        if (value is None or "." not in value) and present(element, "sliceName"):  # implies: true or empty
            return False
    return True


@_answering
def _sdf_1(item: dict[str, Any]) -> bool:
    """derivation = 'constraint' or snapshot.element.select(path).isDistinct()"""

    def distinct() -> bool:
        paths = _path([item], ("snapshot", "element", "path"))
        return len(_deep_unique(paths)) == len(paths)

    return _verdict(_or(_equals(_children([item], "derivation"), "constraint"), distinct))


def _not_logical(item: dict[str, Any]) -> bool | None:
    """kind != 'logical'"""
    return _not(_equals(_children([item], "kind"), "logical"))


@_answering
def _sdf_15(item: dict[str, Any]) -> bool:
    """kind!='logical' implies snapshot.element.first().type.empty()"""
    first = _path([item], ("snapshot", "element"))[:1]
    return _verdict(_implies(_not_logical(item), lambda: not _children(first, "type")))


@_answering
def _sdf_15a(item: dict[str, Any]) -> bool:
    """(kind!='logical' and differential.element.first().path.contains('.').not()) implies
    differential.element.first().type.empty()"""
    first = _path([item], ("differential", "element"))[:1]

    def top() -> bool | None:
        path = _string(_children(first, "path"))
        return None if path is None else "." not in path

    return _verdict(_implies(_and(_not_logical(item), top), lambda: not _children(first, "type")))


@_answering
def _sdf_11(item: dict[str, Any]) -> bool:
    """kind != 'logical' implies snapshot.empty() or snapshot.element.first().path = type"""

    def rooted() -> bool | None:
        snapshot = _children([item], "snapshot")
        if not snapshot:
            return True
        paths = _children(_children(snapshot, "element")[:1], "path")
        types = _children([item], "type")
        if not paths or not types:
            return None
        return len(paths) == len(types) and all(_equal(p, t) for p, t in zip(paths, types, strict=True))

    return _verdict(_implies(_not_logical(item), rooted))


@_answering
def _sdf_4(item: dict[str, Any]) -> bool:
    """abstract = true or baseDefinition.exists()"""
    return _verdict(_or(_equals(_children([item], "abstract"), True), lambda: present(item, "baseDefinition")))


@_answering
def _sdf_5(item: dict[str, Any]) -> bool:
    """type != 'Extension' or derivation = 'specialization' or (context.exists())"""
    not_extension = _not(_equals(_children([item], "type"), "Extension"))
    specialization = _or(not_extension, lambda: _equals(_children([item], "derivation"), "specialization"))
    return _verdict(_or(specialization, lambda: present(item, "context")))


def _sdf_8(item: Any, resource: Any) -> bool | None:
    """(%resource.kind = 'logical' or element.first().path = %resource.type) and
    element.tail().all(path.startsWith(%resource.snapshot.element.first().path&'.')), on a snapshot: each part
    evaluated when, and in the order, the compiled form evaluates it; None where it would fall back."""
    if type(item) is not dict:
        return None
    elements = _children([item], "element")

    def first_is_type() -> bool | None:
        paths, types = _children(elements[:1], "path"), _children([resource], "type")
        if not paths or not types:
            return None
        return len(paths) == len(types) and all(_equal(p, t) for p, t in zip(paths, types, strict=True))

    def tail_below_root() -> bool:
        prefix: str | None = None  # computed at its first use, as the compiled form's memo does
        for element in elements[1:]:
            value = _singleton(_children([element], "path"))
            if value is None:
                return False  # an empty criteria is not true
            if prefix is None:
                root_path = _singleton(_children(_path([resource], ("snapshot", "element"))[:1], "path"))
                prefix = ("" if root_path is None else str(root_path)) + "."
            if not isinstance(value, str):
                raise Fallback("string function on non-string")
            if not value.startswith(prefix):
                return False
        return True

    try:
        logical = _equals(_children([resource], "kind"), "logical")
        return _verdict(_and(_or(logical, first_is_type), tail_below_root))
    except (Fallback, PatternTimeout):
        return None


def _entries_match_type(name: str, kinds: tuple[str, str, str]) -> Callable[[Any, Any], bool | None]:
    """entry.all(<name>.exists() = (%resource.type = kinds[0] or ... = kinds[1] or ... = kinds[2])): the right
    side read once (the compiled form keeps it in its memo), at the first entry."""

    def rule(item: Any, resource: Any) -> bool | None:
        if type(item) is not dict:
            return None
        entries = _children([item], "entry")
        if not entries:
            return True
        try:
            types = _children([resource], "type")
            expected = _or(
                _or(_equals(types, kinds[0]), lambda: _equals(types, kinds[1])), lambda: _equals(types, kinds[2])
            )
        except Fallback:
            return None
        if expected is None:
            return False  # `exists() = {}` is empty: not true for the first entry
        return all(present(entry, name) is expected for entry in entries)

    return rule


_SDF_8 = (
    "(%resource.kind = 'logical' or element.first().path = %resource.type) and "
    "element.tail().all(path.startsWith(%resource.snapshot.element.first().path&'.'))"
)
# Rules that read %resource besides the item: (item, resource) -> answer, None where the compiled form decides.
NATIVE_WITH_RESOURCE_RULES: dict[str, Callable[[Any, Any], bool | None]] = {
    _SDF_8: _sdf_8,
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or "
    "%resource.type = 'history'))": _entries_match_type("request", ("batch", "transaction", "history")),
    "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' "
    "or %resource.type = 'history'))": _entries_match_type(
        "response", ("batch-response", "transaction-response", "history")
    ),
}


@_answering
def _bdl_7(item: dict[str, Any]) -> bool:
    """(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()"""

    def distinct() -> bool:
        keys: list[str] = []
        for entry in _children([item], "entry"):
            url = _children([entry], "fullUrl")
            if url:
                full_url = _singleton(url)
                version = _singleton(_path([entry], ("resource", "meta", "versionId")))
                keys.append(str(full_url) + ("" if version is None else str(version)))
        return len(set(keys)) == len(keys)

    return _verdict(_or(_equals(_children([item], "type"), "history"), distinct))


# Patterns of ASCII classes and literals with one bounded repetition, no \s, \w, \d nor flags: `re` finds a match
# exactly where the regex engine does, in time linear in the value (the regex engine keeps every repetition's
# capture and checks its deadline: ~35 µs a value against ~4). Longer values go to the guarded engine.
LINEAR_ASCII_PATTERNS = frozenset(["[A-Z]([A-Za-z0-9_]){0,254}"])
_LINEAR_MAX_LENGTH = 10_000


# The regex engine's \s (Unicode White_Space: without the separators \x1c-\x1f that str.isspace() and `re` add).
REGEX_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
# eld-19's path pattern, `[^C]{1,64}(\.[^C]{1,64}(\[x\])?(\:[^\s\.]+)?)*`, searched (not anchored) with
# everything after its first class optional: it is found exactly where one character of the value is outside C
# (C: the regex engine's \s and these punctuation marks).
ELD_19_CLASS = REGEX_WHITESPACE + ".,:;'\"/|?!@#$%&*()[]{}"


def _name_matches(expression: str) -> Callable[[Any], bool | None]:
    """`name.matches('pattern')` on one plain name."""
    name, literal = expression.split(".matches(", 1)
    pattern = string_literal_value(literal[:-1])
    linear = re.compile(pattern) if pattern in LINEAR_ASCII_PATTERNS else None
    outside = ELD_19_CLASS if expression == ELD_19 else None

    @_answering
    def rule(item: dict[str, Any]) -> bool:
        value = _string(_children([item], name))
        if value is None:
            return True
        if outside is not None and len(value) <= _LINEAR_MAX_LENGTH:
            return value.strip(outside) != ""  # some character outside the class
        if linear is not None and len(value) <= _LINEAR_MAX_LENGTH:
            return linear.search(value) is not None
        return _matches(value, pattern)

    return rule


ELD_19 = (
    "path.matches('[^\\\\s\\\\.,:;\\\\\\'\"\\\\/|?!@#$%&*()\\\\[\\\\]{}]{1,64}(\\\\.[^\\\\s\\\\.,:;\\\\\\'\"\\\\/|?!@#$%&*()"
    "\\\\[\\\\]{}]{1,64}(\\\\[x\\\\])?(\\\\:[^\\\\s\\\\.]+)?)*')"
)
_NAME_MATCHES = ("name.matches('[A-Z]([A-Za-z0-9_]){0,254}')", ELD_19)


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
    _SDF_19: _sdf_19,
    "url.startsWith('http://hl7.org/fhir/StructureDefinition') implies (snapshot.element.defaultValue.empty() and "
    "differential.element.defaultValue.empty())": _sdf_22,
    "(snapshot | differential).element.all(path.contains('.').not() implies sliceName.empty())": _sdf_23,
    "derivation = 'constraint' or snapshot.element.select(path).isDistinct()": _sdf_1,
    "kind!='logical' implies snapshot.element.first().type.empty()": _sdf_15,
    "(kind!='logical'  and differential.element.first().path.contains('.').not()) implies "
    "differential.element.first().type.empty()": _sdf_15a,
    "kind != 'logical' implies snapshot.empty() or snapshot.element.first().path = type": _sdf_11,
    "abstract = true or baseDefinition.exists()": _sdf_4,
    "type != 'Extension' or derivation = 'specialization' or (context.exists())": _sdf_5,
    "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()": (
        _bdl_7
    ),
    **{expression: _name_matches(expression) for expression in _NAME_MATCHES},
}
