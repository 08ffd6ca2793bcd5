"""Checks a parsed message against a MessageProfile: structure (segment order, usage, cardinality, groups),
then every field, repetition, component and subcomponent (usage, cardinality, length, data type, table,
fixed values, conditions). Produces Findings with stable rule ids and locations such as `PID-3[2].4.2`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from itertools import compress

from conformance.findings import Finding, severity_of
from conformance.validation.hl7v2 import reference
from conformance.validation.hl7v2.conditions import ConditionError, Context, evaluate
from conformance.validation.hl7v2.er7 import (
    MAX_CHECKED_REPETITIONS,
    NULL,
    Message,
    Segment,
    location,
    repetitions,
)
from conformance.validation.hl7v2.profile import ComponentDef, GroupRef, MessageProfile, SegmentRef

_FORMATS = {
    "DT": re.compile(r"^\d{4}(\d{2}(\d{2})?)?$"),
    "DTM": re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$"),
    "TM": re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?([+-]\d{4})?$"),
    "NM": re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$"),
    "SI": re.compile(r"^\d+$"),
}
_FORMAT_NAMES = {
    "DT": "YYYY[MM[DD]]",
    "DTM": "YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]",
    "TM": "HH[MM[SS[.S]]][+/-ZZZZ]",
    "NM": "a number",
    "SI": "a positive integer",
}
_CODED = frozenset({"CE", "CWE", "CNE", "CF"})
MAX_PLANNED_COMPONENTS = 64
_USAGE_NAMES_FR = {"R": "obligatoire", "X": "interdit"}
# How a segment's field is checked (ProfileChecker._field_mode)
_SIMPLE_INERT, _SIMPLE, _VALUED, _EXTRA, _REQUIRED, _REQUIRED_INERT, _ALWAYS = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
)  # >= _REQUIRED: checked when empty


@dataclass(frozen=True, slots=True)
class _SegmentPlan:
    """How ProfileChecker.check_segment checks a segment (see _segment_plan)."""

    known: int | None  # the last field number the definition knows (None: any field is accepted)
    by_number: tuple[tuple[_Element | None, int] | None, ...]  # (merged definition, _field_mode) by field number
    checked_empty: tuple[int, ...]  # the field numbers checked even when empty (modes >= _REQUIRED)
    conditional: tuple[tuple[int, _Element], ...]  # the fields whose usage depends on a condition (_ALWAYS)
    # by separators: matches only segments in which check_segment finds nothing (ProfileChecker._clean_segment)
    clean: dict[str, re.Pattern[str] | None] = field(default_factory=dict, compare=False)
    checks: dict[str, int] = field(default_factory=dict, compare=False)  # segments checked before (CLEAN_AFTER)


@dataclass(slots=True)
class _Element:
    """A field or component definition after merging the profile with the base standard."""

    usage: str
    min: int
    max: int
    datatype: str
    length: int | None
    table: str | None
    fixed: str | None
    values: tuple[str, ...]
    condition: str | None
    else_usage: str
    name: str
    severity: str
    note: str
    components: dict[int, ComponentDef]
    # filled on first use (an element is shared by every message checked against the profile):
    parts: tuple[reference.BaseComponent, ...] | None = None  # the data type's components in the base standard
    children: dict[int, _Element] | None = None  # merged component definitions by position
    inert: bool | None = None  # a value of it can raise no finding but its usage (see ProfileChecker._inert)
    plans: dict[int, tuple[tuple[int, _Element, bool], ...]] | None = None  # by component count: what to check
    label: str | None = None  # "PID-3 (name)" or "PID-3.4": an element belongs to one field or parent
    # worked out once by ProfileChecker._compile:
    compiled: bool = False
    allowed: frozenset[str] | None = None  # the code list (inline values or the profile's table)
    own: bool = False  # a length, fixed value, code list or format to check on the value itself
    composite: bool = False  # components to check (the data type's or the profile's)
    pattern: re.Pattern[str] | None = None  # the format of a value without components
    width: int = 0  # components of the data type in the base standard
    room: int = 0  # the longest value that raises no length finding
    accepted: frozenset[str] | None = None  # the values that raise no fixed-value or code finding (None: any)
    clean_key: str = ""  # the separators and level `clean` was built for (see ProfileChecker._clean_pattern)
    checks: int = 0  # values checked before `clean` was built (see CLEAN_AFTER)
    clean: re.Pattern[str] | None = None  # matches only values whose check_value finds nothing (None: no such test)

    def may_fail_own(self, value: str, separator: str) -> bool:
        """Whether `value` can raise a length, fixed-value, code or format finding (`separator`: the component
        one; a code is a value's first component): most values are told fine here, without
        ProfileChecker._check_own."""
        accepted = self.accepted
        pattern = self.pattern
        return (
            len(value) > self.room
            or (accepted is not None and (value not in accepted or separator in value))
            or (pattern is not None and pattern.match(value) is None)
        )


class ProfileChecker:
    def __init__(self, message: Message, profile: MessageProfile, *, source_profile: str = "") -> None:
        self.message = message
        self.profile = profile
        self.delimiters = message.delimiters
        version = message.version if message.version in ("2.5", "2.5.1", "2.6", "2.7", "2.8") else ""
        self.version = version or profile.hl7_version
        self.event = message.message_type[1]
        self.profile_id = source_profile or profile.id
        self.findings: list[Finding] = []
        separators = self.delimiters.component + self.delimiters.subcomponent
        self._clean_keys = (separators + "0", separators + "1")  # by level: a field (0) or a component (1)
        self._segment_clean_key = self.delimiters.field + self.delimiters.repetition + separators

    # ------------------------------------------------------------------ helpers

    def add(
        self,
        severity: str,
        rule: str,
        where: str | tuple,
        fr: str,
        en: str,
        segment: Segment | None = None,
        field_number: int | None = None,
        code: str = "structure",
    ) -> None:
        if isinstance(where, tuple):  # built lazily: most values never produce a finding
            where = location(*where)
        line = segment.line if segment is not None else None
        column = segment.column(field_number) if segment is not None and field_number is not None else None
        self.findings.append(located_finding(severity, code, rule, where, fr, en, self.profile_id, line, column))

    def condition_holds(self, condition: str, segment: Segment | None) -> bool | None:
        try:
            return evaluate(condition, Context(self.message, segment, self.event))
        except (ConditionError, ValueError) as exc:
            self.add(
                "warning",
                "hl7v2-profile-condition",
                segment.label() if segment else "",
                f"Condition du profil illisible, ignorée : {exc}",
                f"Unreadable profile condition, ignored: {exc}",
                code="informational",
            )
            return None

    def effective_usage(self, usage: str, condition: str | None, else_usage: str, segment: Segment | None) -> str:
        """`C` is R when the condition holds, `else_usage` otherwise; `C(a/b)` (HL7 notation) is a or b."""
        then_usage = "R"
        if usage.startswith("C(") and usage.endswith(")") and "/" in usage:
            then_usage, _, else_usage = usage[2:-1].partition("/")
            usage = "C"
        if usage != "C":
            return usage
        if not condition:
            return "O"
        holds = self.condition_holds(condition, segment)
        if holds is None:
            return "O"
        return then_usage if holds else else_usage

    # ------------------------------------------------------------------ run

    def run(self) -> list[Finding]:
        for line, problem in self.message.problems:
            self.add(
                "error",
                "hl7v2-segment-id",
                "",
                f"Ligne {line} : identifiant de segment invalide ({problem})",
                f"Line {line}: invalid segment id ({problem})",
            )
        self.check_structure()
        for segment in self.message.segments:
            self.check_segment(segment)
        return self.findings

    # ------------------------------------------------------------------ structure

    def check_structure(self) -> None:
        segments = self.message.segments
        position = self._match(self.profile.elements, segments, 0, top=True, path="")
        for segment in segments[position:]:
            self._unexpected(segment)

    def _first_names(self, element: SegmentRef | GroupRef) -> frozenset[str]:
        if isinstance(element, SegmentRef):
            return frozenset((element.name,))
        key = ("first-names", id(element))  # the profile's cache lives as long as its elements
        names = self.profile.cache.get(key)
        if names is None:
            found: set[str] = set()
            for child in element.children:
                found |= self._first_names(child)
                if child.min > 0:
                    break
            names = self.profile.cache[key] = frozenset(found)
        return names

    def _known_names(self, elements: list[SegmentRef | GroupRef]) -> frozenset[str]:
        key = ("known-names", id(elements))
        names = self.profile.cache.get(key)
        if names is None:
            found: set[str] = set()
            for element in elements:
                found |= {element.name} if isinstance(element, SegmentRef) else self._known_names(element.children)
            names = self.profile.cache[key] = frozenset(found)
        return names

    def _firsts(self, elements: list[SegmentRef | GroupRef]) -> tuple[frozenset[str], ...]:
        """The segment names each element of `elements` can start with (cached per profile)."""
        key = ("firsts", id(elements))
        firsts = self.profile.cache.get(key)
        if firsts is None:
            firsts = self.profile.cache[key] = tuple(self._first_names(element) for element in elements)
        return firsts

    def _starts(
        self, elements: list[SegmentRef | GroupRef]
    ) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...], tuple[int, ...]]:
        """By segment name, the indexes of the elements of `elements` that can start with it (in order), the
        indexes of the elements whose count can raise a finding (see _check_element_count) and those of the
        required elements; cached per profile."""
        key = ("starts", id(elements))
        starts = self.profile.cache.get(key)
        if starts is None:
            by_name: dict[str, list[int]] = {}
            for index, names in enumerate(self._firsts(elements)):
                for name in names:
                    by_name.setdefault(name, []).append(index)
            counted = tuple(index for index, element in enumerate(elements) if _count_can_report(element))
            required = tuple(index for index, element in enumerate(elements) if element.min > 0 or element.usage == "R")
            by_name_found = {name: tuple(found) for name, found in by_name.items()}
            starts = self.profile.cache[key] = (by_name_found, counted, required)
        return starts

    def _match(
        self, elements: list[SegmentRef | GroupRef], segments: list[Segment], position: int, *, top: bool, path: str
    ) -> int:
        counts = [0] * len(elements)
        first_seen: list[Segment | None] = [None] * len(elements)
        firsts = self._firsts(elements)
        starts, counted, required = self._starts(elements)
        total = len(elements)
        index = 0
        while position < len(segments) and index < total:
            segment = segments[position]
            element = elements[index]
            name = segment.name
            if name in firsts[index] and (element.max < 0 or counts[index] < element.max):
                first_seen[index] = first_seen[index] or segment
                counts[index] += 1
                if isinstance(element, SegmentRef):
                    if element.usage == "X" or element.usage[:1] == "C":  # the others allow the segment
                        self._segment_usage(element, segment)
                    position += 1
                else:
                    position = self._match(
                        element.children, segments, position, top=False, path=f"{path}{element.name}."
                    )
                continue
            later = None
            for k in starts.get(name, ()):
                if k > index and (elements[k].max < 0 or counts[k] < elements[k].max):
                    later = k
                    break
            if later is not None and not self._skips_required_seen_later(
                firsts, required, counts, index, later, segments, position
            ):
                index = later
                continue
            if not top:
                break
            self._unexpected(segment, too_many=name in self._known_names(elements))
            position += 1
        anchor = segments[min(position, len(segments) - 1)] if segments else None
        for k in counted:
            self._check_element_count(elements[k], counts[k], first_seen[k], anchor, path)
        return position

    def _skips_required_seen_later(
        self,
        firsts: tuple[frozenset[str], ...],
        required: tuple[int, ...],
        counts: list[int],
        index: int,
        later: int,
        segments: list[Segment],
        position: int,
    ) -> bool:
        """Jumping ahead would pass a required element (`required`: their indexes) that still occurs further on:
        the current segment is out of order (reported and skipped) rather than everything in between."""
        coming: set[str] | None = None
        for k in required:
            if k < index:
                continue
            if k >= later:
                break
            if counts[k] == 0:
                if coming is None:
                    coming = {segment.name for segment in segments[position + 1 :]}
                if firsts[k] & coming:
                    return True
        return False

    def _segment_usage(self, ref: SegmentRef, segment: Segment) -> None:
        usage = self.effective_usage(ref.usage, ref.condition, "O", segment)
        if usage == "X":
            self.add(
                "error",
                "hl7v2-usage-X",
                segment.label(),
                f"Le segment {segment.name} n'est pas autorisé dans ce message{_note(ref.note)}",
                f"Segment {segment.name} is not allowed in this message{_note(ref.note)}",
                segment,
            )

    def _check_element_count(
        self, element: SegmentRef | GroupRef, count: int, seen: Segment | None, anchor: Segment | None, path: str
    ) -> None:
        usage = element.usage
        if usage[:1] == "C":
            usage = self.effective_usage(usage, element.condition, "O", None)
        # R (including a C whose condition holds) needs at least one occurrence; O, RE, X and a C that does not
        # hold need none, whatever the structure's minimum says.
        minimum = max(element.min, 1) if usage == "R" else 0
        if count >= minimum and (usage != "RE" or count or not element.note):
            return  # nothing to say (the common case)
        kind_fr = "groupe" if isinstance(element, GroupRef) else "segment"
        name = f"{path}{element.name}"
        if count < minimum:
            rule = "hl7v2-usage-R" if count == 0 else "hl7v2-cardinality-min"
            self.add(
                "error",
                rule,
                element.name if isinstance(element, SegmentRef) else name,
                f"Le {kind_fr} {name} est obligatoire (au moins {minimum}, trouvé {count}){_note(element.note)}",
                f"The {'group' if isinstance(element, GroupRef) else 'segment'} {name} is required "
                f"(at least {minimum}, found {count}){_note(element.note)}",
            )
        elif usage == "RE" and count == 0 and element.note:
            self.add(
                "information",
                "hl7v2-usage-RE",
                element.name,
                f"Le segment {name} est attendu s'il est connu{_note(element.note)}",
                f"Segment {name} is expected when known{_note(element.note)}",
                code="informational",
            )

    def _unexpected(self, segment: Segment, too_many: bool = False) -> None:
        if too_many or segment.name in self._known_names(self.profile.elements):
            self.add(
                "error",
                "hl7v2-segment-order",
                segment.label(),
                f"Segment {segment.name} inattendu à cette position (ordre ou nombre d'occurrences non conforme à "
                f"la structure {self.profile.structure_id})",
                f"Segment {segment.name} not expected at this position (order or number of occurrences does not "
                f"match structure {self.profile.structure_id})",
                segment,
            )
        else:
            self.add(
                "error",
                "hl7v2-segment-unexpected",
                segment.label(),
                f"Le segment {segment.name} ne fait pas partie de la structure {self.profile.structure_id}",
                f"Segment {segment.name} is not part of structure {self.profile.structure_id}",
                segment,
            )

    # ------------------------------------------------------------------ fields

    def _merged_field(self, segment_name: str, number: int) -> _Element | None:
        key = ("field", self.version, segment_name, number)
        cache = self.profile.cache
        if key not in cache:
            cache[key] = self._merge_field(segment_name, number)
        return cache[key]

    def _merge_field(self, segment_name: str, number: int) -> _Element | None:
        definition = self.profile.segments.get(segment_name)
        profile_field = definition.fields.get(number) if definition else None
        base = reference.base_fields(self.version, segment_name) or {}
        base_field = base.get(number)
        if profile_field is None and base_field is None:
            return None
        if profile_field is None:
            assert base_field is not None
            return _Element(
                "O", 0, base_field.max, base_field.datatype, None, None, None, (), None, "O", base_field.name,
                "error", "", {},
            )  # fmt: skip
        maximum = profile_field.max
        if maximum is None:
            maximum = base_field.max if base_field is not None else 1
        return _Element(
            profile_field.usage,
            profile_field.min,
            maximum,
            profile_field.datatype or (base_field.datatype if base_field else "ST"),
            profile_field.length,
            profile_field.table or None,
            profile_field.fixed,
            profile_field.values,
            profile_field.condition,
            profile_field.else_usage,
            profile_field.name or (base_field.name if base_field else ""),
            profile_field.severity,
            profile_field.note,
            profile_field.components,
        )

    def _field_count_known(self, segment_name: str) -> int | None:
        definition = self.profile.segments.get(segment_name)
        base = reference.base_fields(self.version, segment_name)
        positions = set(definition.fields) if definition else set()
        if base:
            positions |= set(base)
        if not positions:
            return None
        if definition is not None and not definition.closed and not base:
            return None
        return max(positions)

    def _segment_plan(self, segment_name: str) -> _SegmentPlan:
        """Every field the profile or the base standard defines for this segment, with its merged definition and
        how to check it (see _field_mode), by field number (cached per profile); fields past the last one have
        no definition."""
        key = ("segment", self.version, segment_name)
        cache = self.profile.cache
        plan = cache.get(key)
        if plan is None:
            definition = self.profile.segments.get(segment_name)
            numbers = set(definition.fields) if definition else set()
            numbers |= set(reference.base_fields(self.version, segment_name) or {})
            numbers |= set(range(1, max(numbers, default=0) + 1))
            if segment_name == "MSH":
                numbers -= {1, 2}
            by_number: list[tuple[_Element | None, int] | None] = [None] * (max(numbers, default=0) + 1)
            for number in sorted(numbers):
                element = self._merged_field(segment_name, number)
                if element is not None and element.label is None:  # one label: merged per segment and field
                    element.label = f"{segment_name}-{number}" + (f" ({element.name})" if element.name else "")
                if element is not None and not element.compiled:
                    self._compile(element)
                by_number[number] = (element, self._field_mode(element))
            checked_empty = tuple(
                number for number, entry in enumerate(by_number) if entry is not None and entry[1] >= _REQUIRED
            )
            conditional = tuple(
                (number, entry[0])
                for number, entry in enumerate(by_number)
                if entry is not None and entry[1] == _ALWAYS
            )
            plan = cache[key] = _SegmentPlan(
                self._field_count_known(segment_name),
                tuple(by_number),
                checked_empty,
                conditional,  # type: ignore[arg-type]
            )
        return plan

    def _field_mode(self, element: _Element | None) -> int:
        """_ALWAYS: checked even when empty (C, R that may not occur); _REQUIRED: R, checked whole when empty
        or repeated, and with one repetition only its value can raise a finding; _SIMPLE: when valued with one
        repetition, only its value can raise a finding (O, RE... that may occur once or more); _VALUED: the
        others, checked when valued. The _INERT variants: a value of it raises nothing (see _inert)."""
        if element is None:
            return _EXTRA
        usage = element.usage
        if usage == "R" and element.max != 0:
            return _REQUIRED_INERT if self._inert(element) else _REQUIRED
        if usage == "R" or usage[:1] == "C":
            return _ALWAYS
        if usage != "X" and element.max != 0:
            return _SIMPLE_INERT if self._inert(element) else _SIMPLE
        return _VALUED

    def check_segment(self, segment: Segment) -> None:
        plan = self._segment_plan(segment.name)
        if segment.index == 0 or segment.name != "MSH":  # (another MSH's fields are not shifted)
            key = self._segment_clean_key
            clean = plan.clean.get(key, False)
            if clean is False:
                clean = self._segment_pattern(segment.name, plan, key)
            if (
                clean is not None
                and segment.raw.count(self.delimiters.repetition) < MAX_CHECKED_REPETITIONS
                and clean.fullmatch(segment.raw)
            ):
                # nothing to find in this segment but in its conditional fields: one match instead of the loop
                for number, element in plan.conditional:
                    self.check_field(segment, number, element)
                return
        by_number, known = plan.by_number, plan.known
        fields = segment.fields
        count = len(fields)
        defined = len(by_number)
        repetition, separator = self.delimiters.repetition, self.delimiters.component
        # the valued fields and those checked even when empty, in order: most fields of a segment are empty,
        # and picking the valued ones is done in C (compress) rather than by a loop over every definition
        numbers = compress(range(count), fields)
        if plan.checked_empty:
            numbers = sorted({*numbers, *plan.checked_empty})  # type: ignore[assignment]
        for number in numbers:
            if number >= defined:  # past the segment's definition
                if known is not None and number > known:
                    self._extra_field(segment, number)
                continue
            entry = by_number[number]
            if entry is None:  # the segment name, MSH-1 and MSH-2
                continue
            element, mode = entry
            if number >= count or not (value := fields[number]):  # (then checked even when empty)
                self.check_field(segment, number, element)  # type: ignore[arg-type]
                continue
            if mode == _EXTRA:
                if known is not None and number > known:
                    self._extra_field(segment, number)
                continue
            if mode == _VALUED or mode == _ALWAYS or repetition in value:  # noqa: SIM109 (no tuple per field)
                self.check_field(segment, number, element)  # type: ignore[arg-type]
                continue
            if mode == _SIMPLE_INERT or mode == _REQUIRED_INERT or value == NULL:  # noqa: SIM109
                continue
            # _SIMPLE or _REQUIRED with one repetition: what check_field does with it; without a call when it
            # has no components (as in check_value)
            if element.composite:  # type: ignore[union-attr]
                self.check_value(segment, number, 1, None, value, element, element.label)  # type: ignore[arg-type]
                continue
            if element.own and element.may_fail_own(value, separator):  # type: ignore[union-attr]
                self._check_own(segment, number, 1, None, value, element, element.label)  # type: ignore[arg-type]

    def _extra_field(self, segment: Segment, number: int) -> None:
        """A valued field past the last one the segment's definition knows (check_segment tells)."""
        self.add(
            "warning",
            "hl7v2-field-extra",
            location(segment, number),
            f"Champ {segment.name}-{number} au-delà de la définition du segment (ignoré)",
            f"Field {segment.name}-{number} is beyond the segment definition (ignored)",
            segment,
            number,
        )

    def check_field(self, segment: Segment, number: int, element: _Element) -> None:
        value = segment.fields[number] if number < len(segment.fields) else ""
        if value and self.delimiters.repetition not in value:
            reps = valued = [value]  # one repetition: the common case
        else:
            reps = repetitions(segment, number, self.delimiters)
            valued = [rep for rep in reps if rep != ""]
        usage = element.usage
        if usage == "C" or usage.startswith("C("):
            usage = self.effective_usage(usage, element.condition, element.else_usage, segment)
        if not valued and usage != "R":
            return
        where = (segment, number)
        label = element.label
        if label is None:  # an element is merged per segment name and field number: one label
            label = element.label = f"{segment.name}-{number}" + (f" ({element.name})" if element.name else "")
        if usage == "R" and not valued:
            condition = f" (condition : {element.condition})" if element.condition else ""
            condition_en = f" (condition: {element.condition})" if element.condition else ""
            self.add(
                element.severity,
                "hl7v2-usage-R",
                where,
                f"Le champ {label} est obligatoire{condition}{_note(element.note)}",
                f"Field {label} is required{condition_en}{_note(element.note)}",
                segment,
                number,
                code="required",
            )
            return
        if usage == "X" and valued:
            self.add(
                element.severity,
                "hl7v2-usage-X",
                where,
                f"Le champ {label} ne doit pas être renseigné{_note(element.note)}",
                f"Field {label} must not be valued{_note(element.note)}",
                segment,
                number,
            )
            return
        if element.max >= 0 and len(valued) > element.max:
            self.add(
                "error",
                "hl7v2-cardinality-max",
                location(segment, number, element.max + 1),
                f"Le champ {label} est répété {len(valued)} fois (maximum {element.max})",
                f"Field {label} is repeated {len(valued)} times (maximum {element.max})",
                segment,
                number,
            )
        inert = element.inert
        if inert is None:
            inert = self._inert(element)
        if not inert:  # an inert element's values raise nothing (see _inert)
            for index, rep in enumerate(reps[:MAX_CHECKED_REPETITIONS], start=1):
                if rep in ("", NULL):
                    continue
                self.check_value(segment, number, index, None, rep, element, label)
        if len(reps) > MAX_CHECKED_REPETITIONS:
            self.add(
                "warning",
                "hl7v2-repetitions-not-checked",
                location(segment, number, MAX_CHECKED_REPETITIONS + 1),
                f"Le champ {label} a {len(reps)} répétitions : seules les {MAX_CHECKED_REPETITIONS} premières "
                "sont vérifiées",
                f"Field {label} has {len(reps)} repetitions: only the first {MAX_CHECKED_REPETITIONS} are checked",
                segment,
                number,
            )

    def check_value(
        self,
        segment: Segment,
        number: int,
        repetition: int,
        component: int | None,
        value: str,
        element: _Element,
        label: str,
    ) -> None:
        level = 0 if component is None else 1
        if element.clean_key != self._clean_keys[level]:
            self._clean_pattern(element, level)
        clean = element.clean
        if clean is not None and clean.fullmatch(value):
            return  # nothing to find in this value (most values): one match instead of the checks below
        if not element.compiled:
            self._compile(element)
        if element.own and element.may_fail_own(value, self.delimiters.component):
            self._check_own(segment, number, repetition, component, value, element, label)
        if not element.composite:
            return
        parts = value.split(self.delimiters.component if component is None else self.delimiters.subcomponent)
        width = element.width
        count = len(parts)
        if width and count > width and any(parts[width:]):
            self._extra_component(segment, number, repetition, component, element, label)
        limit = count if count < width or not width else width
        plan = element.plans.get(limit) if element.plans is not None else None
        if plan is None:
            plan = self._component_plan(element, limit, subcomponents=component is not None)
        if component is not None:  # subcomponent level: primitive checks only
            for position, sub_element, always in plan:
                sub_value = parts[position - 1] if position <= count else ""
                if always or (sub_value != "" and sub_value != NULL):
                    self._check_leaf(segment, number, repetition, component, position, sub_value, sub_element)
            return
        separator = self.delimiters.component
        for position, sub_element, always in plan:
            sub_value = parts[position - 1] if position <= count else ""
            if always and (sub_element.usage != "R" or sub_value == "" or sub_value == NULL):
                self._check_component(segment, number, repetition, position, sub_value, sub_element)
            elif sub_value != "" and sub_value != NULL:  # (a required component with a value is one of these)
                # (the plan's elements are compiled)
                if sub_element.composite:
                    self.check_value(segment, number, repetition, position, sub_value, sub_element, sub_element.label)  # type: ignore[arg-type]
                    continue
                # a component without subcomponents: what check_value does with it, without the call (most are)
                if sub_element.own and sub_element.may_fail_own(sub_value, separator):
                    self._check_own(segment, number, repetition, position, sub_value, sub_element, sub_element.label)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ clean values

    def _clean_pattern(self, element: _Element, level: int) -> None:
        """Set element.clean: a regular expression that matches only values of `element` in which check_value
        (at `level`: 0 for a field, split into components; 1 for a component, split into subcomponents) finds
        nothing, written from the same definitions and plans (_component_plan, may_fail_own, _check_component,
        _check_leaf); None when a check cannot be written so (conditions, unusual separators, long code lists).
        A value it does not match is checked as before: it only has to be sound, not complete."""
        element.clean = None  # (built for other separators, or not yet)
        element.checks += 1
        if element.checks < CLEAN_AFTER:
            return  # not worth compiling yet (and asked again)
        element.clean_key = self._clean_keys[level]
        component, subcomponent = self.delimiters.component, self.delimiters.subcomponent
        if any(char.isalnum() or char in _FORMAT_CHARS for char in component + subcomponent):
            return  # a format or a code could run over a separator
        source = self._clean_value(element, level, "")
        if source is not None:
            element.clean = re.compile(source, re.DOTALL)

    def _segment_pattern(self, name: str, plan: _SegmentPlan, key: str) -> re.Pattern[str] | None:
        """The plan's clean pattern for these separators (`key`), compiled once the plan has served CLEAN_AFTER
        segments (None before)."""
        checks = plan.checks[key] = plan.checks.get(key, 0) + 1
        if checks < CLEAN_AFTER:
            return None
        clean = plan.clean[key] = self._clean_segment(name, plan)
        return clean

    def _clean_segment(self, name: str, plan: _SegmentPlan) -> re.Pattern[str] | None:
        """A regular expression that matches only segments (their raw text) in which check_segment finds
        nothing, field by field as its loop and check_field check them (see _field_mode), but in the fields
        whose usage is conditional (left to check_field: plan.conditional); None when a check cannot be written
        so."""
        delimiters = self.delimiters
        separators = delimiters.field + delimiters.repetition + delimiters.component + delimiters.subcomponent
        if len(set(separators)) < 4 or any(char.isalnum() or char in _FORMAT_CHARS for char in separators):
            return None
        field_separator = re.escape(delimiters.field)
        free = f"[^{field_separator}]*+"
        fields: list[tuple[str, bool]] = []  # (regex source, whether the field must be valued)
        for number in range(3 if name == "MSH" else 1, len(plan.by_number)):
            entry = plan.by_number[number]
            element, mode = entry if entry is not None else (None, _EXTRA)
            if mode == _EXTRA:
                fields.append(("" if plan.known is not None and number > plan.known else free, False))
            elif mode == _VALUED:
                fields.append(("", False))  # forbidden, or allowed no occurrence: a value is a finding
            elif mode == _ALWAYS or element is None:
                fields.append((free, False))  # checked by check_field after the match
            else:
                part = self._clean_field(element, mode)
                if part is None:
                    return None
                fields.append(part)
        rest = f"(?:{field_separator}{free})*" if plan.known is None else f"(?:{field_separator})*"
        for index in range(len(fields) - 1, -1, -1):
            required = any(needed for _field, needed in fields[index:])
            rest = f"(?:{field_separator}{fields[index][0]}{rest})" + ("" if required else "?")
        head = free + (f"{field_separator}{free}" if name == "MSH" else "")  # the name (and MSH-2)
        return re.compile(head + rest, re.DOTALL)

    def _clean_field(self, element: _Element, mode: int) -> tuple[str, bool] | None:
        """A clean field (repetitions included) of a _SIMPLE or _REQUIRED mode (or their _INERT variants): each
        valued repetition clean or the null, at most element.max of them (at least one when required); the
        segment has fewer than MAX_CHECKED_REPETITIONS repetition separators (check_segment tells)."""
        delimiters = self.delimiters
        stop = re.escape(delimiters.field + delimiters.repetition)
        single, repetition = f"[^{stop}]", re.escape(delimiters.repetition)
        if mode == _SIMPLE_INERT or mode == _REQUIRED_INERT:  # noqa: SIM109
            valued = f"{single}++"
        else:
            value = self._clean_value(element, 0, delimiters.field + delimiters.repetition)
            if value is None:
                return None
            valued = f'(?>(?={single}){value}|"")'  # a valued repetition (the null is one)
        more = "*+" if element.max < 0 else f"{{0,{element.max - 1}}}+"
        body = f"{repetition}*+{valued}(?:{repetition}++{valued}){more}{repetition}*+"
        if mode == _REQUIRED or mode == _REQUIRED_INERT:  # noqa: SIM109
            return body, True
        return f"(?:{body}|{repetition}*+)", False

    def _clean_value(self, element: _Element, level: int, stop: str) -> str | None:
        """Regex source for a clean value of `element` at `level`; `stop`: the separators that end the value
        ('' at the top: the end of the text)."""
        if not element.compiled:
            self._compile(element)
        source = self._clean_own(element, stop, self.delimiters.component)
        if source is None or not element.composite:
            return source
        return self._clean_parts(element, level, stop, source)

    def _clean_own(self, element: _Element, stop: str, separator: str) -> str | None:
        """What may_fail_own accepts: the value's length, code list and format (for a composite value, as
        lookaheads before its parts)."""
        exact: list[str] = []  # what the whole value must match
        if element.accepted is not None:
            codes = _alternation(element.accepted, stop + separator)
            if codes is None:
                return None
            exact.append(codes)
        if element.pattern is not None:
            exact.append(_FORMAT_BODIES[element.datatype])
        room = element.room if element.room != sys.maxsize else None
        return _clean_text(exact, room, stop, consume=not element.composite)

    def _clean_leaf(self, element: _Element, stop: str) -> str | None:
        """What _check_leaf accepts in a valued subcomponent: its fixed value, code list and format."""
        exact: list[str] = []
        if element.fixed is not None:
            exact.append(re.escape(element.fixed) if not any(char in element.fixed for char in stop) else "(?!)")
        if element.allowed is not None:
            codes = _alternation(element.allowed, stop + self.delimiters.component)
            if codes is None:
                return None
            exact.append(codes)
        body = _FORMAT_BODIES.get(element.datatype)
        if body is not None:
            exact.append(body)
        return _clean_text(exact, None, stop, consume=True)

    def _clean_parts(self, element: _Element, level: int, stop: str, source: str) -> str | None:
        """The components (level 0) or subcomponents (level 1) of a clean composite value, as check_value's loop
        checks them: each part by its merged definition, required parts present, no part past the data type."""
        separator = self.delimiters.component if level == 0 else self.delimiters.subcomponent
        part_stop = stop + separator
        width = element.width
        defined = max(element.components, default=0)
        if width and defined > width:
            return None
        count = width or defined
        base = element.parts or ()
        parts: list[tuple[str, bool]] = []  # (regex source, whether the part must be valued)
        for position in range(1, count + 1):
            part = self._clean_part(self._component_element(element, position, base), level, part_stop)
            if part is None:
                return None
            parts.append(part)
        sep, free = re.escape(separator), f"[^{re.escape(part_stop)}]*+"
        rest = f"(?:{sep})*" if width else f"(?:{sep}{free})*"  # past the data type: empty (_extra_component)
        for index in range(len(parts) - 1, 0, -1):
            required = any(needed for _part, needed in parts[index:])
            rest = f"(?:{sep}{parts[index][0]}{rest})" + ("" if required else "?")
        return source + (parts[0][0] if parts else free) + rest

    def _clean_part(self, sub_element: _Element, level: int, stop: str) -> tuple[str, bool] | None:
        usage = sub_element.usage
        if usage[:1] == "C":
            return None  # conditions depend on the message
        always = usage == "R" if level else usage in ("R", "X")
        if not always and self._inert(sub_element):
            return f"[^{re.escape(stop)}]*+", False
        if not sub_element.compiled:
            self._compile(sub_element)
        if level:
            valued = self._clean_leaf(sub_element, stop)
        elif sub_element.composite:
            valued = self._clean_value(sub_element, 1, stop)
        else:
            valued = self._clean_own(sub_element, stop, self.delimiters.component)
        if valued is None:
            return None
        # atomic groups, the value first: a part is matched once (no backtracking across parts, whatever the
        # input), and its first alternative that fits takes the whole part when any can
        if usage == "X" and not level:
            return "", False  # _check_component: an X component must stay empty (the null too)
        if usage == "R":  # a value or the null; empty is a finding
            return f'(?>(?=[^{re.escape(stop)}]){valued}|"")', True
        return f'(?>{valued}|""|)', False

    def _compile(self, element: _Element) -> None:
        """What checking a value of `element` takes, worked out once (an element serves every message)."""
        parts = element.parts
        if parts is None:
            parts = element.parts = _components_for(self.version, element)
        element.width = len(parts)
        element.composite = bool(parts or element.components)
        element.pattern = None if element.composite else _FORMATS.get(element.datatype)
        allowed: frozenset[str] | None = None
        if element.values:
            allowed = frozenset(element.values)
        elif element.table and element.table in self.profile.tables:
            allowed = self.profile.tables[element.table]
        element.allowed = allowed
        element.own = (
            bool(element.length) or element.fixed is not None or allowed is not None or element.pattern is not None
        )
        # _check_own finds nothing in a value no longer than `room` that is one of `accepted` (when not None)
        # and holds no component separator (the code would be its first component)
        element.room = element.length or sys.maxsize
        if element.fixed is not None:
            fixed = frozenset({element.fixed})
            element.accepted = fixed & allowed if allowed is not None else fixed
        else:
            element.accepted = allowed
        element.compiled = True

    def _check_own(
        self, segment: Segment, number: int, repetition: int, component: int | None, value: str, element: _Element,
        label: str,
    ) -> None:  # fmt: skip
        """Length, fixed value, code list and format of a field or component value."""
        where = (segment, number, repetition, component)
        if element.length and len(value) > element.length:
            self.add(
                "warning",
                "hl7v2-length",
                where,
                f"{label} : longueur {len(value)} supérieure au maximum {element.length}",
                f"{label}: length {len(value)} exceeds the maximum {element.length}",
                segment,
                number,
            )
        if element.fixed is not None and value != element.fixed:
            self.add(
                element.severity,
                "hl7v2-fixed-value",
                where,
                f"{label} doit valoir « {element.fixed} » (trouvé « {value[:60]} »){_note(element.note)}",
                f"{label} must be '{element.fixed}' (found '{value[:60]}'){_note(element.note)}",
                segment,
                number,
                code="value",
            )
        if element.allowed is not None:
            self._check_code(segment, number, where, value, element, label)
        self._check_format(segment, number, where, value, element.pattern, element.datatype, label)

    def _extra_component(
        self, segment: Segment, number: int, repetition: int, component: int | None, element: _Element, label: str
    ) -> None:
        extra = element.width + 1
        extra_where = (
            location(segment, number, repetition, extra)
            if component is None
            else location(segment, number, repetition, component, extra)
        )
        separator = "composant" if component is None else "sous-composant"
        self.add(
            "warning",
            "hl7v2-component-extra",
            extra_where,
            f"{label} : {separator} {extra} au-delà du type {element.datatype} ({element.width} composants)",
            f"{label}: {'component' if component is None else 'subcomponent'} {extra} is beyond data type "
            f"{element.datatype} ({element.width} components)",
            segment,
            number,
        )

    def _check_component(
        self, segment: Segment, number: int, repetition: int, position: int, sub_value: str, sub_element: _Element
    ) -> None:
        """A component whose usage is R, X or conditional: checked even when empty."""
        usage = sub_element.usage
        if usage == "C" or usage.startswith("C("):
            usage = self.effective_usage(usage, sub_element.condition, sub_element.else_usage, segment)
        if usage not in ("R", "X") and (sub_value in ("", NULL) or self._inert(sub_element)):
            return
        sub_label = sub_element.label
        sub_where = (segment, number, repetition, position)
        if usage == "R" and sub_value in ("",):
            self.add(
                "error",
                "hl7v2-usage-R",
                sub_where,
                f"Le composant {sub_label}{_name(sub_element)} est obligatoire{_note(sub_element.note)}",
                f"Component {sub_label}{_name(sub_element)} is required{_note(sub_element.note)}",
                segment,
                number,
                code="required",
            )
            return
        if usage == "X" and sub_value not in ("",):
            self.add(
                "error",
                "hl7v2-usage-X",
                sub_where,
                f"Le composant {sub_label}{_name(sub_element)} ne doit pas être renseigné{_note(sub_element.note)}",
                f"Component {sub_label}{_name(sub_element)} must not be valued{_note(sub_element.note)}",
                segment,
                number,
            )
            return
        if sub_value in ("", NULL):
            return
        self.check_value(segment, number, repetition, position, sub_value, sub_element, sub_label)  # type: ignore[arg-type]

    def _check_leaf(
        self, segment: Segment, number: int, repetition: int, component: int, position: int, value: str,
        element: _Element,
    ) -> None:  # fmt: skip
        where = (segment, number, repetition, component, position)
        label = element.label
        usage = element.usage
        if usage == "C" or usage.startswith("C("):
            usage = self.effective_usage(usage, element.condition, element.else_usage, segment)
        if usage == "R" and value == "":
            self.add("error", "hl7v2-usage-R", where, f"Le sous-composant {label} est obligatoire",
                     f"Subcomponent {label} is required", segment, number, code="required")  # fmt: skip
            return
        if value in ("", NULL):
            return
        if element.fixed is not None and value != element.fixed:
            self.add("error", "hl7v2-fixed-value", where, f"{label} doit valoir « {element.fixed} »",
                     f"{label} must be '{element.fixed}'", segment, number, code="value")  # fmt: skip
        if not element.compiled:
            self._compile(element)
        if element.allowed is not None:
            self._check_code(segment, number, where, value, element, label)  # type: ignore[arg-type]
        self._check_format(segment, number, where, value, _FORMATS.get(element.datatype), element.datatype, label)  # type: ignore[arg-type]

    def _inert(self, element: _Element) -> bool:
        """No length, fixed value, code list, format or components: checking a value of it finds nothing."""
        inert = element.inert
        if inert is None:
            parts = element.parts
            if parts is None:
                parts = element.parts = _components_for(self.version, element)
            inert = element.inert = not (
                element.length
                or element.fixed is not None
                or element.values
                or element.table
                or element.components
                or parts
                or element.datatype in _FORMATS
            )
        return inert

    @staticmethod
    def _sub_label(element: _Element, parent_label: str, position: int) -> str:
        label = element.label = f"{parent_label.split(' ')[0]}.{position}"
        return label

    def _component_plan(
        self, element: _Element, limit: int, *, subcomponents: bool
    ) -> tuple[tuple[int, _Element, bool], ...]:
        """The component positions to check in a value of `limit` components (at most the data type's), with
        their merged definitions and whether they are checked even when empty (usage R, X or conditional; R or
        conditional for subcomponents); components that can raise nothing are left out. Cached per element."""
        plans = element.plans
        if plans is None:
            plans = element.plans = {}
        base = element.parts or ()
        counted = range(1, limit + 1)
        positions = sorted(set(element.components).union(counted)) if element.components else counted
        plan = []
        for position in positions:
            sub_element = self._component_element(element, position, base)
            if sub_element.label is None:
                self._sub_label(sub_element, element.label or "", position)
            usage = sub_element.usage
            if subcomponents:
                always = usage == "R" or usage[:1] == "C"
            else:
                always = usage in ("R", "X") or usage == "C" or usage.startswith("C(")
            if always or not self._inert(sub_element):
                if not sub_element.compiled:
                    self._compile(sub_element)
                plan.append((position, sub_element, always))
        result = tuple(plan)
        if limit <= MAX_PLANNED_COMPONENTS:  # bounded: a hostile value may have thousands of components
            plans[limit] = result
        return result

    def _component_element(
        self, parent: _Element, position: int, base: tuple[reference.BaseComponent, ...]
    ) -> _Element:
        children = parent.children
        if children is None:
            children = parent.children = {}
        element = children.get(position)
        if element is None:
            element = children[position] = self._merge_component(parent, position, base)
        return element

    def _merge_component(self, parent: _Element, position: int, base: tuple[reference.BaseComponent, ...]) -> _Element:
        defined = parent.components.get(position)
        base_component = base[position - 1] if position <= len(base) else None
        datatype = (defined.datatype if defined and defined.datatype else "") or (
            base_component.datatype if base_component else "ST"
        )
        return _Element(
            defined.usage if defined else "O",
            0,
            1,
            datatype,
            defined.length if defined else None,
            defined.table if defined else None,
            defined.fixed if defined else None,
            defined.values if defined else (),
            defined.condition if defined else None,
            defined.else_usage if defined else "O",
            (defined.name if defined and defined.name else (base_component.name if base_component else "")),
            "error",
            defined.note if defined else "",
            defined.components if defined else {},
        )

    def _check_code(
        self, segment: Segment, number: int, where: tuple, value: str, element: _Element, label: str
    ) -> None:
        allowed = element.allowed
        if allowed is None:
            return
        code = value
        if element.datatype in _CODED or (
            element.datatype not in ("ID", "IS", "ST") and self.delimiters.component in value
        ):
            code = value.split(self.delimiters.component)[0]
        if code in ("", NULL) or code in allowed:
            return
        table = f" (table {element.table})" if element.table else ""
        shown = ", ".join(sorted(allowed)[:25]) + ("…" if len(allowed) > 25 else "")
        self.add(
            element.severity,
            "hl7v2-table-value",
            where,
            f"{label} : code « {code[:40]} » non autorisé{table} ; valeurs possibles : {shown}{_note(element.note)}",
            f"{label}: code '{code[:40]}' is not allowed{table}; allowed: {shown}{_note(element.note)}",
            segment,
            number,
            code="code-invalid",
        )

    def _check_format(
        self, segment: Segment, number: int, where: tuple, value: str, pattern: re.Pattern[str] | None,
        datatype: str, label: str,
    ) -> None:  # fmt: skip
        """The data type finding of a value that does not match the format of its type (`pattern`, from _FORMATS;
        None: no format to check)."""
        if pattern is None or pattern.match(value):
            return
        self.add(
            "error",
            "hl7v2-datatype",
            where,
            f"{label} : « {value[:40]} » n'est pas une valeur {datatype} valide (attendu {_FORMAT_NAMES[datatype]})",
            f"{label}: '{value[:40]}' is not a valid {datatype} value (expected {_FORMAT_NAMES[datatype]})",
            segment,
            number,
            code="value",
        )


def located_finding(
    severity: str, code: str, rule: str, where: str, fr: str, en: str, profile: str, line: int | None,
    column: int | None,
) -> Finding:  # fmt: skip
    """finding(..., source="hl7v2", profile=..., line=..., column=...) with positional arguments (hot path)."""
    return Finding(
        severity_of(severity), code, rule, where, fr, en, source="hl7v2", profile=profile, line=line, column=column
    )


def _components_for(version: str, element: _Element) -> tuple[reference.BaseComponent, ...]:
    if not element.datatype or element.datatype in reference.PRIMITIVES:
        return ()
    return reference.base_components(version, element.datatype)


# the formats without their anchors and with no capturing group (a group inside the clean patterns makes the
# regex engine save and restore marks at each branch: their cost grows with the number of fields)
_FORMAT_BODIES = {name: re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern.pattern[1:-1]) for name, pattern in _FORMATS.items()}
# A clean pattern costs 1 to 90 ms to compile (most of it its code lists) and saves a few microseconds per value:
# an element or a segment plan gets one once it has been checked this many times (a long run, a service), never
# for the first messages of a process.
CLEAN_AFTER = 1000
_FORMAT_CHARS = frozenset('0123456789+-."')  # what _FORMATS and the null can match: never a separator here
_MAX_CLEAN_CODES = 2000


def _clean_text(exact: list[str], room: int | None, stop: str, *, consume: bool) -> str:
    """A value (ended by one of `stop`, or the end of the text when '') that matches each of `exact` whole and
    is at most `room` characters long; consumed, or only looked ahead at (`consume` False: the parts follow).
    One scan of the value where it can: the last exact match consumes it (lookaheads for the others)."""
    char, end = (f"[^{re.escape(stop)}]", f"(?![^{re.escape(stop)}])") if stop else (".", r"\Z")
    source = "".join(f"(?=(?:{item}){end})" for item in (exact if not consume else exact[:-1]))
    if room is not None and (exact or not consume):
        source = f"(?={char}{{0,{room}}}{end})" + source
    if not consume:
        return source
    if exact:
        return source + f"(?:{exact[-1]}){end}"
    return source + (f"{char}{{0,{room}}}+{end}" if room is not None else f"{char}*+")


def _alternation(codes: frozenset[str], excluded: str) -> str | None:
    """Regex alternation of the codes that hold none of the `excluded` characters (such a code could never be
    a whole part); None for a list too long to be worth a pattern."""
    if len(codes) > _MAX_CLEAN_CODES:
        return None
    kept = sorted(re.escape(code) for code in codes if not any(char in code for char in excluded))
    return "|".join(kept) if kept else "(?!)"


def _count_can_report(element: SegmentRef | GroupRef) -> bool:
    """Whether _check_element_count can say anything about this element, whatever its count."""
    usage = element.usage
    return usage[:1] == "C" or usage == "R" or (usage == "RE" and bool(element.note))


def _note(note: str) -> str:
    return f" [{note}]" if note else ""


def _name(element: _Element) -> str:
    return f" ({element.name})" if element.name else ""
