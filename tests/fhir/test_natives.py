"""The native resource rules (natives.py) answer what the compiled subset answers on the same item, or None
where the compiled form falls back to fhirpathpy; `is(T)` in the compiled subset answers as fhirpathpy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.validation import patterns
from conformance.validation.fhir import fastpath
from conformance.validation.fhir.fhirpath import NATIVE_BY_EXPRESSION, ExpressionCache
from conformance.validation.fhir.natives import (
    ELD_19,
    ELD_19_CLASS,
    LINEAR_ASCII_PATTERNS,
    NATIVE_RESOURCE_RULES,
    NATIVE_WITH_RESOURCE_RULES,
    present,
)

_CORE = "http://hl7.org/fhir/StructureDefinition"
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.sampled_from(["", "a", "a.b", "Patient", "x", "2020", "A_1", "a b", "logical", "constraint", "Extension"])
    | st.sampled_from(
        ["specialization", f"{_CORE}/Patient", "http://x.org/sd", "http://hl7.org/fhirpath/System.String"]
    )
)
_KEYS = st.sampled_from(
    [
        "code",
        "codeString",
        "codeCoding",
        "display",
        "system",
        "abstract",
        "concept",
        "path",
        "element",
        "label",
        "requirements",
        "snapshot",
        "differential",
        "_code",
        "resourceType",
        "contained",
        "id",
        "definition",
        "min",
        "max",
        "base",
        "url",
        "kind",
        "type",
        "derivation",
        "sliceName",
        "defaultValueString",
        "name",
        "baseDefinition",
        "context",
    ]
)
_ITEMS = st.recursive(
    _LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=16,
)


_COMPILED: dict[str, Any] = {}


def _compiled(expression: str, item: Any, resource: Any = None) -> bool | None:
    """The compiled subset's verdict; None when it falls back to fhirpathpy."""
    if expression not in _COMPILED:
        _COMPILED[expression] = fastpath.compile_fast(expression)
    try:
        result = _COMPILED[expression](item, resource, resource)
    except fastpath.Fallback:
        return None
    return not (len(result) == 1 and result[0] is False)


def _agrees(expression: str, item: Any) -> bool:
    """Whether the native rule answered (and then as the compiled form does)."""
    native = NATIVE_RESOURCE_RULES[expression](item)
    compiled = _compiled(expression, item)
    if native is not None:  # a native answer is only given where the compiled form answers, and equals it
        assert compiled is not None and native == compiled, (expression, item)
    return native is not None


def test_the_natives_are_used_by_their_expression() -> None:
    for expression, native in NATIVE_RESOURCE_RULES.items():
        assert NATIVE_BY_EXPRESSION[expression] is native


@settings(max_examples=1500, deadline=None)
@given(_ITEMS, st.sampled_from(sorted(NATIVE_RESOURCE_RULES)))
def test_random_items_get_the_compiled_answer(item: Any, expression: str) -> None:
    _agrees(expression, item)


def _sometimes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, a list of such values (several, or with null), or a hostile leaf."""
    return value | st.lists(value | st.none(), max_size=2) | _LEAVES


_TEXT = st.sampled_from(["X", "X.a", "X.a.b", "Y", "a-b", "2020", "A_1", "", "http://hl7.org/fhirpath/System.String"])
_ELEMENT_KEYS = {
    "path": _TEXT,
    "sliceName": _TEXT,
    "id": _TEXT,
    "type": st.lists(st.fixed_dictionaries({}, optional={"code": _sometimes(_TEXT), "codeUri": _TEXT}), max_size=3),
    "defaultValueString": _TEXT,
    "_defaultValueCode": st.just({}),
    "label": _TEXT,
}
_ELEMENTS = st.lists(
    st.fixed_dictionaries({}, optional={key: _sometimes(value) for key, value in _ELEMENT_KEYS.items()}) | _LEAVES,
    max_size=4,
)
_CONTAINER = _sometimes(st.fixed_dictionaries({}, optional={"element": _ELEMENTS}))
_SD_ROOTS = st.fixed_dictionaries(
    {},
    optional={
        "url": _sometimes(st.sampled_from([f"{_CORE}/X", "http://x.org/X", "X"])),
        "kind": _sometimes(st.sampled_from(["logical", "resource", "complex-type", "2020"])),
        "type": _sometimes(_TEXT | st.just("Extension")),
        "derivation": _sometimes(st.sampled_from(["constraint", "specialization"])),
        "name": _sometimes(_TEXT),
        "abstract": _sometimes(st.booleans()),
        "baseDefinition": _sometimes(_TEXT),
        "context": _sometimes(st.just({"type": "element"})),
        "snapshot": _CONTAINER,
        "differential": _CONTAINER,
    },
)


@settings(max_examples=1500, deadline=None)
@given(_SD_ROOTS, st.sampled_from(sorted(NATIVE_RESOURCE_RULES)))
def test_random_structure_definitions_get_the_compiled_answer(item: Any, expression: str) -> None:
    _agrees(expression, item)


def _agrees_on_resource(expression: str, item: Any, resource: Any) -> bool:
    native = NATIVE_WITH_RESOURCE_RULES[expression](item, resource)
    compiled = _compiled(expression, item, resource)
    if native is not None:
        assert compiled is not None and native == compiled, (expression, item, resource)
    return native is not None


@settings(max_examples=1500, deadline=None)
@given(_SD_ROOTS, _CONTAINER, st.booleans(), st.sampled_from(sorted(NATIVE_WITH_RESOURCE_RULES)))
def test_rules_on_the_resource_get_the_compiled_answer(resource: Any, other: Any, own: bool, expression: str) -> None:
    """On the resource's own snapshot (or differential), or on another container."""
    item = other
    if own:
        item = resource.get("snapshot" if "snapshot" in expression else "differential", other)
    _agrees_on_resource(expression, item, resource)


_VERSIONED = st.fixed_dictionaries({}, optional={"versionId": _sometimes(st.sampled_from(["1", "2"]))})
_ENTRIES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "fullUrl": _sometimes(st.sampled_from(["urn:a", "urn:b", "X"])),
            "request": _sometimes(st.just({"method": "GET"})),
            "response": _sometimes(st.just({"status": "200"})),
            "resource": _sometimes(st.fixed_dictionaries({}, optional={"meta": _sometimes(_VERSIONED)})),
        },
    )
    | _LEAVES,
    max_size=4,
)
_BUNDLE_TYPES = ["batch", "transaction", "history", "batch-response", "transaction-response", "document", "2020"]
_BUNDLES = st.fixed_dictionaries(
    {}, optional={"type": _sometimes(st.sampled_from(_BUNDLE_TYPES)), "entry": _sometimes(_ENTRIES)}
)


@settings(max_examples=1500, deadline=None)
@given(_BUNDLES, _BUNDLES | _LEAVES)
def test_bundle_rules_get_the_compiled_answer(bundle: Any, other: Any) -> None:
    """The Bundle rules, on the bundle as its own %resource and on another %resource."""
    for expression in NATIVE_WITH_RESOURCE_RULES:
        if expression.startswith("entry."):
            _agrees_on_resource(expression, bundle, bundle)
            _agrees_on_resource(expression, bundle, other)
    for expression in NATIVE_RESOURCE_RULES:
        if "fullUrl" in expression:
            _agrees(expression, bundle)


def test_bundle_rules_fail_as_the_compiled_form() -> None:
    batch = {"type": "batch", "entry": [{"request": {}}, {"fullUrl": "urn:a"}]}
    history = {"type": "searchset", "entry": [{"fullUrl": "urn:a"}, {"fullUrl": "urn:a"}]}
    failing = [(batch, "entry.all(request."), ({"entry": [{}]}, "entry.all(response."), (history, "(type =")]
    for bundle, start in failing:
        (expression,) = (e for e in [*NATIVE_WITH_RESOURCE_RULES, *NATIVE_RESOURCE_RULES] if e.startswith(start))
        native = NATIVE_WITH_RESOURCE_RULES.get(expression)
        answer = native(bundle, bundle) if native is not None else NATIVE_RESOURCE_RULES[expression](bundle)
        assert answer is False
        assert _compiled(expression, bundle, bundle) is False


def test_sdf_8_fails_as_the_compiled_form() -> None:
    (expression,) = (e for e in NATIVE_WITH_RESOURCE_RULES if "snapshot.element.first()" in e)
    snapshot = {"element": [{"path": "X"}, {"path": "Y.a"}]}
    for resource in (
        {"type": "X", "snapshot": snapshot},
        {"kind": "resource", "type": "Z", "snapshot": {"element": [{"path": "X"}]}},
    ):
        assert NATIVE_WITH_RESOURCE_RULES[expression](resource["snapshot"], resource) is False
        assert _compiled(expression, resource["snapshot"], resource) is False


@settings(max_examples=300, deadline=None)
@given(_ITEMS, st.sampled_from(["code", "display", "system", "abstract", "path"]))
def test_present_is_exists(item: Any, name: str) -> None:
    assert present(item, name) == bool(fastpath._children([item], name))


SD = {
    "resourceType": "StructureDefinition",
    "snapshot": {"element": [{"path": "Patient", "label": "x"}, {"path": "Patient.name", "code": [{"code": "c"}]}]},
    "differential": {"element": [{"path": "Patient", "requirements": "r"}]},
}
CS = {
    "resourceType": "CodeSystem",
    "concept": [{"code": "a", "concept": [{"code": "b", "concept": [{"code": "a"}]}]}],
    "contained": [{"resourceType": "ValueSet", "compose": {"include": [{"concept": [{"code": "z"}]}]}}],
}
SPECIFIC: list[Any] = [
    SD,
    {"snapshot": {"element": [{"path": "Patient"}, {"path": "Patient.name", "label": "l"}]}},
    {"snapshot": {"element": [{"path": ["A", "B"]}]}},  # several paths: the compiled form falls back
    {"snapshot": {"element": [{"path": ["A"], "code": "x"}]}},
    {"snapshot": {"element": [{"path": 3}]}},
    {"snapshot": {"element": [{"path": "A", "codeCoding": {"code": "x"}}]}},  # a choice name's type suffix
    {"snapshot": {"element": [{"path": "A", "code": []}, None, "x"]}},
    CS,
    {"concept": [{"code": "a"}, {"code": "b", "concept": [{"code": "c"}, {"codeString": "a"}]}]},
    {"concept": [{"code": "a"}, {"code": 1}]},
    {"concept": [{"code": "a", "_concept": [{"code": "a"}]}]},  # `_` names are not descended into
    {"concept": [[{"code": "a"}], {"code": "a"}]},
    {"code": None, "display": "d"},
    {"code": [None], "system": "s"},
    {"abstract": [True, True]},
    {"abstract": 1},
    {"abstract": True},
    {"codeString": "x"},
    {"element": [{"definition": "d", "min": 0, "max": "1"}, {"definition": "d", "min": 0}]},
    {"element": [{"base": {}}, "x"]},
    {"snapshot": {"element": [{"id": "a"}, {"id": ["a", "b"]}, {"id": "b"}]}, "differential": {"element": [{}]}},
    {"snapshot": {"element": [{"id": 1}, {"id": 1.0}]}},
    {"snapshot": {"element": [{"id": "a"}, {"_id": {"extension": []}}]}},
    "text",
    [],
    # StructureDefinition roots
    {"url": f"{_CORE}/X", "snapshot": {"element": [{"path": "X", "type": [{"code": "string"}]}]}, "type": "X"},
    {"url": f"{_CORE}/X", "differential": {"element": [{"type": [{"code": "http://hl7.org/fhirpath/System.String"}]}]}},
    {"url": f"{_CORE}/X", "snapshot": {"element": [{"type": [{"code": "a-b"}, {"code": 3}]}]}},
    {"url": [f"{_CORE}/X", "y"], "snapshot": {"element": [{"defaultValueString": "d"}]}},
    {"url": 1, "differential": {"element": [{"_defaultValueString": {}}]}},
    {"url": f"{_CORE}/X", "differential": {"element": [{"defaultValueCode": "c", "path": "X"}]}},
    {"snapshot": {"element": [{"path": "X", "sliceName": "s"}]}, "differential": {"element": [{"path": "X.a"}]}},
    {"snapshot": [{"element": [{"path": ["X"], "sliceName": "s"}]}, {"element": [{"sliceName": "s"}, "x"]}]},
    {"snapshot": {"element": [{"path": 3}, {"path": "X"}, {"path": "X"}]}, "derivation": "specialization"},
    {"snapshot": {"element": [{"path": "X"}, {"path": "X"}]}, "derivation": ["constraint"]},
    {"derivation": 1, "snapshot": {"element": [{"path": "2020"}, {"path": "2021"}]}},
    {"kind": "resource", "snapshot": {"element": [{"path": "2020", "type": []}]}, "type": "2021"},
    {"kind": "logical", "snapshot": {"element": [{"type": [{}]}]}, "differential": {"element": [{"path": "a"}]}},
    {"kind": ["a", "b"], "snapshot": {}, "type": ["X", "Y"]},
    {"kind": 2, "differential": {"element": [{"path": "a", "type": [{"code": "c"}]}]}},
    {"kind": "resource", "differential": {"element": [{"path": ["a", "b"]}]}},
    {"abstract": "true"},
    {"abstract": [True], "baseDefinition": None},
    {"type": "Extension", "derivation": "constraint", "context": [None]},
    {"type": 1, "context": [{}]},
    {"type": ["Extension", "Extension"]},
    {"name": "Abc_1"},
    {"name": "abc"},
    {"name": ["A", "B"]},
    {"nameString": "a"},
    {"path": "a.b:c"},
    {"path": "a b"},
    {"path": 1},
]


@pytest.mark.parametrize("index", range(len(SPECIFIC)))
@pytest.mark.parametrize("expression", sorted(NATIVE_RESOURCE_RULES))
def test_specific_shapes_get_the_compiled_answer(expression: str, index: int) -> None:
    _agrees(expression, SPECIFIC[index])


def test_csd_1_sees_the_codes_of_every_level() -> None:
    csd_1 = NATIVE_RESOURCE_RULES["concept.code.combine($this.descendants().concept.code).isDistinct()"]
    assert csd_1(CS) is False  # `a` at the top and two levels down
    unique = {**CS, "concept": [{"code": "a", "concept": [{"code": "b"}]}]}
    assert csd_1(unique) is True


FAILING_STRUCTURE_DEFINITIONS = [
    ("sdf-1", {"derivation": "specialization", "snapshot": {"element": [{"path": "X"}, {"path": "X"}]}}),
    ("sdf-11", {"kind": "resource", "snapshot": {"element": [{"path": "X"}]}, "type": "Y"}),
    ("sdf-15", {"kind": "resource", "snapshot": {"element": [{"path": "X", "type": [{"code": "c"}]}]}}),
    ("sdf-15a", {"kind": "resource", "differential": {"element": [{"path": "X", "type": [{}]}]}}),
    ("sdf-19", {"url": f"{_CORE}/X", "snapshot": {"element": [{"type": [{"code": "a-b"}]}]}}),
    ("sdf-22", {"url": f"{_CORE}/X", "differential": {"element": [{"defaultValueString": "d"}]}}),
    ("sdf-23", {"differential": {"element": [{"path": "X", "sliceName": "s"}]}}),
    ("sdf-4", {"abstract": False}),
    ("sdf-5", {"type": "Extension", "derivation": "constraint"}),
    ("sdf-0", {"name": "a"}),
]
_KEYED = {
    "sdf-1": "derivation = 'constraint' or snapshot.element.select(path).isDistinct()",
    "sdf-11": "kind != 'logical' implies snapshot.empty() or snapshot.element.first().path = type",
    "sdf-15": "kind!='logical' implies snapshot.element.first().type.empty()",
    "sdf-15a": "(kind!='logical'  and differential.element.first().path.contains('.').not()) implies "
    "differential.element.first().type.empty()",
    "sdf-19": next(e for e in NATIVE_RESOURCE_RULES if e.startswith("url.") and "type.code" in e),
    "sdf-22": next(e for e in NATIVE_RESOURCE_RULES if e.startswith("url.") and "defaultValue" in e),
    "sdf-23": "(snapshot | differential).element.all(path.contains('.').not() implies sliceName.empty())",
    "sdf-4": "abstract = true or baseDefinition.exists()",
    "sdf-5": "type != 'Extension' or derivation = 'specialization' or (context.exists())",
    "sdf-0": "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')",
}


@pytest.mark.parametrize(("key", "item"), FAILING_STRUCTURE_DEFINITIONS)
def test_structure_definition_natives_fail_as_the_compiled_form(key: str, item: Any) -> None:
    assert NATIVE_RESOURCE_RULES[_KEYED[key]](item) is False
    assert _compiled(_KEYED[key], item) is False


def _walk(value: Any) -> Any:
    yield value
    if isinstance(value, dict):
        for sub in value.values():
            yield from _walk(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _walk(sub)


def test_r4_examples_get_the_compiled_answer(r4_examples_dir: Path) -> None:
    """Every object of the StructureDefinition, CodeSystem and ValueSet examples, for every native rule."""
    answered: dict[str, int] = dict.fromkeys(NATIVE_RESOURCE_RULES, 0)
    for pattern in ("StructureDefinition-*.json", "CodeSystem-*.json", "ValueSet-*.json"):
        for path in sorted(r4_examples_dir.glob(pattern))[::9]:
            for item in _walk(orjson.loads(path.read_bytes())):
                if isinstance(item, dict):
                    for expression in NATIVE_RESOURCE_RULES:
                        answered[expression] += _agrees(expression, item)
    assert min(answered.values()) > 1000, answered


def test_r4_structure_definitions_get_the_compiled_answer_on_their_resource(r4_examples_dir: Path) -> None:
    answered = 0
    for path in sorted(r4_examples_dir.glob("StructureDefinition-*.json"))[::3]:
        resource = orjson.loads(path.read_bytes())
        for name in ("snapshot", "differential"):
            if isinstance(resource.get(name), dict):
                for expression in NATIVE_WITH_RESOURCE_RULES:
                    answered += _agrees_on_resource(expression, resource[name], resource)
    assert answered > 300


BUNDLE_RULES = [
    "type = 'document' implies entry.first().resource.is(Composition)",
    "type = 'message' implies entry.first().resource.is(MessageHeader)",
]
FIRST_RESOURCES: list[Any] = [
    {"resourceType": "Composition"},
    {"resourceType": "MessageHeader"},
    {"resourceType": "Patient"},
    {"resourceType": "Composition.section"},
    {"resourceType": ""},
    {"resourceType": "DomainResource"},
    {},
    "x",
]


@pytest.mark.parametrize("resource", FIRST_RESOURCES)
@pytest.mark.parametrize("bundle_type", ["document", "message", "collection"])
@pytest.mark.parametrize("expression", BUNDLE_RULES)
def test_is_on_the_first_entry_answers_as_fhirpathpy(expression: str, bundle_type: str, resource: Any) -> None:
    bundle = {"resourceType": "Bundle", "type": bundle_type, "entry": [{"resource": resource}]}
    compiled = _compiled(expression, bundle)
    if compiled is not None:
        assert compiled == ExpressionCache(use_fast=False).evaluate(expression, bundle, bundle, bundle)


def test_is_of_a_parent_type_is_left_to_fhirpathpy() -> None:
    with pytest.raises(fastpath.Unsupported):
        fastpath.compile_fast("entry.first().resource.is(DomainResource)")
    assert fastpath.compile_fast(BUNDLE_RULES[0]) is not None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40) | st.text(alphabet="aZ_9 .\n\u00c9\u0130\u212a", max_size=300))
def test_linear_patterns_match_as_the_guarded_engine(value: str) -> None:
    """`re` on the linear ASCII patterns answers as the regex engine (the guarded one) does."""
    import re

    for pattern in LINEAR_ASCII_PATTERNS:
        assert (re.search(pattern, value) is not None) == patterns.search(pattern, value), (pattern, value)


_ELD_19_PATTERN = fastpath.string_literal_value(ELD_19.split(".matches(", 1)[1][:-1])


def test_eld_19_class_is_the_regex_engines_on_every_character() -> None:
    """The characters eld-19's pattern cannot start a match with are exactly ELD_19_CLASS (the regex engine's
    \\s, not str.isspace(): \\x1c-\\x1f are outside it)."""
    compiled = patterns.compile_pattern(_ELD_19_PATTERN)
    refused = {chr(c) for c in range(0x110000) if compiled.search(chr(c)) is None}
    assert refused == set(ELD_19_CLASS)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ELD_19_CLASS + "aZ.[]x:\x1c", max_size=80) | st.text(max_size=40))
def test_eld_19_answers_as_the_guarded_engine(value: str) -> None:
    rule = NATIVE_RESOURCE_RULES[ELD_19]
    assert rule({"path": value}) == patterns.search(_ELD_19_PATTERN, value), value
