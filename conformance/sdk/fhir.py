"""FHIR helpers for the suites: national profile URLs, response checks (as SDK rules), Bundle helpers, the
ITI-65 provide bundle."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from conformance.identifiers import (  # noqa: F401  (re-exported for the suites)
    ANNUAIRE,
    CS_ANNUAIRE_SERVER,
    CS_PDSM_RESPONDER,
    FINESS_SYSTEM,
    FR_CORE,
    IDENTITY_RELIABILITY,
    IDNPS_SYSTEM,
    INS_SYSTEMS,
    PDSM,
    PROFILE_DOCREF,
    PROFILE_ORGANIZATION,
    PROFILE_PATIENT,
    PROFILE_PATIENT_INS,
    PROFILE_PRACTITIONER,
    PROFILE_PRACTITIONER_ROLE,
    PROFILE_PROVIDE_BUNDLE,
    PROFILE_SUBMISSIONSET,
    RPPS_SYSTEM,
)
from conformance.sdk.checks import require
from conformance.sdk.rules import SHALL, RuleSet
from conformance.transport.http import FhirResponse

Json = dict[str, Any]  # a FHIR resource as parsed JSON

HARNESS_TAG = {"system": "urn:hopen-conformance", "code": "harness-provided"}
SUBMISSIONSET_CODE = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|submissionset"

rules = RuleSet("fhir")
HTTP_STATUS = rules.rule(
    "http-status",
    "fhir-r4.http.status",
    SHALL,
    fr="{url} : HTTP {status} au lieu de {expected}",
    en="{url}: HTTP {status} instead of {expected}",
)
NOT_A_RESOURCE = rules.rule(
    "fhir-not-a-resource",
    "fhir-r4.http.status",
    SHALL,
    fr="{url} : la réponse n'est pas une ressource FHIR JSON (Content-Type {content_type})",
    en="{url}: the response is not a FHIR JSON resource (Content-Type {content_type})",
    code="structure",
)
RESOURCE_TYPE = rules.rule(
    "fhir-resource-type",
    "fhir-r4.http.status",
    SHALL,
    fr="{url} : {got} reçu au lieu de {expected}",
    en="{url}: got {got} instead of {expected}",
    code="structure",
)
SEARCH_BUNDLE_TYPE = rules.rule(
    "fhir-search-bundle-type",
    "fhir-r4.search.bundle",
    SHALL,
    fr="Bundle.type = {got!r} au lieu de 'searchset'",
    en="Bundle.type = {got!r} instead of 'searchset'",
    code="structure",
)


def expect_status(response: FhirResponse, *allowed: int) -> None:
    """The response has one of the `allowed` HTTP statuses, or the block stops (rule http-status)."""
    expected = "/".join(map(str, allowed))
    require(
        response.status in allowed,
        HTTP_STATUS,
        response.url,
        url=response.url,
        status=response.status,
        expected=expected,
    )


def expect_resource(response: FhirResponse, resource_type: str) -> dict[str, Any]:
    """The response body is a FHIR JSON resource of `resource_type`, or the block stops."""
    content_type = response.content_type or "absent"
    resource = require(response.resource, NOT_A_RESOURCE, response.url, url=response.url, content_type=content_type)
    got = resource.get("resourceType")
    require(got == resource_type, RESOURCE_TYPE, response.url, url=response.url, got=got, expected=resource_type)
    return resource


def search_bundle(response: FhirResponse) -> dict[str, Any]:
    """The Bundle a search answered with HTTP 200, or the block stops. Its type is not judged here: that is
    requirement fhir-r4.search.bundle's own test (`searchset_bundle`), so a collection Bundle does not fail
    every test that searches."""
    expect_status(response, 200)
    return expect_resource(response, "Bundle")


def searchset_bundle(response: FhirResponse) -> dict[str, Any]:
    """A Bundle of type searchset answered with HTTP 200, or the block stops (rule fhir-search-bundle-type)."""
    bundle = search_bundle(response)
    require(bundle.get("type") == "searchset", SEARCH_BUNDLE_TYPE, "Bundle.type", got=bundle.get("type"))
    return bundle


def matches(bundle: Json, resource_type: str | None = None) -> list[Json]:
    result = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        mode = (entry.get("search") or {}).get("mode", "match")
        if mode == "match" and (resource_type is None or resource.get("resourceType") == resource_type):
            result.append(resource)
    return result


def link(bundle: Json, relation: str) -> str | None:
    for item in bundle.get("link") or []:
        if isinstance(item, dict) and item.get("relation") == relation:
            return item.get("url")
    return None


def ins_identifiers(patient: Json) -> list[Json]:
    return [i for i in patient.get("identifier") or [] if isinstance(i, dict) and i.get("system") in INS_SYSTEMS]


def identity_status(patient: Json) -> str | None:
    for ext in patient.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == IDENTITY_RELIABILITY:
            for part in ext.get("extension") or []:
                if isinstance(part, dict) and part.get("url") == "identityStatus":
                    return (part.get("valueCoding") or {}).get("code")
    return None


def has_identifier(resource: Json, system: str, value: str) -> bool:
    return any(
        isinstance(i, dict) and i.get("system") == system and i.get("value") == value
        for i in resource.get("identifier") or []
    )


def sha1_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def provide_bundle(patient_ref: str, cda: bytes, *, source: str = "urn:oid:1.2.250.1.999.2") -> Json:
    """An ITI-65 comprehensive provide document bundle: SubmissionSet List, DocumentReference, Binary (the CDA)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = {name: f"urn:uuid:{uuid.uuid4()}" for name in ("list", "docref", "binary")}
    unique = f"urn:oid:1.2.250.1.999.3.{uuid.uuid4().int % 10**12}"
    type_coding = {"system": "http://loinc.org", "code": "11488-4", "display": "Compte rendu de consultation"}
    binary = {"resourceType": "Binary", "contentType": "text/xml", "data": base64.b64encode(cda).decode("ascii")}
    docref = {
        "resourceType": "DocumentReference",
        "meta": {"profile": [PROFILE_DOCREF], "tag": [HARNESS_TAG]},
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": unique},
        "status": "current",
        "type": {"coding": [type_coding]},
        "category": [
            {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.1", "code": "10", "display": "Compte rendu"}]}
        ],
        "subject": {"reference": patient_ref},
        "date": now,
        "securityLabel": [{"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.13", "code": "N", "display": "Normal"}]}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/xml",
                    "language": "fr-FR",
                    "url": ids["binary"],
                    "size": len(cda),
                    "hash": sha1_base64(cda),
                    "creation": now,
                },
                "format": {"system": "urn:oid:1.2.250.1.213.1.1.4.2.282", "code": "urn:ihe:iti:xds-sd:text:2008"},
            }
        ],
        "context": {
            "practiceSetting": {"coding": [{"system": "urn:oid:1.2.250.1.213.1.1.4.9", "code": "ETABLISSEMENT"}]}
        },
    }
    submission_set = {
        "resourceType": "List",
        "meta": {"profile": [PROFILE_SUBMISSIONSET], "tag": [HARNESS_TAG]},
        "extension": [
            {
                "url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
                "valueIdentifier": {"value": source},
            }
        ],
        "identifier": [
            {
                "use": "usual",
                "system": "urn:ietf:rfc:3986",
                "value": f"urn:oid:1.2.250.1.999.4.{uuid.uuid4().int % 10**12}",
            },
            {"use": "official", "system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        ],
        "status": "current",
        "mode": "working",
        "code": {
            "coding": [{"system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes", "code": "submissionset"}]
        },
        "subject": {"reference": patient_ref},
        "date": now,
        "entry": [{"item": {"reference": ids["docref"]}}],
    }
    entries = [
        (ids["list"], submission_set, "List"),
        (ids["docref"], docref, "DocumentReference"),
        (ids["binary"], binary, "Binary"),
    ]
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [PROFILE_PROVIDE_BUNDLE]},
        "type": "transaction",
        "entry": [
            {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": rtype}}
            for full_url, resource, rtype in entries
        ],
    }


def provided_by_harness(resource: Json) -> bool:
    """Resources a previous ITI-65 of this harness created: they show our input, not the system's data."""
    tags = (resource.get("meta") or {}).get("tag") or []
    return any(isinstance(t, dict) and t.get("system") == HARNESS_TAG["system"] for t in tags)


def first_reference(resource: Json, path: str) -> str | None:
    value: Any = resource
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value.get("reference") if isinstance(value, dict) else None
