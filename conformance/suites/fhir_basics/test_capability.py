"""CapabilityStatement (GET [base]/metadata): R4, valid, the national guides' interactions, what the tests use."""

from __future__ import annotations

import pytest

from conformance.sdk import Text, expect, expect_valid, verifies
from conformance.sdk.fhir import CS_ANNUAIRE_SERVER, CS_PDSM_RESPONDER, expect_resource, expect_status
from conformance.sdk.fhir_usage import declared_capabilities
from conformance.suites.fhir_basics.rules import (
    FHIR_VERSION,
    MISSING_INTERACTION,
    USED_UNDECLARED_INTERACTION,
    USED_UNDECLARED_PARAMETER,
)


@pytest.fixture(scope="session")
def capability_statement(fhir_client) -> dict:
    response = fhir_client.metadata()
    expect_status(response, 200)
    return expect_resource(response, "CapabilityStatement")


@verifies(
    "fhir-r4.capabilities.metadata", "fhir.rest.capabilities", title_en="The server publishes an R4 CapabilityStatement"
)
def test_metadata_is_r4(capability_statement):
    """Le serveur publie un CapabilityStatement R4"""
    version = capability_statement.get("fhirVersion")
    expect(version == "4.0.1", FHIR_VERSION, "CapabilityStatement.fhirVersion", version=version)


@verifies(
    "fhir-r4.capabilities.valid",
    "fhir.rest.capabilities",
    title_en="The CapabilityStatement conforms to the base definition",
)
def test_capability_statement_valid(capability_statement, fhir_validator, evidence, lang):
    """Le CapabilityStatement est conforme à la définition de base"""
    outcome = fhir_validator.validate(capability_statement, lang=lang)
    outcome.subject = "CapabilityStatement"
    evidence.outcome("capabilitystatement-validation.json", outcome)
    expect_valid(outcome)


# The resource types whose interactions are compared: those the selected suites exercise (the Annuaire's
# AsServerDP statement also lists Device and HealthcareService, which no suite here covers).
GUIDE_TYPES = {
    "documents": ("PDSm", CS_PDSM_RESPONDER, None),
    "directory": ("Annuaire Santé", CS_ANNUAIRE_SERVER, {"Practitioner", "PractitionerRole", "Organization"}),
}


def _guide_statements(config) -> list[tuple[str, str, set[str] | None]]:
    return [GUIDE_TYPES[suite] for suite in ("documents", "directory") if suite in config.run.suites]


@verifies(
    "pdsm.capabilities.interactions",
    "fhir.rest.capabilities",
    title_en="The CapabilityStatement declares the interactions required by the national guides",
)
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
    declared = declared_capabilities(capability_statement)
    for guide, url, types in guides:
        expected = context.resolve(url) if context is not None else None
        if expected is None:
            raise LookupError(f"CapabilityStatement {url} not found in the loaded packages")
        for rtype, codes in declared_capabilities(expected).interactions.items():
            if types is not None and rtype not in types:
                continue
            for code in sorted(codes - declared.interactions.get(rtype, set())):
                where = "rest.interaction" if rtype == "*system*" else f"rest.resource.where(type='{rtype}')"
                target = Text("système", "system") if rtype == "*system*" else rtype
                expect(False, MISSING_INTERACTION, where, guide=guide, code=code, target=target)


@verifies(
    "fhir-r4.capabilities.declares-used",
    "fhir.rest.capabilities",
    title_en="Every interaction and search parameter the tests used is declared",
)
@pytest.mark.runs_last
def test_declares_used_interactions(capability_statement, fhir_usage, evidence, lang):
    """Chaque interaction et paramètre de recherche utilisés par les tests sont déclarés"""
    if not fhir_usage.interactions:
        pytest.skip("aucune interaction FHIR exercée" if lang == "fr" else "no FHIR interaction exercised")
    evidence.attach("fhir-usage.json", fhir_usage.to_json(), "application/json")
    declared = declared_capabilities(capability_statement)
    for (rtype, code), example in sorted(fhir_usage.interactions.items()):
        if not declared.interaction(rtype, code):
            where = "rest.interaction" if rtype == "*system*" else f"rest.resource.where(type='{rtype}')"
            target = Text("système", "system") if rtype == "*system*" else rtype
            expect(False, USED_UNDECLARED_INTERACTION, where, code=code, target=target, example=example)
    for (rtype, name), example in sorted(fhir_usage.search_parameters.items()):
        if declared.interaction(rtype, "search-type") and not declared.search_parameter(rtype, name):
            where = f"rest.resource.where(type='{rtype}').searchParam"
            expect(False, USED_UNDECLARED_PARAMETER, where, name=name, target=rtype, example=example)
