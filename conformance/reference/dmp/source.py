"""A DMP document source: ITI-41 with a signed VIHF, then ITI-18, ITI-43 and ITI-57, over SOAP 1.2/MTOM.

Used two ways: as the embedded reference system's DMP-feeding client (a conformant source sending a real
CI-SIS document, with its seeded `dmp-*` faults), and by the harness acting as a document source against a
system under test that plays repository/registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from conformance.transport.mtom import Part, encode_mtom
from conformance.transport.soap import SOAP11_NS, SoapClient, SoapReply, build_envelope
from conformance.transport.vihf import Coded, SigningKey, VihfContent, load_signing_key, signed_vihf
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import (
    ProvideRequest,
    find_documents,
    get_documents,
    read_header,
    retrieve_request,
    status_update,
)
from conformance.validation.xds.ebrim import NS, external


@dataclass(slots=True)
class SigningMaterial:
    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    password: str | None = field(default=None, repr=False)
    _key: SigningKey | None = field(default=None, init=False, repr=False)

    @property
    def key(self) -> SigningKey:
        """The private key, loaded once (every VIHF and XAdES signature of the run uses it)."""
        if self._key is None:
            self._key = load_signing_key(self.key_pem, self.password)
        return self._key


def vihf_for(content: bytes, *, lps_name: str = "hopen-conformance", structure_id: str | None = None) -> VihfContent:
    """A VIHF describing the CDA's author and structure (indirect mode, reinforced)."""
    header = read_header(content)
    profession = header.specialty.split("^")[0].split("/")[0].removeprefix("G15_") if header.specialty else "10"
    family, given = header.author_xcn.split("^")[1:3]
    return VihfContent(
        subject_nameid=header.author_id,
        subject_id=f"{family} {given}".strip(),
        structure_id=structure_id or header.institution_id,
        activity_sector=f"{header.facility[0] or 'SA01'}^1.2.250.1.71.4.2.4",
        resource_id=header.patient_cx,
        roles=[Coded(profession, "1.2.250.1.71.1.2.7")],
        lps={
            "LPS_ID": "hopen-conformance",
            "LPS_Nom": lps_name,
            "LPS_Version": "1",
            "LPS_ID_HOMOLOGATION_DMP": "HOPEN-TEST",
        },
    )


@dataclass
class Exchange:
    transaction: str
    reply: SoapReply | None
    error: str = ""


class DocumentSource:
    """Sends the DMP transactions. `registry_url` defaults to the repository's (they differ between sources)."""

    def __init__(
        self,
        client: SoapClient,
        repository_url: str,
        registry_url: str | None = None,
        signing: SigningMaterial | None = None,
    ) -> None:
        self.client = client
        self.repository_url = repository_url
        self.registry_url = registry_url or repository_url
        self.signing = signing
        self.sign_submissions = True  # the XAdES-signed submission set the DMP requires (when signing material)

    def security(self, vihf: VihfContent | None) -> etree._Element | None:
        if vihf is None or self.signing is None:
            return None
        return signed_vihf(vihf, self.signing.key, self.signing.cert_pem)

    def provide(
        self,
        request: ProvideRequest,
        vihf: VihfContent | None,
        *,
        mutate: Callable[[str, bytes, list[Part]], tuple[str, bytes]] | None = None,
    ) -> SoapReply:
        """ITI-41, the submission set signed (XAdES) when the source has signing material.
        `mutate(content_type, body, attachments)` may rewrite the HTTP body (transport faults)."""
        self.sign(request)
        security = self.security(vihf)
        envelope = build_envelope(ebrim.ITI41, request.payload, to=self.repository_url, security=security)
        content_type, body = encode_mtom(envelope, request.attachments, action=ebrim.ITI41)
        if mutate is not None:
            content_type, body = mutate(content_type, body, request.attachments)
        return self.client.post(self.repository_url, content_type, body)

    def sign(self, request: ProvideRequest) -> None:
        """Add the submission set's XAdES signature entry (once) over the request's documents as they are now."""
        from conformance.validation.xds.xades import add_signature, is_signature_entry, sign_submission

        if self.signing is None or not self.sign_submissions:
            return
        objects = request.submission_set.getparent()
        if any(is_signature_entry(e) for e in objects.iterfind("rim:ExtrinsicObject", NS)):
            return
        set_unique = external(request.submission_set, ebrim.SS_UNIQUE_ID)
        unique = external(request.entry, ebrim.UNIQUE_ID)  # as the metadata says (a fault may have changed it)
        signature = sign_submission(set_unique, [(unique, request.content())], self.signing.key, self.signing.cert_pem)
        add_signature(request, signature)

    def find(self, patient_cx: str, vihf: VihfContent | None, statuses=(ebrim.APPROVED,)) -> SoapReply:
        return self.client.call(
            self.registry_url, ebrim.ITI18, find_documents(patient_cx, statuses), security=self.security(vihf)
        )

    def get(self, unique_ids: list[str], vihf: VihfContent | None) -> SoapReply:
        return self.client.call(self.registry_url, ebrim.ITI18, get_documents(unique_ids), security=self.security(vihf))

    def retrieve(self, repository_id: str, unique_id: str, vihf: VihfContent | None) -> SoapReply:
        return self.client.call(
            self.repository_url, ebrim.ITI43, retrieve_request(repository_id, unique_id), security=self.security(vihf)
        )

    def update_status(
        self, entry_uuid: str, patient_cx: str, original: str, new: str, vihf: VihfContent | None
    ) -> SoapReply:
        return self.client.call(
            self.registry_url,
            ebrim.ITI57,
            status_update(entry_uuid, patient_cx, original, new),
            security=self.security(vihf),
        )

    def update_metadata(self, request: etree._Element, vihf: VihfContent | None) -> SoapReply:
        return self.client.call(self.registry_url, ebrim.ITI57, request, security=self.security(vihf))


# ---------------------------------------------------------------- reading replies


def registry_status(reply: SoapReply) -> tuple[str, list[tuple[str, str]]]:
    """(status suffix: Success/Failure/PartialSuccess, [(errorCode, codeContext)]) of a registry answer."""
    payload = reply.envelope.payload if reply.envelope is not None else None
    if payload is None:
        return "", []
    response = payload if payload.get("status") else payload.find("rs:RegistryResponse", NS)
    if response is None:
        return "", []
    errors = [(e.get("errorCode", ""), e.get("codeContext", "")) for e in response.iterfind(".//rs:RegistryError", NS)]
    return response.get("status", "").rsplit(":", 1)[-1], errors


def found_entries(reply: SoapReply) -> list[etree._Element]:
    payload = reply.envelope.payload if reply.envelope is not None else None
    return list(payload.iterfind(".//rim:ExtrinsicObject", NS)) if payload is not None else []


def documents_of(reply: SoapReply, unique_id: str) -> list[etree._Element]:
    """The entries of a query answer for one document (a signed submission also registers its signature)."""
    return [e for e in found_entries(reply) if external(e, ebrim.UNIQUE_ID) == unique_id]


def retrieved(reply: SoapReply) -> dict[str, bytes]:
    from conformance.transport.mtom import element_content

    payload = reply.envelope.payload if reply.envelope is not None else None
    documents: dict[str, bytes] = {}
    if payload is None:
        return documents
    for response in payload.iterfind("xdsb:DocumentResponse", NS):
        unique = (response.findtext("xdsb:DocumentUniqueId", "", NS) or "").strip()
        holder = response.find("xdsb:Document", NS)
        if holder is not None:
            documents[unique] = element_content(holder, reply.parts)
    return documents


def soap11(envelope: bytes) -> bytes:
    """The same envelope in the SOAP 1.1 namespace (the CNAM TD2.1 sample capture's form)."""
    return envelope.replace(b"http://www.w3.org/2003/05/soap-envelope", SOAP11_NS.encode())
