"""Strategies shared by the fuzz targets: byte mutations of real seeds, and the checks on validator results."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.findings import Finding, Outcome

SPECIAL = [
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"<",
    b">",
    b"&",
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"|",
    b"^",
    b"~",
    b"\\",
    b"\r",
    b"\n",
    b"\x0b",
    b"\x1c",
    "é".encode(),
    "\u2028".encode(),
    b"]]>",
    b"<!--",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"1e999999",
    b"-0",
    b"null",
    b"true",
    b"MSH|^~\\&|",
    b'"resourceType"',
    b"<![CDATA[",
    b"\xed\xa0\x80",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], max_ops: int = 6) -> bytes:
    """A seed with a few random edits: bit flips, inserted specials, deletions, duplications, truncation."""
    data = bytearray(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate", "replace"]))
        position = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            index = min(position, len(data) - 1)
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[position:position] = draw(st.sampled_from(SPECIAL) | st.binary(max_size=8))
        elif op == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif op == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[position:]
        elif op == "replace" and data:
            data[min(position, len(data) - 1)] = draw(st.integers(0, 255))
    return bytes(data)


def check_outcomes(outcomes: object) -> list[Outcome]:
    """A validator's answer: a non-empty list of Outcomes made of Findings, all of it serialisable."""
    assert isinstance(outcomes, list) and outcomes, outcomes
    for outcome in outcomes:
        assert isinstance(outcome, Outcome), type(outcome)
        assert all(isinstance(f, Finding) for f in outcome.findings)
        for f in outcome.findings:
            assert f.message_fr and f.message_en and f.rule
        json.dumps(outcome.to_dict(), ensure_ascii=False)
        outcome.render("fr")
        outcome.render("en")
        outcome.to_operation_outcome("en")
    return outcomes


def check_rejected(outcomes: list[Outcome]) -> None:
    """Input that cannot be what it claims must be reported: at least one error or fatal finding."""
    assert any(not o.is_valid for o in outcomes), [o.to_dict() for o in outcomes]


BUDGETS = [pytest.param("ci", id="ci"), pytest.param("long", id="long", marks=pytest.mark.slow)]


def fuzz(budget: str, strategy: st.SearchStrategy, check: Callable[[Any], None], *, scale: float = 1.0) -> None:
    """Run `check` on examples of `strategy` under the budget's profile (`scale` tunes the example count)."""
    profile = settings.get_profile(budget)
    examples = max(5, int(profile.max_examples * scale))

    @settings(profile, max_examples=examples)
    @given(strategy)
    def property_holds(example: Any) -> None:
        check(example)

    property_holds()
