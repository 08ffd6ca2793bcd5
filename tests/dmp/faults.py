"""What each seeded DMP fault shows, judged in-process (no campaign): the source faults through the reference
DMP-feeding client against a judging simulator, the repository faults through probes of the reference
repository. Shared by the fault tests here and the reference fault registry's checks."""

from __future__ import annotations

import functools
import hashlib

from conformance.campaign.dmp import category
from conformance.evidence.exchange import MemorySink
from conformance.reference.dmp.endpoints import CDA_FILE, STRUCTURE_ID, STRUCTURE_NAME
from conformance.reference.dmp.feed import feed
from conformance.reference.dmp.pki import DmpPki, generate_dmp_pki
from conformance.reference.dmp.simulator import DmpSimulator
from conformance.transport.soap import ThreadedSoapServer
from conformance.validation.xds.rules import XdsRules

# source fault -> the dmp-feeding check (category) it must fail, alone
SOURCE_CATEGORY = {
    "dmp-no-tls": "transport",
    "dmp-tls-wrong-cert": "vihf-consistent",
    "dmp-soap11": "soap12",
    "dmp-action-missing": "addressing",
    "dmp-truncated-multipart": "mtom",
    "dmp-missing-part": "mtom",
    "dmp-vihf-missing": "vihf-signed",
    "dmp-vihf-signature-broken": "vihf-signed",
    "dmp-vihf-attribute-missing": "vihf-attributes",
    "dmp-vihf-version-wrong": "vihf-attributes",
    "dmp-vihf-structure-mismatch": "vihf-consistent",
    "dmp-metadata-missing": "required",
    "dmp-authorperson-no-name": "author-formats",
    "dmp-authorinstitution-format": "author-formats",
    "dmp-patientid-not-ins": "patient-ins",
    "dmp-ins-unknown-oid": "patient-ins",
    "dmp-classcode-unknown": "value-sets",
    "dmp-hash-wrong": "hash-size",
    "dmp-xades-missing": "xades",
    "dmp-xades-manifest-wrong": "xades",
    "dmp-size-wrong": "hash-size",
    "dmp-uniqueid-mismatch": "matches-cda",
    "dmp-cda-invalid": "cda",
    "dmp-query-no-patient": "query",
    "dmp-update-wrong-status": "update",
}


@functools.cache
def pki() -> DmpPki:
    return generate_dmp_pki(STRUCTURE_ID, STRUCTURE_NAME)


def cda() -> bytes:
    from conformance import settings

    return (settings.cda_pack_dir() / "ExemplesCDA" / CDA_FILE).read_bytes()


def failing_checks(faults: frozenset[str]) -> set[str]:
    """The dmp-feeding checks (categories, plus "transport") that fail when the reference client has `faults`.
    The CDA check is left to the CDA validator (see `cda_documents`)."""
    material = pki()
    simulator = DmpSimulator(XdsRules(trusted_ca=material.ca_cert.read_bytes()))
    sink = MemorySink()
    server = ThreadedSoapServer(simulator.handle, ssl_context=material.server_context(), sink=sink).start()
    try:
        feed(server.base_url, cda(), material, faults)
    finally:
        server.stop()
    failing = {category(f.rule) for j in simulator.judgements for f in j.failures()}
    if any(e.error for e in sink.exchanges) or any(not j.client_certificate for j in simulator.judgements):
        failing.add("transport")
    FRENCH[faults] = [
        *(f.message("fr") for j in simulator.judgements for f in j.failures()),
        *(context for j in simulator.judgements for _, context in j.errors),
        *(fault.fr for e in sink.exchanges if (fault := server.fault_of(e)) is not None),
    ]
    return failing


# what the last `failing_checks(faults)` said to a French user: findings, codeContexts, listener faults
FRENCH: dict[frozenset[str], list[str]] = {}


def cda_documents(faults: frozenset[str]) -> list[bytes]:
    """The CDA documents the reference client sends with `faults` (plain HTTP, no judging)."""
    material = pki()
    simulator = DmpSimulator()
    server = ThreadedSoapServer(simulator.handle, ssl_context=material.server_context()).start()
    try:
        feed(server.base_url, cda(), material, faults)
    finally:
        server.stop()
    return [c for j in simulator.judgements if j.transaction == "ITI-41" for c in j.documents.values()]


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def repository_shows(faults: frozenset[str], name: str) -> bool:
    """Whether the reference repository started with `faults` shows the repository fault `name` to a probe."""
    from conformance.config import Timeouts, TlsConfig
    from conformance.reference.dmp.endpoints import REFERENCE_PATIENT, ReferenceDmp
    from conformance.reference.dmp.simulator import REPOSITORY_ID
    from conformance.reference.dmp.source import (
        DocumentSource,
        SigningMaterial,
        documents_of,
        registry_status,
        retrieved,
        vihf_for,
    )
    from conformance.transport.soap import SoapClient
    from conformance.validation.xds import ebrim
    from conformance.validation.xds.build import provide_request
    from conformance.validation.xds.ebrim import NS

    material = pki()
    content = cda()
    with ReferenceDmp(faults, pki=material) as reference:
        tls = TlsConfig(ca_bundle=material.ca_cert, client_cert=material.client_cert, client_key=material.client_key)
        client = SoapClient.create(
            reference.base_url, tls=tls, timeouts=Timeouts(retries=0), sink=None, max_bytes=10**7
        )
        signing = SigningMaterial(material.signing_cert.read_bytes(), material.signing_key.read_bytes())
        source = DocumentSource(client, f"{reference.base_url}/repository", signing=signing)
        vihf = vihf_for(content)
        request = provide_request(content)
        if name in ("dmp-repo-hash-unchecked", "dmp-repo-error-code-wrong"):
            request.entry.find("rim:Slot[@name='hash']/rim:ValueList/rim:Value", NS).text = sha1(b"other")
        if name == "dmp-repo-metadata-unchecked":
            request.entry.remove(request.entry.find("rim:Slot[@name='legalAuthenticator']", NS))
        if name == "dmp-repo-unknown-patient-accepted":
            content = content.replace(REFERENCE_PATIENT.encode(), b"299999999999945")
            request, vihf = provide_request(content), vihf_for(content)
        reply = source.provide(request, vihf)
        status, errors = registry_status(reply)
        if name in ("dmp-repo-hash-unchecked", "dmp-repo-metadata-unchecked", "dmp-repo-unknown-patient-accepted"):
            return status == "Success"
        if name == "dmp-repo-partial-success":
            return status == "PartialSuccess"
        if name == "dmp-repo-error-code-wrong":
            return any(code not in ebrim.XDS_ERRORS for code, _ in errors)
        if name == "dmp-repo-action-wrong":
            return reply.envelope.action != ebrim.RESPONSE_ACTIONS[ebrim.ITI41]
        if name == "dmp-repo-no-relatesto":
            return not reply.envelope.relates_to
        entries = documents_of(source.find(request.patient_cx, vihf), request.unique_id)
        if name == "dmp-repo-find-empty":
            return not entries
        if name == "dmp-repo-retrieve-corrupt":
            return retrieved(source.retrieve(REPOSITORY_ID, request.unique_id, vihf)).get(request.unique_id) != content
        if name == "dmp-repo-archive-ignored":
            source.update_status(entries[0].get("id"), request.patient_cx, ebrim.APPROVED, ebrim.ARCHIVED, vihf)
            return bool(documents_of(source.find(request.patient_cx, vihf), request.unique_id))
    raise ValueError(name)
