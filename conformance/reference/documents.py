"""Documents the reference system "produces": the CI-SIS CDA it serves, alone and in an IHE XDM package (an
MSSanté attachment), written to a folder for the campaign's produced-documents suite to judge."""

from __future__ import annotations

from pathlib import Path

from conformance.reference.document_faults import tamper_xdm_hash
from conformance.reference.faults import document_hooks
from conformance.reference.test_data import TestData

# tamper_xdm_hash stays importable from here: the MSSanté suite builds its broken-hash probe with it
__all__ = ["CDA_FILE", "XDM_FILE", "tamper_xdm_hash", "write_produced_documents"]

CDA_FILE = "compte-rendu.xml"
XDM_FILE = "IHE_XDM.ZIP"


def write_produced_documents(folder: Path, data: TestData, faults: frozenset[str]) -> list[Path]:
    from conformance.validation.cda.xdm_build import build_xdm

    folder.mkdir(parents=True, exist_ok=True)
    hooks = document_hooks(faults)
    package = hooks.xdm_package(build_xdm([data.cda_bytes]))
    cda, xdm = folder / CDA_FILE, folder / XDM_FILE
    cda.write_bytes(hooks.cda(data.cda_bytes))
    xdm.write_bytes(package)
    return [cda, xdm]
