"""Repeated JSON property names: the colon count that spares the second parse gives the answer the second
parse gives, on every shape of hostile input (nested deep, in arrays, escaped names and colons, str input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.validation.fhir import jsonkeys

CASES = [
    (b'{"resourceType":"Patient","active":true,"active":false}', "active"),
    (b'{"a":{"b":[{"c":1},{"c":2,"d":{"e":1,"e":2}}]}}', "e"),
    (b'{"a":1,"a":2,"c":{"b":1,"b":2}}', "b"),  # the innermost object is judged first, as the hook does
    (b'{"a":"x:y","a":"z"}', "a"),  # the dropped value held a colon
    (b'{"a":"z","a":"x:y"}', "a"),
    (b'{"a":1,"\\u0061":2}', "a"),  # the same name written two ways
    (b'{"k\\u003a":1,"k:":2}', "k:"),  # an escaped colon in a name
    (b'{"a":"\\u003a","b":[":",{"c":"::"}]}', None),  # escaped and plain colons in strings, no repeat
    (b'[{"x":[[[{"y":0,"y":0}]]]}]', "y"),
    (b'{"resourceType":"Bundle","entry":[{"resource":{"id":"a"}},{"resource":{"id":"a","id":"b"}}]}', "id"),
    (b'{"a":{},"b":[],"c":{"d":null}}', None),
]


def _deep(depth: int, inner: bytes) -> bytes:
    return b'{"resourceType":"Basic","x":' + b"[" * depth + inner + b"]" * depth + b"}"


@pytest.mark.parametrize(("text", "repeated"), CASES)
def test_the_repeated_name_is_found_in_bytes_and_in_str(text: bytes, repeated: str | None) -> None:
    parsed = orjson.loads(text)
    assert jsonkeys.duplicate_key(text, parsed) == repeated
    assert jsonkeys.duplicate_key(text.decode(), parsed) == repeated
    assert jsonkeys._parse_for_duplicates(text) == repeated  # the second parse itself agrees


@pytest.mark.parametrize("depth", [300, 1000, 1020])
def test_deep_nesting_is_judged_without_a_crash(depth: int) -> None:
    """Past orjson's writing depth the text is parsed again; past the recursive parser's, scanned."""
    repeated = _deep(depth, b'{"a":1,"a":2}')
    assert jsonkeys.duplicate_key(repeated, orjson.loads(repeated)) == "a"
    clean = _deep(depth, b'{"a":1,"b":2}')
    assert jsonkeys.duplicate_key(clean, orjson.loads(clean)) is None


def test_deep_nesting_with_a_repeat_is_a_fatal_finding(validator: Any) -> None:
    outcome = validator.validate(_deep(1000, b'{"a":1,"a":2}'), lang="en")
    assert [f.rule for f in outcome.findings] == ["Error_parsing_JSON_"]
    assert "Duplicated property name: a" in outcome.findings[0].message_en


def test_the_scan_answers_as_the_hook_does() -> None:
    for text, repeated in CASES:
        assert jsonkeys._scan_for_duplicates(text) == repeated, text


_NAMES = st.sampled_from(["a", "b", "a:", ":", "\u0061", "id"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["", ":", "x:y", "\\", '"']),
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(st.tuples(_NAMES, children), max_size=4).map(lambda pairs: _Pairs(pairs))
    ),
    max_leaves=12,
)


class _Pairs(list[tuple[str, Any]]):
    """An object written with its pairs as given, repeats included."""


def _write(value: Any, escape: bool) -> str:
    if isinstance(value, _Pairs):
        return "{" + ",".join(f"{_write_name(k, escape)}:{_write(v, escape)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(v, escape) for v in value) + "]"
    return json.dumps(value)


def _write_name(name: str, escape: bool) -> str:
    return json.dumps(name).replace(":", "\\u003a") if escape else json.dumps(name)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.booleans())
def test_random_texts_get_the_second_parse_answer(value: Any, escape: bool) -> None:
    text = _write(value, escape).encode()
    assert jsonkeys.duplicate_key(text, orjson.loads(text)) == jsonkeys._parse_for_duplicates(text)


def test_r4_examples_need_no_second_parse(r4_examples_dir: Path) -> None:
    """The corpus the bench uses has no repeated name and no escaped colon: the count answers for all."""
    for path in sorted(r4_examples_dir.glob("*.json"))[:400]:
        text = path.read_bytes()
        assert b"\\u003" not in text and jsonkeys._colons_agree(text.count(b":"), orjson.loads(text)), path.name
