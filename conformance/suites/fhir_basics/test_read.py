"""read, meta.versionId, ETag, conditional read, vread: one requirement each."""

from __future__ import annotations

import pytest

from conformance.sdk import expect, verifies
from conformance.sdk.fhir import expect_resource, expect_status
from conformance.suites.fhir_basics.rules import (
    ETAG_MISSING,
    ETAG_VERSION,
    IF_NONE_MATCH,
    READ_ID,
    READ_VERSION_ID,
    VREAD_STATUS,
    VREAD_VERSION,
)


@pytest.fixture(scope="module")
def patient(fhir_client, any_patient_id) -> dict:
    response = fhir_client.read("Patient", any_patient_id)
    expect_status(response, 200)
    return expect_resource(response, "Patient")


def _version(patient: dict) -> str:
    return str((patient.get("meta") or {}).get("versionId") or "")


@verifies("fhir-r4.read.id", "fhir.rest.read", title_en="read returns the resource with the id asked for")
def test_read_id(any_patient_id, patient):
    """La lecture renvoie la ressource de l'id demandé"""
    got = patient.get("id")
    expect(got == any_patient_id, READ_ID, "Patient.id", got=got, asked=any_patient_id)


@verifies("fhir-r4.read.version-id", "fhir.rest.read", title_en="read returns meta.versionId")
def test_version_id(patient):
    """La lecture renvoie meta.versionId"""
    expect(_version(patient), READ_VERSION_ID, "Patient.meta.versionId")


@verifies("fhir-r4.read.etag", "fhir.rest.read", title_en='read carries an ETag W/"versionId"')
def test_etag(fhir_client, any_patient_id, patient):
    """La lecture porte un ETag W/"versionId\""""
    response = fhir_client.read("Patient", any_patient_id)
    etag = response.headers.get("ETag", "").strip()
    if not expect(etag, ETAG_MISSING, "ETag"):
        return
    version = _version(patient)
    if version:  # without meta.versionId (its own requirement), only the ETag's presence is judged
        expect(etag == f'W/"{version}"', ETAG_VERSION, "ETag", etag=etag, version=version)


@verifies("fhir-r4.read.conditional", "fhir.rest.read", title_en="If-None-Match with the current version returns 304")
def test_if_none_match(fhir_client, any_patient_id, patient, lang):
    """If-None-Match avec la version courante renvoie 304"""
    first = fhir_client.read("Patient", any_patient_id)
    etag = first.headers.get("ETag", "").strip() or (f'W/"{_version(patient)}"' if _version(patient) else "")
    if not etag:
        pytest.skip(
            "ni ETag ni meta.versionId : aucune version à présenter"
            if lang == "fr"
            else "neither ETag nor meta.versionId: no version to present"
        )
    conditional = fhir_client.read("Patient", any_patient_id, headers={"If-None-Match": etag})
    expect(conditional.status == 304, IF_NONE_MATCH, "If-None-Match", etag=etag, status=conditional.status)


@verifies("fhir-r4.read.vread", "fhir.rest.read", title_en="vread returns the requested version")
def test_vread(fhir_client, any_patient_id, patient, lang):
    """vread renvoie la version demandée"""
    version = _version(patient)
    if not version:
        pytest.skip("meta.versionId absent : vread impossible" if lang == "fr" else "meta.versionId missing: no vread")
    response = fhir_client.vread("Patient", any_patient_id, version)
    if not expect(response.status == 200, VREAD_STATUS, response.url, url=response.url, status=response.status):
        return
    resource = expect_resource(response, "Patient")
    got_version, got_id = (resource.get("meta") or {}).get("versionId"), resource.get("id")
    expect(
        got_version == version and got_id == any_patient_id,
        VREAD_VERSION,
        "Patient.meta.versionId",
        version=version,
        got_version=got_version,
        got_id=got_id,
    )
