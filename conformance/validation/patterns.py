"""Regular expressions that come from profiles (ElementDefinition regex, FHIRPath matches/replaceMatches) are
untrusted input: `matches('^(a+)+$')` on 31 characters costs a backtracking engine a minute. They run here,
on the `regex` engine with a deadline; past PATTERN_TIME_LIMIT seconds `PatternTimeout` is raised and the
caller reports the constraint as "not evaluated: time limit", never as a pass or a fail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import regex

PATTERN_TIME_LIMIT = 0.5  # seconds for one match of one value
NOT_EVALUATED_TIME_LIMIT = f"not evaluated: time limit ({PATTERN_TIME_LIMIT:g} s per value)"
PatternError = regex.error


class PatternTimeout(Exception):
    """A profile's pattern did not finish within PATTERN_TIME_LIMIT on a value."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"{NOT_EVALUATED_TIME_LIMIT}: {pattern[:120]}")
        self.pattern = pattern


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str, dotall: bool = False) -> regex.Pattern[str]:
    """The compiled pattern (PatternError when it is not a valid expression)."""
    return regex.compile(pattern, regex.DOTALL if dotall else 0)


def search(pattern: str, value: str, *, dotall: bool = False) -> bool:
    try:
        return compile_pattern(pattern, dotall).search(value, timeout=PATTERN_TIME_LIMIT) is not None
    except TimeoutError:
        raise PatternTimeout(pattern) from None


def fullmatch(pattern: str, value: str) -> bool:
    try:
        return compile_pattern(pattern).fullmatch(value, timeout=PATTERN_TIME_LIMIT) is not None
    except TimeoutError:
        raise PatternTimeout(pattern) from None


def substitute(pattern: str, replacement: Callable[[regex.Match[str]], str], value: str) -> str:
    try:
        return compile_pattern(pattern).sub(replacement, value, timeout=PATTERN_TIME_LIMIT)
    except TimeoutError:
        raise PatternTimeout(pattern) from None


def _fhirpathpy_matches(ctx, coll, pattern):  # type: ignore[no-untyped-def]
    from fhirpathpy.engine.invocations.strings import ensure_string_singleton

    if not pattern or not coll:
        return []
    return search(pattern, ensure_string_singleton(coll), dotall=True)


def _fhirpathpy_replace_matches(ctx, coll, pattern, replacement):  # type: ignore[no-untyped-def]
    from fhirpathpy.engine.invocations.strings import ensure_string_singleton

    string = ensure_string_singleton(coll)
    if isinstance(pattern, list) or isinstance(replacement, list):
        return []
    template = regex.sub(r"\$(\d+)", r"\\\1", replacement)  # $1 -> \1, as fhirpathpy does
    try:
        return compile_pattern(pattern).sub(template, string, timeout=PATTERN_TIME_LIMIT)
    except TimeoutError:
        raise PatternTimeout(pattern) from None


def guard_fhirpathpy() -> None:
    """fhirpathpy's matches() and replaceMatches() use the backtracking `re`: route them here (idempotent)."""
    from fhirpathpy.engine import invocations

    registry = getattr(invocations, "invocation_registry", {})
    for name, function in (("matches", _fhirpathpy_matches), ("replaceMatches", _fhirpathpy_replace_matches)):
        if name in registry:
            registry[name]["fn"] = function
