"""Where the seeded faults act in the documents the reference system produces (reference/documents.py): one
hook class per fault overriding the hook points of `DocumentFault` it needs; `DocumentFaultHooks` calls the
active faults' hooks in turn. Hook points: `cda` (the CDA document written alone), `xdm_package` (the IHE XDM package written).
"""

from __future__ import annotations

import hashlib
import io
import re
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

    def cda(self, content: bytes) -> bytes:
        """The CDA document written alone (the XDM package carries its own copy)."""
        return content

    def xdm_package(self, package: bytes) -> bytes:
        return package


class DocumentFaultHooks(DocumentFault):
    def __init__(self, faults: Iterable[DocumentFault] = ()) -> None:
        self.faults = tuple(faults)

    def cda(self, content: bytes) -> bytes:
        for fault in self.faults:
            content = fault.cda(content)
        return content

    def xdm_package(self, package: bytes) -> bytes:
        for fault in self.faults:
            package = fault.xdm_package(package)
        return package


class CdaInvalid(DocumentFault):
    def cda(self, content: bytes) -> bytes:
        # the CDA loses its title (required by the CDA schema and the CI-SIS)
        return re.sub(rb"<title>.*?</title>", b"", content, count=1, flags=re.S)


class XdmHashTampered(DocumentFault):
    def xdm_package(self, package: bytes) -> bytes:
        return tamper_xdm_hash(package)
