"""Fuzzing the CDA and XDM entry (conformance.validation.cda.validate_input): documents and ZIP packages.

Seeds: the smallest example of the CI-SIS pack and a minimal header-only document, and XDM packages built from
them. Structured ZIPs carry hostile entry names (traversal, absolute, duplicates, odd encodings).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from functools import cache

import pytest
from fuzz_support import check_outcomes, fuzz, mutated
from hypothesis import strategies as st

from conformance import settings as paths
from conformance.validation.cda import validate_input
from conformance.validation.cda.xdm_build import build_xdm
from conformance.validation.options import ValidateOptions

pytestmark = pytest.mark.timeout(900)

OPTIONS = ValidateOptions(lang="en")
TINY_CDA = (
    b'<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3"><realmCode code="FR"/>'
    b'<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/><id root="1.2.3" extension="x"/>'
    b'<code code="11488-4" codeSystem="2.16.840.1.113883.6.1"/><title>t</title><effectiveTime value="20260101"/>'
    b'<recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="279035121518989"/></patientRole>'
    b"</recordTarget></ClinicalDocument>"
)
ENTRY_NAMES = [
    "IHE_XDM/SUBSET01/METADATA.XML",
    "IHE_XDM/SUBSET01/DOC0001.XML",
    "INDEX.HTM",
    "README.TXT",
    "../../etc/passwd",
    "/abs/path.xml",
    "IHE_XDM/../../x.xml",
    "C:\\windows\\x.xml",
    "IHE_XDM/SUBSET01/",
    "évian/ça.xml",
    "a" * 250,
    "IHE_XDM/SUBSET01/doc0001.xml",
    "\x00",
    "\x00evil.xml",
]


@cache
def real_cda() -> bytes:
    examples = sorted((paths.cda_pack_dir() / "ExemplesCDA").glob("*.xml"), key=lambda p: p.stat().st_size)
    return examples[0].read_bytes()


@cache
def package_seeds() -> tuple[bytes, ...]:
    return (build_xdm([TINY_CDA]), build_xdm([real_cda()]))


def check(data: bytes) -> None:
    check_outcomes(validate_input(data, name="fuzz", options=OPTIONS))


def zip_of(entries: list[tuple[str, bytes]], compress: bool) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as archive:
        warnings.simplefilter("ignore")  # duplicate names are one of the hostile shapes
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name), content)
    return buffer.getvalue()


zip_entries = st.lists(
    st.tuples(
        st.sampled_from(ENTRY_NAMES) | st.text(min_size=1, max_size=30),
        st.sampled_from([TINY_CDA, b"", b"<x/>", b"\x00\xff"]) | mutated([TINY_CDA], max_ops=3),
    ),
    max_size=6,
)


def test_seeds_reach_the_validators() -> None:
    assert [o.kind for o in check_outcomes(validate_input(real_cda(), name="s", options=OPTIONS))] == ["cda"]
    kinds = [o.kind for o in check_outcomes(validate_input(package_seeds()[0], name="s", options=OPTIONS))]
    assert kinds[0] == "xdm" and "cda" in kinds


def test_fuzz_cda_tiny_document_mutations(budget: str) -> None:
    fuzz(budget, mutated([TINY_CDA]), check)


def test_fuzz_cda_real_document_mutations(budget: str) -> None:
    # well-formed mutants go through the XSD and the schematrons (the slow path): a smaller share of the budget
    fuzz(budget, mutated([real_cda()], max_ops=3), check, scale=0.4)


def test_fuzz_xdm_package_mutations(budget: str) -> None:
    fuzz(budget, mutated(package_seeds(), max_ops=4), check, scale=0.6)


def test_fuzz_xdm_structured_archives(budget: str) -> None:
    def check_archive(example: tuple[list[tuple[str, bytes]], bool]) -> None:
        entries, compress = example
        outcomes = check_outcomes(validate_input(zip_of(entries, compress), name="fuzz", options=OPTIONS))
        assert outcomes[0].kind == "xdm" or not outcomes[0].is_valid  # an empty ZIP is not recognised: rejected

    fuzz(budget, st.tuples(zip_entries, st.booleans()), check_archive)
