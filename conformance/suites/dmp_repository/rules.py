"""Rules of the dmp-repository suite (the harness as a document source judging the system's answers)."""

from __future__ import annotations

from conformance.sdk import SHALL, RuleSet

rules = RuleSet("dmp-repository")


def _unreadable(requirement: str, suffix: str):
    return rules.rule(
        f"dmp-response-unreadable-{suffix}",
        requirement,
        SHALL,
        fr="réponse illisible (HTTP {status}) : {problem}",
        en="unreadable answer (HTTP {status}): {problem}",
    )


UNREADABLE = {
    requirement: _unreadable(requirement, requirement.rsplit(".", 1)[-1])
    for requirement in (
        "dmp.repository.accepts-valid",
        "dmp.repository.addressed",
        "dmp.repository.refuses-hash",
        "dmp.repository.refuses-unknown-patient",
        "dmp.repository.refuses-missing-metadata",
        "dmp.repository.find",
        "dmp.repository.retrieve",
        "dmp.repository.archive",
    )
}
REFUSED_VALID = rules.rule(
    "dmp-repository-refused-valid",
    "dmp.repository.accepts-valid",
    SHALL,
    fr="lot valide refusé : statut {status}, erreurs {errors}",
    en="valid submission refused: status {status}, errors {errors}",
)
ACCEPTED = {
    requirement: rules.rule(
        f"dmp-repository-accepted-{requirement.rsplit('.', 1)[-1]}",
        requirement,
        SHALL,
        fr="lot défectueux ({what}) accepté : statut {status} au lieu de Failure",
        en="defective submission ({what}) accepted: status {status} instead of Failure",
        code="business-rule",
    )
    for requirement in (
        "dmp.repository.refuses-hash",
        "dmp.repository.refuses-unknown-patient",
        "dmp.repository.refuses-missing-metadata",
    )
}
RESPONSE_ACTION = rules.rule(
    "dmp-response-action",
    "dmp.repository.addressed",
    SHALL,
    fr="Action « {action} » au lieu de {expected}",
    en="Action '{action}' instead of {expected}",
)
RESPONSE_RELATES_TO = rules.rule(
    "dmp-response-relatesto",
    "dmp.repository.addressed",
    SHALL,
    fr="réponse sans RelatesTo",
    en="answer without RelatesTo",
)
RESPONSE_SOAP12 = rules.rule(
    "dmp-response-soap12",
    "dmp.repository.addressed",
    SHALL,
    fr="réponse en SOAP {version} au lieu de 1.2",
    en="answer in SOAP {version} instead of 1.2",
)
ERROR_LIST_EMPTY = rules.rule(
    "dmp-error-list-empty",
    "dmp.repository.error-codes",
    SHALL,
    fr="refus sans RegistryError",
    en="refusal without RegistryError",
)
ERROR_CODE = rules.rule(
    "dmp-error-code",
    "dmp.repository.error-codes",
    SHALL,
    fr="code d'erreur « {code} » non standard",
    en="non-standard error code '{code}'",
    code="code-invalid",
)
ERROR_CONTEXT = rules.rule(
    "dmp-error-context",
    "dmp.repository.error-codes",
    SHALL,
    fr="{code} sans codeContext",
    en="{code} without codeContext",
)
FIND_MISSING = rules.rule(
    "dmp-find-missing",
    "dmp.repository.find",
    SHALL,
    fr="FindDocuments ne renvoie pas le document {unique} ({count} fiche(s))",
    en="FindDocuments does not return document {unique} ({count} entries)",
    code="not-found",
)
RETRIEVE_MISSING = rules.rule(
    "dmp-retrieve-missing",
    "dmp.repository.retrieve",
    SHALL,
    fr="document {unique} non renvoyé",
    en="document {unique} not returned",
    code="not-found",
)
RETRIEVE_UNREADABLE = rules.rule(
    "dmp-retrieve-unreadable",
    "dmp.repository.retrieve",
    SHALL,
    fr="document {unique} illisible dans la réponse : {problem}",
    en="document {unique} unreadable in the answer: {problem}",
    code="structure",
)
RETRIEVE_ALTERED = rules.rule(
    "dmp-retrieve-altered",
    "dmp.repository.retrieve",
    SHALL,
    fr="le document renvoyé diffère de celui enregistré ({returned} octets au lieu de {sent})",
    en="the document returned differs from the one registered ({returned} bytes instead of {sent})",
    code="value",
)
UPDATE_REFUSED = rules.rule(
    "dmp-update-refused",
    "dmp.repository.archive",
    SHALL,
    fr="archivage refusé : {errors}",
    en="archiving refused: {errors}",
)
UPDATE_NO_EFFECT = rules.rule(
    "dmp-update-no-effect",
    "dmp.repository.archive",
    SHALL,
    fr="après archivage, le document est toujours Approved ou introuvable comme Archived",
    en="after archiving, the document is still Approved or not found as Archived",
    code="business-rule",
)
