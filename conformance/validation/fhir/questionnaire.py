"""QuestionnaireResponse against the Questionnaire it names: items by linkId (place, order, repeats), required
answers, enableWhen, answer types, answer options and value sets, and the value rules of the item extensions
(min/max value, decimal places, length, regex, attachment type and size, quantity bounds)."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Any

from conformance.validation import patterns
from conformance.validation.fhir.run import Run, as_decimal, seq

_EXT = "http://hl7.org/fhir/StructureDefinition/"
_SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
_MIN_VALUE, _MAX_VALUE = _EXT + "minValue", _EXT + "maxValue"
_MIN_QUANTITY, _MAX_QUANTITY = _SDC + "sdc-questionnaire-minQuantity", _SDC + "sdc-questionnaire-maxQuantity"
_ANSWER_TYPES: dict[str, tuple[str, ...]] = {
    "boolean": ("boolean",),
    "decimal": ("decimal",),
    "integer": ("integer",),
    "date": ("date",),
    "dateTime": ("dateTime",),
    "time": ("time",),
    "string": ("string",),
    "text": ("string",),
    "url": ("uri",),
    "attachment": ("Attachment",),
    "reference": ("Reference",),
    "quantity": ("Quantity",),
    "choice": ("Coding", "date", "time", "integer", "string"),
    "open-choice": ("Coding", "date", "time", "integer", "string"),
}
_NO_ANSWER_TYPES = frozenset({"group", "question"})
_MAX_REGEX_INPUT = 10_000
_NO_OPTION_LIST = {
    "string": "Questionnaire_QR_Item_StringNoOptions",
    "integer": "Questionnaire_QR_Item_IntNoOptions",
    "date": "Questionnaire_QR_Item_DateNoOptions",
    "time": "Questionnaire_QR_Item_TimeNoOptions",
}


class QuestionnaireAspect:
    """A QuestionnaireResponse's items and answers against its Questionnaire."""

    ctx: Any
    terminology: Any

    def _check_questionnaire_response(self, response: dict[str, Any], loc: str, run: Run) -> None:
        canonical = response.get("questionnaire")
        if not isinstance(canonical, str) or not canonical:
            return
        questionnaire = self._questionnaire(canonical, response)
        if questionnaire is None:
            example = canonical.startswith(("http://example.org", "https://example.org"))
            run.report(
                "information" if example else "warning", "required", "Questionnaire_QR_Q_NotFound", loc, canonical
            )
            return
        walk = _ResponseWalk(self, questionnaire, response, run)
        walk.items(seq(questionnaire.get("item")), response, loc)

    def _questionnaire(self, canonical: str, response: dict[str, Any]) -> dict[str, Any] | None:
        if canonical.startswith("#"):
            found = [c for c in seq(response.get("contained")) if isinstance(c, dict) and c.get("id") == canonical[1:]]
            candidate = found[0] if found else None
        else:
            candidate = self.ctx.resolve(canonical)
        return candidate if isinstance(candidate, dict) and candidate.get("resourceType") == "Questionnaire" else None


class _ResponseWalk:
    """One QuestionnaireResponse walked along its Questionnaire."""

    def __init__(self, aspect: Any, questionnaire: dict[str, Any], response: dict[str, Any], run: Run) -> None:
        self.aspect = aspect
        self.questionnaire = questionnaire
        self.response = response
        self.run = run
        self.not_completed = response.get("status") not in ("completed", "amended")
        self.answers: dict[str, list[dict[str, Any]]] = {}
        _collect_answers(response, self.answers)

    # ---- items ----------------------------------------------------------------------------------------

    def items(self, q_items: list[Any], element: dict[str, Any], loc: str) -> None:
        q_items = [q for q in q_items if isinstance(q, dict)]
        link_ids = [q.get("linkId") for q in q_items]
        grouped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        last = -1
        for index, item in enumerate(seq(element.get("item"))):
            if not isinstance(item, dict):
                continue
            link = item.get("linkId")
            if not isinstance(link, str) or not link:
                self.run.report("error", "required", "Questionnaire_QR_Item_NoLinkId", loc)
                continue
            if link not in link_ids:
                elsewhere = _find_item(seq(self.questionnaire.get("item")), link)
                if elsewhere is None:
                    self.run.report("error", "not-found", "Questionnaire_QR_Item_NotFound", loc, link)
                else:
                    self.run.report("error", "structure", "Questionnaire_QR_Item_WrongPlace", loc, link)
                    self.item(elsewhere, item, f"{loc}.item[{index}]", enabled=True)
                continue
            position = link_ids.index(link)
            if position < last:
                self.run.report("error", "structure", "Questionnaire_QR_Item_Order", loc)
            last = position
            grouped.setdefault(link, []).append((index, item))
        for q_item in q_items:
            link = str(q_item.get("linkId"))
            enabled = self.enabled(q_item)
            present = grouped.get(link)
            if not present:
                if enabled and q_item.get("required") is True:
                    self._missing(link, loc)
                continue
            if len(present) > 1 and q_item.get("repeats") is not True:
                self.run.report("error", "invalid", "Questionnaire_QR_Item_OnlyOneI", loc, link)
            for index, item in present:
                item_loc = f"{loc}.item[{index}]"
                if not enabled and (item.get("answer") or item.get("item")):
                    self.run.report("error", "invalid", "Questionnaire_QR_Item_NotEnabled2", item_loc, link)
                self.item(q_item, item, item_loc, enabled=enabled)

    def _missing(self, link: str, loc: str) -> None:
        severity = "warning" if self.not_completed else "error"
        self.run.report(severity, "required", "Questionnaire_QR_Item_Missing", loc, link)

    def item(self, q_item: dict[str, Any], item: dict[str, Any], loc: str, *, enabled: bool) -> None:
        link, kind = str(q_item.get("linkId")), q_item.get("type")
        text = item.get("text")
        if isinstance(text, str) and text and text != q_item.get("text"):
            self.run.report("error", "invalid", "Questionnaire_QR_Item_Text", loc, link)
        answers = [a for a in seq(item.get("answer")) if isinstance(a, dict)]
        if not answers and q_item.get("required") is True and kind != "group" and (enabled or self.not_completed):
            self._missing(link, loc)
        if len(answers) > 1 and q_item.get("repeats") is not True:
            self.run.report("error", "invalid", "Questionnaire_QR_Item_OnlyOneA", loc)
        self._occurrences(q_item, len(answers), loc)
        for index, answer in enumerate(answers):
            answer_loc = f"{loc}.answer[{index}]"
            if kind in _NO_ANSWER_TYPES:
                self.run.report("error", "structure", "Questionnaire_QR_Item_Group", loc, kind)
            elif kind == "display":
                self.run.report("error", "structure", "Questionnaire_QR_Item_Display_No_Value", loc)
            elif isinstance(kind, str) and kind in _ANSWER_TYPES:
                self.answer(q_item, kind, answer, answer_loc, len(answers))
            if kind != "group":
                self.items(seq(q_item.get("item")), answer, answer_loc)
        if kind == "display" and item.get("item"):
            self.run.report("error", "structure", "Questionnaire_QR_Item_Display", loc, link)
        elif kind != "group" and item.get("item"):
            self.run.report("error", "structure", "Questionnaire_QR_Item_Group_Answer", loc, link)
        elif kind == "group":
            if q_item.get("required") is True and not item.get("item"):
                self.run.report("error", "invariant", "Questionnaire_QR_Item_Group_Required", loc)
            self.items(seq(q_item.get("item")), item, loc)

    def _occurrences(self, q_item: dict[str, Any], count: int, loc: str) -> None:
        most = _integer(_extension(q_item, _EXT + "questionnaire-maxOccurs"))
        if most is not None and count > most:
            self.run.report("error", "invalid", "Questionnaire_QR_Item_Max_Occurs", loc, most, count)
        least = _integer(_extension(q_item, _EXT + "questionnaire-minOccurs"))
        if least is not None and count < least:
            self.run.report("error", "invalid", "Questionnaire_QR_Item_Min_Occurs", loc, least, count)

    # ---- answers --------------------------------------------------------------------------------------

    def answer(self, q_item: dict[str, Any], kind: str, answer: dict[str, Any], loc: str, count: int) -> None:
        value_key = next((k for k in answer if isinstance(k, str) and k.startswith("value") and k[5:6].isupper()), None)
        if value_key is None:
            return
        value_type = _type_name(value_key[5:])
        allowed = _ANSWER_TYPES[kind]
        value_loc = f"{loc}.value.ofType({value_type})"
        if value_type not in allowed:
            self.run.report(
                "error", "structure", "Questionnaire_QR_Item_WrongType", value_loc, ", ".join(allowed), value_type
            )
            return
        value = answer[value_key]
        if kind in ("choice", "open-choice"):
            self._option(q_item, value_type, value, loc, count, open_choice=kind == "open-choice")
        elif kind in ("decimal", "integer"):
            self._number(q_item, kind, value, value_loc)
        elif kind in ("date", "dateTime", "time"):
            self._moment(q_item, value, value_loc)
        elif kind == "string":
            self._string(q_item, value, value_loc)
        elif kind == "attachment" and isinstance(value, dict):
            self._attachment(q_item, value, loc)
        elif kind == "quantity" and isinstance(value, dict):
            self._quantity(q_item, value, value_loc)

    def _number(self, q_item: dict[str, Any], kind: str, value: Any, loc: str) -> None:
        number = as_decimal(value)
        if number is None:
            return
        rules = ("Questionnaire_QR_Item_Decimal_Min", "Questionnaire_QR_Item_Decimal_Max")
        if kind == "integer":
            rules = ("Questionnaire_QR_Item_Integer_Min", "Questionnaire_QR_Item_Integer_Max")
        low, high = as_decimal(_extension(q_item, _MIN_VALUE)), as_decimal(_extension(q_item, _MAX_VALUE))
        if low is not None and number < low:
            self.run.report("error", "invariant", rules[0], loc, value, _plain(low))
        if high is not None and number > high:
            self.run.report("error", "invariant", rules[1], loc, value, _plain(high))
        places = _integer(_extension(q_item, _EXT + "maxDecimalPlaces"))
        if kind == "decimal" and places is not None and _decimal_places(value) > places:
            self.run.report("error", "invariant", "Questionnaire_QR_Item_Decimal_Max_Decimals", loc, value, places)
        self._primitive_options(q_item, value, loc, "decimal" if kind == "decimal" else "integer")

    def _moment(self, q_item: dict[str, Any], value: Any, loc: str) -> None:
        if not isinstance(value, str):
            return
        low, high = _extension(q_item, _MIN_VALUE), _extension(q_item, _MAX_VALUE)
        if isinstance(low, str) and _instant(value) < _instant(low):
            self.run.report("error", "invariant", "Questionnaire_QR_Item_Date_Min", loc, value, low)
        if isinstance(high, str) and _instant(value) > _instant(high):
            self.run.report("error", "invariant", "Questionnaire_QR_Item_Date_Max", loc, value, high)

    def _string(self, q_item: dict[str, Any], value: Any, loc: str) -> None:
        if not isinstance(value, str):
            return
        least = _integer(_extension(q_item, _EXT + "minLength"))
        if least is not None and len(value) < least:
            self.run.report("error", "invariant", "Questionnaire_QR_Item_String_Min_Length", loc, value, least)
        most = q_item.get("maxLength")
        if isinstance(most, int) and not isinstance(most, bool) and len(value) > most:
            self.run.report("error", "invariant", "Questionnaire_QR_Item_String_Max_Length", loc, value, most)
        pattern = _extension(q_item, _EXT + "regex")
        if isinstance(pattern, str) and len(value) <= _MAX_REGEX_INPUT:
            try:
                matched = patterns.fullmatch(pattern, value)
            except (patterns.PatternError, patterns.PatternTimeout):
                matched = True  # a regex that cannot be judged in time is not the answer's fault
            if not matched:
                entry_format = _extension(q_item, _EXT + "entryFormat")
                if isinstance(entry_format, str):
                    self.run.report(
                        "error", "invariant", "Questionnaire_QR_Item_String_Regex_EF", loc, value, pattern, entry_format
                    )
                else:
                    self.run.report("error", "invariant", "Questionnaire_QR_Item_String_Regex", loc, value, pattern)
        if "\n" in value or "\r" in value:
            self.run.report("warning", "invariant", "Questionnaire_QR_Item_String_Illegal_Chars", loc, value)
        self._primitive_options(q_item, value, loc, "string")

    def _attachment(self, q_item: dict[str, Any], value: dict[str, Any], loc: str) -> None:
        types = [e.get("valueCode") for e in seq(q_item.get("extension")) if _is(e, _EXT + "mimeType")]
        types = [t for t in types if isinstance(t, str)]
        if types:
            content_type = value.get("contentType")
            if not isinstance(content_type, str):
                self.run.report("error", "required", "Questionnaire_QR_Item_Not_Attachment_MimeType", loc)
            elif not any(content_type.startswith(t) for t in types):
                allowed = ", ".join(types)
                self.run.report(
                    "error", "required", "Questionnaire_QR_Item_Bad_Attachment_MimeType", loc, content_type, allowed
                )
        most = as_decimal(_extension(q_item, _EXT + "maxSize"))
        data = value.get("data")
        if most is not None and most > 0 and isinstance(data, str):
            try:
                size = len(base64.b64decode("".join(data.split()), validate=False))
            except (binascii.Error, ValueError):
                return
            if size >= most:
                self.run.report(
                    "error", "required", "Questionnaire_QR_Item_Bad_Attachment_Length", loc, _plain(most), size
                )

    def _quantity(self, q_item: dict[str, Any], value: dict[str, Any], loc: str) -> None:
        for url, is_min in ((_MIN_QUANTITY, True), (_MAX_QUANTITY, False)):
            bound = _extension(q_item, url)
            if not isinstance(bound, dict):
                continue
            suffix = "Min" if is_min else "Max"
            if not (bound.get("system") and bound.get("code") and value.get("system") and value.get("code")):
                rule = f"Questionnaire_QR_Item_Decimal_Cannot_Compare_{suffix}_Units"
                self.run.report("error", "invariant", rule, loc, _show_quantity(bound), _show_quantity(value))
                continue
            if (bound["system"], bound["code"]) != (value["system"], value["code"]):
                rule = f"Questionnaire_QR_Item_Decimal_Cannot_Compare_{suffix}"
                self.run.report("error", "invariant", rule, loc, _show_quantity(bound), _show_quantity(value))
                continue
            number, limit = as_decimal(value.get("value")), as_decimal(bound.get("value"))
            if number is None or limit is None:
                continue
            if (is_min and number < limit) or (not is_min and number > limit):
                rule = f"Questionnaire_QR_Item_Quantity_{suffix}"
                self.run.report("error", "invariant", rule, loc, _show_quantity(value), _show_quantity(bound))

    # ---- options --------------------------------------------------------------------------------------

    def _option(
        self, q_item: dict[str, Any], value_type: str, value: Any, loc: str, count: int, *, open_choice: bool
    ) -> None:
        options = [o for o in seq(q_item.get("answerOption")) if isinstance(o, dict)]
        if value_type != "Coding":
            if options:
                self._primitive_options(q_item, value, loc, value_type, open_choice=open_choice)
            else:
                self.run.report("information", "invariant", _NO_OPTION_LIST[value_type], loc)
            return
        if not isinstance(value, dict):
            return
        system, code = value.get("system"), value.get("code")
        if options:
            codings = [o for o in options if isinstance(o.get("valueCoding"), dict)]
            if not codings and not open_choice:
                self.run.report("error", "invariant", "Questionnaire_QR_Item_NoOptionsCoding", loc)
                return
            for option in codings:
                coding = option["valueCoding"]
                if coding.get("system") == system and coding.get("code") == code:
                    exclusive = _extension(option, _EXT + "questionnaire-optionExclusive") is True
                    if exclusive and count != 1:
                        self.run.report(
                            "error", "invariant", "Questionnaire_QR_Item_Exclusive", loc, f"{system}#{code}"
                        )
                    return
            self.run.report("error", "invariant", "Questionnaire_QR_Item_NoCoding", loc, system, code)
            return
        value_set = q_item.get("answerValueSet")
        if isinstance(value_set, str) and value_set:
            self._value_set_option(value_set, system, code, loc)
            return
        self.run.report("information", "invariant", "Questionnaire_QR_Item_NoOptions", loc)

    def _value_set_option(self, value_set: str, system: Any, code: Any, loc: str) -> None:
        if value_set.startswith("#"):
            contained = [
                c
                for c in seq(self.questionnaire.get("contained"))
                if isinstance(c, dict) and c.get("id") == value_set[1:] and c.get("resourceType") == "ValueSet"
            ]
            if not contained:
                self.run.report("warning", "code-invalid", "Terminology_TX_ValueSet_NotFound2", loc, value_set)
                return
            value_set = str(contained[0].get("url") or value_set)
        if self.aspect.ctx.value_set(value_set.split("|", 1)[0]) is None:
            self.run.report("warning", "code-invalid", "Terminology_TX_ValueSet_NotFound2", loc, value_set)
            return
        if not isinstance(code, str):
            return
        answer, _missing = self.aspect.terminology.check(value_set, system if isinstance(system, str) else None, code)
        if answer is False:
            self.run.report("error", "code-invalid", "Questionnaire_QR_Item_BadOption", loc, system, code, value_set)

    def _primitive_options(
        self, q_item: dict[str, Any], value: Any, loc: str, value_type: str, *, open_choice: bool = False
    ) -> None:
        options = [o for o in seq(q_item.get("answerOption")) if isinstance(o, dict)]
        if not options:
            return
        key = "value" + value_type[0].upper() + value_type[1:]
        listed = [o[key] for o in options if key in o]
        names = {"string": "String", "integer": "Integer", "date": "Date", "time": "Time", "decimal": "Decimal"}
        name = names.get(value_type, value_type)
        if not listed:
            if not open_choice:
                self.run.report("error", "invariant", f"Questionnaire_QR_Item_NoOptions{name}", loc)
            return
        if value not in listed and not open_choice:
            self.run.report("error", "invariant", f"Questionnaire_QR_Item_No{name}", loc, value)

    # ---- enableWhen -----------------------------------------------------------------------------------

    def enabled(self, q_item: dict[str, Any]) -> bool:
        expression = _enable_when_expression(q_item)
        if expression is not None:
            values = self.aspect.expressions.values(expression, self.response)
            if values is None:  # not evaluable: the item is treated as enabled, never an error on that ground
                self.run.not_evaluated.setdefault(f"enableWhen {expression[:80]}", "expression not evaluated")
                return True
            return values == [True]
        conditions = [c for c in seq(q_item.get("enableWhen")) if isinstance(c, dict)]
        if not conditions:
            return True
        results = [self._condition(c) for c in conditions]
        return all(results) if q_item.get("enableBehavior") == "all" else any(results)

    def _condition(self, condition: dict[str, Any]) -> bool:
        answers = self.answers.get(str(condition.get("question")), [])
        operator = condition.get("operator")
        expected_key = next((k for k in condition if isinstance(k, str) and k.startswith("answer")), None)
        if expected_key is None:
            return False
        expected = condition[expected_key]
        if operator == "exists":
            return bool(answers) == (expected is True)
        values = [v for answer in answers for k, v in answer.items() if isinstance(k, str) and k.startswith("value")]
        if operator == "=":
            return any(_same(v, expected) for v in values)
        if operator == "!=":
            return bool(values) and not any(_same(v, expected) for v in values)
        comparisons = {">": 1, "<": -1, ">=": 0, "<=": 0}
        if operator not in comparisons:
            return False
        for value in values:
            order = _compare(value, expected)
            if order is None:
                continue
            if (operator == ">" and order > 0) or (operator == "<" and order < 0):
                return True
            if (operator == ">=" and order >= 0) or (operator == "<=" and order <= 0):
                return True
        return False


# ---- helpers -----------------------------------------------------------------------------------------------


_ENABLE_WHEN_EXPRESSIONS = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression",
    "http://phr.kanta.fi/StructureDefinition/fiphr-ext-questionnaire-enablewhen",  # the reference reads it too
)


def _enable_when_expression(q_item: dict[str, Any]) -> str | None:
    """A FHIRPath enableWhen (SDC's enableWhenExpression, or the Finnish PHR string form), which wins over
    enableWhen as in the reference validator."""
    for url in _ENABLE_WHEN_EXPRESSIONS:
        value = _extension(q_item, url)
        if isinstance(value, dict) and value.get("language") in (None, "text/fhirpath"):
            value = value.get("expression")
        if isinstance(value, str) and value:
            return value
    return None


def _collect_answers(element: dict[str, Any], into: dict[str, list[dict[str, Any]]]) -> None:
    for item in seq(element.get("item")):
        if not isinstance(item, dict):
            continue
        link = item.get("linkId")
        for answer in seq(item.get("answer")):
            if isinstance(answer, dict):
                if isinstance(link, str):
                    into.setdefault(link, []).append(answer)
                _collect_answers(answer, into)
        _collect_answers(item, into)


def _find_item(q_items: list[Any], link: str) -> dict[str, Any] | None:
    for q_item in q_items:
        if not isinstance(q_item, dict):
            continue
        if q_item.get("linkId") == link:
            return q_item
        found = _find_item(seq(q_item.get("item")), link)
        if found is not None:
            return found
    return None


def _is(extension: Any, url: str) -> bool:
    return isinstance(extension, dict) and extension.get("url") == url


def _extension(element: dict[str, Any], url: str) -> Any:
    for extension in seq(element.get("extension")):
        if _is(extension, url):
            return next((v for k, v in extension.items() if isinstance(k, str) and k.startswith("value")), None)
    return None


def _type_name(suffix: str) -> str:
    """`Coding` -> Coding, `DateTime` -> dateTime, `String` -> string (primitive names start lower case)."""
    primitives = {"Boolean", "Decimal", "Integer", "Date", "DateTime", "Time", "String", "Uri", "Url", "Code"}
    return suffix[0].lower() + suffix[1:] if suffix in primitives else suffix


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimal_places(value: Any) -> int:
    text = str(value)
    return len(text) - text.index(".") - 1 if "." in text else 0


def _instant(value: str) -> str:
    """A date, dateTime or time padded to its earliest instant, so that string order is time order."""
    if ":" in value and "-" not in value[:5]:
        return value  # a time
    template = "0000-01-01T00:00:00"
    head = value[:19]
    return head + template[len(head) :]


def _show_quantity(value: dict[str, Any]) -> str:
    shown = f"{value.get('value', '')}"
    if value.get("unit"):
        shown += f" {value['unit']}"
    if value.get("system") or value.get("code"):
        shown += f" ({value.get('system', '')}#{value.get('code', '')})"
    return shown


def _same(value: Any, expected: Any) -> bool:
    if isinstance(value, dict) and isinstance(expected, dict):
        keys = ("system", "code") if "code" in expected else tuple(expected)
        return all(value.get(k) == expected.get(k) for k in keys if k in expected)
    return value == expected


def _compare(value: Any, expected: Any) -> int | None:
    if isinstance(value, dict) and isinstance(expected, dict):
        value, expected = value.get("value"), expected.get("value")
    left, right = as_decimal(value), as_decimal(expected)
    if left is not None and right is not None and not isinstance(value, str):
        return (left > right) - (left < right)
    if isinstance(value, str) and isinstance(expected, str):
        a, b = _instant(value), _instant(expected)
        return (a > b) - (a < b)
    return None
