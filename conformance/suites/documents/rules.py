"""The rules of the document-sharing suite (PDSm: ITI-65, ITI-66, ITI-67, ITI-68)."""

from __future__ import annotations

from conformance.sdk import SHALL, RuleSet

rules = RuleSet("documents")

PATIENT_NOT_FOUND = rules.rule(
    "documents-patient-not-found",
    "pdsm.iti67.find",
    SHALL,
    fr="le patient des documents {designation} n'est pas trouvé sur le serveur ({count} résultat(s))",
    en="the document patient {designation} is not found on the server ({count} match(es))",
    code="not-found",
)
ITI66_NONE = rules.rule(
    "iti66-none",
    "pdsm.iti66.find",
    SHALL,
    fr="aucun SubmissionSet pour {patient}",
    en="no SubmissionSet for {patient}",
    code="not-found",
)
ITI66_OTHER_PATIENT = rules.rule(
    "iti66-other-patient",
    "pdsm.iti66.find",
    SHALL,
    fr="renvoyé pour {patient} mais son sujet est {subject}",
    en="returned for {patient} but its subject is {subject}",
    code="value",
)
ITI67_NONE = rules.rule(
    "iti67-none",
    "pdsm.iti67.find",
    SHALL,
    fr="aucun DocumentReference pour {patient}",
    en="no DocumentReference for {patient}",
    code="not-found",
)
ITI67_OTHER_PATIENT = rules.rule(
    "iti67-other-patient",
    "pdsm.iti67.find",
    SHALL,
    fr="renvoyé pour {patient} mais son sujet est {subject}",
    en="returned for {patient} but its subject is {subject}",
    code="value",
)
ITI67_NONE_CURRENT = rules.rule(
    "iti67-none-current",
    "pdsm.iti67.status",
    SHALL,
    fr="aucun DocumentReference courant pour {patient} (status=current)",
    en="no current DocumentReference for {patient} (status=current)",
    code="not-found",
)
ITI67_STATUS_FILTER = rules.rule(
    "iti67-status-filter",
    "pdsm.iti67.status",
    SHALL,
    fr="renvoyé par status=current alors que son statut est {status}",
    en="returned by status=current although its status is {status}",
    code="value",
)
ITI67_CURRENT_MISSING = rules.rule(
    "iti67-current-missing",
    "pdsm.iti67.status",
    SHALL,
    fr="document courant absent de la recherche status=current",
    en="current document missing from the status=current search",
    code="not-found",
)
ITI67_TYPE = rules.rule(
    "iti67-type",
    "pdsm.iti67.search-type",
    SHALL,
    fr="type={token} : le document n'est pas trouvé",
    en="type={token}: the document is not found",
    code="not-found",
)
ITI67_DATE = rules.rule(
    "iti67-date",
    "pdsm.iti67.search-date",
    SHALL,
    fr="date={criterion} : le document du {date} n'est pas trouvé",
    en="date={criterion}: the document dated {date} is not found",
    code="not-found",
)
ITI67_DATE_EXCLUDED = rules.rule(
    "iti67-date-excluded",
    "pdsm.iti67.search-date",
    SHALL,
    fr="date={criterion} : le document du {date} est renvoyé alors qu'il est hors de l'intervalle",
    en="date={criterion}: the document dated {date} is returned although it is outside the range",
    code="value",
)
ITI68_NO_URL = rules.rule(
    "iti68-no-url",
    "pdsm.iti68.retrieve",
    SHALL,
    fr="content.attachment.url absent",
    en="content.attachment.url missing",
    code="required",
)
ITI68_STATUS = rules.rule(
    "iti68-status",
    "pdsm.iti68.retrieve",
    SHALL,
    fr="{url} : HTTP {status} à la récupération du document",
    en="{url}: HTTP {status} retrieving the document",
)
ITI68_SIZE = rules.rule(
    "iti68-size",
    "pdsm.iti68.integrity",
    SHALL,
    fr="taille déclarée {declared}, document reçu {received} octets",
    en="declared size {declared}, document received {received} bytes",
    code="value",
)
ITI68_HASH = rules.rule(
    "iti68-hash",
    "pdsm.iti68.integrity",
    SHALL,
    fr="l'empreinte SHA-1 du document reçu ({received}) ne correspond pas à attachment.hash ({declared})",
    en="the SHA-1 hash of the document received ({received}) does not match attachment.hash ({declared})",
    code="value",
)
ITI65_STATUS = rules.rule(
    "iti65-status",
    "pdsm.iti65.response",
    SHALL,
    fr="HTTP {status} au lieu de 200",
    en="HTTP {status} instead of 200",
)
ITI65_RESPONSE_TYPE = rules.rule(
    "iti65-response-type",
    "pdsm.iti65.response",
    SHALL,
    fr="Bundle.type = {got!r} au lieu de 'transaction-response'",
    en="Bundle.type = {got!r} instead of 'transaction-response'",
    code="value",
)
ITI65_ENTRY_COUNT = rules.rule(
    "iti65-entry-count",
    "pdsm.iti65.response",
    SHALL,
    fr="{got} entrées dans la réponse pour {sent} envoyées",
    en="{got} response entries for {sent} sent",
)
ITI65_ENTRY_STATUS = rules.rule(
    "iti65-entry-status",
    "pdsm.iti65.response",
    SHALL,
    fr="entrée {index} : statut {status}",
    en="entry {index}: status {status}",
)
ITI65_ENTRY_LOCATION = rules.rule(
    "iti65-entry-location",
    "pdsm.iti65.response",
    SHALL,
    fr="entrée {index} : response.location absent",
    en="entry {index}: response.location missing",
    code="required",
)
ITI65_READ_BACK = rules.rule(
    "iti65-read-back",
    "pdsm.iti65.stored",
    SHALL,
    fr="{path} : HTTP {status} à la relecture",
    en="{path}: HTTP {status} when read back",
)
ITI65_READ_BACK_SUBJECT = rules.rule(
    "iti65-read-back-subject",
    "pdsm.iti65.stored",
    SHALL,
    fr="{path} : subject {subject!r} au lieu de {patient}",
    en="{path}: subject {subject!r} instead of {patient}",
    code="value",
)
