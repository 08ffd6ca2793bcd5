"""One defect, one finding: the CDA XSD, the header rules and the schematrons often report the same missing
or misplaced element three times (`id` absent: an XSD "not expected" on the next element, cda-header-id,
and the structuration minimale's "element hl7:id is mandatory"). They are grouped by the element they name
under the same parent; the clearest one (header rule, then schematron, then XSD) is kept and the others are
attached to its message and listed in `Outcome.details["grouped"]`.

Schematron findings are also made readable here: the ART-DECOR rule ids the tool numbers
(`d152e10-false-d1610e0-29`) become the assertion's own label and number (`SMDS_CDAClinicalDocument-29`),
and the assertion's text, the pack's own wording, is quoted as such.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from conformance.findings import Finding
from conformance.i18n import text

# The element each header rule is about (only rules about a missing or malformed element of the header).
HEADER_ELEMENTS = {
    "cda-header-type-missing": "code",
    "cda-header-effectivetime-missing": "effectiveTime",
    "cda-header-confidentiality-missing": "confidentialityCode",
    "cda-header-id": "id",
    "cda-header-setid": "setId",
    "cda-header-version": "versionNumber",
    "cda-header-patient-missing": "recordTarget",
    "cda-header-author-missing": "author",
    "cda-header-custodian-missing": "custodian",
}
_LABEL = re.compile(r"^\(([^()]{1,80})\)\s*:\s*")
_NUMBERED = re.compile(r"^(?P<base>.+)-(?P<n>\d+)$")
_SCHEMATRON_ELEMENT = re.compile(r"\belement (?:hl7|cda):(\w+)")
_XSD_EXPECTED = re.compile(r"Expected is (?:one of )?\(([^)]*)\)")
_XSD_NAME = re.compile(r"\{[^}]*\}(\w+)")
_RANK = {"header": 0, "schematron": 1, "xsd": 2}


def readable_assertion(rule_id: str, assertion_text: str, schematron_name: str) -> tuple[str, str, str]:
    """(rule id, French message, English message) of a schematron assertion.

    The pack's asserts carry no id of their own: the tool numbers them within their rule. The label the
    assertion's text starts with ("(SMDS_CDAClinicalDocument): ...") names its template element: it and the
    number make the id; an unlabelled rule of a pattern takes the schematron's name."""
    label_match = _LABEL.match(assertion_text)
    label = label_match.group(1).strip() if label_match else ""
    statement = assertion_text[label_match.end() :] if label_match else assertion_text
    numbered = _NUMBERED.match(rule_id)
    rule = rule_id
    if label and numbered:
        rule = f"{label}-{numbered.group('n')}"
    elif rule_id.startswith("pattern-"):
        rule = f"{schematron_name.removesuffix('.sch')}-{rule_id.removeprefix('pattern-')}"
    suffix = f" ({label})" if label else ""
    return rule, f"« {statement} »{suffix}", f"{statement}{suffix}"


def _kind(item: Finding) -> str | None:
    if item.rule in HEADER_ELEMENTS:
        return "header"
    if item.rule == "cda-xsd":
        return "xsd"
    if item.source == "cda" and item.profile and item.profile.endswith(".sch"):
        return "schematron"
    return None


def _parent(location: str) -> str:
    return location.rsplit("/", 1)[0] if location.count("/") > 1 else location


def _keys(item: Finding, kind: str) -> list[tuple[str, str]]:
    """(parent element location, element name) pairs this finding is about."""
    if kind == "header":
        return [(item.location, HEADER_ELEMENTS[item.rule])]
    if kind == "schematron":
        found = _SCHEMATRON_ELEMENT.search(item.message_en)
        return [(item.location, found.group(1))] if found else []
    expected = _XSD_EXPECTED.search(item.message_en)
    if not expected:
        return []
    names = _XSD_NAME.findall(expected.group(1))
    # "This element is not expected": the location is the element after the missing one
    parent = _parent(item.location) if "not expected" in item.message_en else item.location
    return [(parent, name) for name in names]


def group_manifestations(findings: list[Finding]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """`findings` with each defect once (errors only), and what was attached to what."""
    candidates: dict[tuple[str, str], list[tuple[int, Finding, str]]] = {}
    for index, item in enumerate(findings):
        kind = _kind(item) if item.severity.is_failure else None
        if kind is None:
            continue
        for key in _keys(item, kind):
            candidates.setdefault(key, []).append((index, item, kind))
    absorbed: dict[int, list[tuple[Finding, str]]] = {}
    attached: set[int] = set()
    for members in candidates.values():
        members = [m for m in members if m[0] not in attached]
        # two producers at least name the element (an XSD list of expected names alone is only a guess)
        if len({kind for _, _, kind in members}) < 2:
            continue
        members.sort(key=lambda m: (_RANK[m[2]], m[0]))
        primary = members[0][0]
        for index, item, kind in members[1:]:
            if index != primary and index not in absorbed:  # a primary of another group stays on its own
                absorbed.setdefault(primary, []).append((item, kind))
                attached.add(index)
    grouped: list[dict[str, Any]] = []
    result: list[Finding] = []
    for index, item in enumerate(findings):
        if index in absorbed:
            others = absorbed.pop(index)
            result.append(_attach(item, others))
            grouped.append(
                {
                    "rule": item.rule,
                    "location": item.location,
                    "also": [
                        {"rule": o.rule, "kind": kind, "location": o.location, "line": o.line, "message": o.message_en}
                        for o, kind in others
                    ],
                }
            )
        elif index not in attached:
            result.append(item)
    return result, grouped


def _manifestation(item: Finding, kind: str, lang: str) -> str:
    where = text("cda_group.line", lang, line=item.line) if item.line else ""
    producer = text(f"cda_group.{kind}", lang, profile=item.profile or "")
    return text("cda_group.item", lang, producer=producer, rule=item.rule, where=where).strip()


def _attach(primary: Finding, others: list[tuple[Finding, str]]) -> Finding:
    def also(lang: str) -> str:
        listed = text("cda_group.separator", lang).join(_manifestation(o, kind, lang) for o, kind in others)
        return text("cda_group.also", lang, others=listed)

    return replace(
        primary, message_fr=f"{primary.message_fr} {also('fr')}", message_en=f"{primary.message_en} {also('en')}"
    )
