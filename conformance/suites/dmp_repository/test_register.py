"""ITI-41 against the system's repository/registry: the valid submission is registered, defective ones refused."""

from __future__ import annotations

import pytest

from conformance.reference.dmp.source import registry_status
from conformance.sdk import expect, verifies
from conformance.validation.xds import ebrim

from . import defects
from .conftest import expect_soap
from .defects import check_isolated
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

Refusals = list[tuple[str, list[tuple[str, str]]]]


@pytest.fixture(scope="session")
def refusals() -> Refusals:
    """The answers to the defective submissions, for the error-code test (one list per campaign)."""
    return []


def _refused(dmp_source, refusals: Refusals, pair, config, requirement: str) -> None:
    """Send `pair.defective` once it is proven to carry only its defect, and expect a Failure."""
    from conformance.campaign.dmp import rules_from_config

    check_isolated(pair, dmp_source.sign, dmp_source.security, rules_from_config(config.dmp))
    reply = dmp_source.provide(pair.defective.request, pair.defective.vihf)
    expect_soap(reply, requirement)
    status, errors = registry_status(reply)
    refusals.append((status, errors))
    what = pair.defect.name
    expect(status == "Failure", ACCEPTED[requirement], "RegistryResponse/@status", what=what, status=status or "-")


def _vihf_of(config):
    from conformance.campaign.dmp import vihf_content

    return lambda content: vihf_content(config, content)


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
def test_refuses_wrong_hash(provided, dmp_source, config, refusals):
    """Un document à l'empreinte fausse est refusé"""
    pair = defects.wrong_hash(provided.content, _vihf_of(config))
    _refused(dmp_source, refusals, pair, config, "dmp.repository.refuses-hash")


@verifies(
    "dmp.repository.refuses-unknown-patient",
    "dmp.repository.register",
    title_en="A submission for an unknown patient is refused",
)
def test_refuses_unknown_patient(provided, dmp_source, config, refusals):
    """Un lot pour un patient inconnu est refusé"""
    pair = defects.unknown_patient(provided.content, _vihf_of(config), config.dmp.unknown_patient_ins)
    _refused(dmp_source, refusals, pair, config, "dmp.repository.refuses-unknown-patient")


@verifies(
    "dmp.repository.refuses-missing-metadata",
    "dmp.repository.register",
    title_en="A submission missing required metadata is refused",
)
def test_refuses_missing_metadata(provided, dmp_source, config, refusals):
    """Un lot privé de métadonnées obligatoires est refusé"""
    pair = defects.missing_metadata(provided.content, _vihf_of(config))
    _refused(dmp_source, refusals, pair, config, "dmp.repository.refuses-missing-metadata")


@verifies("dmp.repository.error-codes", "dmp.repository.register", title_en="Refusals carry standard XDS error codes")
def test_error_codes_standard(lang, refusals):
    """Les refus portent des codes d'erreur XDS standard"""
    refused = [errors for status, errors in refusals if status == "Failure"]
    if not refused:
        pytest.skip("aucun refus à examiner" if lang == "fr" else "no refusal to examine")
    for errors in refused:
        expect(errors, ERROR_LIST_EMPTY, "RegistryErrorList")
        for code, context in errors:
            expect(code in ebrim.XDS_ERRORS, ERROR_CODE, "RegistryError/@errorCode", code=code)
            expect(context.strip(), ERROR_CONTEXT, "RegistryError/@codeContext", code=code)
