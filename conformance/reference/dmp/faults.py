"""Where the seeded faults act in the reference DMP parts: the DMP-feeding client (dmp/feed.py) and the reference
repository/registry (dmp/simulator.py). One hook class per fault, each overriding the hook points of
`DmpSourceFault` or `DmpRepositoryFault` it needs (every default is the conformant behaviour); the `...Hooks`
classes call the active faults' hooks in turn. The registry (reference/faults.py) names each fault.

Hook points of the feeding client, in the order of its sequence: `cda` (the document sent), `metadata` (the ITI-41
request, in place), `vihf` (None: no VIHF), `url` and `client_certificate` (the connection), `source` (the
document source: signatures, in place), `transport` (the HTTP body of the ITI-41), `find_query` (ITI-18, in
place), `new_status` (ITI-57).
Of the repository: `tolerated` (the findings it acts on), `checks_known_patient`, `stored_content`, `found`
(FindDocuments), `applies_status` (ITI-57), `error_codes`, `registered_status` (ITI-41), `response_action`, `relates_to`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from lxml import etree

from conformance.findings import Finding
from conformance.identifiers import INS_ARC, INS_TEST_NIR_OID
from conformance.transport.vihf import VihfContent
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import ProvideRequest
from conformance.validation.xds.ebrim import CLASSIFICATIONS, NS, external

from .pki import DmpPki
from .source import DocumentSource

LOCAL_PATIENT = "1234567890121^^^&1.2.3.4.567.8.9.10&ISO^PI"  # the CI-SIS example's own patient id (an IPP)
Certificate = tuple[Path, Path]  # (certificate, key)
T = TypeVar("T")


class DmpSourceFault:
    """The conformant feeding client at every hook point; a fault overrides the points where it acts."""

    def cda(self, content: bytes) -> bytes:
        return content

    def metadata(self, request: ProvideRequest) -> None:
        """Change the ITI-41 request in place (its metadata, its document part)."""

    def vihf(self, vihf: VihfContent | None) -> VihfContent | None:
        return vihf

    def url(self, base_url: str) -> str:
        return base_url

    def client_certificate(self, certificate: Certificate, pki: DmpPki) -> Certificate:
        return certificate

    def source(self, source: DocumentSource, request: ProvideRequest) -> None:
        """Change the document source in place (how it signs the VIHF and the submission set)."""

    def transport(self, content_type: str, body: bytes) -> tuple[str, bytes]:
        return content_type, body

    def find_query(self, query: etree._Element) -> None:
        """Change the ITI-18 query in place."""

    def new_status(self, status: str) -> str:
        return status


class DmpSourceFaultHooks(DmpSourceFault):
    def __init__(self, faults: Iterable[DmpSourceFault] = ()) -> None:
        self.faults = tuple(faults)

    def cda(self, content: bytes) -> bytes:
        for fault in self.faults:
            content = fault.cda(content)
        return content

    def metadata(self, request: ProvideRequest) -> None:
        for fault in self.faults:
            fault.metadata(request)

    def vihf(self, vihf: VihfContent | None) -> VihfContent | None:
        for fault in self.faults:
            vihf = fault.vihf(vihf)
        return vihf

    def url(self, base_url: str) -> str:
        for fault in self.faults:
            base_url = fault.url(base_url)
        return base_url

    def client_certificate(self, certificate: Certificate, pki: DmpPki) -> Certificate:
        for fault in self.faults:
            certificate = fault.client_certificate(certificate, pki)
        return certificate

    def source(self, source: DocumentSource, request: ProvideRequest) -> None:
        for fault in self.faults:
            fault.source(source, request)

    def transport(self, content_type: str, body: bytes) -> tuple[str, bytes]:
        for fault in self.faults:
            content_type, body = fault.transport(content_type, body)
        return content_type, body

    def find_query(self, query: etree._Element) -> None:
        for fault in self.faults:
            fault.find_query(query)

    def new_status(self, status: str) -> str:
        for fault in self.faults:
            status = fault.new_status(status)
        return status


class DmpRepositoryFault:
    """The conformant reference repository/registry at every hook point."""

    def tolerated(self, findings: list[Finding]) -> list[Finding]:
        """The validators' findings on a submission that the repository acts on (drop one: it is not checked)."""
        return findings

    def checks_known_patient(self, checks: bool) -> bool:
        return checks

    def stored_content(self, content: bytes) -> bytes:
        return content

    def found(self, found: list[T]) -> list[T]:
        """What FindDocuments returns."""
        return found

    def applies_status(self, applies: bool) -> bool:
        """Whether an accepted ITI-57 status change is applied."""
        return applies

    def error_codes(self, codes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return codes

    def registered_status(self, status: str) -> str:
        """The RegistryResponse status of a submission registered without error."""
        return status

    def response_action(self, action: str, request_action: str) -> str:
        return action

    def relates_to(self, relates_to: str) -> str:
        return relates_to


class DmpRepositoryFaultHooks(DmpRepositoryFault):
    def __init__(self, faults: Iterable[DmpRepositoryFault] = ()) -> None:
        self.faults = tuple(faults)

    def tolerated(self, findings: list[Finding]) -> list[Finding]:
        for fault in self.faults:
            findings = fault.tolerated(findings)
        return findings

    def checks_known_patient(self, checks: bool) -> bool:
        for fault in self.faults:
            checks = fault.checks_known_patient(checks)
        return checks

    def stored_content(self, content: bytes) -> bytes:
        for fault in self.faults:
            content = fault.stored_content(content)
        return content

    def found(self, found: list[T]) -> list[T]:
        for fault in self.faults:
            found = fault.found(found)
        return found

    def applies_status(self, applies: bool) -> bool:
        for fault in self.faults:
            applies = fault.applies_status(applies)
        return applies

    def error_codes(self, codes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for fault in self.faults:
            codes = fault.error_codes(codes)
        return codes

    def registered_status(self, status: str) -> str:
        for fault in self.faults:
            status = fault.registered_status(status)
        return status

    def response_action(self, action: str, request_action: str) -> str:
        for fault in self.faults:
            action = fault.response_action(action, request_action)
        return action

    def relates_to(self, relates_to: str) -> str:
        for fault in self.faults:
            relates_to = fault.relates_to(relates_to)
        return relates_to


def _values(request: ProvideRequest, name: str) -> Iterable[etree._Element]:
    return request.payload.iterfind(f".//rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS)


def _set_external(request: ProvideRequest, schemes: tuple[str, ...], value: str) -> None:
    for element in request.payload.iterfind(".//rim:ExternalIdentifier", NS):
        if element.get("identificationScheme") in schemes:
            element.set("value", value)


# -- the feeding client: the document and its metadata


class InsUnknownOid(DmpSourceFault):
    def cda(self, content: bytes) -> bytes:
        # an identifier claiming the INS arc with an OID that is no INS authority
        return content.replace(f'root="{INS_TEST_NIR_OID}"'.encode(), f'root="{INS_ARC}99"'.encode())


class CdaInvalid(DmpSourceFault):
    def cda(self, content: bytes) -> bytes:
        # the CDA loses its title (required by the CDA schema and the CI-SIS)
        return re.sub(rb"<title>.*?</title>", b"", content, count=1, flags=re.S)


class HashWrong(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        next(iter(_values(request, "hash"))).text = hashlib.sha1(b"another document", usedforsecurity=False).hexdigest()


class SizeWrong(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        value = next(iter(_values(request, "size")))
        value.text = str(int(value.text or "0") + 1)


class PatientIdNotIns(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        _set_external(request, (ebrim.PATIENT_ID, ebrim.SS_PATIENT_ID), LOCAL_PATIENT)


class AuthorPersonNoName(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        for value in _values(request, "authorPerson"):
            parts = (value.text or "").split("^")
            parts[1] = parts[2] = ""
            value.text = "^".join(parts)


class AuthorInstitutionFormat(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        for value in _values(request, "authorInstitution"):  # the outdated CDAHeaderToXDM.xsl form, without &…&ISO
            value.text = (value.text or "").replace("&1.2.250.1.71.4.2.2&ISO", "1.2.250.1.71.4.2.2")


class ClassCodeUnknown(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        scheme = CLASSIFICATIONS["classCode"]
        request.entry.find(f"rim:Classification[@classificationScheme='{scheme}']", NS).set("nodeRepresentation", "99")


class UniqueIdMismatch(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        _set_external(request, (ebrim.UNIQUE_ID,), "1.2.250.1.999.42.1")


class MetadataMissing(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        for name in ("legalAuthenticator", "languageCode"):
            request.entry.remove(request.entry.find(f"rim:Slot[@name='{name}']", NS))


class MissingPart(DmpSourceFault):
    def metadata(self, request: ProvideRequest) -> None:
        request.document[0].set("href", "cid:absent@hopen-conformance")


# -- the feeding client: the VIHF and the signatures


class VihfMissing(DmpSourceFault):
    def vihf(self, vihf: VihfContent | None) -> VihfContent | None:
        return None


class VihfAttributeMissing(DmpSourceFault):
    def vihf(self, vihf: VihfContent | None) -> VihfContent | None:
        if vihf is not None:
            vihf.activity_sector = ""
        return vihf


class VihfVersionWrong(DmpSourceFault):
    def vihf(self, vihf: VihfContent | None) -> VihfContent | None:
        if vihf is not None:
            vihf.version = "2.0"
        return vihf


class VihfStructureMismatch(DmpSourceFault):
    def vihf(self, vihf: VihfContent | None) -> VihfContent | None:
        if vihf is not None:
            vihf.structure_id = "1999999999"
        return vihf


class VihfSignatureBroken(DmpSourceFault):
    def source(self, source: DocumentSource, request: ProvideRequest) -> None:
        signed = source.security

        def broken(vihf: VihfContent | None) -> etree._Element | None:
            security = signed(vihf)
            if security is not None:  # changed after signing: the digest no longer matches
                security.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID").text = "899999999999"
            return security

        source.security = broken  # type: ignore[method-assign]


class XadesMissing(DmpSourceFault):
    def source(self, source: DocumentSource, request: ProvideRequest) -> None:
        source.sign_submissions = False


class XadesManifestWrong(DmpSourceFault):
    def source(self, source: DocumentSource, request: ProvideRequest) -> None:
        from conformance.validation.xds.xades import add_signature, sign_submission

        if source.signing is None:
            return
        set_unique = external(request.submission_set, ebrim.SS_UNIQUE_ID)  # signed over another content
        other = [(request.unique_id, b"<ClinicalDocument>another document</ClinicalDocument>")]
        add_signature(request, sign_submission(set_unique, other, source.signing.key, source.signing.cert_pem))


# -- the feeding client: transport and transactions


class NoTls(DmpSourceFault):
    def url(self, base_url: str) -> str:
        return base_url.replace("https://", "http://", 1)


class TlsWrongCert(DmpSourceFault):
    def client_certificate(self, certificate: Certificate, pki: DmpPki) -> Certificate:
        return pki.other_cert, pki.other_key


class Soap11(DmpSourceFault):
    def transport(self, content_type: str, body: bytes) -> tuple[str, bytes]:
        from .source import soap11

        return content_type, soap11(body)


class ActionMissing(DmpSourceFault):
    def transport(self, content_type: str, body: bytes) -> tuple[str, bytes]:
        return content_type, re.sub(rb"<wsa:Action[^>]*>[^<]*</wsa:Action>", b"", body, count=1)


class TruncatedMultipart(DmpSourceFault):
    def transport(self, content_type: str, body: bytes) -> tuple[str, bytes]:
        return content_type, body[: len(body) * 2 // 3]


class QueryNoPatient(DmpSourceFault):
    def find_query(self, query: etree._Element) -> None:
        adhoc = query.find("rim:AdhocQuery", NS)
        adhoc.remove(adhoc.find("rim:Slot[@name='$XDSDocumentEntryPatientId']", NS))


class UpdateWrongStatus(DmpSourceFault):
    def new_status(self, status: str) -> str:
        return "urn:oasis:names:tc:ebxml-regrep:StatusType:Hidden"


# -- the repository


class RepoHashUnchecked(DmpRepositoryFault):
    def tolerated(self, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if f.rule not in ("xds-hash-mismatch", "xds-size-mismatch")]


class RepoMetadataUnchecked(DmpRepositoryFault):
    def tolerated(self, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if not f.rule.endswith("-missing")]


class RepoUnknownPatientAccepted(DmpRepositoryFault):
    def checks_known_patient(self, checks: bool) -> bool:
        return False


class RepoRetrieveCorrupt(DmpRepositoryFault):
    def stored_content(self, content: bytes) -> bytes:
        return content + b"<!-- altered -->"


class RepoFindEmpty(DmpRepositoryFault):
    def found(self, found: list[T]) -> list[T]:
        return []


class RepoArchiveIgnored(DmpRepositoryFault):
    def applies_status(self, applies: bool) -> bool:
        return False


class RepoErrorCodeWrong(DmpRepositoryFault):
    def error_codes(self, codes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [("DMP_ERREUR", context) for _, context in codes]


class RepoPartialSuccess(DmpRepositoryFault):
    def registered_status(self, status: str) -> str:
        return ebrim.PARTIAL if status == ebrim.SUCCESS else status


class RepoActionWrong(DmpRepositoryFault):
    def response_action(self, action: str, request_action: str) -> str:
        return request_action


class RepoNoRelatesTo(DmpRepositoryFault):
    def relates_to(self, relates_to: str) -> str:
        return ""
