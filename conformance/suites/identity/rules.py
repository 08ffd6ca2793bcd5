"""The rules of the patient identity (INS) suite."""

from __future__ import annotations

from conformance.sdk import SHALL, RuleSet

rules = RuleSet("identity")

INS_SEARCH_COUNT = rules.rule(
    "ins-search-count",
    "ins.fhir.search",
    SHALL,
    fr="{token} : {count} patient(s) trouvé(s) au lieu de 1",
    en="{token}: {count} patient(s) found instead of 1",
    code="not-found",
)
INS_IDENTIFIER = rules.rule(
    "ins-identifier-system",
    "ins.fhir.search",
    SHALL,
    fr="le patient trouvé ne porte pas l'identifiant {token}",
    en="the patient found does not carry the identifier {token}",
    code="value",
)
TRAITS_SEARCH = rules.rule(
    "traits-search",
    "fr-core.patient.search-traits",
    SHALL,
    fr="family={family}, birthdate={birth_date} : le patient d'INS {ins} n'est pas trouvé ({count} résultat(s))",
    en="family={family}, birthdate={birth_date}: the patient with INS {ins} is not found ({count} match(es))",
    code="not-found",
)
NO_PATIENT_ON_SERVER = rules.rule(
    "ins-no-patient-on-server",
    "ins.fhir.qualified-only",
    SHALL,
    fr="aucun patient sur le serveur",
    en="no patient on the server",
    code="not-found",
)
INS_UNQUALIFIED = rules.rule(
    "ins-unqualified",
    "ins.fhir.qualified-only",
    SHALL,
    fr="INS porté avec une identité au statut {status} (VALI exigé)",
    en="INS carried with identity status {status} (VALI required)",
    code="business-rule",
)
