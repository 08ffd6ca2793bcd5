"""A small FHIRPath compiler for the expressions invariants use most, evaluated on the JSON model directly.

fhirpathpy is correct but costs ~50-300 µs per evaluation; the R4 examples need hundreds of thousands.
`compile_fast(expression)` turns fhirpathpy's parse tree into Python closures for a well-understood subset
(paths, literals, boolean logic, comparisons, the common functions). Anything outside the subset raises
`Unsupported` at compile time, and anything ambiguous at run time (a typed comparison, a multi-item
boolean) raises `Fallback`: the caller then asks fhirpathpy, so answers never differ on purpose. Tests run
both engines over the R4 examples' invariants and require identical answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from fhirpathpy.models import models
from fhirpathpy.parser import parse

from conformance.validation import patterns

Collection = list[Any]
Fn = Callable[[Collection, "Env"], Collection]
BoolFn = Callable[[Collection, "Env"], "bool | None"]  # _to_bool of a value: True, False, None (empty)


class Unsupported(Exception):
    """The expression uses something outside the compiled subset."""


class Fallback(Exception):
    """This evaluation needs the full engine (types, dates, multi-item booleans...)."""


class Env:
    """One evaluation's context: $this, %resource, %rootResource, and `memo`, the values of the expression's
    parts that read neither the input nor $this (shared by the criteria of the same evaluation; None: none)."""

    __slots__ = ("memo", "resource", "root", "this")

    def __init__(self, this: Any, resource: Any, root: Any, memo: dict[object, Collection] | None = None) -> None:
        self.this = this
        self.resource = resource
        self.root = root
        self.memo = memo


# Choice elements of R4 (name without [x]): `value` also finds `valueQuantity`, as in FHIRPath on typed data,
# but only when the suffix is a type name (`subject` must not find `subjectType`).
CHOICE_NAMES = frozenset(
    [
        "abatement",
        "additive",
        "age",
        "allowed",
        "amount",
        "answer",
        "asNeeded",
        "author",
        "born",
        "bounds",
        "characteristic",
        "chargeItem",
        "code",
        "collected",
        "content",
        "created",
        "date",
        "deceased",
        "defaultValue",
        "definingSubstance",
        "definition",
        "detail",
        "diagnosis",
        "done",
        "dose",
        "doseNumber",
        "due",
        "effective",
        "entity",
        "event",
        "example",
        "fastingStatus",
        "fixed",
        "identified",
        "indication",
        "item",
        "legallyBinding",
        "location",
        "manufacturer",
        "maxValue",
        "medication",
        "minValue",
        "minimumVolume",
        "module",
        "multipleBirth",
        "name",
        "occurred",
        "occurrence",
        "offset",
        "onset",
        "participantEffective",
        "pattern",
        "performed",
        "probability",
        "procedure",
        "product",
        "quantity",
        "rate",
        "reported",
        "scheduled",
        "seriesDoses",
        "serviced",
        "source",
        "start",
        "statusReason",
        "studyEffective",
        "subject",
        "substance",
        "target",
        "time",
        "timing",
        "topic",
        "used",
        "value",
        "what",
        "when",
        "where",
        "why",
    ]
)
TYPE_SUFFIXES = frozenset(
    [
        "Base64Binary",
        "Boolean",
        "Canonical",
        "Code",
        "Date",
        "DateTime",
        "Decimal",
        "Id",
        "Instant",
        "Integer",
        "Markdown",
        "Oid",
        "PositiveInt",
        "String",
        "Time",
        "UnsignedInt",
        "Uri",
        "Url",
        "Uuid",
        "Address",
        "Age",
        "Annotation",
        "Attachment",
        "CodeableConcept",
        "Coding",
        "ContactPoint",
        "Count",
        "Distance",
        "Duration",
        "HumanName",
        "Identifier",
        "Money",
        "Period",
        "Quantity",
        "Range",
        "Ratio",
        "Reference",
        "SampledData",
        "Signature",
        "Timing",
        "ContactDetail",
        "Contributor",
        "DataRequirement",
        "Expression",
        "ParameterDefinition",
        "RelatedArtifact",
        "TriggerDefinition",
        "UsageContext",
        "Dosage",
        "Meta",
    ]
)

# every key a choice name may take (`valueQuantity`...): absent choices are found with one set test
_CHOICE_KEYS = {name: frozenset(name + suffix for suffix in TYPE_SUFFIXES) for name in CHOICE_NAMES}

# the types some type or element path has as parent in fhirpathpy's R4 model (`is(T)` walks up to them)
_PARENT_TYPES = frozenset(models["r4"]["type2Parent"].values()) | frozenset(models["r4"]["path2Type"].values())


def compile_fast(expression: str) -> Callable[[Any, Any, Any], Collection]:
    tree = parse(expression)
    fn = _compile(tree["children"][0])
    run = _entry(fn, _guard(tree["children"][0]), _hoists(tree["children"][0]))
    absent = _when_inputs_absent(tree["children"][0], fn)
    if absent is None:
        return run
    inputs, answer = absent

    # none of the names the expression reads from the item is there: its answer on an empty object
    def unless_absent(item: Any, resource: Any, root: Any) -> Collection:
        if isinstance(item, dict):
            for name in inputs:
                if name in item:
                    return run(item, resource, root)
        return answer

    return unless_absent


def _entry(fn: Fn, guard: str | None, hoists: bool) -> Callable[[Any, Any, Any], Collection]:
    if guard is not None:
        shadow = "_" + guard  # a primitive with only extensions still exists

        # `x.empty() or ...` / `x.exists() implies ...`: true at once when x is absent
        def guarded(item: Any, resource: Any, root: Any) -> Collection:
            if type(item) is dict and guard not in item and shadow not in item:
                return _TRUE
            return fn([item], Env(item, resource, root, {} if hoists else None))

        return guarded

    def run(item: Any, resource: Any, root: Any) -> Collection:
        return fn([item], Env(item, resource, root, {} if hoists else None))

    return run


_TRUE = [True]


class _Opaque(Exception):
    """The expression reads the item other than through the plain element names the analysis tracks."""


# functions whose arguments are evaluated on each item of their input ($this: that item)
_CRITERIA_FUNCTIONS = frozenset({"where", "select", "all", "exists"})
# functions whose argument is evaluated on $this (of the enclosing context), not on their input
_THIS_ARGUMENT_FUNCTIONS = frozenset({"combine", "union"})


def _when_inputs_absent(node: dict[str, Any], fn: Fn) -> tuple[tuple[str, ...], Collection] | None:
    """(names, answer): the expression reads the item only through these element names (none of them a
    choice name), no %constant, no $this at the top, no function of the item itself, and `answer` is what it
    gives on an object that has none of them (an empty object: the compiled forms read nothing else). None
    when the analysis cannot tell, or when the empty object does not give a plain answer."""
    try:
        names = _item_names(node, at_item=True, this_is_item=True)
    except _Opaque:
        return None
    if not names:
        return None  # a constant expression: rare, not worth a shortcut
    try:
        answer = fn([{}], Env({}, None, None))
    except Exception:  # Fallback, or anything else: evaluate every time, as before
        return None
    return tuple(sorted(names)), list(answer)


def _item_names(node: dict[str, Any], *, at_item: bool, this_is_item: bool) -> set[str]:
    """The element names read from the item. `at_item`: the node is evaluated on the collection [item];
    `this_is_item`: $this is the item (outside any where/select/all/exists criteria)."""
    kind = node.get("type")
    children: list[Any] = node.get("children") or []
    if kind in ("StringLiteral", "NumberLiteral", "BooleanLiteral", "NullLiteral"):
        return set()
    if kind == "ExternalConstantTerm":
        raise _Opaque("%constant")  # %resource may be the item itself
    if kind == "ThisInvocation":
        if this_is_item:
            raise _Opaque("$this")
        return set()
    if kind == "MemberInvocation":
        if not at_item:
            return set()
        name = children[0]["text"].strip("`")
        if not name[:1].islower() or name in CHOICE_NAMES:
            raise _Opaque(name)  # a type filter on the item, or a choice name that matches many keys
        return {name}
    if kind == "FunctionInvocation":
        if at_item:
            raise _Opaque("function of the item")  # exists(), children()... at the top look at the item
        return _function_names(node, this_is_item)
    if kind == "InvocationExpression":
        left, right = children
        return _item_names(left, at_item=at_item, this_is_item=this_is_item) | _item_names(
            right, at_item=False, this_is_item=this_is_item
        )
    if kind in _PASS_THROUGH:
        names: set[str] = set()
        for child in children:
            names |= _item_names(child, at_item=at_item, this_is_item=this_is_item)
        return names
    raise _Opaque(str(kind))


def _function_names(node: dict[str, Any], this_is_item: bool) -> set[str]:
    functn = node["children"][0]
    name = functn["children"][0]["text"]
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    if name not in _FUNCTIONS:
        raise _Opaque(name)
    names: set[str] = set()
    for param in params:
        if name in _CRITERIA_FUNCTIONS:
            names |= _item_names(param, at_item=False, this_is_item=False)
        elif name in _THIS_ARGUMENT_FUNCTIONS:
            names |= _item_names(param, at_item=this_is_item, this_is_item=this_is_item)
        else:  # evaluated on the function's input, which is not the item
            names |= _item_names(param, at_item=False, this_is_item=this_is_item)
    return names


# nodes that hand the collection they are evaluated on to each of their operands unchanged
_PASS_THROUGH = frozenset(
    {
        "TermExpression",
        "InvocationTerm",
        "LiteralTerm",
        "ParenthesizedTerm",
        "IndexerExpression",
        "PolarityExpression",
        "AndExpression",
        "OrExpression",
        "ImpliesExpression",
        "EqualityExpression",
        "InequalityExpression",
        "MembershipExpression",
        "UnionExpression",
        "AdditiveExpression",
    }
)


def _guard(node: dict[str, Any]) -> str | None:
    """The element name whose absence makes the whole expression true, if the expression has that shape."""
    kind = node.get("type")
    if kind == "OrExpression" and node["terminalNodeText"][0] == "or":
        left = node["children"][0]
        while left.get("type") == "OrExpression" and left["terminalNodeText"][0] == "or":
            left = left["children"][0]
        return _simple_call(left, "empty")
    if kind == "ImpliesExpression":
        return _simple_call(node["children"][0], "exists")
    return None


def _simple_call(node: dict[str, Any], function: str) -> str | None:
    """`name.function()` with a plain (non-choice) element name -> name."""
    while node.get("type") in ("TermExpression", "ParenthesizedTerm") and len(node.get("children", ())) == 1:
        node = node["children"][0]
    if node.get("type") != "InvocationExpression":
        return None
    target, call = node["children"]
    if call.get("type") != "FunctionInvocation":
        return None
    functn = call["children"][0]
    if functn["children"][0].get("text") != function or len(functn["children"]) > 1:
        return None
    while target.get("type") in ("TermExpression", "InvocationTerm") and len(target.get("children", ())) == 1:
        target = target["children"][0]
    if target.get("type") != "MemberInvocation":
        return None
    name = target["children"][0].get("text", "")
    if not name or not name[0].islower() or name in CHOICE_NAMES or "`" in name:
        return None
    return name


# ---- helpers ---------------------------------------------------------------------------------------------


def _children(coll: Collection, name: str) -> Collection:
    if len(coll) == 1 and type(coll[0]) is dict:  # the common case: one object
        value = coll[0].get(name)
        if value is not None and name not in CHOICE_NAMES:
            if type(value) is list:
                return [v for v in value if v is not None] if None in value else value[:]
            return [value]
    out: Collection = []
    for item in coll:
        if not isinstance(item, dict):
            continue
        value = item.get(name)
        if value is None and name in CHOICE_NAMES and not _CHOICE_KEYS[name].isdisjoint(item):
            keys = _CHOICE_KEYS[name]
            for key, sub in item.items():
                if key in keys:  # the first typed key in the object's order
                    value = sub
                    break
        if value is None:
            continue
        if isinstance(value, list):
            out.extend([v for v in value if v is not None] if None in value else value)
        else:
            out.append(value)
    return out


def _all_children(item: Any) -> Collection:
    out: Collection = []
    if isinstance(item, dict):
        for key, value in item.items():
            if not isinstance(key, str) or key == "resourceType" or key[:1] == "_":
                continue
            if isinstance(value, list):
                out.extend([v for v in value if v is not None] if None in value else value)
            else:
                out.append(value)
    return out


def _descendants(coll: Collection) -> Collection:
    out: Collection = []
    stack = list(reversed(coll))
    while stack:
        item = stack.pop()
        kids = _all_children(item)
        out.extend(kids)
        stack.extend(reversed(kids))
    return out


def _to_bool(coll: Collection) -> bool | None:
    if not coll:
        return None
    if len(coll) > 1:
        raise Fallback("boolean of a collection")
    value = coll[0]
    return value if isinstance(value, bool) else True


def _singleton(coll: Collection) -> Any:
    if len(coll) > 1:
        raise Fallback("singleton expected")
    return coll[0] if coll else None


def _scalar_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, str):
        return "str"
    return "obj"


_DATE_LIKE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def _equal(a: Any, b: Any) -> bool:
    ka, kb = _scalar_kind(a), _scalar_kind(b)
    if ka != kb:
        if {ka, kb} == {"num", "str"}:
            raise Fallback("typed comparison")
        return False
    if ka == "str" and a != b and _DATE_LIKE.match(a) and _DATE_LIKE.match(b):
        raise Fallback("date comparison")
    return a == b


def _deep_unique(coll: Collection) -> Collection:
    if all(isinstance(i, str) for i in coll):
        return list(dict.fromkeys(coll))
    out: Collection = []
    for item in coll:
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b) and not (isinstance(a, int | float) and isinstance(b, int | float)):
        return False
    return a == b


# ---- compiler --------------------------------------------------------------------------------------------


def _compile(node: dict[str, Any]) -> Fn:
    kind = node.get("type")
    handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
    if handler is None:
        raise Unsupported(str(kind))
    fn = handler(node)
    return _memoised(fn) if _worth_keeping(node) else fn


# ---- parts evaluated once per evaluation ------------------------------------------------------------------
# `%resource.type = 'batch'` in `entry.all(...)`, or `%resource.snapshot.element.first().path & '.'` in
# `element.tail().all(path.startsWith(...))`, read neither the input nor $this: their value is the same for
# every item of the criteria, so it is computed once per evaluation (Env.memo). A Fallback or a timeout is
# raised by that first computation, where it was raised before.

_LITERALS = frozenset({"StringLiteral", "NumberLiteral", "BooleanLiteral", "NullLiteral"})
# nodes whose value is made of their operands' values only: the nodes that pass their input through unchanged
_OPERATORS = _PASS_THROUGH
_CHEAP = _LITERALS | {"LiteralTerm", "TermExpression", "InvocationTerm", "ExternalConstantTerm"}


def _reads_nothing_of_the_input(node: dict[str, Any]) -> bool:
    """The node's value depends only on %resource, %rootResource and literals (not on the input, $this or
    %context)."""
    kind = node.get("type")
    children: list[Any] = node.get("children") or []
    if kind in _LITERALS:
        return True
    if kind == "ExternalConstantTerm":
        constant = children[0]
        name = constant["children"][0].get("text") if constant.get("children") else None
        return name in ("resource", "rootResource")
    if kind == "InvocationExpression":
        return _reads_nothing_of_the_input(children[0]) and _step_on_its_input(children[1])
    if kind in _OPERATORS:
        return all(_reads_nothing_of_the_input(child) for child in children)
    return False  # a name, a function or $this at the start reads the input


def _step_on_its_input(node: dict[str, Any]) -> bool:
    """`.name` or `.function(...)` whose value depends only on the collection it is applied to."""
    kind = node.get("type")
    if kind == "MemberInvocation":
        return True
    if kind != "FunctionInvocation":
        return False
    functn = node["children"][0]
    name = functn["children"][0]["text"]
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    if name not in _FUNCTIONS or name in _THIS_ARGUMENT_FUNCTIONS:
        return False  # combine() and union() read $this
    # criteria are evaluated on each item with that item as $this; other arguments on the function's input
    return name in _CRITERIA_FUNCTIONS or all(_reads_nothing_of_the_input(p) for p in params)


def _worth_keeping(node: dict[str, Any]) -> bool:
    return node.get("type") not in _CHEAP and _reads_nothing_of_the_input(node)


def _hoists(node: dict[str, Any]) -> bool:
    """Whether some part of the expression is kept in Env.memo (else its evaluations need no memo)."""
    if _worth_keeping(node):
        return True
    return any(isinstance(child, dict) and _hoists(child) for child in node.get("children") or ())


def _memoised(fn: Fn) -> Fn:
    key = object()

    def run(coll: Collection, env: Env) -> Collection:
        memo = env.memo
        if memo is None:
            return fn(coll, env)
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = fn(coll, env)
            return value

    return run


def _pass(node: dict[str, Any]) -> Fn:
    return _compile(node["children"][0])


def _string_literal(node: dict[str, Any]) -> Fn:
    value = [string_literal_value(node["text"])]
    return lambda coll, env: value


def string_literal_value(literal: str) -> str:
    """The string a FHIRPath string literal (quotes included) stands for."""
    text = literal[1:-1]
    if "\\" in text:
        text = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text)
    return text


def _number_literal(node: dict[str, Any]) -> Fn:
    text = node["text"]
    value = [float(text) if "." in text else int(text)]
    return lambda coll, env: value


def _boolean_literal(node: dict[str, Any]) -> Fn:
    value = [node["text"] == "true"]
    return lambda coll, env: value


def _null_literal(node: dict[str, Any]) -> Fn:
    return lambda coll, env: []


def _external_constant(node: dict[str, Any]) -> Fn:
    constant = node["children"][0]
    name = constant["children"][0].get("text") if constant.get("children") else None
    if name == "resource":
        return lambda coll, env: [env.resource]
    if name == "rootResource":
        return lambda coll, env: [env.root]
    if name == "context":
        return lambda coll, env: [env.this]
    raise Unsupported(f"%{name}")


def _this(node: dict[str, Any]) -> Fn:
    return lambda coll, env: [env.this]


def _member(node: dict[str, Any]) -> Fn:
    name = node["children"][0]["text"].strip("`")
    if name[:1].isupper():
        # `Patient.name`: a type name at the start of a path filters on the resource type
        def by_type(coll: Collection, env: Env) -> Collection:
            matching = [i for i in coll if isinstance(i, dict) and i.get("resourceType") == name]
            if matching:
                return matching
            if any(isinstance(i, dict) and "resourceType" in i for i in coll):
                return []
            raise Fallback("type name on a data type")

        return by_type
    return lambda coll, env: _children(coll, name)


def _invocation(node: dict[str, Any]) -> Fn:
    names = _member_path(node)
    if names is not None:
        return lambda coll, env: _path(coll, names)
    left = _compile(node["children"][0])
    right = _compile(node["children"][1])
    return lambda coll, env: right(left(coll, env), env)


def _member_path(node: dict[str, Any]) -> tuple[str, ...] | None:
    """`a.b.c` of plain element names (no type name, no function): the names, walked in one call."""
    names: list[str] = []
    while node.get("type") == "InvocationExpression":
        left, right = node["children"]
        if right.get("type") != "MemberInvocation":
            return None
        names.append(right["children"][0]["text"].strip("`"))
        node = left
    while node.get("type") in ("TermExpression", "InvocationTerm") and len(node.get("children", ())) == 1:
        node = node["children"][0]
    if node.get("type") != "MemberInvocation":
        return None
    names.append(node["children"][0]["text"].strip("`"))
    if any(not name[:1].islower() for name in names):
        return None
    return tuple(reversed(names))


def _path(coll: Collection, names: tuple[str, ...]) -> Collection:
    for name in names:
        coll = _children(coll, name)
        if not coll:
            return coll
    return coll


def _indexer(node: dict[str, Any]) -> Fn:
    left = _compile(node["children"][0])
    index = _compile(node["children"][1])

    def run(coll: Collection, env: Env) -> Collection:
        items = left(coll, env)
        position = _singleton(index(coll, env))
        if not isinstance(position, int) or position >= len(items):
            return []
        return [items[position]]

    return run


def _polarity(node: dict[str, Any]) -> Fn:
    inner = _compile(node["children"][0])
    sign = node["terminalNodeText"][0]

    def run(coll: Collection, env: Env) -> Collection:
        value = _singleton(inner(coll, env))
        if value is None:
            return []
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Fallback("polarity")
        return [-value if sign == "-" else value]

    return run


def _and(node: dict[str, Any]) -> Fn:
    return _as_collection(_bool(node))


def _or(node: dict[str, Any]) -> Fn:
    return _as_collection(_bool(node))


def _implies(node: dict[str, Any]) -> Fn:
    return _as_collection(_bool(node))


def _as_collection(test: BoolFn) -> Fn:
    def run(coll: Collection, env: Env) -> Collection:
        answer = test(coll, env)
        return [] if answer is None else [answer]

    return run


def _bool(node: dict[str, Any]) -> BoolFn:
    """`_to_bool` of the node's value (None: empty), computed without the one-item collections of boolean logic
    (and, or, xor, implies, not(), exists(), empty(), all()) when the node is one of those."""
    kind = node.get("type")
    children: list[Any] = node.get("children") or []
    if kind in ("TermExpression", "ParenthesizedTerm") and len(children) == 1:
        return _bool(children[0])
    if kind == "AndExpression":
        left, right = (_bool(c) for c in children)
        return _three_valued(left, right, dominant=False)
    if kind == "OrExpression":
        left, right = (_bool(c) for c in children)
        if node["terminalNodeText"][0] == "xor":

            def run_xor(coll: Collection, env: Env) -> bool | None:
                a, b = left(coll, env), right(coll, env)
                return None if a is None or b is None else a != b

            return run_xor
        return _three_valued(left, right, dominant=True)
    if kind == "ImpliesExpression":
        return _bool_implies(*(_bool(c) for c in children))
    if kind == "InvocationExpression":
        call = _bool_call(children[0], children[1])
        if call is not None:
            return call
    fn = _compile(node)
    return lambda coll, env: _to_bool(fn(coll, env))


def _three_valued(left: BoolFn, right: BoolFn, *, dominant: bool) -> BoolFn:
    """FHIRPath's `and` (dominant False) and `or` (dominant True): either side with the dominant value decides
    (the right one evaluated only when the left one does not), else empty when a side is empty."""

    def run(coll: Collection, env: Env) -> bool | None:
        a = left(coll, env)
        if a is dominant:
            return dominant
        b = right(coll, env)
        if b is dominant:
            return dominant
        if a is None or b is None:
            return None
        return not dominant

    return run


def _bool_implies(left: BoolFn, right: BoolFn) -> BoolFn:
    def run(coll: Collection, env: Env) -> bool | None:
        a = left(coll, env)
        if a is False:
            return True
        b = right(coll, env)
        if a is True:
            return b
        return True if b is True else None

    return run


def _bool_call(target: dict[str, Any], call: dict[str, Any]) -> BoolFn | None:
    """`x.not()`, `x.exists()`, `x.empty()`, `x.exists(criteria)`, `x.all(criteria)` as booleans; None for others."""
    if call.get("type") != "FunctionInvocation":
        return None
    functn = call["children"][0]
    name = functn["children"][0]["text"]
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    if name == "not" and not params:
        inner = _bool(target)

        def run_not(coll: Collection, env: Env) -> bool | None:
            value = inner(coll, env)
            return None if value is None else not value

        return run_not
    if name not in ("exists", "empty", "all") or len(params) > 1 or (name == "empty" and params):
        return None
    source = _compile(target)
    if not params:
        if name == "empty":
            return lambda coll, env: not source(coll, env)
        if name == "exists":
            return lambda coll, env: bool(source(coll, env))
        return None  # all() needs its criteria
    return _quantified(any if name == "exists" else all, _bool(params[0]), source)


def _quantified(quantifier: Callable[[Iterable[bool]], bool], criteria: BoolFn, source: Fn | None = None) -> BoolFn:
    """`quantifier` (any, all) of `criteria` being true on each item of `source` (None: of the input itself),
    each item its own $this."""

    def run(coll: Collection, env: Env) -> bool:
        items = coll if source is None else source(coll, env)
        return quantifier(criteria([i], Env(i, env.resource, env.root, env.memo)) is True for i in items)

    return run


def _equality(node: dict[str, Any]) -> Fn:
    left, right = (_compile(c) for c in node["children"])
    operator = node["terminalNodeText"][0]
    if operator in ("~", "!~"):
        raise Unsupported("equivalence")
    negate = operator == "!="

    def run(coll: Collection, env: Env) -> Collection:
        a, b = left(coll, env), right(coll, env)
        if not a or not b:
            return []
        result = False if len(a) != len(b) else all(_equal(x, y) for x, y in zip(a, b, strict=True))
        return [result != negate]

    return run


def _inequality(node: dict[str, Any]) -> Fn:
    left, right = (_compile(c) for c in node["children"])
    operator = node["terminalNodeText"][0]

    def run(coll: Collection, env: Env) -> Collection:
        a, b = _singleton(left(coll, env)), _singleton(right(coll, env))
        if a is None or b is None:
            return []
        ka, kb = _scalar_kind(a), _scalar_kind(b)
        if ka != kb or ka not in ("num", "str") or (ka == "str" and (_DATE_LIKE.match(a) or _DATE_LIKE.match(b))):
            raise Fallback("typed comparison")
        if operator == "<":
            return [a < b]
        if operator == ">":
            return [a > b]
        if operator == "<=":
            return [a <= b]
        return [a >= b]

    return run


def _membership(node: dict[str, Any]) -> Fn:
    left, right = (_compile(c) for c in node["children"])
    operator = node["terminalNodeText"][0]

    def run(coll: Collection, env: Env) -> Collection:
        a, b = left(coll, env), right(coll, env)
        item, container = (a, b) if operator == "in" else (b, a)
        if not item:
            return []
        value = _singleton(item)
        return [any(_equal(value, other) for other in container)]

    return run


def _union(node: dict[str, Any]) -> Fn:
    left, right = (_compile(c) for c in node["children"])
    return lambda coll, env: _deep_unique(left(coll, env) + right(coll, env))


def _additive(node: dict[str, Any]) -> Fn:
    left, right = (_compile(c) for c in node["children"])
    operator = node["terminalNodeText"][0]

    def run(coll: Collection, env: Env) -> Collection:
        a, b = _singleton(left(coll, env)), _singleton(right(coll, env))
        if operator == "&":
            return [("" if a is None else str(a)) + ("" if b is None else str(b))]
        if a is None or b is None:
            return []
        if operator == "+" and isinstance(a, str) and isinstance(b, str):
            return [a + b]
        if (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
        ):
            return [a + b if operator == "+" else a - b]
        raise Fallback("arithmetic")

    return run


def _type_expression(node: dict[str, Any]) -> Fn:
    left = _compile(node["children"][0])
    type_name = node["children"][1].get("text", "")
    operator = node["terminalNodeText"][0]

    def run(coll: Collection, env: Env) -> Collection:
        items = left(coll, env)
        if not items:
            return []
        if all(isinstance(i, dict) and "resourceType" in i for i in items):
            matched = [i for i in items if i["resourceType"] == type_name]
            return [bool(matched)] if operator == "is" else matched
        raise Fallback("type test on data")

    return run


# ---- functions -------------------------------------------------------------------------------------------


def _function(node: dict[str, Any]) -> Fn:
    functn = node["children"][0]
    name = functn["children"][0]["text"]
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    builder = _FUNCTIONS.get(name)
    if builder is None:
        raise Unsupported(f"{name}()")
    return builder([_compile(p) for p in params], params)


def _criteria(fn: Fn, item: Any, env: Env) -> Collection:
    return fn([item], Env(item, env.resource, env.root, env.memo))


def _fn_where(args: list[Fn], raw: list[Any]) -> Fn:
    (_criteria_fn,) = args
    criteria = _bool(raw[0])
    return lambda coll, env: [i for i in coll if criteria([i], Env(i, env.resource, env.root, env.memo)) is True]


def _fn_select(args: list[Fn], raw: list[Any]) -> Fn:
    (projection,) = args

    def run(coll: Collection, env: Env) -> Collection:
        out: Collection = []
        for item in coll:
            out.extend(_criteria(projection, item, env))
        return out

    return run


def _fn_all(args: list[Fn], raw: list[Any]) -> Fn:
    (_criteria_fn,) = args
    return _as_collection(_quantified(all, _bool(raw[0])))


def _fn_exists(args: list[Fn], raw: list[Any]) -> Fn:
    if args:
        return _as_collection(_quantified(any, _bool(raw[0])))
    return lambda coll, env: [bool(coll)]


def _fn_empty(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: [not coll]


def _fn_not(args: list[Fn], raw: list[Any]) -> Fn:
    def run(coll: Collection, env: Env) -> Collection:
        value = _to_bool(coll)
        return [] if value is None else [not value]

    return run


def _fn_count(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: [len(coll)]


def _fn_has_value(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: [len(coll) == 1 and not isinstance(coll[0], dict | list)]


def _fn_first(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: coll[:1]


def _fn_last(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: coll[-1:]


def _fn_tail(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: coll[1:]


def _fn_distinct(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: _deep_unique(coll)


def _fn_is_distinct(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: [len(_deep_unique(coll)) == len(coll)]


def _string_function(test: Callable[[str, str], bool]) -> Callable[[list[Fn], list[Any]], Fn]:
    def build(args: list[Fn], raw: list[Any]) -> Fn:
        (argument,) = args

        def run(coll: Collection, env: Env) -> Collection:
            value = _singleton(coll)
            if value is None:
                return []
            other = _singleton(argument(coll, env))
            if other is None:
                return []
            if not isinstance(value, str) or not isinstance(other, str):
                raise Fallback("string function on non-string")
            return [test(value, other)]

        return run

    return build


def _on_string(name: str, operation: Callable[[str], Any]) -> Callable[[list[Fn], list[Any]], Fn]:
    """length(), lower(), upper(): `operation` on a single string; empty on empty; any other input falls back."""

    def build(args: list[Fn], raw: list[Any]) -> Fn:
        def run(coll: Collection, env: Env) -> Collection:
            value = _singleton(coll)
            if value is None:
                return []
            if not isinstance(value, str):
                raise Fallback(name)
            return [operation(value)]

        return run

    return build


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


_MATCHES: dict[tuple[str, str], bool] = {}  # (pattern, value) -> answer: element paths and names repeat a lot
_MATCHES_MAX = 100_000


def _matches(value: str, pattern: str) -> bool:
    key = (pattern, value)
    answer = _MATCHES.get(key)
    if answer is not None:
        return answer
    try:
        answer = patterns.search(pattern, value)  # PatternTimeout propagates: no fallback would do better
    except patterns.PatternError as exc:
        raise Fallback("regex") from exc
    if len(_MATCHES) >= _MATCHES_MAX:
        _MATCHES.clear()
    _MATCHES[key] = answer
    return answer


def _fn_substring(args: list[Fn], raw: list[Any]) -> Fn:
    def run(coll: Collection, env: Env) -> Collection:
        value = _singleton(coll)
        if value is None:
            return []
        if not isinstance(value, str):
            raise Fallback("substring")
        start = _singleton(args[0](coll, env))
        if not isinstance(start, int) or start < 0 or start >= len(value):
            return []
        if len(args) > 1:
            length = _singleton(args[1](coll, env))
            if not isinstance(length, int):
                raise Fallback("substring length")
            return [value[start : start + length]]
        return [value[start:]]

    return run


def _fn_to_integer(args: list[Fn], raw: list[Any]) -> Fn:
    def run(coll: Collection, env: Env) -> Collection:
        value = _singleton(coll)
        if value is None:
            return []
        if isinstance(value, bool):
            return [int(value)]
        if isinstance(value, int):
            return [value]
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
            return [int(value)]
        if isinstance(value, str):
            return []
        raise Fallback("toInteger")

    return run


def _fn_iif(args: list[Fn], raw: list[Any]) -> Fn:
    def run(coll: Collection, env: Env) -> Collection:
        condition = _to_bool(args[0](coll, env))
        if condition is True:
            return args[1](coll, env)
        return args[2](coll, env) if len(args) > 2 else []

    return run


def _fn_trace(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: coll


def _type_argument(raw: list[Any]) -> str:
    text = raw[0].get("text", "") if raw else ""
    if not re.fullmatch(r"[A-Za-z]+", text or ""):
        raise Unsupported("type argument")
    return text


def _fn_of_type(args: list[Fn], raw: list[Any]) -> Fn:
    type_name = _type_argument(raw)

    def run(coll: Collection, env: Env) -> Collection:
        if not coll:
            return []
        if all(isinstance(i, dict) and "resourceType" in i for i in coll):
            return [i for i in coll if i["resourceType"] == type_name]
        raise Fallback("ofType on data")

    return run


def _fn_is(args: list[Fn], raw: list[Any]) -> Fn:
    """`is(T)` on one resource: fhirpathpy types it by its resourceType and walks the model's parents, so for a
    T that is no type's parent (Composition, MessageHeader) the answer is resourceType = T. Anything else falls
    back: no item (empty), several (an error there), data, or a resourceType that fhirpathpy reads as a path."""
    type_name = _type_argument(raw)
    if type_name in _PARENT_TYPES:
        raise Unsupported("is() of a parent type")

    def run(coll: Collection, env: Env) -> Collection:
        if len(coll) == 1 and type(coll[0]) is dict:
            kind = coll[0].get("resourceType")
            if type(kind) is str and "." not in kind:
                return [kind == type_name]
        if not coll:
            return []
        raise Fallback("is() on data")

    return run


def _fn_extension(args: list[Fn], raw: list[Any]) -> Fn:
    (url_fn,) = args

    def run(coll: Collection, env: Env) -> Collection:
        url = _singleton(url_fn(coll, env))
        return [e for e in _children(coll, "extension") if isinstance(e, dict) and e.get("url") == url]

    return run


def _fn_children(args: list[Fn], raw: list[Any]) -> Fn:
    def run(coll: Collection, env: Env) -> Collection:
        out: Collection = []
        for item in coll:
            out.extend(_all_children(item))
        return out

    return run


def _fn_descendants(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: _descendants(coll)


def _fn_combine(args: list[Fn], raw: list[Any]) -> Fn:
    (other,) = args
    return lambda coll, env: coll + other([env.this], env)


def _fn_union(args: list[Fn], raw: list[Any]) -> Fn:
    (other,) = args
    return lambda coll, env: _deep_unique(coll + other([env.this], env))


def _fn_html_checks(args: list[Fn], raw: list[Any]) -> Fn:
    return lambda coll, env: [True]


def _fn_replace_matches(args: list[Fn], raw: list[Any]) -> Fn:
    pattern_fn, substitution_fn = args

    def run(coll: Collection, env: Env) -> Collection:
        value = _singleton(coll)
        if value is None:
            return []
        pattern = _singleton(pattern_fn(coll, env))
        substitution = _singleton(substitution_fn(coll, env))
        if not isinstance(value, str) or not isinstance(pattern, str) or not isinstance(substitution, str):
            raise Fallback("replaceMatches")
        try:
            patterns.compile_pattern(pattern)
        except patterns.PatternError as exc:
            raise Fallback("regex") from exc
        if "$" in substitution or "\\" in substitution:
            raise Fallback("replaceMatches groups")
        return [patterns.substitute(pattern, lambda _m: substitution, value)]

    return run


_FUNCTIONS: dict[str, Callable[[list[Fn], list[Any]], Fn]] = {
    "replaceMatches": _fn_replace_matches,
    "where": _fn_where,
    "select": _fn_select,
    "all": _fn_all,
    "exists": _fn_exists,
    "empty": _fn_empty,
    "not": _fn_not,
    "count": _fn_count,
    "hasValue": _fn_has_value,
    "first": _fn_first,
    "last": _fn_last,
    "tail": _fn_tail,
    "distinct": _fn_distinct,
    "isDistinct": _fn_is_distinct,
    "startsWith": _string_function(lambda a, b: a.startswith(b)),
    "endsWith": _string_function(lambda a, b: a.endswith(b)),
    "contains": _string_function(lambda a, b: b in a),
    "matches": _string_function(_matches),
    "length": _on_string("length", len),
    "substring": _fn_substring,
    "toInteger": _fn_to_integer,
    "iif": _fn_iif,
    "trace": _fn_trace,
    "ofType": _fn_of_type,
    "is": _fn_is,
    "extension": _fn_extension,
    "children": _fn_children,
    "descendants": _fn_descendants,
    "combine": _fn_combine,
    "union": _fn_union,
    "htmlChecks": _fn_html_checks,
    "lower": _on_string("lower", str.lower),
    "upper": _on_string("upper", str.upper),
}

_HANDLERS: dict[str, Callable[[dict[str, Any]], Fn]] = {
    "TermExpression": _pass,
    "InvocationTerm": _pass,
    "LiteralTerm": _pass,
    "ParenthesizedTerm": _pass,
    "StringLiteral": _string_literal,
    "NumberLiteral": _number_literal,
    "BooleanLiteral": _boolean_literal,
    "NullLiteral": _null_literal,
    "ExternalConstantTerm": _external_constant,
    "ThisInvocation": _this,
    "MemberInvocation": _member,
    "FunctionInvocation": _function,
    "InvocationExpression": _invocation,
    "IndexerExpression": _indexer,
    "PolarityExpression": _polarity,
    "AndExpression": _and,
    "OrExpression": _or,
    "ImpliesExpression": _implies,
    "EqualityExpression": _equality,
    "InequalityExpression": _inequality,
    "MembershipExpression": _membership,
    "UnionExpression": _union,
    "AdditiveExpression": _additive,
    "TypeExpression": _type_expression,
}
