"""The reference server's CapabilityStatement (GET [base]/metadata): every supported type, its interactions and
search parameters, the PDSm responder and Annuaire server statements it instantiates."""

from __future__ import annotations

from typing import Any

from conformance import __version__
from conformance.identifiers import (
    CS_ANNUAIRE_SERVER,
    CS_PDSM_RESPONDER,
    IG_ANNUAIRE,
    IG_FR_CORE,
    IG_PDSM,
    PROFILE_DOCREF,
    PROFILE_FOLDER,
    PROFILE_FR_ORGANIZATION,
    PROFILE_FR_PRACTITIONER,
    PROFILE_FR_PRACTITIONER_ROLE,
    PROFILE_ORGANIZATION,
    PROFILE_PATIENT,
    PROFILE_PATIENT_INS,
    PROFILE_PRACTITIONER,
    PROFILE_PRACTITIONER_ROLE,
    PROFILE_SUBMISSIONSET,
)
from conformance.reference.fhir.negotiation import JSON_PATCH
from conformance.reference.fhir_store import SEARCH_PARAMS, SUPPORTED_TYPES, Resource

SUPPORTED_PROFILES = {
    "Patient": [PROFILE_PATIENT, PROFILE_PATIENT_INS],
    "Practitioner": [PROFILE_FR_PRACTITIONER, PROFILE_PRACTITIONER],
    "PractitionerRole": [PROFILE_FR_PRACTITIONER_ROLE, PROFILE_PRACTITIONER_ROLE],
    "Organization": [PROFILE_FR_ORGANIZATION, PROFILE_ORGANIZATION],
    "DocumentReference": [PROFILE_DOCREF],
    "List": [PROFILE_SUBMISSIONSET, PROFILE_FOLDER],
    "Binary": [],
}
BASE_PROFILE = {t: f"http://hl7.org/fhir/StructureDefinition/{t}" for t in SUPPORTED_TYPES}
COMMON_SEARCH_PARAMS = [
    {"name": "_id", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id", "type": "token"},
    {"name": "_lastUpdated", "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated", "type": "date"},
]


def capability_statement(base_url: str) -> Resource:
    return {
        "resourceType": "CapabilityStatement",
        "id": "hopen-reference-server",
        "url": f"{base_url}/metadata",
        "version": __version__,
        "name": "HopenReferenceServer",
        "title": "Serveur FHIR de référence hopen-conformance (FR Core, PDSm, Annuaire Santé)",
        "status": "active",
        "experimental": True,
        "date": "2026-01-01",
        "publisher": "hopen-conformance",
        "kind": "instance",
        "instantiates": [CS_PDSM_RESPONDER, CS_ANNUAIRE_SERVER],
        "software": {"name": "hopen-conformance reference server", "version": __version__},
        "implementation": {
            "description": "Reference endpoint for conformance campaigns (test data only)",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml", "json", "xml"],
        "patchFormat": [JSON_PATCH],
        "implementationGuide": [IG_FR_CORE, IG_PDSM, IG_ANNUAIRE],
        "rest": [
            {
                "mode": "server",
                "documentation": "PDSm Gestionnaire de partage de documents (ITI-65/66/67/68), Annuaire Santé, FR Core Patient",
                "resource": [_resource(rtype) for rtype in SUPPORTED_TYPES],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }


def _resource(rtype: str) -> dict[str, Any]:
    if rtype == "Binary":
        interactions = ["read", "vread", "create", "update"]
    else:
        interactions = ["read", "vread", "update", "delete", "history-instance", "create", "search-type"]
    if rtype == "DocumentReference":
        interactions.append("patch")
    entry: dict[str, Any] = {"type": rtype, "profile": BASE_PROFILE[rtype]}
    if SUPPORTED_PROFILES[rtype]:
        entry["supportedProfile"] = SUPPORTED_PROFILES[rtype]
    entry["interaction"] = [{"code": code} for code in interactions]
    entry["versioning"] = "versioned"
    entry["readHistory"] = True
    entry["updateCreate"] = True
    entry["conditionalCreate"] = True
    if rtype != "Binary":
        entry["searchParam"] = [
            {
                "name": name,
                "definition": p.definition or f"http://hl7.org/fhir/SearchParameter/{rtype}-{name}",
                "type": p.kind,
            }
            for name, p in SEARCH_PARAMS[rtype].items()
        ] + [dict(p) for p in COMMON_SEARCH_PARAMS]
    return entry
