"""read, vread, ETag."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect
from conformance.campaign.fhir import expect_resource, expect_status

READ = ("FHIR R4", "§3.1.0.2 read / §3.1.0.3 vread / §3.1.0.5 ETag")


@pytest.fixture(scope="module")
def patient(fhir_client, any_patient_id) -> dict:
    response = fhir_client.read("Patient", any_patient_id)
    expect_status(response, 200)
    return expect_resource(response, "Patient")


@pytest.mark.requirement(*READ, text="GET [base]/[type]/[id] returns the resource with its id and version")
@pytest.mark.capability("fhir.rest.read")
@pytest.mark.title_en("read returns the resource with its id and meta.versionId")
def test_read(fhir_client, any_patient_id, patient):
    """La lecture renvoie la ressource avec son id et meta.versionId"""
    expect(
        patient.get("id") == any_patient_id,
        "read-id",
        "id différent de celui demandé",
        "id differs from the one requested",
        location="Patient.id",
    )
    expect(
        (patient.get("meta") or {}).get("versionId"),
        "read-version-id",
        "meta.versionId absent",
        "meta.versionId missing",
        location="Patient.meta.versionId",
    )


@pytest.mark.requirement(*READ, text='read returns ETag W/"versionId"; If-None-Match with it gives 304')
@pytest.mark.capability("fhir.rest.read")
@pytest.mark.title_en("read carries an ETag and honours If-None-Match")
def test_etag(fhir_client, any_patient_id, patient):
    """La lecture porte un ETag et respecte If-None-Match"""
    response = fhir_client.read("Patient", any_patient_id)
    etag = response.headers.get("ETag", "")
    version = (patient.get("meta") or {}).get("versionId", "")
    expect(etag, "read-etag-missing", "en-tête ETag absent", "ETag header missing", location="ETag")
    expect(
        etag.strip() == f'W/"{version}"',
        "read-etag-version",
        f'ETag {etag!r} ne correspond pas à meta.versionId {version!r} (attendu W/"{version}")',
        f'ETag {etag!r} does not match meta.versionId {version!r} (expected W/"{version}")',
        location="ETag",
    )
    conditional = fhir_client.read("Patient", any_patient_id, headers={"If-None-Match": etag})
    expect(
        conditional.status == 304,
        "read-if-none-match",
        f"If-None-Match avec l'ETag courant: HTTP {conditional.status} au lieu de 304",
        f"If-None-Match with the current ETag: HTTP {conditional.status} instead of 304",
    )


@pytest.mark.requirement(*READ, text="GET [base]/[type]/[id]/_history/[vid]")
@pytest.mark.capability("fhir.rest.read")
@pytest.mark.title_en("vread returns the requested version")
def test_vread(fhir_client, any_patient_id, patient):
    """vread renvoie la version demandée"""
    version = (patient.get("meta") or {}).get("versionId")
    if not version:
        pytest.skip("meta.versionId absent: vread impossible")
    response = fhir_client.vread("Patient", any_patient_id, version)
    expect_status(response, 200)
    resource = expect_resource(response, "Patient")
    expect(
        (resource.get("meta") or {}).get("versionId") == version and resource.get("id") == any_patient_id,
        "vread-version",
        "vread ne renvoie pas la version demandée",
        "vread does not return the requested version",
    )
