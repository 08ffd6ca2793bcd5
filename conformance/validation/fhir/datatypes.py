"""Data types: primitive values (JSON kind, lexical rules, length, regex), primitive extensions,
narrative XHTML, attachments."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from conformance.validation import patterns
from conformance.validation.fhir.messages import texts
from conformance.validation.fhir.primitives import INTEGER_RANGES, JSON_KIND, check_primitive
from conformance.validation.fhir.run import JSON_KIND_NAMES, Run, json_kind_of
from conformance.validation.fhir.structure import ElementNode
from conformance.validation.fhir.xhtml import check_xhtml

_NARRATIVE_RULES = {
    "txt-1": "The narrative SHALL contain only the basic html formatting elements and attributes described in chapters 7-11 (except section 4 of chapter 9) and 15 of the HTML 4.0 standard, <a> elements (either name or href), images and internally contained style attributes",
    "txt-2": "The narrative SHALL have some non-whitespace content",
}
MAX_STRING_LENGTH = 1024 * 1024  # the reference validator's limit on any string value, in characters
_UNBOUNDED_TYPES = frozenset({"base64Binary", "xhtml"})
_ELE_1 = "All FHIR elements must have a @value or children"
PLAIN_STRING_TYPES = frozenset({"string", "markdown"})  # no lexical rule: only not empty, not too long
_LEXICAL: dict[tuple[str, str], tuple[str, str] | None] = {}  # (type, text) -> check_primitive's answer
# type -> its texts found valid (non-empty, of a string-valued type with lexical rules, at most _MEMO_LENGTH
# characters): the common case answered by one look-up; bounded with _LEXICAL, whose bound empties each set
# (a set, once made, stays the type's: the walk's plans hold it)
VALID_TEXT: dict[str, set[str]] = {}
_UNKNOWN: Any = object()
_MEMO_LENGTH, _MEMO_MAX = 256, 200_000


# what a value's Python type alone says of a valid non-text value: the types accepted and the integer range
Acceptance = tuple[tuple[type, ...], tuple[int, int] | None]
_NO_NUMBER: Acceptance = ((), None)
_ACCEPTED: dict[str, Acceptance] = {
    "boolean": ((bool,), None),
    "decimal": ((int, float), None),
    **{code: ((int,), limits) for code, limits in INTEGER_RANGES.items()},
}


def valid_texts(type_code: str) -> set[str]:
    """The texts found valid for a type (its set in VALID_TEXT, made on first ask)."""
    texts = VALID_TEXT.get(type_code)
    if texts is None:
        texts = VALID_TEXT.setdefault(type_code, set())
    return texts


def accepted_values(type_code: str) -> Acceptance:
    """The Python types of the non-text values _check_primitive_value finds nothing to say of, for a type
    (bool for a boolean, int and float for a decimal, int within its range for the integer types)."""
    return _ACCEPTED.get(type_code, _NO_NUMBER)


class DatatypesAspect:
    """Values of primitive types and the checks specific to a data type."""

    @staticmethod
    def _check_attachment(value: dict[str, Any], loc: str, run: Run) -> None:
        """The stated size must be the size of the inline data."""
        data, size = value.get("data"), value.get("size")
        if not isinstance(data, str) or not isinstance(size, int) or isinstance(size, bool):
            return
        try:
            actual = len(base64.b64decode("".join(data.split()), validate=True))
        except (binascii.Error, ValueError):
            return  # reported as an invalid base64Binary
        if actual != size:
            run.report("error", "structure", "TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT", loc, size, actual)

    # ---- primitives -----------------------------------------------------------------------------------

    def _check_primitive_item(
        self, value: Any, ext: Any, node: ElementNode, type_code: str, loc: str, run: Run, resource: dict[str, Any]
    ) -> None:
        if run.base_pass:
            if value is None and ext is None:
                run.report("error", "structure", "Type_Specific_Checks_DT_Primitive_ValueExt", loc)
                return
            if value is not None:
                if type(value) is not str or value not in VALID_TEXT.get(type_code, ()):
                    self._check_primitive_value(value, type_code, node, loc, run)
                if type_code == "canonical" and isinstance(value, str):
                    self._check_canonical(value, node, loc, run)
            if ext is not None:
                if not isinstance(ext, dict):
                    run.report(
                        "error",
                        "structure",
                        "This_property_must_be_an_object_not_",
                        loc,
                        "_" + node.name,
                        json_kind_of(ext),
                    )
                elif not ext:
                    run.report("error", "structure", "Object_must_have_some_content", loc)
                else:
                    if value is None and not ext.get("extension"):  # an id alone is neither value nor children
                        fr, en = texts("invariant", "ele-1", _ELE_1, "hasValue() or (children().count() > id.count())")
                        run.add("error", "invariant", "ele-1", loc, fr, en)
                    element = self.structure("Element")
                    if element is not None:
                        self._walk_object(ext, element.root, element.root, loc, run, resource)
        if node.plain or (value is None and node.rules is None):
            return
        if node.rules is not None:
            self._check_element_rules(value, ext, node, type_code, loc, run, resource)
        if value is None:
            return
        if node.max_length is not None and isinstance(value, str) and len(value) > node.max_length:
            run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_Length", loc, node.max_length)
        if node.regex is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
            self._check_regex(str(value), node.regex, loc, run)
        if node.fixed is not None and value != node.fixed[1]:
            run.report("error", "value", "_DT_Fixed_Wrong", loc, value, node.fixed[1])
        if node.pattern is not None and value != node.pattern[1]:
            run.report("error", "value", "_DT_Fixed_Wrong", loc, value, node.pattern[1])
        if (
            node.binding is not None
            and node.binding[0] != "example"
            and type_code in ("code", "string", "uri")
            and isinstance(value, str)
        ):
            self._check_binding(value, "code", node, loc, run)
        if node.constraints:
            self._check_constraints(value, node.constraints, loc, run, resource, type_code)

    def _check_primitive_value(self, value: Any, type_code: str, node: ElementNode, loc: str, run: Run) -> None:
        if type(value) is str:
            valid = VALID_TEXT.get(type_code)
            if valid is not None and value in valid:
                return  # a text already found valid for its type
        if type(value) is str and len(value) > MAX_STRING_LENGTH and type_code not in _UNBOUNDED_TYPES:
            run.report("error", "invalid", "Type_Specific_Checks_DT_String_Length", loc)
        if type(value) is str and type_code in PLAIN_STRING_TYPES:
            if value == "":
                run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_NotEmpty", loc)
            return  # the common case: a string type without lexical rules
        expected = JSON_KIND.get(type_code, "string")
        actual = "string" if type(value) is str else json_kind_of(value)
        if actual != expected:
            if actual in ("object", "array"):
                run.report("error", "structure", "This_property_must_be_an_simple_value_not_", loc, node.name, actual)
            else:
                run.report(
                    "error",
                    "structure",
                    "This_property_must_be__not_",
                    loc,
                    node.name,
                    JSON_KIND_NAMES[expected],
                    JSON_KIND_NAMES.get(actual, actual),
                )
            return
        if expected == "string":
            if value == "":
                run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_NotEmpty", loc)
                return
            if type_code == "xhtml":
                self._check_xhtml(value, loc, run)
                return
        if type(value) is str and len(value) <= _MEMO_LENGTH:
            # codes, ids, dates and URIs repeat a lot; the lexical answer depends on the text alone
            key = (type_code, value)
            problem = _LEXICAL.get(key, _UNKNOWN)
            if problem is _UNKNOWN:
                problem = check_primitive(type_code, value)
                if len(_LEXICAL) >= _MEMO_MAX:
                    _LEXICAL.clear()
                    for known in list(VALID_TEXT.values()):
                        known.clear()
                _LEXICAL[key] = problem
                if problem is None:
                    valid_texts(type_code).add(value)
        else:
            problem = check_primitive(type_code, value)
        if problem is not None:
            rule, detail = problem
            fr, _en = texts("primitive", type_code, detail)
            run.add("error", "invalid", rule, loc, fr, detail)

    def _check_xhtml(self, value: str, loc: str, run: Run) -> None:
        for rule, args in check_xhtml(value):
            if rule in ("txt-1", "txt-2"):
                fr, en = texts("invariant", rule, _NARRATIVE_RULES[rule], "htmlChecks()")
                run.add("error", "invariant", rule, loc, fr, en)
            else:
                run.report("error", "invalid", rule, loc, *args)

    @staticmethod
    def _check_regex(value: str, pattern: str, loc: str, run: Run) -> None:
        """A profile's regex, under the pattern deadline: past it, "not evaluated", neither pass nor fail."""
        try:
            if not patterns.fullmatch(pattern, value):
                run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_Regex", loc, value, pattern)
        except patterns.PatternError:
            return  # an invalid pattern in the profile is not the instance's fault
        except patterns.PatternTimeout as exc:
            run.not_evaluated.setdefault(f"regex {pattern[:80]}", str(exc))
