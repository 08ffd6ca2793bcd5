"""What an XML-signature verification refusal means, in French: signxml explains itself in English only."""

from __future__ import annotations

import re

# (pattern on signxml's English message, French explanation); the first match wins
_KNOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (
            r"Digest mismatch for reference (\d+)",
            "empreinte non concordante pour la référence {0} : le contenu signé a été modifié après signature",
        ),
        (
            r"Signature verification failed|Signature mismatch",
            "la valeur de signature ne correspond pas au contenu signé ou à la clé du certificat",
        ),
        (r"byte SignatureValue", "valeur de signature de longueur inattendue"),
        (r"forbidden by configuration", "algorithme refusé par la configuration (SHA-1 : [dmp] allow_sha1)"),
        (r"Unable to resolve reference URI|References without URIs", "référence introuvable dans le document signé"),
        (r"Ambiguous reference URI", "référence ambiguë : identifiant présent plusieurs fois dans le document"),
        (r"Expected to find XML element", "élément attendu absent de la signature"),
        (r"certificate|X509Data|KeyValue|KeyInfo", "certificat ou clé de la signature absent ou inutilisable"),
        (r"DTD|Entities", "DTD ou entités XML interdites"),
        (r"XPointer|External URI", "référence d'un type non pris en charge"),
        (r"Unsupported signature algorithm|Unrecognized", "algorithme de signature non pris en charge"),
    )
)


def french_problem(message_en: str, kind: str = "") -> str:
    """The French explanation of a signxml refusal (`message_en`), without its English text."""
    for pattern, french in _KNOWN:
        found = pattern.search(message_en)
        if found:
            return french.format(*found.groups())
    return f"vérification refusée{f' ({kind})' if kind else ''}"
