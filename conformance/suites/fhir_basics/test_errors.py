"""Errors: the status of a read of an unknown id, strict handling, error bodies as OperationOutcome."""

from __future__ import annotations

import uuid

import pytest

from conformance.sdk import expect, verifies
from conformance.suites.fhir_basics.rules import NOT_OPERATION_OUTCOME, STRICT_IGNORED, UNKNOWN_ID_STATUS


def _unknown_read(fhir_client):
    return fhir_client.read("Patient", f"unknown-{uuid.uuid4().hex[:12]}")


def _strict_search(fhir_client):
    return fhir_client.search("Patient", {"not-a-search-parameter": "x"}, headers={"Prefer": "handling=strict"})


def _expect_operation_outcome(response, lang: str) -> None:
    if response.status < 400:
        pytest.skip(
            f"HTTP {response.status} : pas de réponse d'erreur à juger"
            if lang == "fr"
            else f"HTTP {response.status}: no error response to judge"
        )
    resource = response.resource
    expect(
        resource is not None and resource.get("resourceType") == "OperationOutcome",
        NOT_OPERATION_OUTCOME,
        response.url,
        status=response.status,
        content_type=response.content_type or "absent",
    )


@verifies("fhir-r4.read.unknown-id", "fhir.rest.errors", title_en="Reading an unknown resource returns 404 (or 410)")
def test_unknown_id_status(fhir_client):
    """La lecture d'une ressource inconnue renvoie 404 (ou 410)"""
    response = _unknown_read(fhir_client)
    expect(response.status in (404, 410), UNKNOWN_ID_STATUS, response.url, status=response.status)


@verifies(
    "fhir-r4.errors.operation-outcome",
    "fhir.rest.errors",
    title_en="The error on reading an unknown resource is an OperationOutcome",
)
def test_unknown_id_is_operation_outcome(fhir_client, lang):
    """L'erreur à la lecture d'une ressource inconnue est un OperationOutcome"""
    _expect_operation_outcome(_unknown_read(fhir_client), lang)


@verifies(
    "fhir-r4.search.strict",
    "fhir.rest.errors",
    title_en="With Prefer: handling=strict, an unknown search parameter is rejected",
)
@pytest.mark.fhir_probe
def test_strict_unknown_parameter_rejected(fhir_client):
    """Avec Prefer: handling=strict, un paramètre de recherche inconnu est rejeté"""
    response = _strict_search(fhir_client)
    expect(400 <= response.status < 500, STRICT_IGNORED, response.url, status=response.status)


@verifies(
    "fhir-r4.errors.operation-outcome",
    "fhir.rest.errors",
    title_en="The error on an invalid request is an OperationOutcome",
)
@pytest.mark.fhir_probe
def test_invalid_request_is_operation_outcome(fhir_client, lang):
    """L'erreur sur une requête invalide est un OperationOutcome"""
    _expect_operation_outcome(_strict_search(fhir_client), lang)
