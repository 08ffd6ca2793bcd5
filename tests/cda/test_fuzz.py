"""Bounded fuzzing: document parsing/header/XSD and XDM unpacking never raise, whatever the bytes."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.validation.cda import validate_xdm
from conformance.validation.cda.document import check_xsd, find_clinical_document, parse_document
from conformance.validation.cda.header import check_header
from conformance.validation.cda.pack import load_pack
from conformance.validation.cda.xdm import read_archive

from .conftest import example_bytes

SEED = example_bytes("LDL-EES_2022.01.xml")


def _small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.TXT", b"r")
        zf.writestr("INDEX.HTM", b"<html/>")
        zf.writestr(
            "IHE_XDM/SUBSET01/METADATA.XML",
            b'<r xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ExtrinsicObject mimeType="text/plain">'
            b'<rim:Slot name="URI"><rim:ValueList><rim:Value>A.TXT</rim:Value></rim:ValueList></rim:Slot>'
            b"</rim:ExtrinsicObject></r>",
        )
        zf.writestr("IHE_XDM/SUBSET01/A.TXT", b"hello")
    return out.getvalue()


ZIP = _small_zip()


def _mutations(seed: bytes):
    return st.lists(st.tuples(st.integers(0, len(seed) - 1), st.binary(min_size=0, max_size=8)), max_size=6).map(
        lambda edits: _apply(seed, edits)
    )


def _apply(seed: bytes, edits) -> bytes:
    data = bytearray(seed)
    for position, replacement in edits:
        position = min(position, len(data))
        data[position : position + len(replacement)] = replacement
    return bytes(data)


def _document_pipeline(data: bytes) -> None:
    root, _problems = parse_document(data)
    if root is None:
        return
    document = find_clinical_document(root)
    if document is not None:
        check_header(document, load_pack())
        check_xsd(document, load_pack())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_mutations(SEED), st.binary(max_size=300)))
def test_document_parsing_never_raises(data: bytes) -> None:
    _document_pipeline(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_mutations(ZIP), st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b)))
def test_xdm_unpacking_never_raises(data: bytes) -> None:
    read_archive(data)
    outcomes = validate_xdm(data)
    assert outcomes[0].kind == "xdm"


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_mutations(SEED), _mutations(ZIP), st.binary(max_size=2000)))
def test_long_fuzz(data: bytes) -> None:
    _document_pipeline(data)
    read_archive(data)
