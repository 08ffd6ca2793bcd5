"""The rules of the FHIR basics suite (RESTful API of FHIR R4)."""

from __future__ import annotations

from conformance.sdk import MAY, SHALL, SHOULD, Rule, RuleSet

rules = RuleSet("fhir-basics")

FHIR_VERSION = rules.rule(
    "capability-fhir-version",
    "fhir-r4.capabilities.metadata",
    SHALL,
    fr="fhirVersion = {version!r} au lieu de 4.0.1 (R4)",
    en="fhirVersion = {version!r} instead of 4.0.1 (R4)",
    code="value",
)
MISSING_INTERACTION = rules.rule(
    "capability-missing-interaction",
    "pdsm.capabilities.interactions",
    SHALL,
    fr="{guide} : interaction « {code} » sur {target} non déclarée",
    en="{guide}: interaction '{code}' on {target} not declared",
    code="not-supported",
)
USED_UNDECLARED_INTERACTION = rules.rule(
    "capability-used-undeclared-interaction",
    "fhir-r4.capabilities.declares-used",
    SHALL,
    fr="interaction « {code} » sur {target} utilisée ({example}) mais non déclarée",
    en="interaction '{code}' on {target} used ({example}) but not declared",
    code="not-supported",
)
USED_UNDECLARED_PARAMETER = rules.rule(
    "capability-used-undeclared-search-parameter",
    "fhir-r4.capabilities.declares-used",
    SHALL,
    fr="paramètre de recherche « {name} » de {target} utilisé ({example}) mais non déclaré",
    en="search parameter '{name}' of {target} used ({example}) but not declared",
    code="not-supported",
)
UNKNOWN_ID_STATUS = rules.rule(
    "error-status",
    "fhir-r4.read.unknown-id",
    SHALL,
    fr="lecture d'un id inconnu : HTTP {status} au lieu de 404/410",
    en="read of an unknown id: HTTP {status} instead of 404/410",
)
NOT_OPERATION_OUTCOME = rules.rule(
    "error-not-operationoutcome",
    "fhir-r4.errors.operation-outcome",
    SHOULD,
    fr="l'erreur HTTP {status} n'est pas un OperationOutcome (Content-Type {content_type})",
    en="the HTTP {status} error is not an OperationOutcome (Content-Type {content_type})",
    code="structure",
)
STRICT_IGNORED = rules.rule(
    "error-strict-ignored",
    "fhir-r4.search.strict",
    SHOULD,
    fr="paramètre inconnu avec Prefer: handling=strict : HTTP {status} au lieu de 4xx",
    en="unknown parameter with Prefer: handling=strict: HTTP {status} instead of 4xx",
)
JSON_MEDIA_TYPE = rules.rule(
    "format-json-media-type",
    "fhir-r4.formats.json",
    SHALL,
    fr="Content-Type {content_type} au lieu de application/fhir+json",
    en="Content-Type {content_type} instead of application/fhir+json",
    code="value",
)
JSON_PARSE = rules.rule(
    "format-json-parse", "fhir-r4.formats.json", SHALL, fr="corps JSON illisible", en="unreadable JSON body"
)
_XML = {"fhir-r4.formats.xml-accept": SHOULD, "fhir-r4.formats.format-parameter": SHOULD}


def _xml_rules(requirement: str, prefix: str) -> tuple[Rule, Rule, Rule]:
    strength = _XML[requirement]
    return (
        rules.rule(
            f"{prefix}-media-type",
            requirement,
            strength,
            fr="Content-Type {content_type} au lieu de application/fhir+xml",
            en="Content-Type {content_type} instead of application/fhir+xml",
            code="value",
        ),
        rules.rule(
            f"{prefix}-parse",
            requirement,
            strength,
            fr="corps XML illisible : {error}",
            en="unreadable XML body: {error}",
        ),
        rules.rule(
            f"{prefix}-root",
            requirement,
            strength,
            fr="élément racine {tag} au lieu de CapabilityStatement (espace de noms FHIR)",
            en="root element {tag} instead of CapabilityStatement (FHIR namespace)",
            code="structure",
        ),
    )


XML_BY_ACCEPT = _xml_rules("fhir-r4.formats.xml-accept", "format-xml")
XML_BY_FORMAT = _xml_rules("fhir-r4.formats.format-parameter", "format-xml-parameter")

READ_ID = rules.rule(
    "read-id",
    "fhir-r4.read.id",
    SHALL,
    fr="id {got!r} au lieu de {asked!r}",
    en="id {got!r} instead of {asked!r}",
    code="value",
)
READ_VERSION_ID = rules.rule(
    "read-version-id", "fhir-r4.read.version-id", SHOULD, fr="meta.versionId absent", en="meta.versionId missing"
)
ETAG_MISSING = rules.rule(
    "read-etag-missing", "fhir-r4.read.etag", SHOULD, fr="en-tête ETag absent", en="ETag header missing"
)
ETAG_VERSION = rules.rule(
    "read-etag-version",
    "fhir-r4.read.etag",
    SHOULD,
    fr='ETag {etag!r} ne correspond pas à meta.versionId {version!r} (attendu W/"{version}")',
    en='ETag {etag!r} does not match meta.versionId {version!r} (expected W/"{version}")',
    code="value",
)
IF_NONE_MATCH = rules.rule(
    "read-if-none-match",
    "fhir-r4.read.conditional",
    MAY,
    fr="If-None-Match avec la version courante ({etag}) : HTTP {status} au lieu de 304",
    en="If-None-Match with the current version ({etag}): HTTP {status} instead of 304",
)
VREAD_VERSION = rules.rule(
    "vread-version",
    "fhir-r4.read.vread",
    SHOULD,
    fr="vread de la version {version} : version {got_version!r}, id {got_id!r} reçus",
    en="vread of version {version}: got version {got_version!r}, id {got_id!r}",
    code="value",
)
VREAD_STATUS = rules.rule(
    "vread-status",
    "fhir-r4.read.vread",
    SHOULD,
    fr="{url} : HTTP {status} au lieu de 200",
    en="{url}: HTTP {status} instead of 200",
)
SEARCH_NO_MATCH = rules.rule(
    "search-no-match", "fhir-r4.search.count", SHALL, fr="aucun Patient trouvé", en="no Patient found", code="not-found"
)
COUNT_IGNORED = rules.rule(
    "search-count-ignored",
    "fhir-r4.search.count",
    SHALL,
    fr="_count=1 ignoré : {count} résultats dans la page",
    en="_count=1 ignored: {count} matches in the page",
)
PAGING_NO_NEXT = rules.rule(
    "search-paging-no-next",
    "fhir-r4.search.paging",
    SHALL,
    fr="total = {total} mais pas de lien next",
    en="total = {total} but no next link",
)
PAGING_NO_NEXT_MORE = rules.rule(
    "search-paging-no-next-more",
    "fhir-r4.search.paging",
    SHALL,
    fr="_count=1 : pas de lien next alors que la même recherche sans _count=1 renvoie {count} Patient",
    en="_count=1: no next link although the same search without _count=1 returns {count} Patients",
)
PAGING_STATUS = rules.rule(
    "search-paging-status",
    "fhir-r4.search.paging",
    SHALL,
    fr="lien next {url} : HTTP {status} au lieu de 200",
    en="next link {url}: HTTP {status} instead of 200",
)
PAGING_EMPTY = rules.rule(
    "search-paging-empty", "fhir-r4.search.paging", SHALL, fr="la page suivante est vide", en="the next page is empty"
)
PAGING_SAME_PAGE = rules.rule(
    "search-paging-same-page",
    "fhir-r4.search.paging",
    SHALL,
    fr="la page suivante répète la première",
    en="the next page repeats the first",
)
TLS_VERIFY_OFF = rules.rule(
    "tls-verify-off",
    "security.tls",
    SHALL,
    fr="vérification du certificat désactivée (tls.verify = false) : l'identité du serveur n'est pas prouvée",
    en="certificate verification turned off (tls.verify = false): the server's identity is not proven",
    code="security",
)
TLS_VERSION = rules.rule(
    "tls-version",
    "security.tls",
    SHALL,
    fr="version négociée {version} (TLS 1.2 minimum)",
    en="negotiated version {version} (TLS 1.2 minimum)",
    code="security",
)
