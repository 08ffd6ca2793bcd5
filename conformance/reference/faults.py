"""Seeded defects of the reference endpoints: each a named switch, so tests can prove a suite fails when the
system under test has that defect, and names it.

Each fault says which endpoint it affects, the capability id (CONTRACTS.md) whose suite should catch it, and
what it changes, in English and French.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    endpoint: str  # "fhir", "mllp-receiver", "mllp-sender", or "fhir+mllp-sender"
    capability: str
    description_en: str
    description_fr: str


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "ins-wrong-oid",
            "fhir+mllp-sender",
            "identity.ins.search",
            "The INS is carried with a wrong identifier system: the bare OID 1.2.250.1.213.1.4.x without `urn:oid:` in "
            "FHIR, and the legacy INS-C authority 1.2.250.1.213.1.4.2 in PID-3 of the emitted HL7 v2 messages.",
            "L'INS est porté avec un mauvais système d'identifiants : l'OID 1.2.250.1.213.1.4.x sans `urn:oid:` en FHIR, "
            "et l'autorité INS-C historique 1.2.250.1.213.1.4.2 dans PID-3 des messages HL7 v2 émis.",
        ),
        Fault(
            "ins-unqualified",
            "fhir+mllp-sender",
            "identity.ins.qualified",
            "The INS is sent for an identity that is not qualified: the provisional (PROV) test patient carries its INS "
            "in FHIR, and the emitted HL7 v2 messages carry the INS in PID-3 with PID-32 = PROV.",
            "L'INS est transmis pour une identité non qualifiée : le patient de test provisoire (PROV) porte son INS en "
            "FHIR, et les messages HL7 v2 émis portent l'INS en PID-3 avec PID-32 = PROV.",
        ),
        Fault(
            "patient-profile-invalid",
            "fhir",
            "identity.ins.profile",
            "Qualified patients lack what FR Core PatientINS requires (birth place, identity reliability, birth list of given names).",
            "Les patients qualifiés n'ont pas ce qu'exige FR Core PatientINS (lieu de naissance, fiabilité de l'identité, liste des prénoms).",
        ),
        Fault(
            "capability-missing-interaction",
            "fhir",
            "fhir.rest.capabilities",
            "The CapabilityStatement omits the search-type interaction on DocumentReference (required by PDSm).",
            "Le CapabilityStatement omet l'interaction search-type sur DocumentReference (exigée par PDSm).",
        ),
        Fault(
            "docref-invalid",
            "fhir",
            "documents.pdsm.find",
            "DocumentReferences are served without `date` and `custodian` (both 1..1 in the PDSm profile).",
            "Les DocumentReference sont servis sans `date` ni `custodian` (tous deux 1..1 dans le profil PDSm).",
        ),
        Fault(
            "binary-mismatch",
            "fhir",
            "documents.pdsm.retrieve",
            "The Binary content does not match the DocumentReference's attachment size and hash.",
            "Le contenu du Binary ne correspond pas à la taille ni à l'empreinte déclarées par le DocumentReference.",
        ),
        Fault(
            "paging-broken",
            "fhir",
            "fhir.rest.search",
            "Search bundles carry a `next` link to a page the server does not know (404).",
            "Les bundles de recherche portent un lien `next` vers une page que le serveur ne connaît pas (404).",
        ),
        Fault(
            "count-ignored",
            "fhir",
            "fhir.rest.search",
            "`_count` is ignored: every match comes back in one page, without paging links.",
            "`_count` est ignoré : toutes les correspondances reviennent en une page, sans liens de pagination.",
        ),
        Fault(
            "errors-html",
            "fhir",
            "fhir.rest.errors",
            "Errors are returned as HTML pages instead of OperationOutcome (status codes unchanged).",
            "Les erreurs sont renvoyées en pages HTML au lieu d'OperationOutcome (codes de statut inchangés).",
        ),
        Fault(
            "xml-unsupported",
            "fhir",
            "fhir.rest.formats",
            "XML is never served: `_format=xml` and `Accept: application/fhir+xml` still get JSON.",
            "Le XML n'est jamais servi : `_format=xml` et `Accept: application/fhir+xml` reçoivent du JSON.",
        ),
        Fault(
            "etag-missing",
            "fhir",
            "fhir.rest.read",
            "Reads carry no ETag and ignore If-None-Match.",
            "Les lectures ne portent pas d'ETag et ignorent If-None-Match.",
        ),
        Fault(
            "transaction-response-invalid",
            "fhir",
            "documents.pdsm.provide",
            "The ITI-65 response is a `batch-response` whose entries have no `response.location`.",
            "La réponse ITI-65 est un `batch-response` dont les entrées n'ont pas de `response.location`.",
        ),
        Fault(
            "rpps-missing",
            "fhir",
            "directory.practitioner",
            "Practitioners are served without their RPPS identifier.",
            "Les Practitioner sont servis sans leur identifiant RPPS.",
        ),
        Fault(
            "finess-missing",
            "fhir",
            "directory.organization",
            "Organizations are served without their FINESS identifier.",
            "Les Organization sont servies sans leur identifiant FINESS.",
        ),
        Fault(
            "zbe-missing",
            "mllp-sender",
            "movements.pam.emit",
            "Movement messages (A01, A02, A03) are emitted without their ZBE segment.",
            "Les messages de mouvement (A01, A02, A03) sont émis sans leur segment ZBE.",
        ),
        Fault(
            "msh12-wrong",
            "mllp-sender",
            "movements.pam.emit",
            "Emitted messages declare MSH-12 = `2.5` without the FRA / 2.11 components.",
            "Les messages émis déclarent MSH-12 = `2.5` sans les composants FRA / 2.11.",
        ),
        Fault(
            "ack-wrong-msa2",
            "mllp-receiver",
            "movements.pam.ack",
            "ACKs carry in MSA-2 a control id that is not the acknowledged message's MSH-10.",
            "Les ACK portent en MSA-2 un identifiant qui n'est pas le MSH-10 du message acquitté.",
        ),
        Fault(
            "ack-aa-for-defective",
            "mllp-receiver",
            "movements.pam.ack",
            "Defective messages are acknowledged AA, without ERR.",
            "Les messages défectueux sont acquittés AA, sans ERR.",
        ),
        Fault(
            "ack-no-err",
            "mllp-receiver",
            "movements.pam.ack",
            "AE/AR acknowledgements carry no ERR segment.",
            "Les acquittements AE/AR ne portent pas de segment ERR.",
        ),
        Fault(
            "oru-obx-not-base64",
            "mllp-sender",
            "documents.hl7v2.transmission",
            "The CDA in the document OBX is sent as escaped text, OBX-5.4 = `A`, instead of Base64.",
            "Le CDA de l'OBX document est envoyé en texte échappé, OBX-5.4 = `A`, au lieu de Base64.",
        ),
        Fault(
            "xdm-hash-tampered",
            "documents",
            "documents.xdm.package",
            "The produced XDM package's METADATA.XML announces a SHA-1 that does not match the document it carries.",
            "Le METADATA.XML du paquet XDM produit annonce un SHA-1 qui ne correspond pas au document transporté.",
        ),
    )
}


class UnknownFaultError(ValueError):
    pass


def parse_faults(names: Iterable[str] | str | None) -> frozenset[str]:
    """Fault names from a set or a comma-separated string; UnknownFaultError names the unknown ones."""
    if names is None:
        return frozenset()
    items = names.split(",") if isinstance(names, str) else list(names)
    wanted = frozenset(n.strip() for n in items if n and n.strip())
    unknown = sorted(wanted - FAULTS.keys())
    if unknown:
        raise UnknownFaultError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(FAULTS))}")
    return wanted
