"""Errors returned as OperationOutcome."""

from __future__ import annotations

import uuid

import pytest

from conformance.campaign.checks import expect

ERRORS = ("FHIR R4", "§3.1.0.4 Error handling / OperationOutcome")


def _expect_operation_outcome(response, expected_status: tuple[int, ...]) -> None:
    expect(
        response.status in expected_status,
        "error-status",
        f"HTTP {response.status} au lieu de {'/'.join(map(str, expected_status))}",
        f"HTTP {response.status} instead of {'/'.join(map(str, expected_status))}",
    )
    resource = response.resource
    expect(
        resource is not None and resource.get("resourceType") == "OperationOutcome",
        "error-not-operationoutcome",
        f"l'erreur n'est pas un OperationOutcome (Content-Type {response.content_type or 'absent'})",
        f"the error is not an OperationOutcome (Content-Type {response.content_type or 'absent'})",
    )


@pytest.mark.requirement(*ERRORS, text="read of an unknown id: 404 with an OperationOutcome")
@pytest.mark.capability("fhir.rest.errors")
@pytest.mark.title_en("Reading an unknown resource returns 404 and an OperationOutcome")
def test_unknown_id_is_operation_outcome(fhir_client):
    """La lecture d'une ressource inconnue renvoie 404 et un OperationOutcome"""
    response = fhir_client.read("Patient", f"unknown-{uuid.uuid4().hex[:12]}")
    _expect_operation_outcome(response, (404, 410))


@pytest.mark.requirement(*ERRORS, text="an unknown search parameter with handling=strict: 400 with an OperationOutcome")
@pytest.mark.capability("fhir.rest.errors")
@pytest.mark.title_en("An invalid request returns 4xx and an OperationOutcome")
def test_invalid_request_is_operation_outcome(fhir_client):
    """Une requête invalide renvoie 4xx et un OperationOutcome"""
    response = fhir_client.search("Patient", {"not-a-search-parameter": "x"}, headers={"Prefer": "handling=strict"})
    _expect_operation_outcome(response, (400, 403, 404, 422))
