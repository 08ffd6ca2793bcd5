"""A small predicate language for conditional usage (C) in our YAML profiles.

    PV1-2 in [E, I, O, R]          PID-32 = VALI          PID-7 valued          ZBE-4 != INSERT
    event in [A01, A04]            not (PV1-2 = N)        PID-3.5 = INS and PID-32 valued

`and` binds tighter than `or`. A location whose segment is the segment being checked refers to that very
segment instance; otherwise to the first segment of that name. A field location matches when any of its
repetitions does. A condition that cannot be read raises ConditionError (the validator reports it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from conformance.validation.hl7v2.er7 import Location, Message, Segment, parse_location, repetitions, value_of

_TOKEN = re.compile(r"\(|\)|\[|\]|,|!=|=|[^\s()\[\],=!]+")


class ConditionError(ValueError):
    pass


@dataclass(slots=True)
class Context:
    message: Message
    segment: Segment | None = None
    event: str = ""

    def located(self, loc: Location, one_repetition: bool) -> list[str]:
        """The values at `loc`: of its repetition when `one_repetition` (the text names one), else of all."""
        segment = self._segment(loc)
        if segment is None or loc.field is None:
            return [] if segment is None else [segment.raw]
        result: list[str] = []
        reps = repetitions(segment, loc.field, self.message.delimiters)
        indexes = [loc.repetition] if one_repetition else range(1, len(reps) + 1)
        for repetition in indexes:
            result.append(
                value_of(segment, loc.field, repetition, loc.component, loc.subcomponent, self.message.delimiters)
            )
        return result

    def _segment(self, loc: Location) -> Segment | None:
        if self.segment is not None and self.segment.name == loc.segment and loc.occurrence == 1:
            return self.segment
        matches = self.message.all(loc.segment)
        return matches[loc.occurrence - 1] if len(matches) >= loc.occurrence else None


Predicate = Callable[[Context], bool]


def compile_condition(text: str) -> Predicate:
    tokens = _TOKEN.findall(text)
    parser = _Parser(tokens, text)
    predicate = parser.expression()
    if parser.position != len(tokens):
        raise ConditionError(f"unexpected {tokens[parser.position]!r} in condition {text!r}")
    return predicate


_CACHE: dict[str, Predicate] = {}


def evaluate(text: str, context: Context) -> bool:
    predicate = _CACHE.get(text)
    if predicate is None:
        predicate = _CACHE[text] = compile_condition(text)
    return predicate(context)


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ConditionError(f"expected {expected or 'more'} in condition {self.text!r}")
        self.position += 1
        return token

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda ctx: any(term(ctx) for term in terms))

    def conjunction(self) -> Predicate:
        terms = [self.unary()]
        while self.peek() == "and":
            self.take()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else (lambda ctx: all(term(ctx) for term in terms))

    def unary(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.unary()
            return lambda ctx: not inner(ctx)
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            self.take(")")
            return inner
        return self.atom()

    def atom(self) -> Predicate:
        subject = self.take()
        operator = self.take()
        if subject == "event":
            getter: Callable[[Context], list[str]] = lambda ctx: [ctx.event]  # noqa: E731
        else:
            try:
                loc = parse_location(subject)
            except ValueError as exc:
                raise ConditionError(str(exc)) from exc
            one_repetition = "[" in subject.split("-", 1)[-1]
            getter = lambda ctx: ctx.located(loc, one_repetition)  # noqa: E731
        if operator == "valued":
            return lambda ctx: any(v not in ("", '""') for v in getter(ctx))
        if operator == "empty":
            return lambda ctx: all(v in ("", '""') for v in getter(ctx))
        if operator in ("=", "!="):
            expected = self.take()
            if operator == "=":
                return lambda ctx: expected in getter(ctx)
            return lambda ctx: expected not in getter(ctx)
        if operator == "in":
            self.take("[")
            values = {self.take()}
            while self.peek() == ",":
                self.take()
                values.add(self.take())
            self.take("]")
            return lambda ctx: any(v in values for v in getter(ctx))
        raise ConditionError(f"unknown operator {operator!r} in condition {self.text!r}")
