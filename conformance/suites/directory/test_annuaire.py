"""Annuaire Santé: Practitioner by RPPS / idNatPs, its PractitionerRoles, Organization by FINESS; finding a resource
and its conformance to the Annuaire profile are separate requirements."""

from __future__ import annotations

import pytest

from conformance.sdk import Rule, expect, expect_valid, require, resource, verifies
from conformance.sdk.fhir import (
    FINESS_SYSTEM,
    IDNPS_SYSTEM,
    PROFILE_ORGANIZATION,
    PROFILE_PRACTITIONER,
    PROFILE_PRACTITIONER_ROLE,
    RPPS_SYSTEM,
    first_reference,
    has_identifier,
    matches,
    search_bundle,
)
from conformance.suites.directory.rules import (
    ORGANIZATION_BY_FINESS,
    PRACTITIONER_BY_IDNATPS,
    PRACTITIONER_BY_RPPS,
    ROLE_FOREIGN,
    ROLE_NONE,
)


def _needs(values: list[str], lang: str, what: str) -> list[str]:
    if not values:
        pytest.skip(f"[test_data] {what} non configuré" if lang == "fr" else f"[test_data] {what} not configured")
    return values


def _search(fhir_client, rtype: str, system: str, value: str) -> list[dict]:
    return matches(search_bundle(fhir_client.search(rtype, {"identifier": f"{system}|{value}"})), rtype)


# No RPPS, idNatPs or FINESS has letters: a real directory cannot hold this value, whatever its size.
ABSENT_IDENTIFIER = "HOPEN-CONFORMANCE-ABSENT"


def _expect_one(found: list[dict], rtype: str, system: str, value: str, search_rules: tuple[Rule, Rule, Rule]) -> None:
    count_rule, identifier_rule, _ = search_rules
    token = f"{system}|{value}"
    require(len(found) == 1, count_rule, f"{rtype}.identifier", rtype=rtype, token=token, count=len(found))
    expect(has_identifier(found[0], system, value), identifier_rule, f"{rtype}.identifier", token=token)


def _expect_filtered(fhir_client, rtype: str, system: str, search_rules: tuple[Rule, Rule, Rule]) -> None:
    """A search for an identifier nobody carries finds nothing: a server that ignores `identifier` and holds a
    single resource would otherwise pass. A refusal of the value (4xx) is not judged here."""
    response = fhir_client.search(rtype, {"identifier": f"{system}|{ABSENT_IDENTIFIER}"})
    if response.status != 200:
        return
    found = matches(search_bundle(response), rtype)
    token = f"{system}|{ABSENT_IDENTIFIER}"
    expect(not found, search_rules[2], f"{rtype}.identifier", rtype=rtype, token=token, count=len(found))


def _validate_each(found: list[dict], fhir_validator, profile: str, evidence, lang: str) -> None:
    for item in found:
        outcome = fhir_validator.validate(item, profiles=[profile], lang=lang)
        outcome.subject = f"{item.get('resourceType')}/{item.get('id')}"
        evidence.outcome(f"validation-{str(item.get('resourceType')).lower()}-{item.get('id')}.json", outcome)
        expect_valid(outcome)


def _found_by(fhir_client, rtype: str, system: str, values: list[str], lang: str) -> list[dict]:
    """The resources found for the configured identifiers (finding them is the search test's requirement)."""
    found = [item for value in values for item in _search(fhir_client, rtype, system, value)]
    if not found:
        pytest.skip(f"aucun {rtype} trouvé à valider" if lang == "fr" else f"no {rtype} found to validate")
    return found


@verifies("annuaire.practitioner.search-rpps", "directory.practitioner", title_en="Practitioner found by RPPS")
def test_practitioner_by_rpps(fhir_client, test_data, lang):
    """Professionnel trouvé par son RPPS"""
    for rpps in _needs(test_data.practitioners, lang, "practitioners"):
        with resource("Practitioner", f"rpps:{rpps}"):
            found = _search(fhir_client, "Practitioner", RPPS_SYSTEM, rpps)
            _expect_one(found, "Practitioner", RPPS_SYSTEM, rpps, PRACTITIONER_BY_RPPS)
    _expect_filtered(fhir_client, "Practitioner", RPPS_SYSTEM, PRACTITIONER_BY_RPPS)


@verifies(
    "annuaire.practitioner.profile",
    "directory.practitioner",
    title_en="The practitioner conforms to the Annuaire profile",
)
def test_practitioner_conforms(fhir_client, fhir_validator, test_data, evidence, lang):
    """Le professionnel est conforme au profil Annuaire"""
    rpps_values = _needs(test_data.practitioners, lang, "practitioners")
    found = _found_by(fhir_client, "Practitioner", RPPS_SYSTEM, rpps_values, lang)
    _validate_each(found, fhir_validator, PROFILE_PRACTITIONER, evidence, lang)


@verifies("annuaire.practitioner.search-idnatps", "directory.practitioner", title_en="Practitioner found by idNatPs")
def test_practitioner_by_idnatps(fhir_client, test_data, lang):
    """Professionnel trouvé par son idNatPs"""
    for rpps in _needs(test_data.practitioners, lang, "practitioners"):
        with resource("Practitioner", f"idnatps:8{rpps}"):
            found = _search(fhir_client, "Practitioner", IDNPS_SYSTEM, f"8{rpps}")
            _expect_one(found, "Practitioner", IDNPS_SYSTEM, f"8{rpps}", PRACTITIONER_BY_IDNATPS)
    _expect_filtered(fhir_client, "Practitioner", IDNPS_SYSTEM, PRACTITIONER_BY_IDNATPS)


@pytest.fixture(scope="module")
def practitioner_roles(fhir_client, test_data, lang) -> tuple[str, list[dict]]:
    """The first configured practitioner (found by RPPS) and what PractitionerRole?practitioner= returns."""
    rpps = _needs(test_data.practitioners, lang, "practitioners")[0]
    found = _search(fhir_client, "Practitioner", RPPS_SYSTEM, rpps)
    if len(found) != 1:  # finding the practitioner is the RPPS search test's requirement
        pytest.skip(
            f"professionnel RPPS {rpps} non trouvé : situations d'exercice non recherchées"
            if lang == "fr"
            else f"practitioner RPPS {rpps} not found: roles not searched"
        )
    reference = f"Practitioner/{found[0]['id']}"
    bundle = search_bundle(fhir_client.search("PractitionerRole", {"practitioner": reference}))
    return reference, matches(bundle, "PractitionerRole")


@verifies(
    "annuaire.practitionerrole.search",
    "directory.practitionerrole",
    title_en="The roles returned belong to the practitioner asked for",
)
def test_practitioner_role_belongs(practitioner_roles):
    """Les situations d'exercice renvoyées sont celles du professionnel demandé"""
    practitioner, roles = practitioner_roles
    require(roles, ROLE_NONE, "PractitionerRole", practitioner=practitioner)
    for role in roles:
        with resource("PractitionerRole", role.get("id")):
            got = first_reference(role, "practitioner") or "(absent)"
            belongs = got == practitioner or got.endswith(f"/{practitioner}")
            expect(belongs, ROLE_FOREIGN, "PractitionerRole.practitioner", practitioner=practitioner, got=got)


@verifies(
    "annuaire.practitionerrole.profile",
    "directory.practitionerrole",
    title_en="The practitioner's roles conform to the Annuaire profile",
)
def test_practitioner_role(practitioner_roles, fhir_validator, evidence, lang):
    """Les situations d'exercice du professionnel sont conformes au profil Annuaire"""
    _, roles = practitioner_roles
    if not roles:
        pytest.skip("aucune situation d'exercice à valider" if lang == "fr" else "no PractitionerRole to validate")
    _validate_each(roles, fhir_validator, PROFILE_PRACTITIONER_ROLE, evidence, lang)


@verifies("annuaire.organization.search-finess", "directory.organization", title_en="Organization found by FINESS")
def test_organization_by_finess(fhir_client, test_data, lang):
    """Structure trouvée par son FINESS"""
    for finess in _needs(test_data.organizations, lang, "organizations"):
        with resource("Organization", f"finess:{finess}"):
            found = _search(fhir_client, "Organization", FINESS_SYSTEM, finess)
            _expect_one(found, "Organization", FINESS_SYSTEM, finess, ORGANIZATION_BY_FINESS)
    _expect_filtered(fhir_client, "Organization", FINESS_SYSTEM, ORGANIZATION_BY_FINESS)


@verifies(
    "annuaire.organization.profile",
    "directory.organization",
    title_en="The organization conforms to the Annuaire profile",
)
def test_organization_conforms(fhir_client, fhir_validator, test_data, evidence, lang):
    """La structure est conforme au profil Annuaire"""
    finess_values = _needs(test_data.organizations, lang, "organizations")
    found = _found_by(fhir_client, "Organization", FINESS_SYSTEM, finess_values, lang)
    _validate_each(found, fhir_validator, PROFILE_ORGANIZATION, evidence, lang)
