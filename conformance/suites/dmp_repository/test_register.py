"""ITI-41 against the system's repository/registry: the valid submission is registered, defective ones refused."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from conformance.reference.dmp.source import registry_status
from conformance.sdk import expect, verifies
from conformance.validation.xds import ebrim
from conformance.validation.xds.ebrim import NS

from .conftest import expect_soap
from .rules import (
    ACCEPTED,
    ERROR_CODE,
    ERROR_CONTEXT,
    ERROR_LIST_EMPTY,
    REFUSED_VALID,
    RESPONSE_ACTION,
    RESPONSE_RELATES_TO,
    RESPONSE_SOAP12,
)

_refusals: list[tuple[str, list[tuple[str, str]]]] = []


def _refused(dmp_source, request, vihf, requirement: str, what: str) -> None:
    reply = dmp_source.provide(request, vihf)
    expect_soap(reply, requirement)
    status, errors = registry_status(reply)
    _refusals.append((status, errors))
    expect(status == "Failure", ACCEPTED[requirement], "RegistryResponse/@status", what=what, status=status or "-")


def _fresh_document(content: bytes) -> bytes:
    """The same CDA under a new document id (metadata then derived from it): only the defect under test differs
    from the registered submission, not a duplicate uniqueId or a uniqueId that is not the CDA's."""
    from lxml import etree

    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    document_id = root.find("{urn:hl7-org:v3}id")
    document_id.set("extension", str(uuid.uuid4().int % 10**12))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@verifies("dmp.repository.accepts-valid", "dmp.repository.register", title_en="A valid submission is registered")
def test_accepts_valid_submission(provided):
    """Un lot valide est enregistré"""
    expect_soap(provided.reply, "dmp.repository.accepts-valid")
    status, errors = registry_status(provided.reply)
    expect(status == "Success", REFUSED_VALID, "RegistryResponse/@status", status=status or "-", errors=errors[:3])


@verifies("dmp.repository.addressed", "dmp.repository.register", title_en="The answer is addressed to the request")
def test_answers_addressed(provided):
    """La réponse est adressée à la requête"""
    expect_soap(provided.reply, "dmp.repository.addressed")
    envelope = provided.reply.envelope
    wanted = ebrim.RESPONSE_ACTIONS[ebrim.ITI41]
    expect(envelope.action == wanted, RESPONSE_ACTION, "Header/Action", action=envelope.action, expected=wanted)
    expect(bool(envelope.relates_to), RESPONSE_RELATES_TO, "Header/RelatesTo")
    expect(envelope.version == "1.2", RESPONSE_SOAP12, "Envelope", version=envelope.version)


@verifies("dmp.repository.refuses-hash", "dmp.repository.register", title_en="A document with a wrong hash is refused")
def test_refuses_wrong_hash(provided, dmp_source):
    """Un document à l'empreinte fausse est refusé"""
    from conformance.validation.xds.build import provide_request

    request = provide_request(_fresh_document(provided.content))
    for name, value in (("hash", hashlib.sha1(b"another document", usedforsecurity=False).hexdigest()), ("size", "1")):
        request.entry.find(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS).text = value
    _refused(dmp_source, request, provided.vihf, "dmp.repository.refuses-hash", "hash/size")


@verifies(
    "dmp.repository.refuses-unknown-patient",
    "dmp.repository.register",
    title_en="A submission for an unknown patient is refused",
)
def test_refuses_unknown_patient(provided, dmp_source, config):
    """Un lot pour un patient inconnu est refusé"""
    from conformance.campaign.dmp import vihf_content
    from conformance.validation.xds.build import provide_request, read_header

    known = read_header(provided.content).patient_ins[0]
    content = _fresh_document(provided.content.replace(known.encode(), config.dmp.unknown_patient_ins.encode()))
    request = provide_request(content)
    _refused(dmp_source, request, vihf_content(config, content), "dmp.repository.refuses-unknown-patient", "patientId")


@verifies(
    "dmp.repository.refuses-missing-metadata",
    "dmp.repository.register",
    title_en="A submission missing required metadata is refused",
)
def test_refuses_missing_metadata(provided, dmp_source):
    """Un lot privé de métadonnées obligatoires est refusé"""
    from conformance.validation.xds.build import provide_request

    request = provide_request(_fresh_document(provided.content))
    for name in ("legalAuthenticator", "creationTime"):
        request.entry.remove(request.entry.find(f"rim:Slot[@name='{name}']", NS))
    _refused(
        dmp_source,
        request,
        provided.vihf,
        "dmp.repository.refuses-missing-metadata",
        "legalAuthenticator, creationTime",
    )


@verifies("dmp.repository.error-codes", "dmp.repository.register", title_en="Refusals carry standard XDS error codes")
def test_error_codes_standard(lang):
    """Les refus portent des codes d'erreur XDS standard"""
    refusals = [errors for status, errors in _refusals if status == "Failure"]
    if not refusals:
        pytest.skip("aucun refus à examiner" if lang == "fr" else "no refusal to examine")
    for errors in refusals:
        expect(errors, ERROR_LIST_EMPTY, "RegistryErrorList")
        for code, context in errors:
            expect(code in ebrim.XDS_ERRORS, ERROR_CODE, "RegistryError/@errorCode", code=code)
            expect(context.strip(), ERROR_CONTEXT, "RegistryError/@codeContext", code=code)
