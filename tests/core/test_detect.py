"""Routing raw input to the right validator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.validation.detect import Kind, _lines, detect_kind


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


_CDA_ROOT = b'<ClinicalDocument xmlns="urn:hl7-org:v3">'


@pytest.mark.parametrize("prolog", [0, 2000, 2040, 2100, 16000, 60000])
def test_the_root_is_found_after_a_long_prolog_within_64_kib(prolog: int) -> None:
    """Comments before the root (a prolog of any length up to 64 KiB, the root's start tag cut by any of the
    prefixes read): the root decides."""
    data = (
        b'<?xml version="1.0"?>\n<!--' + b"c" * prolog + b"-->" + _CDA_ROOT + b"<id/>" * 20000 + b"</ClinicalDocument>"
    )
    assert detect_kind(data) is Kind.CDA


def test_a_root_past_64_kib_or_a_broken_prolog_is_not_recognised() -> None:
    assert detect_kind(b"<!--" + b"c" * 70000 + b"-->" + _CDA_ROOT + b"</ClinicalDocument>") is Kind.UNKNOWN
    assert detect_kind(b"<?xml version='1.0'?><!-- -- -->" + _CDA_ROOT + b"</ClinicalDocument>") is Kind.UNKNOWN


def test_a_document_broken_after_its_root_start_is_routed_by_its_root() -> None:
    """The CDA validator then reports the break with its line and column."""
    assert detect_kind(_CDA_ROOT + b"<id></code></ClinicalDocument>") is Kind.CDA


def test_self_presenting_cda_examples_are_routed_to_the_cda_validator(cda_pack) -> None:
    examples = sorted((cda_pack / "ExemplesCDA").glob("*.xml"))
    self_presenting = [p for p in examples if b"<xsl:stylesheet" in p.read_bytes()[:4096]]
    assert self_presenting, "the ANS pack ships self-presenting examples"
    assert {detect_kind(p.read_bytes()) for p in examples} == {Kind.CDA}


def test_a_plain_stylesheet_is_not_a_cda() -> None:
    xsl = b'<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>'
    assert detect_kind(xsl) is Kind.UNKNOWN


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}\n{"b": 2}',
        b'{"a": 1}\r\n\r\n  {"b": 2}\r\n',
        b'{"a": 1}\r{"b": 2}\r',
        b'{"a": 1}\n',
        b'{"a": 1}\n{"b": 2}\n"c"\n',
        b'{"a": 1}  \n \t\n{"b": 2',
        b'{"a":\n 1}\n{"b": 2}',
        b'{\n  "resourceType": "Patient"\n}\n',
        b'{"a": 1}\x0b\n{"b": 2}\x0c',
        b'{"a": 1}\x85{"b": 2}\n{}',
    ],
)
def test_ndjson_is_told_as_splitting_every_line_would(data: bytes) -> None:
    lines = [line for line in data.splitlines() if line.strip()]
    whole = (
        len(lines) > 1 and lines[0].rstrip().endswith(b"}") and all(line.lstrip().startswith(b"{") for line in lines)
    )
    assert detect_kind(data) is (Kind.FHIR_NDJSON if whole else Kind.FHIR_JSON)


@given(st.binary().map(lambda raw: bytes(b"{}\r\n \x0b"[byte % 6] for byte in raw)))
def test_lines_are_the_pieces_of_splitlines(data: bytes) -> None:
    assert list(_lines(data)) == data.splitlines()
