"""XDM packages built in the test from the ANS examples, then tampered with."""

from __future__ import annotations

import io
import re
import zipfile

from conformance.validation.cda import validate_input, validate_xdm
from conformance.validation.cda.xdm import read_archive
from conformance.validation.cda.xdm_build import build_xdm
from conformance.validation.options import ValidateOptions

from .conftest import example_bytes

CR_GM = "CANCER-CR-GM_2022.01_AnalyseRealisee.xml"
ENTRY = "IHE_XDM/SUBSET01/METADATA.XML#ExtrinsicObject[1]"


def _rewrite(package: bytes, change) -> bytes:
    """Copy a zip, letting change(files) edit the {name: bytes} mapping."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        files = {info.filename: zf.read(info) for info in zf.infolist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def _package_rules(outcomes) -> dict[str, str]:
    return {f.rule: f.location for f in outcomes[0].findings}


def test_built_package_is_valid_and_documents_are_validated() -> None:
    outcomes = validate_xdm(build_xdm([example_bytes(CR_GM)]), name="pkg.zip")
    assert [o.kind for o in outcomes] == ["xdm", "cda"]
    assert outcomes[0].is_valid, outcomes[0].render("en")
    assert outcomes[1].subject == "pkg.zip!IHE_XDM/SUBSET01/DOC0001.XML"
    assert outcomes[1].is_valid, outcomes[1].render("en")
    assert outcomes[0].details["documents"] == ["IHE_XDM/SUBSET01/DOC0001.XML"]


def test_validate_input_routes_zip_to_xdm() -> None:
    outcomes = validate_input(build_xdm([example_bytes(CR_GM)]), name="p.zip", options=ValidateOptions())
    assert outcomes[0].kind == "xdm"


def test_tampered_document_breaks_hash_and_size() -> None:
    def tamper(files):
        files["IHE_XDM/SUBSET01/DOC0001.XML"] += b"\n<!-- edited after packaging -->"

    rules = _package_rules(validate_xdm(_rewrite(build_xdm([example_bytes(CR_GM)]), tamper)))
    assert rules["xdm-hash-mismatch"] == ENTRY + "/Slot[hash]"
    assert rules["xdm-size-mismatch"] == ENTRY + "/Slot[size]"


def test_layout_and_metadata_defects() -> None:
    def damage(files):
        del files["README.TXT"]
        metadata = files["IHE_XDM/SUBSET01/METADATA.XML"].decode()
        metadata = metadata.replace("1.2.250.1.213.1.4.10&amp;ISO", "1.2.3.4&amp;ISO")  # not an INS authority
        metadata = re.sub(r'nodeRepresentation="51969-4"', 'nodeRepresentation="11502-2"', metadata)
        metadata = re.sub(r"<rim:RegistryPackage .*?</rim:RegistryPackage>", "", metadata)
        files["IHE_XDM/SUBSET01/METADATA.XML"] = metadata.encode()

    rules = _package_rules(validate_xdm(_rewrite(build_xdm([example_bytes(CR_GM)]), damage)))
    assert rules["xdm-layout-readme"] == "README.TXT"
    assert rules["xdm-patientid-ins"] == ENTRY + "/patientId"
    assert rules["xdm-patientId-document-mismatch"] == ENTRY + "/patientId"
    assert rules["xdm-typeCode-document-mismatch"] == ENTRY + "/typeCode"
    assert rules["xdm-submissionset-missing"] == "IHE_XDM/SUBSET01/METADATA.XML"


def test_missing_document_and_metadata() -> None:
    def drop_document(files):
        del files["IHE_XDM/SUBSET01/DOC0001.XML"]

    rules = _package_rules(validate_xdm(_rewrite(build_xdm([example_bytes(CR_GM)]), drop_document)))
    assert rules["xdm-document-missing"] == ENTRY + "/Slot[URI]"

    def drop_metadata(files):
        del files["IHE_XDM/SUBSET01/METADATA.XML"]

    rules = _package_rules(validate_xdm(_rewrite(build_xdm([example_bytes(CR_GM)]), drop_metadata)))
    assert rules["xdm-metadata-missing"] == "IHE_XDM/SUBSET01/METADATA.XML"


def test_path_traversal_is_refused() -> None:
    def add_evil(files):
        files["../../etc/evil.txt"] = b"x"
        files["/abs.txt"] = b"x"

    archive = read_archive(_rewrite(build_xdm([example_bytes(CR_GM)]), add_evil))
    traversal = [f for f in archive.findings if f.rule == "xdm-zip-path-traversal"]
    assert {f.location for f in traversal} == {"../../etc/evil.txt", "/abs.txt"}
    assert not any(name.endswith("evil.txt") for name in archive.files)


def test_zip_bomb_is_refused_without_inflating() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("IHE_XDM/SUBSET01/DOC0001.XML", b"\0" * (20 * 1024 * 1024))
    outcomes = validate_xdm(out.getvalue())
    assert [f.rule for f in outcomes[0].errors] == ["xdm-zip-bomb"]
    assert len(outcomes) == 1


def test_lying_size_headers_do_not_inflate_more() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("README.TXT", b"A" * 1000)
    data = bytearray(out.getvalue())
    # shrink the central directory's uncompressed size: the reader must stop at the declared size
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive = read_archive(bytes(data))
    assert "README.TXT" not in archive.files
    assert any(f.rule in ("xdm-zip-entry-size", "xdm-zip-entry-unreadable") for f in archive.findings)


def test_not_a_zip_and_garbage() -> None:
    outcomes = validate_xdm(b"PK\x03\x04 not really a zip")
    assert [f.rule for f in outcomes[0].errors] == ["xdm-zip-invalid"]


def test_patient_identifiers_are_not_echoed_in_messages() -> None:
    def damage(files):
        metadata = files["IHE_XDM/SUBSET01/METADATA.XML"].decode()
        files["IHE_XDM/SUBSET01/METADATA.XML"] = metadata.replace("279035121518989^^^", "279035121518988^^^").encode()

    outcomes = validate_xdm(_rewrite(build_xdm([example_bytes(CR_GM)]), damage))
    text = " ".join(f.message_fr + f.message_en for o in outcomes for f in o.findings)
    assert "xdm-patientId-document-mismatch" in _package_rules(outcomes)
    assert "27903512151898" not in text
