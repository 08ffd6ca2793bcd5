"""Documents the reference system "produces": the CI-SIS CDA it serves, alone and in an IHE XDM package (an
MSSanté attachment), written to a folder for the campaign's produced-documents suite to judge."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from conformance.reference.test_data import TestData

CDA_FILE = "compte-rendu.xml"
XDM_FILE = "IHE_XDM.ZIP"


def write_produced_documents(folder: Path, data: TestData, faults: frozenset[str]) -> list[Path]:
    from conformance.validation.cda.xdm_build import build_xdm

    folder.mkdir(parents=True, exist_ok=True)
    package = build_xdm([data.cda_bytes])
    if "xdm-hash-tampered" in faults:
        package = tamper_xdm_hash(package)
    cda, xdm = folder / CDA_FILE, folder / XDM_FILE
    cda.write_bytes(data.cda_bytes)
    xdm.write_bytes(package)
    return [cda, xdm]


def tamper_xdm_hash(package: bytes) -> bytes:
    """The package's METADATA.XML announces the SHA-1 of another content than the document it carries."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.upper().endswith("METADATA.XML"):
                document = next(n for n in source.namelist() if n.upper().endswith("DOC0001.XML"))
                real = hashlib.sha1(source.read(document)).hexdigest()
                content = content.replace(real.encode(), hashlib.sha1(b"another document").hexdigest().encode())
            target.writestr(info, content)
    return out.getvalue()
