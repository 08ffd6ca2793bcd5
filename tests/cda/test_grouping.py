"""One defect, one finding: XSD + header rule + schematron on the same missing element are reported once,
the other manifestations attached; schematron findings carry the assertion's label and its own text."""

from __future__ import annotations

from conformance.findings import finding
from conformance.validation.cda import validate_document
from conformance.validation.cda.grouping import group_manifestations, readable_assertion

from .conftest import NS, mutate

CSE = "CSE-CS24_2024.01.xml"
ROOT = "/cda:ClinicalDocument[1]"


def _without_document_id(root) -> None:
    root.remove(root.find("cda:id", NS))


def test_a_missing_document_id_is_one_error_with_its_other_manifestations() -> None:
    """SHALL: the missing id is counted once; XSD and schematron are named in its message and in details."""
    outcome = validate_document(mutate(CSE, _without_document_id), name="no-id.xml")
    about_id = [f for f in outcome.errors if f.location in (ROOT, f"{ROOT}/cda:code[1]")]
    assert [f.rule for f in about_id] == ["cda-header-id"], outcome.render("en")
    message = about_id[0].message("en")
    assert "other manifestations of the same defect" in message
    assert "schematron ASIP-STRUCT-MIN-StrucMin.sch [SMDS_CDAClinicalDocument-17]" in message
    assert "CDA XSD [cda-xsd] line" in message
    assert "autres manifestations du même défaut" in about_id[0].message("fr")
    grouped = outcome.details["grouped"]
    assert [g["rule"] for g in grouped] == ["cda-header-id"]
    assert {a["kind"] for a in grouped[0]["also"]} == {"schematron", "xsd"}
    assert not any(f.rule.startswith("d152e10-") for f in outcome.findings)  # no ART-DECOR rule id left


def test_schematron_rule_ids_are_the_assertion_label_and_text_is_quoted() -> None:
    rule, french, english = readable_assertion(
        "d152e10-false-d1610e0-29",
        "(SMDS_CDAClinicalDocument): element hl7:setId[not(@nullFlavor)] is mandatory [min 1x].",
        "ASIP-STRUCT-MIN-StrucMin.sch",
    )
    assert rule == "SMDS_CDAClinicalDocument-29"
    assert french == "« element hl7:setId[not(@nullFlavor)] is mandatory [min 1x]. » (SMDS_CDAClinicalDocument)"
    assert english == "element hl7:setId[not(@nullFlavor)] is mandatory [min 1x]. (SMDS_CDAClinicalDocument)"
    assert readable_assertion("pattern-0-1", "Ce code n'est pas retrouvé", "terminologie.sch")[0] == "terminologie-0-1"


def _error(rule: str, location: str, en: str, profile: str | None = None):
    return finding("error", "invariant", rule, location, en, en, source="cda", profile=profile)


def test_different_elements_or_places_are_not_grouped() -> None:
    """SHALL NOT: two defects (another element, another parent) merged; an XSD list of names alone groups nothing."""
    header = _error("cda-header-setid", ROOT, "setId missing")
    other_element = _error("X-1", ROOT, "(X): element hl7:id[not(@nullFlavor)] is mandatory", "A.sch")
    elsewhere = _error("X-2", f"{ROOT}/cda:author[1]", "(X): element hl7:setId is mandatory", "A.sch")
    xsd = _error("cda-xsd", f"{ROOT}/cda:code[1]", "CDA XSD: ... not expected. Expected is ( {urn:hl7-org:v3}id ).")
    findings, grouped = group_manifestations([header, other_element, elsewhere, xsd])
    assert grouped == [{"rule": "X-1", "location": ROOT, "also": [grouped[0]["also"][0]]}]  # id: schematron + XSD
    assert [f.rule for f in findings] == ["cda-header-setid", "X-1", "X-2"]
    warning = finding("warning", "invariant", "cda-header-id", ROOT, "w", "w", source="cda")
    assert group_manifestations([warning, other_element])[1] == []  # warnings are never merged into errors
