"""CapabilityStatement (GET [base]/metadata)."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import ConformanceFailure, expect, expect_valid
from conformance.campaign.fhir import CS_ANNUAIRE_SERVER, CS_PDSM_RESPONDER, expect_resource, expect_status
from conformance.findings import Severity, finding

FHIR_R4 = ("FHIR R4", "§3.1.0 RESTful API, capabilities")


@pytest.fixture(scope="session")
def capability_statement(fhir_client) -> dict:
    response = fhir_client.metadata()
    expect_status(response, 200)
    return expect_resource(response, "CapabilityStatement")


@pytest.mark.requirement(*FHIR_R4, text="GET [base]/metadata returns the server's CapabilityStatement")
@pytest.mark.capability("fhir.rest.capabilities")
@pytest.mark.title_en("The server publishes an R4 CapabilityStatement")
def test_metadata_is_r4(capability_statement, fhir_validator, evidence, lang):
    """Le serveur publie un CapabilityStatement R4"""
    version = capability_statement.get("fhirVersion")
    expect(
        version == "4.0.1",
        "capability-fhir-version",
        f"fhirVersion = {version!r} au lieu de 4.0.1 (R4)",
        f"fhirVersion = {version!r} instead of 4.0.1 (R4)",
        location="CapabilityStatement.fhirVersion",
    )
    outcome = fhir_validator.validate(capability_statement, lang=lang)
    evidence.outcome("capabilitystatement-validation.json", outcome)
    expect_valid(outcome, "CapabilityStatement", "CapabilityStatement")


# The resource types whose interactions are compared: those the selected suites exercise (the Annuaire's
# AsServerDP statement also lists Device and HealthcareService, which no suite here covers).
GUIDE_TYPES = {
    "documents": ("PDSm", CS_PDSM_RESPONDER, None),
    "directory": ("Annuaire Santé", CS_ANNUAIRE_SERVER, {"Practitioner", "PractitionerRole", "Organization"}),
}


def _guide_statements(config) -> list[tuple[str, str, set[str] | None]]:
    return [GUIDE_TYPES[suite] for suite in ("documents", "directory") if suite in config.run.suites]


def _declared(statement: dict) -> dict[str, set[str]]:
    declared: dict[str, set[str]] = {}
    for rest in statement.get("rest") or []:
        if not isinstance(rest, dict) or rest.get("mode") != "server":
            continue
        for resource in rest.get("resource") or []:
            if isinstance(resource, dict):
                codes = {i.get("code") for i in resource.get("interaction") or [] if isinstance(i, dict)}
                declared.setdefault(str(resource.get("type")), set()).update(c for c in codes if c)
        codes = {i.get("code") for i in rest.get("interaction") or [] if isinstance(i, dict)}
        declared.setdefault("*system*", set()).update(c for c in codes if c)
    return declared


@pytest.mark.requirement(
    "ANS PDSm 3.1.1 / Annuaire Santé",
    "CapabilityStatements (Gestionnaire de partage, AsServerDP)",
    text="The server declares the interactions the national guides require",
)
@pytest.mark.capability("fhir.rest.capabilities")
@pytest.mark.title_en("The CapabilityStatement declares the interactions required by the national guides")
def test_declares_national_interactions(capability_statement, campaign, config, lang):
    """Le CapabilityStatement déclare les interactions exigées par les guides nationaux"""
    guides = _guide_statements(config)
    if not guides:
        pytest.skip(
            "aucun guide national sélectionné (suites documents/directory)"
            if lang == "fr"
            else "no national guide selected (documents/directory suites)"
        )
    from conformance.campaign.validators import fhir_context

    context = fhir_context(campaign)
    declared = _declared(capability_statement)
    problems = []
    for guide, url, types in guides:
        expected = context.resolve(url) if context is not None else None
        if expected is None:
            pytest.fail(f"CapabilityStatement {url} not found in the loaded packages")
        for rtype, codes in _declared(expected).items():
            if types is not None and rtype not in types:
                continue
            for code in sorted(codes - declared.get(rtype, set())):
                where = "rest.interaction" if rtype == "*system*" else f"rest.resource.where(type='{rtype}')"
                label = "système" if rtype == "*system*" else rtype
                problems.append(
                    finding(
                        Severity.ERROR,
                        "not-supported",
                        "capability-missing-interaction",
                        where,
                        f"{guide}: interaction « {code} » sur {label} non déclarée",
                        f"{guide}: interaction '{code}' on {'system' if rtype == '*system*' else rtype} not declared",
                        source="suite",
                        profile=url,
                    )
                )
    if problems:
        raise ConformanceFailure(problems)
