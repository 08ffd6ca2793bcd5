"""ITI-41/18/43/57 between a document source and the DMP simulator over mutual TLS on loopback: what a valid
submission gets, and what each defect (metadata, VIHF, envelope, MTOM) makes the simulator answer and record."""

from __future__ import annotations

import contextlib
import hashlib

from conformance.reference.dmp.simulator import REPOSITORY_ID
from conformance.reference.dmp.source import (
    documents_of,
    found_entries,
    registry_status,
    retrieved,
    soap11,
    vihf_for,
)
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import confidentiality_update, provide_request
from conformance.validation.xds.ebrim import NS


def _handshake_failure_recorded(dmp, within: float = 5.0) -> bool:
    """The listener records a failed handshake in its own thread: it may land just after the client gave up."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any("TLS handshake failed" in (e.error or "") for e in dmp.server_sink.exchanges):
            return True
        time.sleep(0.05)
    return False


def _rules(judgement) -> set[str]:
    return {f.rule for f in judgement.failures()}


def test_valid_submission_is_stored_found_retrieved_and_archived(dmp, cda_bytes):
    request, vihf = provide_request(cda_bytes), vihf_for(cda_bytes)
    reply = dmp.source.provide(request, vihf)
    assert registry_status(reply) == ("Success", [])
    assert reply.envelope.action == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
    assert reply.envelope.relates_to  # answers the request's MessageID
    assert dmp.simulator.judgements[0].failures() == []
    entries = documents_of(dmp.source.find(request.patient_cx, vihf), request.unique_id)
    assert len(entries) == 1 and entries[0].get("status") == ebrim.APPROVED
    assert len(found_entries(dmp.source.find(request.patient_cx, vihf))) == 2  # the document and its signature
    documents = retrieved(dmp.source.retrieve(REPOSITORY_ID, request.unique_id, vihf))
    assert documents[request.unique_id] == cda_bytes
    masked = confidentiality_update(
        entries[0],
        entries[0].get("lid"),
        "1",
        [("N", "2.16.840.1.113883.5.25"), ("MASQUE_PS", "1.2.250.1.213.1.1.4.13")],
    )
    assert registry_status(dmp.source.update_metadata(masked, vihf))[0] == "Success"
    codes = {
        c.get("nodeRepresentation")
        for c in documents_of(dmp.source.find(request.patient_cx, vihf), request.unique_id)[0].iterfind(
            "rim:Classification", NS
        )
    }
    assert "MASQUE_PS" in codes
    archive = dmp.source.update_status(entries[0].get("id"), request.patient_cx, ebrim.APPROVED, ebrim.ARCHIVED, vihf)
    assert registry_status(archive)[0] == "Success"
    assert archive.envelope.action == "urn:ihe:iti:2010:UpdateDocumentSet-Response"  # the DMP's hyphen
    assert documents_of(dmp.source.find(request.patient_cx, vihf), request.unique_id) == []
    assert (
        len(documents_of(dmp.source.find(request.patient_cx, vihf, statuses=(ebrim.ARCHIVED,)), request.unique_id)) == 1
    )
    assert len(dmp.server_sink.exchanges) == len(dmp.client_sink.exchanges) == 9


def test_documents_cross_mtom_byte_for_byte_whatever_their_line_endings(dmp, cda_bytes):
    """A CDA with LF (or mixed) line endings keeps its exact bytes: its declared hash and size still match."""
    lf = cda_bytes.replace(b"\r\n", b"\n")
    mixed = lf.replace(b"<title>", b"\r<title>", 1)
    for content in (lf, mixed):
        request = provide_request(content)
        assert registry_status(dmp.source.provide(request, vihf_for(content))) == ("Success", [])
        assert dmp.simulator.judgements[-1].documents[request.entry.get("id")] == content
        assert retrieved(dmp.source.retrieve(REPOSITORY_ID, request.unique_id, None)) == {request.unique_id: content}
        dmp.simulator.store.clear()


def test_wrong_hash_is_refused_with_the_standard_code(dmp, cda_bytes):
    request = provide_request(cda_bytes)
    value = request.entry.find("rim:Slot[@name='hash']/rim:ValueList/rim:Value", NS)
    value.text = hashlib.sha1(b"another document").hexdigest()
    status, errors = registry_status(dmp.source.provide(request, vihf_for(cda_bytes)))
    assert status == "Failure"
    assert [code for code, _ in errors] == ["XDSNonIdenticalHash"]
    assert "xds-hash-mismatch" in errors[0][1] and "SHA-1" in errors[0][1]
    assert dmp.simulator.store == {}


def test_unknown_ins_authority_and_local_identifier_are_errors(dmp, cda_bytes):
    request = provide_request(cda_bytes)
    for element in request.payload.iterfind(".//rim:ExternalIdentifier", NS):
        if element.get("identificationScheme") == ebrim.PATIENT_ID:
            element.set("value", element.get("value").replace("1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.99"))
    dmp.source.provide(request, vihf_for(cda_bytes))
    assert "xds-patientid-ins-unknown-oid" in _rules(dmp.simulator.judgements[0])
    assert "xds-patientid-submissionset-mismatch" in _rules(dmp.simulator.judgements[0])


def test_author_without_names_and_old_institution_format(dmp, cda_bytes):
    request = provide_request(cda_bytes)
    for value in request.payload.iterfind(".//rim:Slot[@name='authorPerson']/rim:ValueList/rim:Value", NS):
        parts = value.text.split("^")
        parts[1] = parts[2] = ""
        value.text = "^".join(parts)
    for value in request.payload.iterfind(".//rim:Slot[@name='authorInstitution']/rim:ValueList/rim:Value", NS):
        value.text = value.text.replace("&1.2.250.1.71.4.2.2&ISO", "1.2.250.1.71.4.2.2")  # the 2017 XSL's form
    dmp.source.provide(request, vihf_for(cda_bytes))
    assert {"xds-authorperson-name", "xds-authorinstitution-format"} <= _rules(dmp.simulator.judgements[0])


def test_uniqueid_must_be_the_cda_id(dmp, cda_bytes):
    request = provide_request(cda_bytes)
    for element in request.entry.iterfind("rim:ExternalIdentifier", NS):
        if element.get("identificationScheme") == ebrim.UNIQUE_ID:
            element.set("value", "1.2.250.1.999.42")
    dmp.source.provide(request, vihf_for(cda_bytes))
    assert _rules(dmp.simulator.judgements[0]) == {"xds-uniqueid-document-mismatch"}


def test_vihf_missing_tampered_and_inconsistent(dmp, cda_bytes):
    dmp.source.provide(provide_request(cda_bytes), None)
    assert _rules(dmp.simulator.judgements[-1]) == {"vihf-missing"}
    signing = dmp.source.signing
    security = dmp.source.security(vihf_for(cda_bytes))
    security[0].find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID").text = "899999999999"
    dmp.source.security = lambda _vihf: security  # type: ignore[method-assign]
    dmp.source.provide(provide_request(cda_bytes), vihf_for(cda_bytes))
    assert _rules(dmp.simulator.judgements[-1]) == {"vihf-signature-invalid"}
    del dmp.source.security
    assert signing is dmp.source.signing
    dmp.source.provide(provide_request(cda_bytes), vihf_for(cda_bytes, structure_id="1999999999"))
    assert "vihf-structure-authorinstitution" in _rules(dmp.simulator.judgements[-1])


def test_another_structure_certificate_is_an_authentication_error(dmp, cda_bytes):
    other = dmp.source_with(dmp.pki.other_cert, dmp.pki.other_key)
    status, _ = registry_status(other.provide(provide_request(cda_bytes), vihf_for(cda_bytes)))
    assert status == "Failure"
    assert {"vihf-tls-mismatch", "vihf-structure-tls-mismatch"} <= _rules(dmp.simulator.judgements[-1])


def test_soap11_envelope_gets_a_version_mismatch_fault_and_is_still_judged(dmp, cda_bytes):
    def to_soap11(content_type, body, _parts):
        return content_type.replace("application/soap+xml", "text/xml"), soap11(body)

    reply = dmp.source.provide(provide_request(cda_bytes), vihf_for(cda_bytes), mutate=to_soap11)
    assert reply.status == 400 and reply.envelope.fault() is not None
    judgement = dmp.simulator.judgements[-1]
    assert "soap-version" in _rules(judgement)
    assert judgement.transaction == "ITI-41" and judgement.documents  # the content was judged all the same


def test_truncated_multipart_and_missing_part(dmp, cda_bytes):
    reply = dmp.source.provide(
        provide_request(cda_bytes), vihf_for(cda_bytes), mutate=lambda ct, body, _p: (ct, body[: len(body) * 2 // 3])
    )
    assert reply.status == 400
    assert _rules(dmp.simulator.judgements[-1]) == {"soap-mtom-truncated"}
    request = provide_request(cda_bytes)
    request.document[0].set("href", "cid:absent@example")
    dmp.source.provide(request, vihf_for(cda_bytes))
    assert _rules(dmp.simulator.judgements[-1]) == {"soap-mtom-missing-part"}  # not also "document missing"


def test_plain_http_to_the_tls_listener_is_recorded_and_fails_fast(dmp, cda_bytes):
    import pytest

    from conformance.transport.http import TransportError

    plain = dmp.source_with(None, None, scheme="http")
    with pytest.raises(TransportError):
        plain.provide(provide_request(cda_bytes), vihf_for(cda_bytes))
    assert _handshake_failure_recorded(dmp)
    assert dmp.simulator.judgements == []


def test_no_client_certificate_is_refused_at_the_handshake(dmp, cda_bytes):
    import pytest

    from conformance.transport.http import TransportError

    anonymous = dmp.source_with(None, None)
    with pytest.raises(TransportError):
        anonymous.provide(provide_request(cda_bytes), vihf_for(cda_bytes))
    assert _handshake_failure_recorded(dmp)


def test_oversized_request_gets_413_and_is_recorded(dmp, cda_bytes):
    from conformance.transport.http import TransportError

    request = provide_request(cda_bytes)
    request.replace_content(cda_bytes + b" " * (3 * 1024 * 1024))
    # the listener answers 413 and closes: the sender may see the answer or a reset while still sending
    with contextlib.suppress(TransportError):
        assert dmp.source.provide(request, vihf_for(cda_bytes)).status == 413
    assert dmp.server_sink.exchanges[-1].response.status == 413
    assert dmp.simulator.judgements == []


def test_stalling_peer_is_cut_and_recorded(dmp):
    import socket
    import ssl

    context = ssl.create_default_context(cafile=str(dmp.pki.ca_cert))
    context.load_cert_chain(dmp.pki.client_cert, dmp.pki.client_key)
    with (
        socket.create_connection((dmp.server.host, dmp.server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"POST /repository HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<a")
        tls.settimeout(10)
        assert tls.recv(100) == b""  # the server gave up (read timeout) and closed
    errors = [e.error for e in dmp.server_sink.exchanges if e.error]
    assert errors and "not received in time" in errors[-1]


def test_unknown_stored_query_and_unknown_document(dmp, cda_bytes):
    vihf = vihf_for(cda_bytes)
    from conformance.validation.xds.build import find_documents

    request = find_documents("x^^^&1.2.250.1.213.1.4.10&ISO^NH")
    request.find("rim:AdhocQuery", NS).set("id", "urn:uuid:00000000-0000-0000-0000-000000000000")
    reply = dmp.source.client.call(dmp.source.registry_url, ebrim.ITI18, request, security=dmp.source.security(vihf))
    assert registry_status(reply)[1][0][0] == "XDSUnknownStoredQuery"
    status, errors = registry_status(dmp.source.retrieve(REPOSITORY_ID, "1.2.3.4", vihf))
    assert status == "Failure" and errors[0][0] == "XDSDocumentUniqueIdError"
    assert dmp.simulator.judgements[-1].transaction == "ITI-43"


def test_plain_listener_serves_and_counts_bytes(cda_bytes, dmp_pki):
    from conformance.config import Timeouts, TlsConfig
    from conformance.reference.dmp.simulator import DmpSimulator
    from conformance.reference.dmp.source import DocumentSource, SigningMaterial
    from conformance.transport.soap import SoapClient, ThreadedSoapServer

    simulator = DmpSimulator()
    server = ThreadedSoapServer(simulator.handle).start()
    try:
        client = SoapClient.create(
            server.base_url, tls=TlsConfig(), timeouts=Timeouts(retries=0), sink=None, max_bytes=10**7
        )
        signing = SigningMaterial(dmp_pki.signing_cert.read_bytes(), dmp_pki.signing_key.read_bytes())
        source = DocumentSource(client, f"{server.base_url}/repository", signing=signing)
        assert registry_status(source.provide(provide_request(cda_bytes), vihf_for(cda_bytes)))[0] == "Success"
        assert server.guard.total_received > len(cda_bytes)
        assert simulator.judgements[0].tls is False
    finally:
        server.stop()


def test_requests_share_one_kept_alive_connection_until_the_limit(dmp, cda_bytes):
    """One mutual-TLS handshake for a series of requests; the listener closes after `keep_alive_requests`."""
    vihf = vihf_for(cda_bytes)
    for _ in range(3):
        assert registry_status(dmp.source.find("x^^^&1.2.250.1.213.1.4.10&ISO^NH", vihf))[0] == "Success"
    assert dmp.server.connections_accepted == 1
    dmp.server.limits.keep_alive_requests = 2
    for _ in range(4):
        assert registry_status(dmp.source.find("x^^^&1.2.250.1.213.1.4.10&ISO^NH", vihf))[0] == "Success"
    assert dmp.server.connections_accepted == 3  # the kept connection served its 2nd request and closed
    assert all(e.error is None for e in dmp.server_sink.exchanges) and len(dmp.server_sink.exchanges) == 7
