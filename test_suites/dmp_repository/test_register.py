"""ITI-41 against the system's repository/registry: the valid submission is registered, defective ones refused."""

from __future__ import annotations

import hashlib

import pytest

from conformance.campaign.checks import expect
from conformance.reference.dmp.source import registry_status
from conformance.validation.xds import ebrim
from conformance.validation.xds.ebrim import NS

from .conftest import expect_soap

XDS = ("IHE ITI TF-2b 3.41 / 3.42", "Provide and Register Document Set-b, Register Document Set-b")
_refusals: list[tuple[str, list[tuple[str, str]]]] = []


def _refused(dmp_source, request, vihf, lang: str, what_fr: str, what_en: str):
    reply = dmp_source.provide(request, vihf)
    expect_soap(reply, lang)
    status, errors = registry_status(reply)
    _refusals.append((status, errors))
    expect(
        status == "Failure",
        "dmp-repository-accepted-defective",
        f"lot défectueux ({what_fr}) accepté : statut {status or '(aucun)'} au lieu de Failure",
        f"defective submission ({what_en}) accepted: status {status or '(none)'} instead of Failure",
        code="business-rule",
    )
    return errors


@pytest.mark.requirement(
    *XDS, text="A valid submission with a CI-SIS document is registered (Success)", strength="SHALL"
)
@pytest.mark.capability("dmp.repository.register")
@pytest.mark.title_en("A valid submission is registered")
def test_accepts_valid_submission(provided, lang):
    """Un lot valide est enregistré"""
    expect_soap(provided.reply, lang)
    status, errors = registry_status(provided.reply)
    expect(
        status == "Success",
        "dmp-repository-refused-valid",
        f"lot valide refusé : {status or '(aucun statut)'} {errors[:3]}",
        f"valid submission refused: {status or '(no status)'} {errors[:3]}",
    )


@pytest.mark.requirement(
    "WS-Addressing 1.0 / CNAM DMPi",
    "Action de réponse, RelatesTo",
    text="The answer carries the response action and relates to the request",
    strength="SHALL",
)
@pytest.mark.capability("dmp.repository.register")
@pytest.mark.title_en("The answer is addressed to the request")
def test_answers_addressed(provided, lang):
    """La réponse est adressée à la requête"""
    expect_soap(provided.reply, lang)
    envelope = provided.reply.envelope
    wanted = ebrim.RESPONSE_ACTIONS[ebrim.ITI41]
    expect(
        envelope.action == wanted,
        "dmp-response-action",
        f"Action {envelope.action!r} au lieu de {wanted}",
        f"Action {envelope.action!r} instead of {wanted}",
    )
    expect(bool(envelope.relates_to), "dmp-response-relatesto", "réponse sans RelatesTo", "answer without RelatesTo")
    expect(envelope.version == "1.2", "dmp-response-soap12", "réponse hors SOAP 1.2", "answer not in SOAP 1.2")


@pytest.mark.requirement(*XDS, text="A document whose hash and size do not match is refused", strength="SHALL")
@pytest.mark.capability("dmp.repository.register")
@pytest.mark.title_en("A document with a wrong hash is refused")
def test_refuses_wrong_hash(provided, dmp_source, lang):
    """Un document à l'empreinte fausse est refusé"""
    from conformance.validation.xds.build import provide_request

    request = provide_request(provided.content)
    _set_unique(request)
    for name, value in (("hash", hashlib.sha1(b"another document", usedforsecurity=False).hexdigest()), ("size", "1")):
        request.entry.find(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS).text = value
    _refused(dmp_source, request, provided.vihf, lang, "empreinte fausse", "wrong hash")


@pytest.mark.requirement(
    *XDS, text="A submission for a patient the registry does not know is refused", strength="SHALL"
)
@pytest.mark.capability("dmp.repository.register")
@pytest.mark.title_en("A submission for an unknown patient is refused")
def test_refuses_unknown_patient(provided, dmp_source, config, lang):
    """Un lot pour un patient inconnu est refusé"""
    from conformance.campaign.dmp import vihf_content
    from conformance.validation.xds.build import provide_request, read_header

    known = read_header(provided.content).patient_ins[0]
    content = provided.content.replace(known.encode(), config.dmp.unknown_patient_ins.encode())
    request = provide_request(content)
    _set_unique(request)
    _refused(dmp_source, request, vihf_content(config, content), lang, "patient inconnu", "unknown patient")


@pytest.mark.requirement(*XDS, text="A submission missing required metadata is refused", strength="SHALL")
@pytest.mark.capability("dmp.repository.register")
@pytest.mark.title_en("A submission missing required metadata is refused")
def test_refuses_missing_metadata(provided, dmp_source, lang):
    """Un lot privé de métadonnées obligatoires est refusé"""
    from conformance.validation.xds.build import provide_request

    request = provide_request(provided.content)
    _set_unique(request)
    for name in ("legalAuthenticator", "creationTime"):
        request.entry.remove(request.entry.find(f"rim:Slot[@name='{name}']", NS))
    _refused(dmp_source, request, provided.vihf, lang, "métadonnées manquantes", "missing metadata")


@pytest.mark.requirement(
    "IHE ITI TF-3 4.2.4.1",
    "RegistryError errorCode, codeContext",
    text="Refusals name a standard XDS error code with a readable codeContext",
    strength="SHALL",
)
@pytest.mark.capability("dmp.repository.register")
@pytest.mark.title_en("Refusals carry standard XDS error codes")
def test_error_codes_standard(lang):
    """Les refus portent des codes d'erreur XDS standard"""
    refusals = [errors for status, errors in _refusals if status == "Failure"]
    if not refusals:
        pytest.skip("aucun refus à examiner" if lang == "fr" else "no refusal to examine")
    for errors in refusals:
        expect(errors, "dmp-error-list-empty", "refus sans RegistryError", "refusal without RegistryError")
        for code, context in errors:
            expect(
                code in ebrim.XDS_ERRORS,
                "dmp-error-code",
                f"code d'erreur {code!r} non standard",
                f"non-standard error code {code!r}",
            )
            expect(context.strip(), "dmp-error-context", f"{code} sans codeContext", f"{code} without codeContext")


def _set_unique(request) -> None:
    """A fresh document uniqueId (and the CDA's is left alone): only the defect under test differs."""
    import uuid

    for element in request.entry.iterfind("rim:ExternalIdentifier", NS):
        if element.get("identificationScheme") == ebrim.UNIQUE_ID:
            element.set("value", f"{element.get('value').split('^')[0]}.{uuid.uuid4().int % 10**9}")
