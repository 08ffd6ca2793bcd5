"""Rules a profile puts on one element that are rarely used: minValue/maxValue (numbers, dates, Quantities with
UCUM conversion), R5's mustHaveValue and valueAlternatives (R4 profiles carry them as extensions), and the
narrative language control (language sections of the XHTML required, prohibited, or for the resource language)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from conformance.validation.fhir.run import Run, as_decimal, seq
from conformance.validation.fhir.structure import ElementNode
from conformance.validation.fhir.xhtml import language_sections

UCUM = "http://unitsofmeasure.org"
_NUMERIC = frozenset({"integer", "positiveInt", "unsignedInt", "integer64", "decimal"})
_TEMPORAL = frozenset({"date", "dateTime", "instant", "time"})


class ElementRulesAspect:
    """minValue/maxValue, mustHaveValue, valueAlternatives and narrative language control of an element."""

    def _check_element_rules(
        self, value: Any, ext: Any, node: ElementNode, type_code: str | None, loc: str, run: Run, resource: Any
    ) -> None:
        rules = node.rules
        assert rules is not None
        if value is None and ext is not None and type_code is not None and type_code[:1].islower():
            self._check_missing_value(ext, node, rules, loc, run)
            return
        for bound in ("minValue", "maxValue"):
            if bound in rules and value is not None:
                _check_bound(value, type_code, rules[bound], bound, loc, run)
        if "languageControl" in rules and type_code == "Narrative" and isinstance(value, dict):
            _check_language_control(value, rules["languageControl"], resource, loc, run)

    @staticmethod
    def _check_missing_value(ext: Any, node: ElementNode, rules: dict[str, Any], loc: str, run: Run) -> None:
        profile = run.profile or ""
        if rules.get("mustHaveValue"):
            run.report("error", "required", "PRIMITIVE_MUSTHAVEVALUE_MESSAGE", loc, node.path, profile)
            return
        alternatives = rules.get("valueAlternatives")
        if not alternatives:
            return
        present = {e.get("url") for e in seq(ext.get("extension") if isinstance(ext, dict) else None)}
        if not present & set(alternatives):
            run.report(
                "error",
                "required",
                "PRIMITIVE_VALUE_ALTERNATIVES_MESSAGE",
                loc,
                node.path,
                profile,
                ", ".join(alternatives),
            )


# ---- minValue / maxValue -----------------------------------------------------------------------------------


def _check_bound(value: Any, type_code: str | None, bound: tuple[str, Any], which: str, loc: str, run: Run) -> None:
    bound_type, limit = bound
    below = which == "minValue"
    if bound_type == "Quantity":
        if isinstance(value, dict) and isinstance(limit, dict):
            _check_quantity_bound(value, limit, below, loc, run)
        return
    if type_code in _NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
        number, limit_number = as_decimal(value), as_decimal(limit)
        if number is None or limit_number is None:
            return
        failed = number < limit_number if below else number > limit_number
        kind = "DECIMAL" if type_code == "decimal" else "INTEGER"
    elif type_code in _TEMPORAL and isinstance(value, str) and isinstance(limit, str) and len(value) == len(limit):
        failed = value < limit if below else value > limit  # same precision: ISO 8601 text orders as time
        kind = "DATE"
    else:
        return
    if failed:
        rule = f"Type_Specific_Checks_DT_{kind}_{'LT' if below else 'GT'}"
        run.report("error", "invalid", rule, loc, limit)


def _check_quantity_bound(value: dict[str, Any], limit: dict[str, Any], below: bool, loc: str, run: Run) -> None:
    number, limit_number = as_decimal(value.get("value")), as_decimal(limit.get("value"))
    if number is None or limit_number is None:
        return
    shown, shown_limit = _show_quantity(value), _show_quantity(limit)
    same_unit = value.get("system") == limit.get("system") and value.get("code") == limit.get("code")
    if same_unit or (not limit.get("code") and not limit.get("system")):
        if number < limit_number if below else number > limit_number:
            rule = (
                "Type_Specific_Checks_DT_QTY_MIN_VALUE_WRONG"
                if below
                else "Type_Specific_Checks_DT_QTY_MAX_VALUE_WRONG"
            )
            run.report("error", "invalid", rule, loc, shown, shown_limit)
        return
    if value.get("system") != UCUM or limit.get("system") != UCUM:
        return  # not comparable without a unit system both share
    mine, theirs = _ucum_base(value.get("code")), _ucum_base(limit.get("code"))
    if mine is None or theirs is None or mine[0] != theirs[0]:
        return  # units this check cannot convert: neither pass nor fail
    converted, converted_limit = number * mine[1], limit_number * theirs[1]
    if converted < converted_limit if below else converted > converted_limit:
        rule = (
            "Type_Specific_Checks_DT_QTY_MIN_VALUE_WRONG_UCUM"
            if below
            else "Type_Specific_Checks_DT_QTY_MAX_VALUE_WRONG_UCUM"
        )
        run.report("error", "invalid", rule, loc, shown, shown_limit)


def _show_quantity(quantity: dict[str, Any]) -> str:
    unit = quantity.get("code") or quantity.get("unit") or ""
    return f"{quantity.get('value')} {unit}".strip()


_UCUM_PREFIXES = {
    "Y": Decimal("1e24"),
    "Z": Decimal("1e21"),
    "E": Decimal("1e18"),
    "P": Decimal("1e15"),
    "T": Decimal("1e12"),
    "G": Decimal("1e9"),
    "M": Decimal("1e6"),
    "k": Decimal("1e3"),
    "h": Decimal("1e2"),
    "da": Decimal("1e1"),
    "d": Decimal("1e-1"),
    "c": Decimal("1e-2"),
    "m": Decimal("1e-3"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
}
# metric atoms (prefixable) and the non-metric units met in clinical data, as (dimension, factor)
_UCUM_METRIC = {"g": "g", "m": "m", "L": "L", "l": "L", "s": "s", "mol": "mol", "Pa": "Pa", "Hz": "Hz", "eq": "eq"}
_UCUM_SPECIAL = {
    "min": ("s", Decimal(60)),
    "h": ("s", Decimal(3600)),
    "d": ("s", Decimal(86400)),
    "wk": ("s", Decimal(604800)),
    "[lb_av]": ("g", Decimal("453.59237")),
    "[oz_av]": ("g", Decimal("28.349523125")),
    "[in_i]": ("m", Decimal("0.0254")),
    "[ft_i]": ("m", Decimal("0.3048")),
    "mm[Hg]": ("mm[Hg]", Decimal(1)),
}


def _ucum_base(code: Any) -> tuple[str, Decimal] | None:
    """A simple UCUM unit (one atom, optionally prefixed) as (dimension, factor to the unprefixed atom)."""
    if not isinstance(code, str) or not code:
        return None
    if code in _UCUM_SPECIAL:
        return _UCUM_SPECIAL[code]
    if code in _UCUM_METRIC:
        return _UCUM_METRIC[code], Decimal(1)
    for prefix in sorted(_UCUM_PREFIXES, key=len, reverse=True):
        atom = code[len(prefix) :]
        if code.startswith(prefix) and atom in _UCUM_METRIC:
            return _UCUM_METRIC[atom], _UCUM_PREFIXES[prefix]
    return None


# ---- narrative language control ----------------------------------------------------------------------------


def _check_language_control(narrative: dict[str, Any], controls: list[str], resource: Any, loc: str, run: Run) -> None:
    div = narrative.get("div")
    if not isinstance(div, str):
        return
    sections = language_sections(div)
    if sections is None:
        return  # not well-formed: reported by the XHTML rules
    found = ", ".join(sorted(set(sections)))
    profile = f"StructureDefinition[{run.profile}]"
    for control in controls:
        if control == "_no":
            if sections:
                run.report("error", "business-rule", "XHTML_LANGUAGE_SECTIONS_PROHIBITED", loc, found, profile)
        elif control == "_yes":
            if not sections:
                run.report("error", "business-rule", "XHTML_LANGUAGE_SECTIONS_REQUIRED", loc, profile)
        else:
            language = resource.get("language") if control == "_resource" and isinstance(resource, dict) else control
            if isinstance(language, str) and language and not _has_section(sections, language):
                run.report("error", "business-rule", "XHTML_LANGUAGE_SECTION_MISSING", loc, profile, language, found)


def _has_section(sections: list[str], language: str) -> bool:
    wanted = language.lower()
    return any(s.lower() == wanted or s.lower().split("-", 1)[0] == wanted for s in sections)
