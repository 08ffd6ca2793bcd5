"""The rules of the directory (Annuaire Santé) suite."""

from __future__ import annotations

from conformance.sdk import SHALL, Rule, RuleSet

rules = RuleSet("directory")


def _search_rules(kind: str, requirement: str) -> tuple[Rule, Rule, Rule]:
    count = rules.rule(
        f"directory-{kind.lower()}-search",
        requirement,
        SHALL,
        fr="{rtype}?identifier={token} : {count} résultat(s) au lieu de 1",
        en="{rtype}?identifier={token}: {count} match(es) instead of 1",
        code="not-found",
    )
    identifier = rules.rule(
        f"directory-{kind.lower()}-identifier",
        requirement,
        SHALL,
        fr="la ressource trouvée ne porte pas l'identifiant {token}",
        en="the resource found does not carry the identifier {token}",
        code="value",
    )
    unfiltered = rules.rule(
        f"directory-{kind.lower()}-identifier-filter",
        requirement,
        SHALL,
        fr="{rtype}?identifier={token}, un identifiant qu'aucune ressource ne porte : {count} résultat(s) au lieu "
        "de 0 (le paramètre identifier n'est pas appliqué)",
        en="{rtype}?identifier={token}, an identifier no resource carries: {count} match(es) instead of 0 "
        "(the identifier parameter is not applied)",
        code="processing",
    )
    return count, identifier, unfiltered


PRACTITIONER_BY_RPPS = _search_rules("practitioner", "annuaire.practitioner.search-rpps")
PRACTITIONER_BY_IDNATPS = _search_rules("practitioner-idnatps", "annuaire.practitioner.search-idnatps")
ORGANIZATION_BY_FINESS = _search_rules("organization", "annuaire.organization.search-finess")
ROLE_NONE = rules.rule(
    "directory-role-none",
    "annuaire.practitionerrole.search",
    SHALL,
    fr="aucun PractitionerRole pour {practitioner}",
    en="no PractitionerRole for {practitioner}",
    code="not-found",
)
ROLE_FOREIGN = rules.rule(
    "directory-role-foreign",
    "annuaire.practitionerrole.search",
    SHALL,
    fr="renvoyé pour {practitioner} mais rattaché à {got}",
    en="returned for {practitioner} but belongs to {got}",
    code="value",
)
