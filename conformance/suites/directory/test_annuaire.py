"""Annuaire Santé: Practitioner, PractitionerRole, Organization."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect, expect_valid
from conformance.campaign.fhir import (
    FINESS_SYSTEM,
    IDNPS_SYSTEM,
    PROFILE_ORGANIZATION,
    PROFILE_PRACTITIONER,
    PROFILE_PRACTITIONER_ROLE,
    RPPS_SYSTEM,
    has_identifier,
    matches,
    search_bundle,
)

ANNUAIRE = "ANS Annuaire Santé FHIR 1.2.0"


def _needs(values: list[str], lang: str, what: str) -> list[str]:
    if not values:
        pytest.skip(f"[test_data] {what} non configuré" if lang == "fr" else f"[test_data] {what} not configured")
    return values


def _one(fhir_client, rtype: str, system: str, value: str) -> dict:
    found = matches(search_bundle(fhir_client.search(rtype, {"identifier": f"{system}|{value}"})), rtype)
    expect(
        len(found) == 1,
        f"directory-{rtype.lower()}-search",
        f"{rtype}?identifier={system}|{value}: {len(found)} résultat(s) au lieu de 1",
        f"{rtype}?identifier={system}|{value}: {len(found)} match(es) instead of 1",
    )
    expect(
        has_identifier(found[0], system, value),
        f"directory-{rtype.lower()}-identifier",
        f"{rtype}/{found[0].get('id')} ne porte pas l'identifiant {system}|{value}",
        f"{rtype}/{found[0].get('id')} does not carry the identifier {system}|{value}",
        location=f"{rtype}.identifier",
    )
    return found[0]


@pytest.mark.requirement(ANNUAIRE, "AsDpPractitionerProfile; search by identifier (RPPS)")
@pytest.mark.capability("directory.practitioner")
@pytest.mark.title_en("Practitioner found by RPPS, conforming to the Annuaire profile")
def test_practitioner_by_rpps(fhir_client, fhir_validator, test_data, evidence, lang):
    """Professionnel trouvé par son RPPS, conforme au profil Annuaire"""
    for rpps in _needs(test_data.practitioners, lang, "practitioners"):
        practitioner = _one(fhir_client, "Practitioner", RPPS_SYSTEM, rpps)
        outcome = fhir_validator.validate(practitioner, profiles=[PROFILE_PRACTITIONER], lang=lang)
        evidence.outcome(f"validation-practitioner-{rpps}.json", outcome)
        expect_valid(outcome)


@pytest.mark.requirement(ANNUAIRE, "idNatPs: urn:oid:1.2.250.1.71.4.2.1, '8' + RPPS")
@pytest.mark.capability("directory.practitioner")
@pytest.mark.title_en("Practitioner found by idNatPs")
def test_practitioner_by_idnatps(fhir_client, test_data, lang):
    """Professionnel trouvé par son idNatPs"""
    for rpps in _needs(test_data.practitioners, lang, "practitioners"):
        _one(fhir_client, "Practitioner", IDNPS_SYSTEM, f"8{rpps}")


@pytest.mark.requirement(ANNUAIRE, "AsDpPractitionerRoleProfile; search by practitioner")
@pytest.mark.capability("directory.practitionerrole")
@pytest.mark.title_en("The practitioner's roles conform to the Annuaire profile")
def test_practitioner_role(fhir_client, fhir_validator, test_data, evidence, lang):
    """Les situations d'exercice du professionnel sont conformes au profil Annuaire"""
    rpps = _needs(test_data.practitioners, lang, "practitioners")[0]
    practitioner = _one(fhir_client, "Practitioner", RPPS_SYSTEM, rpps)
    roles = matches(
        search_bundle(fhir_client.search("PractitionerRole", {"practitioner": f"Practitioner/{practitioner['id']}"})),
        "PractitionerRole",
    )
    expect(
        roles,
        "directory-role-none",
        f"aucun PractitionerRole pour Practitioner/{practitioner['id']}",
        f"no PractitionerRole for Practitioner/{practitioner['id']}",
    )
    outcomes = [fhir_validator.validate(role, profiles=[PROFILE_PRACTITIONER_ROLE], lang=lang) for role in roles]
    for role, outcome in zip(roles, outcomes, strict=True):
        evidence.outcome(f"validation-practitionerrole-{role.get('id')}.json", outcome)
    expect_valid(outcomes)


@pytest.mark.requirement(ANNUAIRE, "AsDpOrganizationProfile; search by identifier (FINESS)")
@pytest.mark.capability("directory.organization")
@pytest.mark.title_en("Organization found by FINESS, conforming to the Annuaire profile")
def test_organization_by_finess(fhir_client, fhir_validator, test_data, evidence, lang):
    """Structure trouvée par son FINESS, conforme au profil Annuaire"""
    for finess in _needs(test_data.organizations, lang, "organizations"):
        organization = _one(fhir_client, "Organization", FINESS_SYSTEM, finess)
        outcome = fhir_validator.validate(organization, profiles=[PROFILE_ORGANIZATION], lang=lang)
        evidence.outcome(f"validation-organization-{finess}.json", outcome)
        expect_valid(outcome)
