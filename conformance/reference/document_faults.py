"""Where the seeded faults act in the documents the reference system produces (reference/documents.py): one
hook class per fault overriding the hook points of `DocumentFault` it needs; `DocumentFaultHooks` calls the
active faults' hooks in turn. Hook point: `xdm_package` (the IHE XDM package written for the campaign).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable


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


class DocumentFault:
    """The conformant behaviour at every hook point; a fault overrides the points where it acts."""

    def xdm_package(self, package: bytes) -> bytes:
        return package


class DocumentFaultHooks(DocumentFault):
    def __init__(self, faults: Iterable[DocumentFault] = ()) -> None:
        self.faults = tuple(faults)

    def xdm_package(self, package: bytes) -> bytes:
        for fault in self.faults:
            package = fault.xdm_package(package)
        return package


class XdmHashTampered(DocumentFault):
    def xdm_package(self, package: bytes) -> bytes:
        return tamper_xdm_hash(package)
