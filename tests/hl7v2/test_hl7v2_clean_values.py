"""The engine's clean patterns (ProfileChecker._clean_pattern and _clean_segment: one regular expression that tells
a value, or a segment, in which check_value or check_segment would find nothing) are sound: a message gets
exactly the same findings with them as with every segment and value checked in full, whatever its fields hold."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.validation.hl7v2 import engine, split_messages, validate_message
from conformance.validation.hl7v2.engine import ProfileChecker

from .conftest import ADT_A01
from .test_hl7v2_equivalence import _damaged, _samples


@pytest.fixture(autouse=True)
def _patterns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "CLEAN_AFTER", 1)  # every element and segment plan gets its pattern at first use


VALUE_CHARS = st.sampled_from([*'^&~\\"0123456789+-.ADFHILMNOPRSTUVXYZaé ', "^^", "&&", '""'])
field_values = st.lists(VALUE_CHARS, max_size=40).map("".join)


def _findings(message: str | bytes) -> list[tuple]:
    outcome = validate_message(message, check_cda=False)
    return [(f.severity.value, f.rule, f.location, f.line, f.column, f.message_en) for f in outcome.findings]


def _without_clean_patterns(monkeypatch: pytest.MonkeyPatch, message: str | bytes) -> list[tuple]:
    """The findings with every value checked in full (no element ever gets a clean pattern)."""
    with monkeypatch.context() as patch:
        original_init = ProfileChecker.__init__

        def init(self: ProfileChecker, *args, **kwargs) -> None:
            original_init(self, *args, **kwargs)
            self._clean_keys = ("full check 0", "full check 1")  # never an element's key: always rebuilt
            self._segment_clean_key = "full check"  # nor a segment plan's

        def no_pattern(self: ProfileChecker, element, level: int) -> None:
            element.clean_key, element.clean = "", None

        patch.setattr(ProfileChecker, "__init__", init)
        patch.setattr(ProfileChecker, "_clean_pattern", no_pattern)
        patch.setattr(ProfileChecker, "_clean_segment", lambda self, name, plan: None)
        return _findings(message)


def _with_field(segment_index: int, field_number: int, value: str) -> str:
    segments = ADT_A01.split("\r")
    index = segment_index % (len(segments) - 1)
    fields = segments[index].split("|")
    number = field_number % (len(fields) + 3) or 1
    if index == 0 and number < 3:
        number = 3
    fields += [""] * (number + 1 - len(fields))
    fields[number] = value
    segments[index] = "|".join(fields)
    return "\r".join(segments)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 50), st.integers(0, 60), field_values)
def test_any_field_value_gets_the_same_findings(monkeypatch: pytest.MonkeyPatch, segment: int, number: int,
                                                value: str) -> None:  # fmt: skip
    message = _with_field(segment, number, value)
    assert _findings(message) == _without_clean_patterns(monkeypatch, message)


def test_the_samples_and_their_damaged_copies_get_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _samples()
    if not paths:
        pytest.skip("no ANS samples")
    for path in paths:
        data = path.read_bytes()
        for payload in [*split_messages(data), *split_messages(_damaged(data))]:
            assert _findings(payload) == _without_clean_patterns(monkeypatch, payload), path.name


@pytest.mark.parametrize(
    "value",
    [
        '""^' * 30 + "x" * 5,
        '""&' * 2000 + "^" * 500,
        "^".join(['""'] * 2000),
        "a" * 200_000,
        "1&" * 50_000,
        "~" * 1500,
        "a~" * 1200,
        "~".join(['""'] * 999),
    ],
)
def test_long_and_repetitive_values_get_the_same_findings(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """Parts are matched atomically: a value of thousands of nulls or separators is one linear match."""
    for segment, number in ((2, 3), (2, 5), (5, 7), (0, 4)):
        message = _with_field(segment, number, value)
        assert _findings(message) == _without_clean_patterns(monkeypatch, message)
