"""The seeded-fault registry: every defect the reference endpoints can be switched to, declared once, so tests
can prove a suite fails when the system under test has that defect, and names it.

Each fault says which endpoint it affects, the capability id (CONTRACTS.md) whose suite should catch it, what
it changes (English and French), the requirements of the catalogue (profiles/requirements/) it breaks, i.e.
whose tests must fail with it and only those (tests/reference/test_fault_exactness.py), and the hook classes
where it acts, one per endpoint family: fhir/faults.py, mllp_faults.py (PAM sender and receiver),
document_faults.py (produced documents), mssante/faults.py, dmp/faults.py (feeding client, repository). No
endpoint tests a fault's name: each asks `active_hooks` (through its `..._hooks` function) for the hooks of the
active faults and calls them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from conformance.reference import document_faults as documents
from conformance.reference import mllp_faults as mllp
from conformance.reference.dmp import faults as dmp
from conformance.reference.fhir import faults as fhir
from conformance.reference.mssante import faults as mss


@dataclass(frozen=True)
class Fault:
    name: str
    # "fhir", "mllp-receiver", "mllp-sender", "documents", "dmp-source", "dmp-repository", "mssante-client",
    # "mssante-receiver"; a fault acting on two joins them with "+" ("fhir+mllp-sender")
    endpoint: str
    capability: str
    description_en: str
    description_fr: str
    requirements: tuple[str, ...] = ()  # the catalogue requirements it breaks: their tests fail, no other
    hooks: tuple[type, ...] = ()  # where it acts: one hook class per endpoint family it changes


def _fhir(
    name: str, capability: str, requirements: tuple[str, ...], hook: type[fhir.FhirFault], en: str, fr: str
) -> Fault:
    return Fault(name, "fhir", capability, en, fr, requirements, (hook,))


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
            ("ins.fhir.search", "fr-core.patient.profile", "pam.emit.ins", "cisis.hl7v2.emit-ins"),
            (fhir.InsWrongOid, mllp.InsWrongOid),
        ),
        Fault(
            "ins-unqualified",
            "fhir+mllp-sender",
            "identity.ins.qualified",
            "The INS is sent for an identity that is not qualified: the provisional (PROV) test patient carries its INS "
            "in FHIR, and the emitted HL7 v2 messages carry the INS in PID-3 with PID-32 = PROV.",
            "L'INS est transmis pour une identité non qualifiée : le patient de test provisoire (PROV) porte son INS en "
            "FHIR, et les messages HL7 v2 émis portent l'INS en PID-3 avec PID-32 = PROV.",
            ("ins.fhir.qualified-only", "pam.emit.ins", "cisis.hl7v2.emit-ins"),
            (fhir.InsUnqualified, mllp.InsUnqualified),
        ),
        Fault(
            "patient-profile-invalid",
            "fhir",
            "identity.ins.profile",
            "Qualified patients lack what FR Core PatientINS requires (birth place, identity reliability, birth list of given names).",
            "Les patients qualifiés n'ont pas ce qu'exige FR Core PatientINS (lieu de naissance, fiabilité de l'identité, liste des prénoms).",
            ("fr-core.patient.profile", "ins.fhir.qualified-only"),
            (fhir.PatientProfileInvalid,),
        ),
        Fault(
            "capability-missing-interaction",
            "fhir",
            "fhir.rest.capabilities",
            "The CapabilityStatement omits the search-type interaction on DocumentReference (required by PDSm).",
            "Le CapabilityStatement omet l'interaction search-type sur DocumentReference (exigée par PDSm).",
            ("pdsm.capabilities.interactions", "fhir-r4.capabilities.declares-used"),
            (fhir.CapabilityMissingInteraction,),
        ),
        Fault(
            "docref-invalid",
            "fhir",
            "documents.pdsm.find",
            "DocumentReferences are served without `date` and `custodian` (both 1..1 in the PDSm profile).",
            "Les DocumentReference sont servis sans `date` ni `custodian` (tous deux 1..1 dans le profil PDSm).",
            ("pdsm.iti67.profile",),
            (fhir.DocrefInvalid,),
        ),
        Fault(
            "binary-mismatch",
            "fhir",
            "documents.pdsm.retrieve",
            "The Binary content does not match the DocumentReference's attachment size and hash.",
            "Le contenu du Binary ne correspond pas à la taille ni à l'empreinte déclarées par le DocumentReference.",
            ("pdsm.iti68.integrity",),
            (fhir.BinaryMismatch,),
        ),
        Fault(
            "paging-broken",
            "fhir",
            "fhir.rest.search",
            "Search bundles carry a `next` link to a page the server does not know (404).",
            "Les bundles de recherche portent un lien `next` vers une page que le serveur ne connaît pas (404).",
            ("fhir-r4.search.paging",),
            (fhir.PagingBroken,),
        ),
        Fault(
            "count-ignored",
            "fhir",
            "fhir.rest.search",
            "`_count` is ignored: every match comes back in one page, without paging links.",
            "`_count` est ignoré : toutes les correspondances reviennent en une page, sans liens de pagination.",
            ("fhir-r4.search.count",),
            (fhir.CountIgnored,),
        ),
        Fault(
            "errors-html",
            "fhir",
            "fhir.rest.errors",
            "Errors are returned as HTML pages instead of OperationOutcome (status codes unchanged).",
            "Les erreurs sont renvoyées en pages HTML au lieu d'OperationOutcome (codes de statut inchangés).",
            ("fhir-r4.errors.operation-outcome",),
            (fhir.ErrorsHtml,),
        ),
        Fault(
            "xml-unsupported",
            "fhir",
            "fhir.rest.formats",
            "XML is never served: `_format=xml` and `Accept: application/fhir+xml` still get JSON.",
            "Le XML n'est jamais servi : `_format=xml` et `Accept: application/fhir+xml` reçoivent du JSON.",
            ("fhir-r4.formats.xml-accept", "fhir-r4.formats.format-parameter"),
            (fhir.XmlUnsupported,),
        ),
        Fault(
            "etag-missing",
            "fhir",
            "fhir.rest.read",
            "Reads carry no ETag and ignore If-None-Match.",
            "Les lectures ne portent pas d'ETag et ignorent If-None-Match.",
            ("fhir-r4.read.etag", "fhir-r4.read.conditional"),
            (fhir.EtagMissing,),
        ),
        Fault(
            "transaction-response-invalid",
            "fhir",
            "documents.pdsm.provide",
            "The ITI-65 response is a `batch-response` whose entries have no `response.location`.",
            "La réponse ITI-65 est un `batch-response` dont les entrées n'ont pas de `response.location`.",
            ("pdsm.iti65.response",),
            (fhir.TransactionResponseInvalid,),
        ),
        Fault(
            "rpps-missing",
            "fhir",
            "directory.practitioner",
            "Practitioners are served without their RPPS identifier.",
            "Les Practitioner sont servis sans leur identifiant RPPS.",
            ("annuaire.practitioner.search-rpps",),
            (fhir.RppsMissing,),
        ),
        Fault(
            "finess-missing",
            "fhir",
            "directory.organization",
            "Organizations are served without their FINESS identifier.",
            "Les Organization sont servies sans leur identifiant FINESS.",
            ("annuaire.organization.search-finess",),
            (fhir.FinessMissing,),
        ),
        _fhir(
            "capability-statement-invalid",
            "fhir.rest.capabilities",
            ("fhir-r4.capabilities.valid",),
            fhir.CapabilityStatementInvalid,
            "The CapabilityStatement's status is `enabled`, not a PublicationStatus code (required binding).",
            "Le statut du CapabilityStatement est `enabled`, qui n'est pas un code PublicationStatus (liaison obligatoire).",
        ),
        _fhir(
            "capability-undeclared-search",
            "fhir.rest.capabilities",
            ("fhir-r4.capabilities.declares-used",),
            fhir.CapabilityUndeclaredSearch,
            "The CapabilityStatement declares Patient search but none of the search parameters the server answers.",
            "Le CapabilityStatement déclare la recherche de Patient mais aucun des paramètres auxquels le serveur répond.",
        ),
        _fhir(
            "metadata-not-r4",
            "fhir.rest.capabilities",
            ("fhir-r4.capabilities.metadata",),
            fhir.MetadataNotR4,
            "The CapabilityStatement declares fhirVersion 3.0.1 (STU3) while the server speaks R4.",
            "Le CapabilityStatement déclare fhirVersion 3.0.1 (STU3) alors que le serveur parle R4.",
        ),
        _fhir(
            "read-wrong-id",
            "fhir.rest.read",
            ("fhir-r4.read.id",),
            fhir.ReadWrongId,
            "A read returns the resource under another id than the one asked for (`<id>-autre`).",
            "Une lecture renvoie la ressource sous un autre id que celui demandé (`<id>-autre`).",
        ),
        _fhir(
            "version-id-missing",
            "fhir.rest.read",
            ("fhir-r4.read.version-id",),
            fhir.VersionIdMissing,
            "Resources are served without meta.versionId (the ETag still carries the version).",
            "Les ressources sont servies sans meta.versionId (l'ETag porte toujours la version).",
        ),
        _fhir(
            "strict-ignored",
            "fhir.rest.errors",
            ("fhir-r4.search.strict",),
            fhir.StrictIgnored,
            "`Prefer: handling=strict` is ignored: an unknown search parameter is dropped silently (200).",
            "`Prefer: handling=strict` est ignoré : un paramètre de recherche inconnu est écarté en silence (200).",
        ),
        _fhir(
            "docref-status-filter-ignored",
            "documents.pdsm.find",
            ("pdsm.iti67.status",),
            fhir.DocrefStatusFilterIgnored,
            "DocumentReference searches ignore `status`: status=current also returns the superseded document.",
            "Les recherches de DocumentReference ignorent `status` : status=current renvoie aussi le document remplacé.",
        ),
        _fhir(
            "docref-second-bad",
            "documents.pdsm.find",
            ("pdsm.iti67.profile",),
            fhir.DocrefSecondBad,
            "The patient's second DocumentReference lacks `custodian` (1..1 in PDSm); the first one is fine.",
            "Le deuxième DocumentReference du patient n'a pas de `custodian` (1..1 dans PDSm) ; le premier est correct.",
        ),
        _fhir(
            "idnatps-missing",
            "directory.practitioner",
            ("annuaire.practitioner.search-idnatps",),
            fhir.IdnatpsMissing,
            "The idNatPs identifier is not indexed: a Practitioner search by idNatPs finds nothing (the resources still carry it).",
            "L'identifiant idNatPs n'est pas indexé : une recherche de Practitioner par idNatPs ne trouve rien (les ressources le portent toujours).",
        ),
        _fhir(
            "practitioner-role-foreign",
            "directory.practitionerrole",
            ("annuaire.practitionerrole.search",),
            fhir.PractitionerRoleForeign,
            "PractitionerRole?practitioner= ignores its parameter: another practitioner's roles come back too.",
            "PractitionerRole?practitioner= ignore son paramètre : les situations d'exercice d'un autre professionnel reviennent aussi.",
        ),
        _fhir(
            "organization-not-annuaire",
            "directory.organization",
            ("annuaire.organization.profile",),
            fhir.OrganizationNotAnnuaire,
            "The organization found by FINESS has no `active` (1..1 in the Annuaire profile).",
            "La structure trouvée par FINESS n'a pas d'élément `active` (1..1 dans le profil Annuaire).",
        ),
        _fhir(
            "vread-unsupported",
            "fhir.rest.read",
            ("fhir-r4.read.vread",),
            fhir.VreadUnsupported,
            "Version reads are not served: `[type]/[id]/_history/[vid]` answers 404 although meta.versionId is given.",
            "Les lectures de version ne sont pas servies : `[type]/[id]/_history/[vid]` répond 404 bien que meta.versionId soit donné.",
        ),
        _fhir(
            "unknown-id-400",
            "fhir.rest.errors",
            ("fhir-r4.read.unknown-id",),
            fhir.UnknownId400,
            "Reading an unknown resource answers 400 (with an OperationOutcome) instead of 404.",
            "La lecture d'une ressource inconnue répond 400 (avec un OperationOutcome) au lieu de 404.",
        ),
        _fhir(
            "json-media-type-wrong",
            "fhir.rest.formats",
            ("fhir-r4.formats.json",),
            fhir.JsonMediaTypeWrong,
            "JSON resources are served as `application/json` instead of `application/fhir+json`.",
            "Les ressources JSON sont servies en `application/json` au lieu de `application/fhir+json`.",
        ),
        _fhir(
            "patient-family-on-given",
            "identity.ins.search",
            ("fr-core.patient.search-traits",),
            fhir.PatientFamilyOnGiven,
            "Patient?family= is matched against the given names: a search by family name and birth date finds nobody.",
            "Patient?family= est comparé aux prénoms : une recherche par nom de famille et date de naissance ne trouve personne.",
        ),
        _fhir(
            "docref-type-on-category",
            "documents.pdsm.find",
            ("pdsm.iti67.search-type",),
            fhir.DocrefTypeOnCategory,
            "DocumentReference?type= is matched against `category`: a search by the document's type finds nothing.",
            "DocumentReference?type= est comparé à `category` : une recherche par le type du document ne trouve rien.",
        ),
        _fhir(
            "docref-date-prefix-inverted",
            "documents.pdsm.find",
            ("pdsm.iti67.search-date",),
            fhir.DocrefDatePrefixInverted,
            "DocumentReference?date= prefixes are inverted (ge runs as lt, le as gt): a document dated that day is not found by ge.",
            "Les préfixes de DocumentReference?date= sont inversés (ge exécuté en lt, le en gt) : un document daté de ce jour n'est pas trouvé par ge.",
        ),
        _fhir(
            "submissionset-no-date",
            "documents.pdsm.submissionset",
            ("pdsm.iti66.profile",),
            fhir.SubmissionSetNoDate,
            "SubmissionSets (List) are served without `date` (1..1 in PDSm).",
            "Les SubmissionSet (List) sont servis sans `date` (1..1 dans PDSm).",
        ),
        _fhir(
            "practitioner-not-annuaire",
            "directory.practitioner",
            ("annuaire.practitioner.profile",),
            fhir.PractitionerNotAnnuaire,
            "Practitioners are served without `active` (1..1 in the Annuaire profile).",
            "Les Practitioner sont servis sans `active` (1..1 dans le profil Annuaire).",
        ),
        _fhir(
            "practitionerrole-not-annuaire",
            "directory.practitionerrole",
            ("annuaire.practitionerrole.profile",),
            fhir.PractitionerRoleNotAnnuaire,
            "PractitionerRoles are served without `active` (1..1 in the Annuaire profile).",
            "Les PractitionerRole sont servis sans `active` (1..1 dans le profil Annuaire).",
        ),
        _fhir(
            "submissionset-code-wrong",
            "documents.pdsm.submissionset",
            ("pdsm.iti66.find",),
            fhir.SubmissionSetCodeWrong,
            "SubmissionSets are filed under the List code `folder`: ITI-66 (code=submissionset) finds none.",
            "Les SubmissionSet sont classés sous le code de List `folder` : ITI-66 (code=submissionset) n'en trouve aucun.",
        ),
        _fhir(
            "transaction-location-wrong",
            "documents.pdsm.provide",
            ("pdsm.iti65.stored",),
            fhir.TransactionLocationWrong,
            "The ITI-65 response's locations name ids the resources were not stored under (`<id>-x`).",
            "Les location de la réponse ITI-65 désignent des id sous lesquels les ressources n'ont pas été enregistrées (`<id>-x`).",
        ),
        Fault(
            "zbe-missing",
            "mllp-sender",
            "movements.pam.emit",
            "Movement messages (A01, A02, A03) are emitted without their ZBE segment.",
            "Les messages de mouvement (A01, A02, A03) sont émis sans leur segment ZBE.",
            ("pam.emit.profile",),
            (mllp.ZbeMissing,),
        ),
        Fault(
            "msh12-wrong",
            "mllp-sender",
            "movements.pam.emit",
            "Emitted messages declare MSH-12 = `2.5` without the FRA / 2.11 components.",
            "Les messages émis déclarent MSH-12 = `2.5` sans les composants FRA / 2.11.",
            ("pam.emit.profile",),
            (mllp.Msh12Wrong,),
        ),
        Fault(
            "ack-wrong-msa2",
            "mllp-receiver",
            "movements.pam.ack",
            "ACKs carry in MSA-2 a control id that is not the acknowledged message's MSH-10.",
            "Les ACK portent en MSA-2 un identifiant qui n'est pas le MSH-10 du message acquitté.",
            ("pam.ack.accepted", "pam.ack.rejected", "cisis.hl7v2.accepted"),
            (mllp.AckWrongMsa2,),
        ),
        Fault(
            "ack-aa-for-defective",
            "mllp-receiver",
            "movements.pam.ack",
            "Defective messages are acknowledged AA, without ERR.",
            "Les messages défectueux sont acquittés AA, sans ERR.",
            ("pam.ack.rejected",),
            (mllp.AckAaForDefective,),
        ),
        Fault(
            "ack-no-err",
            "mllp-receiver",
            "movements.pam.ack",
            "AE/AR acknowledgements carry no ERR segment.",
            "Les acquittements AE/AR ne portent pas de segment ERR.",
            ("pam.ack.rejected",),
            (mllp.AckNoErr,),
        ),
        Fault(
            "oru-obx-not-base64",
            "mllp-sender",
            "documents.hl7v2.transmission",
            "The CDA in the document OBX is sent as escaped text, OBX-5.4 = `A`, instead of Base64.",
            "Le CDA de l'OBX document est envoyé en texte échappé, OBX-5.4 = `A`, au lieu de Base64.",
            ("cisis.hl7v2.obx-base64",),
            (mllp.OruObxNotBase64,),
        ),
        Fault(
            "hl7v2-cda-invalid",
            "mllp-sender",
            "documents.hl7v2.transmission",
            "The CDA document carried by the emitted MDM^T02 and ORU^R01 has lost its title.",
            "Le document CDA porté par les MDM^T02 et ORU^R01 émis a perdu son titre.",
            ("cisis.cda.content",),
            (mllp.DocumentCdaInvalid,),
        ),
        Fault(
            "produced-cda-invalid",
            "documents",
            "documents.cda.content",
            "The CDA document the system produces has lost its title.",
            "Le document CDA produit par le système a perdu son titre.",
            ("cisis.cda.content",),
            (documents.CdaInvalid,),
        ),
        Fault(
            "xdm-hash-tampered",
            "documents",
            "documents.xdm.package",
            "The produced XDM package's METADATA.XML announces a SHA-1 that does not match the document it carries.",
            "Le METADATA.XML du paquet XDM produit annonce un SHA-1 qui ne correspond pas au document transporté.",
            ("xdm.package",),
            (documents.XdmHashTampered,),
        ),
        Fault(
            "dmp-no-tls",
            "dmp-source",
            "dmp.feed.transport",
            "The DMP-feeding client sends over plain HTTP to the DMP's HTTPS endpoint (no TLS, no client certificate).",
            "Le client d'alimentation du DMP envoie en HTTP clair vers le point HTTPS du DMP (ni TLS ni certificat client).",
            ("dmp.feed.mutual-tls",),
            (dmp.NoTls,),
        ),
        Fault(
            "dmp-tls-wrong-cert",
            "dmp-source",
            "dmp.feed.vihf",
            "The DMP-feeding client authenticates with another structure's TLS client certificate than the one its VIHF speaks for.",
            "Le client d'alimentation du DMP s'authentifie avec le certificat TLS client d'une autre structure que celle de son VIHF.",
            ("dmp.feed.vihf-consistent",),
            (dmp.TlsWrongCert,),
        ),
        Fault(
            "dmp-soap11",
            "dmp-source",
            "dmp.feed.transport",
            "The ITI-41 request is a SOAP 1.1 envelope (the DMP requires SOAP 1.2).",
            "La requête ITI-41 est une enveloppe SOAP 1.1 (le DMP exige SOAP 1.2).",
            ("dmp.feed.soap12",),
            (dmp.Soap11,),
        ),
        Fault(
            "dmp-action-missing",
            "dmp-source",
            "dmp.feed.transport",
            "The ITI-41 request has no WS-Addressing Action header.",
            "La requête ITI-41 n'a pas d'en-tête WS-Addressing Action.",
            ("dmp.feed.ws-addressing",),
            (dmp.ActionMissing,),
        ),
        Fault(
            "dmp-truncated-multipart",
            "dmp-source",
            "dmp.feed.transport",
            "The ITI-41 MTOM body is cut before its closing MIME boundary.",
            "Le corps MTOM de la requête ITI-41 est coupé avant sa délimitation MIME finale.",
            ("dmp.feed.mtom",),
            (dmp.TruncatedMultipart,),
        ),
        Fault(
            "dmp-missing-part",
            "dmp-source",
            "dmp.feed.transport",
            "The ITI-41 xop:Include points at a MIME part that is not in the message.",
            "Le xop:Include de la requête ITI-41 désigne une partie MIME absente du message.",
            ("dmp.feed.mtom",),
            (dmp.MissingPart,),
        ),
        Fault(
            "dmp-vihf-missing",
            "dmp-source",
            "dmp.feed.vihf",
            "Requests carry no VIHF (no SAML assertion in wsse:Security).",
            "Les requêtes ne portent pas de VIHF (pas d'assertion SAML dans wsse:Security).",
            ("dmp.feed.vihf-signed",),
            (dmp.VihfMissing,),
        ),
        Fault(
            "dmp-vihf-signature-broken",
            "dmp-source",
            "dmp.feed.vihf",
            "The VIHF is changed after signing (NameID): its XML signature no longer verifies.",
            "Le VIHF est modifié après signature (NameID) : sa signature XML ne se vérifie plus.",
            ("dmp.feed.vihf-signed",),
            (dmp.VihfSignatureBroken,),
        ),
        Fault(
            "dmp-vihf-attribute-missing",
            "dmp-source",
            "dmp.feed.vihf",
            "The VIHF lacks its Secteur_Activite attribute.",
            "Le VIHF n'a pas d'attribut Secteur_Activite.",
            ("dmp.feed.vihf-attributes",),
            (dmp.VihfAttributeMissing,),
        ),
        Fault(
            "dmp-vihf-version-wrong",
            "dmp-source",
            "dmp.feed.vihf",
            "The VIHF declares VIHF_Version 2.0 (3.0 or 4.0 expected).",
            "Le VIHF déclare VIHF_Version 2.0 (3.0 ou 4.0 attendue).",
            ("dmp.feed.vihf-attributes",),
            (dmp.VihfVersionWrong,),
        ),
        Fault(
            "dmp-vihf-structure-mismatch",
            "dmp-source",
            "dmp.feed.vihf",
            "The VIHF's Identifiant_Structure matches neither the authorInstitution nor the TLS client certificate.",
            "L'Identifiant_Structure du VIHF ne correspond ni à l'authorInstitution ni au certificat TLS client.",
            ("dmp.feed.vihf-consistent",),
            (dmp.VihfStructureMismatch,),
        ),
        Fault(
            "dmp-metadata-missing",
            "dmp-source",
            "dmp.feed.metadata",
            "The document entry lacks the required legalAuthenticator and languageCode slots.",
            "La fiche de document n'a pas les slots obligatoires legalAuthenticator et languageCode.",
            ("dmp.feed.metadata-required",),
            (dmp.MetadataMissing,),
        ),
        Fault(
            "dmp-authorperson-no-name",
            "dmp-source",
            "dmp.feed.metadata",
            "authorPerson carries the national id without the author's family and given names.",
            "authorPerson porte l'identifiant national sans le nom ni le prénom de l'auteur.",
            ("dmp.feed.author-formats",),
            (dmp.AuthorPersonNoName,),
        ),
        Fault(
            "dmp-authorinstitution-format",
            "dmp-source",
            "dmp.feed.metadata",
            "authorInstitution is written without the &…&ISO sub-components (the outdated CDAHeaderToXDM.xsl form).",
            "authorInstitution est écrit sans les sous-composants &…&ISO (la forme périmée de CDAHeaderToXDM.xsl).",
            ("dmp.feed.author-formats",),
            (dmp.AuthorInstitutionFormat,),
        ),
        Fault(
            "dmp-patientid-not-ins",
            "dmp-source",
            "dmp.feed.metadata",
            "patientId (entry and submission set) is the facility's local identifier instead of the INS.",
            "Le patientId (fiche et lot) est l'identifiant local de l'établissement au lieu de l'INS.",
            ("dmp.feed.patient-ins",),
            (dmp.PatientIdNotIns,),
        ),
        Fault(
            "dmp-ins-unknown-oid",
            "dmp-source",
            "dmp.feed.metadata",
            "The patient's INS claims the INS arc with an unknown authority OID 1.2.250.1.213.1.4.99 (document, metadata and VIHF alike).",
            "L'INS du patient se réclame de l'arc INS avec un OID d'autorité inconnu 1.2.250.1.213.1.4.99 (document, métadonnées et VIHF).",
            ("dmp.feed.patient-ins", "dmp.feed.cda"),
            (dmp.InsUnknownOid,),
        ),
        Fault(
            "dmp-classcode-unknown",
            "dmp-source",
            "dmp.feed.metadata",
            "classCode 99 is not in JDV_J57-ClassCode-DMP.",
            "Le classCode 99 n'appartient pas à JDV_J57-ClassCode-DMP.",
            ("dmp.feed.value-sets",),
            (dmp.ClassCodeUnknown,),
        ),
        Fault(
            "dmp-xades-missing",
            "dmp-source",
            "dmp.feed.metadata",
            "The submission set is sent without its XAdES signature entry.",
            "Le lot de soumission est envoyé sans sa fiche de signature XAdES.",
            ("dmp.feed.xades",),
            (dmp.XadesMissing,),
        ),
        Fault(
            "dmp-xades-manifest-wrong",
            "dmp-source",
            "dmp.feed.metadata",
            "The signed manifest carries the digest of another content than the document sent.",
            "Le manifeste signé porte l'empreinte d'un autre contenu que le document envoyé.",
            ("dmp.feed.xades",),
            (dmp.XadesManifestWrong,),
        ),
        Fault(
            "dmp-hash-wrong",
            "dmp-source",
            "dmp.feed.metadata",
            "The entry's hash slot is the SHA-1 of another content than the document sent.",
            "Le slot hash de la fiche est le SHA-1 d'un autre contenu que le document envoyé.",
            ("dmp.feed.hash-size",),
            (dmp.HashWrong,),
        ),
        Fault(
            "dmp-size-wrong",
            "dmp-source",
            "dmp.feed.metadata",
            "The entry's size slot is one byte more than the document sent.",
            "Le slot size de la fiche dépasse d'un octet la taille du document envoyé.",
            ("dmp.feed.hash-size",),
            (dmp.SizeWrong,),
        ),
        Fault(
            "dmp-uniqueid-mismatch",
            "dmp-source",
            "dmp.feed.metadata",
            "The entry's uniqueId is not the CDA document's id.",
            "Le uniqueId de la fiche n'est pas l'identifiant du document CDA.",
            ("dmp.feed.matches-cda",),
            (dmp.UniqueIdMismatch,),
        ),
        Fault(
            "dmp-cda-invalid",
            "dmp-source",
            "documents.cda.content",
            "The CDA document sent to the DMP has lost its title.",
            "Le document CDA envoyé au DMP a perdu son titre.",
            ("dmp.feed.cda",),
            (dmp.CdaInvalid,),
        ),
        Fault(
            "dmp-query-no-patient",
            "dmp-source",
            "dmp.feed.consult",
            "The ITI-18 FindDocuments query has no $XDSDocumentEntryPatientId.",
            "La requête ITI-18 FindDocuments n'a pas de $XDSDocumentEntryPatientId.",
            ("dmp.feed.stored-queries",),
            (dmp.QueryNoPatient,),
        ),
        Fault(
            "dmp-update-wrong-status",
            "dmp-source",
            "dmp.feed.update",
            "The ITI-57 status update asks for a status the DMP does not know (Hidden).",
            "La mise à jour ITI-57 demande un statut inconnu du DMP (Hidden).",
            ("dmp.feed.updates",),
            (dmp.UpdateWrongStatus,),
        ),
        Fault(
            "dmp-repo-hash-unchecked",
            "dmp-repository",
            "dmp.repository.register",
            "The reference repository accepts a document whose declared hash and size do not match it.",
            "Le dépôt de référence accepte un document dont l'empreinte et la taille déclarées ne correspondent pas.",
            ("dmp.repository.refuses-hash",),
            (dmp.RepoHashUnchecked,),
        ),
        Fault(
            "dmp-repo-unknown-patient-accepted",
            "dmp-repository",
            "dmp.repository.register",
            "The reference registry accepts a submission for a patient it does not know.",
            "Le registre de référence accepte une soumission pour un patient qu'il ne connaît pas.",
            ("dmp.repository.refuses-unknown-patient",),
            (dmp.RepoUnknownPatientAccepted,),
        ),
        Fault(
            "dmp-repo-metadata-unchecked",
            "dmp-repository",
            "dmp.repository.register",
            "The reference registry accepts submissions missing required metadata.",
            "Le registre de référence accepte des soumissions privées de métadonnées obligatoires.",
            ("dmp.repository.refuses-missing-metadata",),
            (dmp.RepoMetadataUnchecked,),
        ),
        Fault(
            "dmp-repo-error-code-wrong",
            "dmp-repository",
            "dmp.repository.register",
            "The reference registry refuses with a non-standard error code (DMP_ERREUR) instead of the XDS codes.",
            "Le registre de référence refuse avec un code d'erreur non standard (DMP_ERREUR) au lieu des codes XDS.",
            ("dmp.repository.error-codes",),
            (dmp.RepoErrorCodeWrong,),
        ),
        Fault(
            "dmp-repo-partial-success",
            "dmp-repository",
            "dmp.repository.register",
            "The reference registry answers PartialSuccess to a valid submission it registered in full.",
            "Le registre de référence répond PartialSuccess à une soumission valide qu'il a enregistrée entièrement.",
            ("dmp.repository.accepts-valid",),
            (dmp.RepoPartialSuccess,),
        ),
        Fault(
            "dmp-repo-action-wrong",
            "dmp-repository",
            "dmp.repository.register",
            "The reference repository answers with the request's Action instead of the response Action.",
            "Le dépôt de référence répond avec l'Action de la requête au lieu de l'Action de réponse.",
            ("dmp.repository.addressed",),
            (dmp.RepoActionWrong,),
        ),
        Fault(
            "dmp-repo-no-relatesto",
            "dmp-repository",
            "dmp.repository.register",
            "The reference repository's answers have no WS-Addressing RelatesTo.",
            "Les réponses du dépôt de référence n'ont pas de WS-Addressing RelatesTo.",
            ("dmp.repository.addressed",),
            (dmp.RepoNoRelatesTo,),
        ),
        Fault(
            "dmp-repo-find-empty",
            "dmp-repository",
            "dmp.repository.consult",
            "The reference registry's FindDocuments never finds anything.",
            "Le FindDocuments du registre de référence ne trouve jamais rien.",
            ("dmp.repository.find",),
            (dmp.RepoFindEmpty,),
        ),
        Fault(
            "dmp-repo-retrieve-corrupt",
            "dmp-repository",
            "dmp.repository.consult",
            "The reference repository returns altered bytes on ITI-43.",
            "Le dépôt de référence renvoie des octets altérés en ITI-43.",
            ("dmp.repository.retrieve",),
            (dmp.RepoRetrieveCorrupt,),
        ),
        Fault(
            "dmp-repo-archive-ignored",
            "dmp-repository",
            "dmp.repository.update",
            "The reference registry answers Success to ITI-57 archiving but leaves the document Approved.",
            "Le registre de référence répond Success à l'archivage ITI-57 mais laisse le document Approved.",
            ("dmp.repository.archive",),
            (dmp.RepoArchiveIgnored,),
        ),
    )
}

MSS_FAULTS = (
    # (name, endpoint, capability, English, French, the requirement it breaks, its hook class)
    ("mss-plaintext-first", "mssante-client", "mssante.client.transport",
     "The MSSanté client sends MAIL FROM in clear before STARTTLS (refused), then upgrades and submits.",
     "Le client MSSanté envoie MAIL FROM en clair avant STARTTLS (refusé), puis chiffre et soumet.",
     "mssante.client.starttls", mss.PlaintextFirst),
    ("mss-auth-plain", "mssante-client", "mssante.client.transport",
     "The MSSanté client authenticates with SASL PLAIN (password) instead of XOAUTH2 with a Pro Santé Connect token.",
     "Le client MSSanté s'authentifie en SASL PLAIN (mot de passe) au lieu de XOAUTH2 avec un jeton Pro Santé Connect.",
     "mssante.client.auth", mss.AuthPlain),
    ("mss-imap-plaintext-first", "mssante-client", "mssante.client.transport",
     "The MSSanté client tries its IMAP LOGIN in clear before STARTTLS (refused), then upgrades and fetches.",
     "Le client MSSanté tente son LOGIN IMAP en clair avant STARTTLS (refusé), puis chiffre et relève.",
     "mssante.client.imap", mss.ImapPlaintextFirst),
    ("mss-tls-legacy-accepted", "mssante-client", "mssante.client.tls",
     "The MSSanté client accepts TLS 1.0/1.1 (and their cipher suites) when the operator offers nothing newer.",
     "Le client MSSanté accepte TLS 1.0/1.1 (et leurs suites) quand l'opérateur ne propose rien de plus récent.",
     "mssante.client.tls-version", mss.TlsLegacyAccepted),
    ("mss-tls-any-cipher", "mssante-client", "mssante.client.tls",
     "The MSSanté client negotiates any TLS 1.2 cipher suite, not only the four ECDHE-RSA suites allowed.",
     "Le client MSSanté négocie n'importe quelle suite TLS 1.2, pas seulement les quatre suites ECDHE-RSA permises.",
     "mssante.client.tls-cipher", mss.TlsAnyCipher),
    ("mss-tls-expired-accepted", "mssante-client", "mssante.client.tls",
     "The MSSanté client checks the operator certificate's issuer but not its validity dates (expired accepted).",
     "Le client MSSanté vérifie l'émetteur du certificat de l'opérateur mais pas ses dates (expiré accepté).",
     "mssante.client.tls-expired", mss.TlsExpiredAccepted),
    ("mss-tls-any-ca", "mssante-client", "mssante.client.tls",
     "The MSSanté client checks the operator certificate's dates but not its issuer (any CA accepted).",
     "Le client MSSanté vérifie les dates du certificat de l'opérateur mais pas son émetteur (toute AC acceptée).",
     "mssante.client.tls-authority", mss.TlsAnyCa),
    ("mss-message-id-missing", "mssante-client", "mssante.client.message",
     "MSSanté messages are sent without a Message-ID header.",
     "Les messages MSSanté sont envoyés sans en-tête Message-ID.",
     "mssante.client.message-id", mss.MessageIdMissing),
    ("mss-from-no-display", "mssante-client", "mssante.client.message",
     "The From header carries the bare address, without a display name.",
     "L'en-tête From porte l'adresse seule, sans nom d'affichage.",
     "mssante.client.from-display", mss.FromNoDisplay),
    ("mss-reply-to-missing", "mssante-client", "mssante.client.message",
     "Messages from the application mailbox carry no Reply-To.",
     "Les messages de la BAL applicative ne portent pas de Reply-To.",
     "mssante.client.reply-to", mss.ReplyToMissing),
    ("mss-latin1-text", "mssante-client", "mssante.client.message",
     "The text part is encoded in ISO-8859-1 instead of UTF-8.",
     "La partie texte est encodée en ISO-8859-1 au lieu d'UTF-8.",
     "mssante.client.utf8", mss.Latin1Text),
    ("mss-nil-missing", "mssante-client", "mssante.client.message",
     "Messages carry no X-MSS-NIL header.",
     "Les messages ne portent pas d'en-tête X-MSS-NIL.",
     "mssante.client.nil", mss.NilMissing),
    ("mss-ins-header-wrong", "mssante-client", "mssante.client.message",
     "X-MSS-INS carries `OUI` instead of `O`.",
     "X-MSS-INS porte « OUI » au lieu de « O ».",
     "mssante.client.ins", mss.InsHeaderWrong),
    ("mss-codecda-wrong", "mssante-client", "mssante.client.message",
     "X-MSS-CODECDA announces 11488-4 while the CDA document's code is 18761-7.",
     "X-MSS-CODECDA annonce 11488-4 alors que le code du document CDA est 18761-7.",
     "mssante.client.codecda", mss.CodecdaWrong),
    ("mss-mdn-not-requested", "mssante-client", "mssante.client.message",
     "Messages do not request a disposition notification (no Disposition-Notification-To).",
     "Les messages ne demandent pas d'accusé de lecture (pas de Disposition-Notification-To).",
     "mssante.client.mdn-request", mss.MdnNotRequested),
    ("mss-subject-wrong", "mssante-client", "mssante.client.message",
     "The subject lacks the XDM/1.0/DDM+ prefix.",
     "L'objet n'a pas le préfixe XDM/1.0/DDM+.",
     "mssante.client.subject", mss.SubjectWrong),
    ("mss-body-html", "mssante-client", "mssante.client.message",
     "The message body is declared text/html instead of text/plain or multipart/alternative.",
     "Le corps du message est déclaré text/html au lieu de text/plain ou multipart/alternative.",
     "mssante.client.body-type", mss.BodyHtml),
    ("mss-two-patients", "mssante-client", "mssante.client.content",
     "One message carries two IHE_XDM archives about two different patients.",
     "Un même message porte deux archives IHE_XDM concernant deux patients différents.",
     "mssante.client.one-patient", mss.TwoPatients),
    ("mss-xdm-hash", "mssante-client", "mssante.client.content",
     "The attached IHE_XDM archive's METADATA.XML announces a SHA-1 that is not the document's.",
     "Le METADATA.XML de l'archive IHE_XDM jointe annonce un SHA-1 qui n'est pas celui du document.",
     "mssante.client.xdm", mss.XdmHash),
    ("mss-pdf-name-wrong", "mssante-client", "mssante.client.content",
     "The PDF rendering is named `compte-rendu.pdf` instead of <date>_<type>_<NOM>_<prénom>.pdf.",
     "Le rendu PDF s'appelle « compte-rendu.pdf » au lieu de <date>_<type>_<NOM>_<prénom>.pdf.",
     "mssante.client.pdf", mss.PdfNameWrong),
    ("mss-patient-address-ipp", "mssante-client", "mssante.client.patient",
     "The patient is addressed at <IPP>@patient.mssante.fr instead of <INS>@patient.mssante.fr.",
     "Le patient est adressé à <IPP>@patient.mssante.fr au lieu de <INS>@patient.mssante.fr.",
     "mssante.client.patient-address", mss.PatientAddressIpp),
    ("mss-receiver-accepts-unknown", "mssante-receiver", "mssante.receiver.integration",
     "The receiving system integrates a document for an unknown patient (no 902).",
     "Le système destinataire intègre un document d'un patient inconnu (pas de 902).",
     "mssante.receiver.unknown-patient", mss.ReceiverAcceptsUnknown),
    ("mss-receiver-ignores-ins-mismatch", "mssante-receiver", "mssante.receiver.integration",
     "The receiving system integrates a document whose identity traits do not match the known INS (no 904).",
     "Le système destinataire intègre un document dont les traits ne correspondent pas à l'INS connu (pas de 904).",
     "mssante.receiver.ins-mismatch", mss.ReceiverIgnoresInsMismatch),
    ("mss-receiver-generic-code", "mssante-receiver", "mssante.receiver.integration",
     "An incomplete INS is reported with the generic code 906 instead of 905.",
     "Un INS incomplet est signalé avec le code générique 906 au lieu de 905.",
     "mssante.receiver.ins-incomplete", mss.ReceiverGenericCode),
    ("mss-receiver-integrates-two-patients", "mssante-receiver", "mssante.receiver.integration",
     "The receiving system does not check that a message concerns one patient: it judges the first one only.",
     "Le système destinataire ne vérifie pas qu'un message concerne un seul patient : il ne juge que le premier.",
     "mssante.receiver.two-patients", mss.ReceiverIntegratesTwoPatients),
    ("mss-receiver-ignores-hash", "mssante-receiver", "mssante.receiver.integration",
     "The receiving system integrates an archive whose declared SHA-1 does not match its document.",
     "Le système destinataire intègre une archive dont le SHA-1 déclaré ne correspond pas au document.",
     "mssante.receiver.broken-hash", mss.ReceiverIgnoresHash),
    ("mss-mdn-not-report", "mssante-receiver", "mssante.receiver.integration",
     "Successful integrations are acknowledged by a plain-text e-mail instead of an RFC 8098 MDN.",
     "Les intégrations réussies sont acquittées par un courriel texte au lieu d'un MDN RFC 8098.",
     "mssante.receiver.mdn-structure", mss.MdnNotReport),
)  # fmt: skip
FAULTS.update(
    {name: Fault(name, endpoint, cap, en, fr, (req,), (hook,)) for name, endpoint, cap, en, fr, req, hook in MSS_FAULTS}
)


def _acts_in(fault: Fault, base: type) -> bool:
    return any(issubclass(hook, base) for hook in fault.hooks)


FHIR_FAULTS = {name: f for name, f in FAULTS.items() if _acts_in(f, fhir.FhirFault)}

H = TypeVar("H")


def active_hooks(names: Iterable[str], base: type[H]) -> list[H]:
    """One instance of each hook class deriving from `base` of these faults, in the registry's order."""
    wanted = set(names)
    return [hook() for name, f in FAULTS.items() if name in wanted for hook in f.hooks if issubclass(hook, base)]


def fhir_hooks(names: Iterable[str]) -> fhir.FaultHooks:
    """The FHIR server's hooks for these faults (faults acting elsewhere have none)."""
    return fhir.FaultHooks(active_hooks(names, fhir.FhirFault))


def document_hooks(names: Iterable[str]) -> documents.DocumentFaultHooks:
    """The hooks of these faults in the documents the reference system produces."""
    return documents.DocumentFaultHooks(active_hooks(names, documents.DocumentFault))


def dmp_source_hooks(names: Iterable[str]) -> dmp.DmpSourceFaultHooks:
    """The reference DMP-feeding client's hooks for these faults."""
    return dmp.DmpSourceFaultHooks(active_hooks(names, dmp.DmpSourceFault))


def dmp_repository_hooks(names: Iterable[str]) -> dmp.DmpRepositoryFaultHooks:
    """The reference DMP repository/registry's hooks for these faults."""
    return dmp.DmpRepositoryFaultHooks(active_hooks(names, dmp.DmpRepositoryFault))


def mss_hooks(names: Iterable[str]) -> mss.MssFaultHooks:
    """The reference MSSanté system's hooks for these faults (its client and its receiving system)."""
    return mss.MssFaultHooks(active_hooks(names, mss.MssFault))


def mllp_hooks(names: Iterable[str]) -> mllp.MllpFaultHooks:
    """The reference MLLP peers' hooks for these faults (the PAM messages sent, the ACKs)."""
    return mllp.MllpFaultHooks(active_hooks(names, mllp.MllpFault))


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
