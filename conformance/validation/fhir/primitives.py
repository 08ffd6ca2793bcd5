"""The R4 primitive types: their JSON representation and lexical rules (regexes from the R4 specification)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

# JSON kind expected for each primitive: "string", "boolean", "number" (integer types are checked further).
JSON_KIND: dict[str, str] = {
    "boolean": "boolean",
    "integer": "number",
    "unsignedInt": "number",
    "positiveInt": "number",
    "decimal": "number",
    "integer64": "string",
}
PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)
# FHIRPath system types used as the type of `value` inside primitive definitions.
SYSTEM_TYPE_PREFIX = "http://hl7.org/fhirpath/System."

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TZ = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_DATE = rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"

REGEX: dict[str, re.Pattern[str]] = {
    "date": re.compile(_DATE),
    "dateTime": re.compile(rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T{_TIME}{_TZ})?)?)?"),
    "instant": re.compile(rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_TZ}"),
    "time": re.compile(_TIME),
    "id": re.compile(r"[A-Za-z0-9\-\.]{1,64}"),
    "code": re.compile(r"[^\s]+( [^\s]+)*"),
    "oid": re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+"),
    "uuid": re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "integer64": re.compile(r"[0]|[-+]?[1-9][0-9]*"),
}
_URI_WS = re.compile(r"\s")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
# the values an integer type allows (what _check_integer accepts of an int)
INTEGER_RANGES = {"integer": (_INT32_MIN, _INT32_MAX), "unsignedInt": (0, _INT32_MAX), "positiveInt": (1, _INT32_MAX)}


def check_primitive(type_code: str, value: object) -> tuple[str, str] | None:
    """Return (rule id, English detail) when `value` (already of the right JSON kind) breaks its type's rules."""
    checker = _CHECKERS.get(type_code)
    return checker(value) if checker else None


def _regex_checker(type_code: str, rule: str) -> Callable[[object], tuple[str, str] | None]:
    pattern = REGEX[type_code]

    def check(value: object) -> tuple[str, str] | None:
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            return rule, f"Not a valid {type_code} ({value!r})"
        return None

    return check


def _check_integer(lower: int) -> Callable[[object], tuple[str, str] | None]:
    def check(value: object) -> tuple[str, str] | None:
        if (isinstance(value, float) and not value.is_integer()) or not isinstance(value, int | float):
            return "Type_Specific_Checks_DT_Integer_Valid", f"The value '{value}' is not a valid integer"
        number = int(value)
        if number < lower:
            return f"Type_Specific_Checks_DT_Integer_LT{lower}" if lower in (
                0,
                1,
            ) else "Type_Specific_Checks_DT_Integer_LT", (f"value is less than permitted minimum value of {lower}")
        if number > _INT32_MAX:
            return (
                "Type_Specific_Checks_DT_Integer_GT",
                f"value is greater than permitted maximum value of {_INT32_MAX}",
            )
        return None

    return check


def _check_decimal(value: object) -> tuple[str, str] | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Type_Specific_Checks_DT_Decimal_Valid", f"The value '{value}' is not a valid decimal"
    return None


def _check_uri(value: object) -> tuple[str, str] | None:
    text = str(value)
    if _URI_WS.search(text):
        return "Type_Specific_Checks_DT_URI_WS", f"URI values cannot have whitespace ('{text}')"
    if text.startswith("oid:"):
        return "Type_Specific_Checks_DT_URI_OID", "URI values cannot start with oid:"
    if text.startswith("uuid:"):
        return "Type_Specific_Checks_DT_URI_UUID", "URI values cannot start with uuid:"
    if text.startswith("urn:uuid:") and REGEX["uuid"].fullmatch(text) is None:
        return "Type_Specific_Checks_DT_UUID_Valid", f"UUIDs must be valid and lowercase ({text[9:]})"
    return None


def _check_base64(value: object) -> tuple[str, str] | None:
    text = "".join(str(value).split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return "Type_Specific_Checks_DT_Base64_Valid", f"The value '{str(value)[:40]}' is not a valid Base64 value"
    return None


def _check_date_like(type_code: str) -> Callable[[object], tuple[str, str] | None]:
    pattern = REGEX[type_code]
    rule = {
        "date": "Type_Specific_Checks_DT_Date_Valid",
        "dateTime": "Type_Specific_Checks_DT_DateTime_Valid",
        "instant": "Type_Specific_Checks_DT_Instant_Valid",
        "time": "Type_Specific_Checks_DT_Time_Valid",
    }[type_code]

    def check(value: object) -> tuple[str, str] | None:
        text = str(value)
        if pattern.fullmatch(text) is None:
            if type_code == "dateTime" and "T" in text and REGEX["dateTime"].fullmatch(text + "Z"):
                return "Type_Specific_Checks_DT_DateTime_TZ", "if a date has a time, it must have a timezone"
            return rule, f"Not a valid {type_code} ({text})"
        if not _calendar_ok(text):
            return rule, f"Not a valid {type_code} ({text})"
        return None

    return check


def _calendar_ok(text: str) -> bool:
    """Regexes allow 2023-02-31; the calendar does not."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return True
    try:
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    except ValueError:
        return True
    days = [
        31,
        29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ]
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _check_code(value: object) -> tuple[str, str] | None:
    if REGEX["code"].fullmatch(str(value)) is None:
        return "Type_Specific_Checks_DT_Code_WS", f"The code '{value}' is not valid (whitespace rules)"
    return None


def _check_id(value: object) -> tuple[str, str] | None:
    if REGEX["id"].fullmatch(str(value)) is None:
        return "Type_Specific_Checks_DT_ID_Valid", f"id value '{value}' is not valid"
    return None


def _check_oid(value: object) -> tuple[str, str] | None:
    text = str(value)
    if not text.startswith("urn:oid:"):
        return "Type_Specific_Checks_DT_OID_Start", "OIDs must start with urn:oid:"
    if REGEX["oid"].fullmatch(text) is None:
        return "Type_Specific_Checks_DT_OID_Valid", f"OIDs must be valid ({text})"
    return None


def _check_uuid(value: object) -> tuple[str, str] | None:
    text = str(value)
    if not text.startswith("urn:uuid:"):
        return "Type_Specific_Checks_DT_UUID_Strat", "UUIDs must start with urn:uuid:"
    if REGEX["uuid"].fullmatch(text) is None:
        return "Type_Specific_Checks_DT_UUID_Valid", "UUIDs must be valid (and lowercase)"
    return None


_CHECKERS: dict[str, Callable[[object], tuple[str, str] | None]] = {
    "date": _check_date_like("date"),
    "dateTime": _check_date_like("dateTime"),
    "instant": _check_date_like("instant"),
    "time": _check_date_like("time"),
    "id": _check_id,
    "code": _check_code,
    "oid": _check_oid,
    "uuid": _check_uuid,
    "uri": _check_uri,
    "url": _check_uri,
    "canonical": _check_uri,
    **{code: _check_integer(lower) for code, (lower, _upper) in INTEGER_RANGES.items()},
    "decimal": _check_decimal,
    "base64Binary": _check_base64,
    "integer64": _regex_checker("integer64", "Type_Specific_Checks_DT_Integer64_Valid"),
}
