"""Bad input never crashes the validator: seeded random mutations of real examples (values replaced by values of
other JSON shapes) must give findings, never an exception nor the internal-error safety net."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

JUNK: list[Any] = [None, 1, -1, 1.5, True, "", "x", [], {}, [1], [None], {"a": 1}, {"resourceType": "Nope"}, [{}], "#"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, (*path, index))


def _mutate(resource: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    paths = list(_paths(resource))[1:]
    for _ in range(3):
        path = rnd.choice(paths)
        target: Any = resource
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = copy.deepcopy(rnd.choice(JUNK))
        paths = list(_paths(resource))[1:]
        if not paths:
            break
    return resource


def test_mutated_examples_never_crash(validator: Any, r4_examples_dir: Path) -> None:
    files = sorted(p for p in r4_examples_dir.glob("*.json") if p.stat().st_size < 60_000 and p.name != "package.json")
    rnd = random.Random(20261125)
    for _ in range(300):
        resource = orjson.loads(rnd.choice(files).read_bytes())
        outcome = validator.validate(_mutate(resource, rnd))
        internal = [f for f in outcome.findings if f.rule == "validator-internal-error"]
        assert internal == [], internal[0].message_en


def test_garbage_text_is_a_fatal_finding(validator: Any) -> None:
    for text in (b"", b"null", b"[1,2]", b'{"resourceType": 3}', b"\xff\xfe", b'"x"', b"{" * 5000):
        outcome = validator.validate(text)
        assert not outcome.is_valid
