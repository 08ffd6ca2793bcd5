"""Routing raw input to the right validator."""

from __future__ import annotations

import pytest

from conformance.validation.detect import Kind, detect_kind


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'{"resourceType": "Patient"}', Kind.FHIR_JSON),
        (b'\xef\xbb\xbf  {"resourceType": "Bundle"}', Kind.FHIR_JSON),
        (b'{"resourceType": "Patient"}\n{"resourceType": "Patient"}\n', Kind.FHIR_NDJSON),
        (b'<Patient xmlns="http://hl7.org/fhir"><id value="a"/></Patient>', Kind.FHIR_XML),
        (b'<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>', Kind.CDA),
        (b"MSH|^~\\&|APP|FAC\rPID|1", Kind.HL7V2),
        (b"\x0bMSH|^~\\&|APP\r\x1c\r", Kind.HL7V2),
        (b"PK\x03\x04rest-of-zip", Kind.XDM),
        (b"<html><body>erreur</body></html>", Kind.UNKNOWN),
        (b"<not closed", Kind.UNKNOWN),
        (b"", Kind.UNKNOWN),
        (b"MSHX", Kind.UNKNOWN),
    ],
)
def test_detect_kind(data: bytes, kind: Kind) -> None:
    assert detect_kind(data) is kind


def test_self_presenting_cda_examples_are_routed_to_the_cda_validator(cda_pack) -> None:
    examples = sorted((cda_pack / "ExemplesCDA").glob("*.xml"))
    self_presenting = [p for p in examples if b"<xsl:stylesheet" in p.read_bytes()[:4096]]
    assert self_presenting, "the ANS pack ships self-presenting examples"
    assert {detect_kind(p.read_bytes()) for p in examples} == {Kind.CDA}


def test_a_plain_stylesheet_is_not_a_cda() -> None:
    xsl = b'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>'
    assert detect_kind(xsl) is Kind.UNKNOWN
