"""The reference system's DMP-feeding client: a conformant document source that sends a real CI-SIS document
with its metadata and a signed VIHF (ITI-41), then searches (ITI-18), retrieves (ITI-43), masks and archives it
(ITI-57). Each `dmp-*` source fault changes one thing, so the harness's DMP suite fails exactly its test.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from conformance.config import Timeouts, TlsConfig
from conformance.transport.mtom import Part
from conformance.transport.soap import WSA_NS, SoapClient
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import ProvideRequest, confidentiality_update, provide_request, status_update
from conformance.validation.xds.ebrim import CLASSIFICATIONS, NS

from .pki import DmpPki
from .simulator import REPOSITORY_ID
from .source import DocumentSource, SigningMaterial, documents_of, soap11, vihf_for

LOCAL_PATIENT = "1234567890121^^^&1.2.3.4.567.8.9.10&ISO^PI"  # the CI-SIS example's own patient id (an IPP)
SOURCE_FAULTS = frozenset(
    {
        "dmp-no-tls",
        "dmp-tls-wrong-cert",
        "dmp-soap11",
        "dmp-action-missing",
        "dmp-truncated-multipart",
        "dmp-missing-part",
        "dmp-vihf-missing",
        "dmp-vihf-signature-broken",
        "dmp-vihf-attribute-missing",
        "dmp-vihf-version-wrong",
        "dmp-vihf-structure-mismatch",
        "dmp-metadata-missing",
        "dmp-authorperson-no-name",
        "dmp-authorinstitution-format",
        "dmp-patientid-not-ins",
        "dmp-ins-unknown-oid",
        "dmp-classcode-unknown",
        "dmp-hash-wrong",
        "dmp-xades-missing",
        "dmp-xades-manifest-wrong",
        "dmp-size-wrong",
        "dmp-uniqueid-mismatch",
        "dmp-cda-invalid",
        "dmp-query-no-patient",
        "dmp-update-wrong-status",
    }
)


def _values(request: ProvideRequest, name: str):
    return request.payload.iterfind(f".//rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS)


def _set_external(request: ProvideRequest, schemes: tuple[str, ...], value: str) -> None:
    for element in request.payload.iterfind(".//rim:ExternalIdentifier", NS):
        if element.get("identificationScheme") in schemes:
            element.set("value", value)


def _cda_faults(content: bytes, faults: frozenset[str]) -> bytes:
    if "dmp-ins-unknown-oid" in faults:  # an identifier claiming the INS arc with an OID that is no INS authority
        content = content.replace(b'root="1.2.250.1.213.1.4.10"', b'root="1.2.250.1.213.1.4.99"')
    if "dmp-cda-invalid" in faults:  # the CDA loses its title (required by the CDA schema and the CI-SIS)
        content = re.sub(rb"<title>.*?</title>", b"", content, count=1, flags=re.S)
    return content


def _metadata_faults(request: ProvideRequest, faults: frozenset[str]) -> None:
    entry = request.entry
    if "dmp-hash-wrong" in faults:
        next(_values(request, "hash")).text = hashlib.sha1(b"another document", usedforsecurity=False).hexdigest()
    if "dmp-size-wrong" in faults:
        value = next(_values(request, "size"))
        value.text = str(int(value.text or "0") + 1)
    if "dmp-patientid-not-ins" in faults:
        _set_external(request, (ebrim.PATIENT_ID, ebrim.SS_PATIENT_ID), LOCAL_PATIENT)
    if "dmp-authorperson-no-name" in faults:
        for value in _values(request, "authorPerson"):
            parts = (value.text or "").split("^")
            parts[1] = parts[2] = ""
            value.text = "^".join(parts)
    if "dmp-authorinstitution-format" in faults:  # the outdated CDAHeaderToXDM.xsl form, without &…&ISO
        for value in _values(request, "authorInstitution"):
            value.text = (value.text or "").replace("&1.2.250.1.71.4.2.2&ISO", "1.2.250.1.71.4.2.2")
    if "dmp-classcode-unknown" in faults:
        scheme = CLASSIFICATIONS["classCode"]
        entry.find(f"rim:Classification[@classificationScheme='{scheme}']", NS).set("nodeRepresentation", "99")
    if "dmp-uniqueid-mismatch" in faults:
        _set_external(request, (ebrim.UNIQUE_ID,), "1.2.250.1.999.42.1")
    if "dmp-metadata-missing" in faults:
        for name in ("legalAuthenticator", "languageCode"):
            entry.remove(entry.find(f"rim:Slot[@name='{name}']", NS))
    if "dmp-missing-part" in faults:
        request.document[0].set("href", "cid:absent@hopen-conformance")


def _transport(faults: frozenset[str]) -> Callable[[str, bytes, list[Part]], tuple[str, bytes]] | None:
    def mutate(content_type: str, body: bytes, _parts: list[Part]) -> tuple[str, bytes]:
        if "dmp-soap11" in faults:
            body = soap11(body)
        if "dmp-action-missing" in faults:
            body = re.sub(rb"<wsa:Action[^>]*>[^<]*</wsa:Action>", b"", body, count=1)
        if "dmp-truncated-multipart" in faults:
            body = body[: len(body) * 2 // 3]
        return content_type, body

    wanted = {"dmp-soap11", "dmp-action-missing", "dmp-truncated-multipart"}
    return mutate if wanted & faults else None


@dataclass
class FeedRun:
    thread: threading.Thread | None = None
    errors: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 60.0) -> bool:
        return self.done.wait(timeout)


def _source(base_url: str, pki: DmpPki, faults: frozenset[str], timeouts: Timeouts) -> DocumentSource:
    cert, key = (pki.other_cert, pki.other_key) if "dmp-tls-wrong-cert" in faults else (pki.client_cert, pki.client_key)
    if "dmp-no-tls" in faults:
        base_url = base_url.replace("https://", "http://", 1)
    tls = TlsConfig(ca_bundle=pki.ca_cert, client_cert=cert, client_key=key)
    client = SoapClient.create(base_url, tls=tls, timeouts=timeouts, sink=None, max_bytes=50 * 1024 * 1024)
    signing = SigningMaterial(pki.signing_cert.read_bytes(), pki.signing_key.read_bytes())
    source = DocumentSource(client, f"{base_url}/repository", f"{base_url}/registry", signing)
    if "dmp-vihf-signature-broken" in faults:
        signed = source.security

        def broken(vihf):
            security = signed(vihf)
            if security is not None:  # changed after signing: the digest no longer matches
                security.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID").text = "899999999999"
            return security

        source.security = broken  # type: ignore[method-assign]
    return source


def feed(
    base_url: str, cda: bytes, pki: DmpPki, faults: frozenset[str] = frozenset(), *, timeouts: Timeouts | None = None
) -> list[str]:
    """Send the scripted sequence to `base_url`; returns the transport errors met (they are the point of some
    faults: the run goes on)."""
    faults = faults & SOURCE_FAULTS
    timeouts = timeouts or Timeouts(connect=5, read=20, total=40, retries=0)
    content = _cda_faults(cda, faults)
    request = provide_request(content)
    _metadata_faults(request, faults)
    vihf = vihf_for(content)
    if "dmp-vihf-attribute-missing" in faults:
        vihf.activity_sector = ""
    if "dmp-vihf-version-wrong" in faults:
        vihf.version = "2.0"
    if "dmp-vihf-structure-mismatch" in faults:
        vihf.structure_id = "1999999999"
    if "dmp-vihf-missing" in faults:
        vihf = None  # type: ignore[assignment]
    source = _source(base_url, pki, faults, timeouts)
    _signature_faults(source, request, faults)
    errors: list[str] = []

    def step(action: Callable[[], object]) -> object:
        try:
            return action()
        except Exception as exc:  # a refused connection is what some faults are about: recorded, not raised
            errors.append(f"{type(exc).__name__}: {exc}")
            return None

    try:
        step(lambda: source.provide(request, vihf, mutate=_transport(faults)))
        query = _find(request.patient_cx, faults)
        reply = step(
            lambda: source.client.call(source.registry_url, ebrim.ITI18, query, security=source.security(vihf))
        )
        entries = documents_of(reply, request.unique_id) if reply is not None else []
        step(lambda: source.retrieve(REPOSITORY_ID, request.unique_id, vihf))
        entry_uuid = entries[0].get("id", "") if entries else f"urn:uuid:{uuid.uuid4()}"  # refused: an unknown id
        if entries:
            masked = confidentiality_update(
                entries[0],
                entries[0].get("lid", ""),
                "1",
                [("N", "2.16.840.1.113883.5.25"), ("MASQUE_PS", "1.2.250.1.213.1.1.4.13")],
            )
            step(lambda: source.update_metadata(masked, vihf))
        new = (
            "urn:oasis:names:tc:ebxml-regrep:StatusType:Hidden"
            if "dmp-update-wrong-status" in faults
            else ebrim.ARCHIVED
        )
        update = status_update(entry_uuid, request.patient_cx, ebrim.APPROVED, new)
        step(lambda: source.client.call(source.registry_url, ebrim.ITI57, update, security=source.security(vihf)))
    finally:
        source.client.close()
    return errors


def _signature_faults(source: DocumentSource, request: ProvideRequest, faults: frozenset[str]) -> None:
    from conformance.validation.xds.metadata import external
    from conformance.validation.xds.xades import add_signature, sign_submission

    if "dmp-xades-missing" in faults:
        source.sign_submissions = False
    if "dmp-xades-manifest-wrong" in faults and source.signing is not None:  # signed over another content
        set_unique = external(request.submission_set, ebrim.SS_UNIQUE_ID)
        other = [(request.unique_id, b"<ClinicalDocument>another document</ClinicalDocument>")]
        add_signature(request, sign_submission(set_unique, other, source.signing.key, source.signing.cert_pem))


def _find(patient_cx: str, faults: frozenset[str]) -> etree._Element:
    from conformance.validation.xds.build import find_documents

    query = find_documents(patient_cx)
    if "dmp-query-no-patient" in faults:
        adhoc = query.find("rim:AdhocQuery", NS)
        adhoc.remove(adhoc.find("rim:Slot[@name='$XDSDocumentEntryPatientId']", NS))
    return query


def start_feed(base_url: str, cda: bytes, pki: DmpPki, faults: frozenset[str] = frozenset()) -> FeedRun:
    run = FeedRun()

    def target() -> None:
        try:
            run.errors.extend(feed(base_url, cda, pki, faults))
        finally:
            run.done.set()

    run.thread = threading.Thread(target=target, name="reference-dmp-feed", daemon=True)
    run.thread.start()
    return run


__all__ = ["SOURCE_FAULTS", "WSA_NS", "feed", "start_feed"]
