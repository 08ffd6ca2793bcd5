"""ITI-41 metadata (ebRIM SubmitObjectsRequest) judged as the DMP would: required slots, classifications and
external identifiers (CI-SIS "Mapping XDS": R and RE), the formats of authorPerson / authorInstitution /
patientId (XCN, XON, CX with the INS), the DMP value sets where their codes are known, hash and size against
the document, uniqueId against the CDA id, the submission set's patientId against the entries', and the CDA
header against the metadata.

Rule ids are `xds-*` and stable; `XDS_ERROR_CODES` gives the standard XDS error code a registry answers with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from conformance.findings import Finding, finding
from conformance.identifiers import ID_NAT_PS_OID as ID_NAT_PS
from conformance.identifiers import ID_NAT_STRUCT_OID as ID_NAT_STRUCT
from conformance.identifiers import INS_OIDS
from conformance.validation import ins as ins_rules
from conformance.validation.cda.pack import load_pack

from . import ebrim, xades
from .build import read_header
from .ebrim import CLASSIFICATIONS, NS, PATIENT_ID, RIM, UNIQUE_ID, external, first_slot, slot_values
from .rules import J57_CLASS_CODES, J57_EXTRA, J58_CONFIDENTIALITY, XdsRules

_CX = re.compile(r"^([^\^&]+)\^\^\^&([0-9.]+)&ISO(\^[A-Z]+)?$")
_XCN = re.compile(
    r"^([^\^]*)\^([^\^]*)\^([^\^]*)\^[^\^]*\^[^\^]*\^[^\^]*\^[^\^]*\^[^\^]*\^&([0-9.]+)&ISO\^([A-Z]*)\^[^\^]*\^[^\^]*\^([A-Z]*)$"
)
_XON = re.compile(r"^([^\^]+)\^[^\^]*\^[^\^]*\^[^\^]*\^[^\^]*\^&([0-9.]+)&ISO\^([A-Z]+)\^[^\^]*\^[^\^]*\^(.+)$")
_PS_ID = re.compile(r"^(0|1|3|4|5|6|8)\d*")
_STRUCT_ID = re.compile(r"^[0-4]")
_DTM = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2})?)?)?)?)?$")

ENTRY_SLOTS_REQUIRED = (
    "creationTime",
    "hash",
    "languageCode",
    "legalAuthenticator",
    "serviceStartTime",
    "size",
    "sourcePatientId",
)
ENTRY_CODES_REQUIRED = tuple(CLASSIFICATIONS)
CISIS_VALUE_SETS = {
    "typeCode": "JDV_J07_XdsTypeCode_CISIS",
    "healthcareFacilityTypeCode": "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS",
    "practiceSettingCode": "JDV_J04_XdsPracticeSettingCode_CISIS",
    "formatCode": "JDV_J10_XdsFormatCode_CISIS",
    "classCode": "JDV_J06_XdsClassCode_CISIS",
    "confidentialityCode": "JDV_J08_XdsConfidentialityCode_CISIS",
}
XDS_ERROR_CODES = {
    "xds-hash-mismatch": "XDSNonIdenticalHash",
    "xds-size-mismatch": "XDSNonIdenticalSize",
    "xds-document-missing": "XDSMissingDocument",
    "xds-document-metadata-missing": "XDSMissingDocumentMetadata",
    "xds-patientid-submissionset-mismatch": "XDSPatientIdDoesNotMatch",
    "xds-patientid-unknown": "XDSUnknownPatientId",
    "xds-uniqueid-duplicate": "XDSDuplicateUniqueIdInRegistry",
    "xds-uniqueid-duplicate-in-message": "XDSRegistryDuplicateUniqueIdInMessage",
}


def xds_error_code(rule: str) -> str:
    return XDS_ERROR_CODES.get(rule, "XDSRegistryMetadataError")


def _f(rule: str, location: str, fr: str, en: str, code: str = "invalid", severity: str = "error") -> Finding:
    return finding(severity, code, rule, location, fr, en, source="xds")


def coded(element: etree._Element, scheme: str) -> list[tuple[str, str]]:
    return [
        (c.get("nodeRepresentation", ""), first_slot(c, "codingScheme"))
        for c in element.findall(f"rim:Classification[@classificationScheme='{scheme}']", NS)
    ]


# ---------------------------------------------------------------- INS (shared with the VIHF resource id)


def check_ins_cx(value: str, location: str, what: str) -> list[Finding]:
    """An INS carried as a CX: `<INS>^^^&<OID>&ISO^NH`. The OID must be one of the INS authorities."""
    match = _CX.match(value)
    if not match:
        return [
            _f(
                "xds-patientid-format",
                location,
                f"{what} « {_hide(value)} » n'a pas la forme CX INS^^^&OID&ISO^NH.",
                f"{what} '{_hide(value)}' is not a CX INS^^^&OID&ISO^NH.",
            )
        ]
    identifier, authority, suffix = match.groups()
    check = ins_rules.check_ins(identifier, authority)
    if check.authority is not ins_rules.Authority.INS:
        if check.authority is ins_rules.Authority.INS_C:
            return [
                _f(
                    "xds-patientid-ins-c",
                    location,
                    f"{what} : INS-C (INS calculé, OID {authority}) : ne doit plus être transmis, seul l'INS "
                    "(NIR ou NIA) qualifié est admis.",
                    f"{what}: INS-C (computed INS, OID {authority}) must no longer be sent; only a qualified INS "
                    "(NIR or NIA) is accepted.",
                    code="code-invalid",
                )
            ]
        if check.authority is ins_rules.Authority.UNKNOWN:
            return [
                _f(
                    "xds-patientid-ins-unknown-oid",
                    location,
                    f"{what} : l'OID {authority} se réclame de l'arc INS mais n'est pas une autorité INS connue "
                    f"({', '.join(sorted(INS_OIDS))}).",
                    f"{what}: OID {authority} claims the INS arc but is not a known INS authority "
                    f"({', '.join(sorted(INS_OIDS))}).",
                    code="code-invalid",
                )
            ]
        return [
            _f(
                "xds-patientid-not-ins",
                location,
                f"{what} doit être l'INS du patient (autorité {', '.join(sorted(INS_OIDS))}), trouvé {authority}.",
                f"{what} must be the patient's INS (authority {', '.join(sorted(INS_OIDS))}), found {authority}.",
            )
        ]
    found: list[Finding] = []
    if not check.key_ok:
        found.append(
            _f(
                "xds-patientid-ins-key",
                location,
                f"{what} : le matricule INS ({len(identifier)} caractères) n'a pas une clé NIR/NIA valide.",
                f"{what}: the INS ({len(identifier)} characters) has no valid NIR/NIA key.",
                severity=check.key_severity,
            )
        )
    if suffix not in (None, "^NH"):
        found.append(
            _f(
                "xds-patientid-type",
                location,
                f"{what} : type d'identifiant {suffix[1:]} au lieu de NH.",
                f"{what}: identifier type {suffix[1:]} instead of NH.",
                severity="warning",
            )
        )
    return found


def _hide(value: str) -> str:
    """A CX with its identifier masked: patient identifiers never reach the report text."""
    head, sep, rest = value.partition("^")
    return f"{'•' * min(len(head), 15)}{sep}{rest}" if head else value


# ---------------------------------------------------------------- the submission


@dataclass(slots=True)
class Judged:
    """The metadata judgement of one ITI-41 request."""

    findings: list[Finding] = field(default_factory=list)
    entries: list[dict[str, str]] = field(default_factory=list)  # per entry: id, uniqueId, patientId, hash...
    submission_patient: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity.is_failure]


def judge_submission(
    submit: etree._Element | None,
    documents: dict[str, bytes],
    rules: XdsRules | None = None,
    *,
    unreadable: AbstractSet[str] = frozenset(),
) -> Judged:
    """Judge a SubmitObjectsRequest and the documents carried with it (entry id -> bytes). Documents whose MIME
    part could not be read (`unreadable`) are a transport fault judged elsewhere: not reported missing here."""
    rules = rules or XdsRules()
    judged = Judged()
    add = judged.findings.extend
    if submit is None:
        add(
            [
                _f(
                    "xds-submit-missing",
                    "Body",
                    "Pas de SubmitObjectsRequest dans la requête.",
                    "No SubmitObjectsRequest in the request.",
                    code="required",
                )
            ]
        )
        return judged
    packages = submit.findall(".//rim:RegistryPackage", NS)
    set_ids = _submission_set_ids(submit, packages, rules)
    if not set_ids:
        add(
            [
                _f(
                    "xds-submissionset-missing",
                    "RegistryObjectList",
                    "Aucun lot de soumission (RegistryPackage classé SubmissionSet).",
                    "No submission set (RegistryPackage classified as SubmissionSet).",
                    code="required",
                )
            ]
        )
    for package in packages:
        if package.get("id") in set_ids:
            judged.submission_patient = external(package, ebrim.SS_PATIENT_ID)
            add(_submission_set(package))
    entries = submit.findall(".//rim:ExtrinsicObject", NS)
    if not entries:
        add(
            [
                _f(
                    "xds-document-entry-missing",
                    "RegistryObjectList",
                    "Aucune fiche de document (ExtrinsicObject).",
                    "No document entry (ExtrinsicObject).",
                    code="required",
                )
            ]
        )
    seen: set[str] = set()
    pack = load_pack(Path(rules.cda_pack) if rules.cda_pack else None)
    for index, entry in enumerate(entries, start=1):
        where = f"ExtrinsicObject[{index}]"
        signature = xades.is_signature_entry(entry)  # judged by the signature rules, not as a CDA document
        if not signature:
            add(_entry(entry, where, rules, pack))
        unique = external(entry, UNIQUE_ID)
        if unique and unique in seen:
            add(
                [
                    _f(
                        "xds-uniqueid-duplicate-in-message",
                        f"{where}/uniqueId",
                        f"uniqueId {unique} répété dans le lot.",
                        f"uniqueId {unique} repeated in the submission.",
                    )
                ]
            )
        seen.add(unique)
        patient = external(entry, PATIENT_ID)
        if judged.submission_patient and patient and patient != judged.submission_patient:
            add(
                [
                    _f(
                        "xds-patientid-submissionset-mismatch",
                        f"{where}/patientId",
                        "Le patientId de la fiche diffère de celui du lot de soumission.",
                        "The entry's patientId differs from the submission set's.",
                        code="business-rule",
                    )
                ]
            )
        content = documents.get(entry.get("id", ""))
        if content is None and entry.get("id", "") in unreadable:
            pass
        elif content is None:
            add(
                [
                    _f(
                        "xds-document-missing",
                        where,
                        f"Aucun document transmis pour la fiche {entry.get('id')}.",
                        f"No document carried for entry {entry.get('id')}.",
                        code="required",
                    )
                ]
            )
        else:
            add(_hash_and_size(entry, content, where))
            if not signature and entry.get("mimeType", "text/xml") in ("text/xml", "application/xml"):
                add(_against_cda(entry, content, where))
            elif not signature:
                add(_mime_type(entry, content, where))
        judged.entries.append(
            {"id": entry.get("id", ""), "uniqueId": unique, "patientId": patient, "hash": first_slot(entry, "hash")}
        )
    ids = {e.get("id") for e in entries}
    for extra in sorted(set(documents) - ids):
        add(
            [
                _f(
                    "xds-document-metadata-missing",
                    f"Document[@id='{extra}']",
                    f"Document {extra} transmis sans fiche de métadonnées.",
                    f"Document {extra} carried without metadata.",
                    code="required",
                )
            ]
        )
    add(xades.judge_signatures(submit, documents, rules))
    for entry_id in sorted(_without_member(submit, set_ids, ids) if set_ids else set()):
        add(
            [
                _f(
                    "xds-association-missing",
                    f"Association[@targetObject='{entry_id}']",
                    f"Aucune association HasMember du lot de soumission vers la fiche {entry_id}.",
                    f"No HasMember association from the submission set to entry {entry_id}.",
                    code="required",
                )
            ]
        )
    return judged


def _submission_set_ids(submit: etree._Element, packages: list[etree._Element], rules: XdsRules) -> set[str]:
    nodes = ebrim.SUBMISSION_SET_NODES[:1] if rules.strict else ebrim.SUBMISSION_SET_NODES
    ids = {p.get("id", "") for p in packages}
    classified = {
        c.get("classifiedObject", "") or (c.getparent().get("id", "") if c.getparent() is not None else "")
        for c in submit.iter(f"{{{RIM}}}Classification")
        if c.get("classificationNode") in nodes
    }
    return ids & classified


def _without_member(submit: etree._Element, set_ids: set[str], entry_ids: set[str | None]) -> set[str]:
    """The entries no HasMember association of the submission set points at (each entry needs its own)."""
    members = {
        a.get("targetObject")
        for a in submit.iter(f"{{{RIM}}}Association")
        if a.get("associationType") == ebrim.HAS_MEMBER and a.get("sourceObject") in set_ids
    }
    return {str(e) for e in entry_ids if e and e not in members}


def _submission_set(package: etree._Element) -> list[Finding]:
    found: list[Finding] = []
    where = "RegistryPackage[SubmissionSet]"
    if not _DTM.match(first_slot(package, "submissionTime")):
        found.append(
            _missing_or_format(
                "xds-submissionset-submissiontime", where, "submissionTime", first_slot(package, "submissionTime")
            )
        )
    for scheme, label in (
        (ebrim.SS_UNIQUE_ID, "uniqueId"),
        (ebrim.SS_SOURCE_ID, "sourceId"),
        (ebrim.SS_PATIENT_ID, "patientId"),
    ):
        value = external(package, scheme)
        if not value:
            found.append(
                _f(
                    f"xds-submissionset-{label.lower()}-missing",
                    f"{where}/{label}",
                    f"{label} du lot de soumission absent.",
                    f"Submission set {label} missing.",
                    code="required",
                )
            )
        elif label == "patientId":
            found.extend(check_ins_cx(value, f"{where}/patientId", "patientId du lot"))
    if not coded(package, ebrim.CONTENT_TYPE_CODE):
        found.append(
            _f(
                "xds-submissionset-contenttypecode-missing",
                f"{where}/contentTypeCode",
                "contentTypeCode du lot absent.",
                "Submission set contentTypeCode missing.",
                code="required",
            )
        )
    found.extend(_authors(package, ebrim.SUBMISSION_SET_AUTHOR, where))
    return found


def _missing_or_format(rule: str, where: str, name: str, value: str) -> Finding:
    if not value:
        return _f(
            f"{rule}-missing", f"{where}/{name}", f"Slot {name} absent.", f"{name} slot missing.", code="required"
        )
    return _f(
        f"{rule}-format",
        f"{where}/{name}",
        f"{name} « {value} » n'est pas une date AAAAMMJJ[hhmmss] UTC.",
        f"{name} '{value}' is not a YYYYMMDD[hhmmss] UTC date.",
    )


def _entry(entry: etree._Element, where: str, rules: XdsRules, pack) -> list[Finding]:
    found: list[Finding] = []
    for name in ENTRY_SLOTS_REQUIRED:
        if not first_slot(entry, name):
            found.append(
                _f(
                    f"xds-entry-{name.lower()}-missing",
                    f"{where}/{name}",
                    f"Métadonnée obligatoire {name} absente de la fiche.",
                    f"Required metadata {name} missing from the entry.",
                    code="required",
                )
            )
    for name in ("creationTime", "serviceStartTime", "serviceStopTime"):
        value = first_slot(entry, name)
        if value and not _DTM.match(value):
            found.append(_missing_or_format(f"xds-entry-{name.lower()}", where, name, value))
    title = entry.find("rim:Name/rim:LocalizedString", NS)
    if title is None or not title.get("value", "").strip():
        found.append(
            _f(
                "xds-entry-title-missing",
                f"{where}/Name",
                "Titre (Name) de la fiche absent.",
                "Entry title (Name) missing.",
                code="required",
            )
        )
    if not entry.get("mimeType"):
        found.append(_f("xds-entry-mimetype-missing", where, "mimeType absent.", "mimeType missing.", code="required"))
    for label in ENTRY_CODES_REQUIRED:
        found.extend(_code(entry, label, where, rules, pack))
    patient = external(entry, PATIENT_ID)
    if not patient:
        found.append(
            _f(
                "xds-entry-patientid-missing",
                f"{where}/patientId",
                "patientId absent.",
                "patientId missing.",
                code="required",
            )
        )
    else:
        found.extend(check_ins_cx(patient, f"{where}/patientId", "patientId"))
    source_patient = first_slot(entry, "sourcePatientId")
    source_match = _CX.match(source_patient) if source_patient else None
    if source_match and ins_rules.claims_ins(source_match.group(2)):  # an IPP is free; an INS is judged as one
        found.extend(check_ins_cx(source_patient, f"{where}/sourcePatientId", "sourcePatientId"))
    if not external(entry, UNIQUE_ID):
        found.append(
            _f(
                "xds-entry-uniqueid-missing",
                f"{where}/uniqueId",
                "uniqueId absent.",
                "uniqueId missing.",
                code="required",
            )
        )
    found.extend(_authors(entry, ebrim.DOCUMENT_ENTRY_AUTHOR, where))
    legal = first_slot(entry, "legalAuthenticator")
    if legal and not _XCN.match(legal):
        found.append(
            _f(
                "xds-entry-legalauthenticator-format",
                f"{where}/legalAuthenticator",
                "legalAuthenticator n'a pas la forme XCN id^NOM^Prénom^…^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS.",
                "legalAuthenticator is not an XCN id^FAMILY^Given^…^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS.",
            )
        )
    return found


def _code(entry: etree._Element, label: str, where: str, rules: XdsRules, pack) -> list[Finding]:
    codes = coded(entry, CLASSIFICATIONS[label])
    location = f"{where}/{label}"
    if not codes or not codes[0][0]:
        return [
            _f(
                f"xds-entry-{label.lower()}-missing",
                location,
                f"Métadonnée obligatoire {label} absente.",
                f"Required metadata {label} missing.",
                code="required",
            )
        ]
    found: list[Finding] = []
    for code, system in codes:
        if not system:
            found.append(
                _f(
                    f"xds-entry-{label.lower()}-codingscheme-missing",
                    location,
                    f"{label} {code} sans codingScheme.",
                    f"{label} {code} without codingScheme.",
                    code="required",
                )
            )
            continue
        found.extend(_value_set(label, code, system, location, rules, pack))
    return found


def _value_set(label: str, code: str, system: str, location: str, rules: XdsRules, pack) -> Iterable[Finding]:
    if rules.value_sets == "dmp" and label == "classCode":
        if code not in J57_CLASS_CODES and f"{system}" not in J57_EXTRA and code not in J57_EXTRA:
            yield _vs(label, code, system, "JDV_J57-ClassCode-DMP", location)
        return
    if rules.value_sets == "dmp" and label == "confidentialityCode":
        if (code, system) not in J58_CONFIDENTIALITY:
            yield _vs(label, code, system, "JDV_J58-ConfidentialityCode-DMP", location)
        return
    allowed = pack.value_set_codes(CISIS_VALUE_SETS[label]) if pack.root.is_dir() else None
    if allowed is None:
        yield _f(
            f"xds-entry-{label.lower()}-unchecked",
            location,
            f"Jeu de valeurs {CISIS_VALUE_SETS[label]} absent : {label} {code} non vérifié.",
            f"Value set {CISIS_VALUE_SETS[label]} unavailable: {label} {code} not checked.",
            code="not-supported",
            severity="information",
        )
    elif (code, system) not in allowed:
        yield _vs(label, code, system, CISIS_VALUE_SETS[label], location)


def _vs(label: str, code: str, system: str, value_set: str, location: str) -> Finding:
    return _f(
        f"xds-entry-{label.lower()}-value",
        location,
        f"{label} {code} ({system}) n'appartient pas au jeu de valeurs {value_set}.",
        f"{label} {code} ({system}) is not in value set {value_set}.",
        code="code-invalid",
    )


def _authors(element: etree._Element, scheme: str, where: str) -> list[Finding]:
    authors = element.findall(f"rim:Classification[@classificationScheme='{scheme}']", NS)
    if not authors:
        return [
            _f(
                "xds-author-missing",
                f"{where}/author",
                "Auteur (authorPerson) absent.",
                "Author (authorPerson) missing.",
                code="required",
            )
        ]
    found: list[Finding] = []
    for author in authors:
        person = first_slot(author, "authorPerson")
        found.extend(_author_person(person, f"{where}/author/authorPerson"))
        for institution in slot_values(author, "authorInstitution"):
            found.extend(_author_institution(institution.strip(), f"{where}/author/authorInstitution"))
    return found


def _author_person(value: str, location: str) -> list[Finding]:
    if not value:
        return [
            _f("xds-authorperson-missing", location, "authorPerson absent.", "authorPerson missing.", code="required")
        ]
    match = _XCN.match(value)
    if not match:
        return [
            _f(
                "xds-authorperson-format",
                location,
                f"authorPerson « {value} » n'a pas la forme XCN id^NOM^Prénom^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS.",
                f"authorPerson '{value}' is not an XCN id^FAMILY^Given^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS.",
            )
        ]
    identifier, family, given, authority, _type, _kind = match.groups()
    found: list[Finding] = []
    if authority != ID_NAT_PS:
        found.append(
            _f(
                "xds-authorperson-authority",
                location,
                f"authorPerson : autorité {authority} au lieu de {ID_NAT_PS} (identifiant national PS).",
                f"authorPerson: authority {authority} instead of {ID_NAT_PS} (national professional id).",
            )
        )
    if not _PS_ID.match(identifier):
        found.append(
            _f(
                "xds-authorperson-idnat",
                location,
                f"authorPerson : identifiant national {identifier} sans préfixe 0, 1, 3, 4, 5, 6 ou 8.",
                f"authorPerson: national id {identifier} without a 0, 1, 3, 4, 5, 6 or 8 prefix.",
            )
        )
    if not family.strip() or not given.strip():
        found.append(
            _f(
                "xds-authorperson-name",
                location,
                "authorPerson : nom et prénom de l'auteur obligatoires (composants 2 et 3).",
                "authorPerson: the author's family and given names are required (components 2 and 3).",
                code="required",
            )
        )
    return found


def _author_institution(value: str, location: str) -> list[Finding]:
    match = _XON.match(value)
    if not match:
        return [
            _f(
                "xds-authorinstitution-format",
                location,
                f"authorInstitution « {value} » n'a pas la forme XON nom^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^id.",
                f"authorInstitution '{value}' is not an XON name^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^id.",
            )
        ]
    _name, authority, _kind, identifier = match.groups()
    if authority != ID_NAT_STRUCT and authority != "1.3.2":
        return [
            _f(
                "xds-authorinstitution-authority",
                location,
                f"authorInstitution : autorité {authority} au lieu de {ID_NAT_STRUCT}.",
                f"authorInstitution: authority {authority} instead of {ID_NAT_STRUCT}.",
            )
        ]
    if authority == ID_NAT_STRUCT and not _STRUCT_ID.match(identifier):
        return [
            _f(
                "xds-authorinstitution-idnat",
                location,
                f"authorInstitution : identifiant de structure {identifier} sans préfixe 0 à 4.",
                f"authorInstitution: structure id {identifier} without a 0 to 4 prefix.",
            )
        ]
    return []


def institution_ids(submit: etree._Element) -> set[str]:
    """The structure ids (XON-10) of every authorInstitution in the request, whatever the rest of its form."""
    ids = set()
    for value in submit.iterfind(".//rim:Slot[@name='authorInstitution']/rim:ValueList/rim:Value", NS):
        components = (value.text or "").strip().split("^")
        if len(components) >= 10 and components[9]:
            ids.add(components[9])
    return ids


def _hash_and_size(entry: etree._Element, content: bytes, where: str) -> list[Finding]:
    found: list[Finding] = []
    declared = first_slot(entry, "hash").lower()
    actual = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    if declared and declared != actual:
        found.append(
            _f(
                "xds-hash-mismatch",
                f"{where}/hash",
                f"Empreinte SHA-1 déclarée {declared} différente de celle du document {actual}.",
                f"Declared SHA-1 {declared} differs from the document's {actual}.",
                code="value",
            )
        )
    size = first_slot(entry, "size")
    if size and size != str(len(content)):
        found.append(
            _f(
                "xds-size-mismatch",
                f"{where}/size",
                f"Taille déclarée {size} différente de la taille réelle {len(content)}.",
                f"Declared size {size} differs from the actual size {len(content)}.",
                code="value",
            )
        )
    return found


def _mime_type(entry: etree._Element, content: bytes, where: str) -> list[Finding]:
    """A declared mimeType the content contradicts: a CDA sent as something else, or a PDF that is not one."""
    declared = entry.get("mimeType", "")
    head = content.lstrip()[:4096]
    looks_cda = head.startswith(b"<") and b"ClinicalDocument" in head
    if looks_cda or (declared == "application/pdf" and not content.startswith(b"%PDF-")):
        actual = "un document CDA (XML)" if looks_cda else "autre chose qu'un PDF"
        actual_en = "a CDA document (XML)" if looks_cda else "something other than a PDF"
        return [
            _f(
                "xds-mimetype-document-mismatch",
                f"{where}/@mimeType",
                f"mimeType {declared} alors que le document transmis est {actual}.",
                f"mimeType {declared} while the document carried is {actual_en}.",
                code="value",
            )
        ]
    return []


def _against_cda(entry: etree._Element, content: bytes, where: str) -> list[Finding]:
    """The metadata must describe the CDA it carries (the CDA itself is judged by the CDA validator)."""
    try:
        header = read_header(content)
    except (etree.XMLSyntaxError, ValueError):
        return [
            _f(
                "xds-document-not-cda",
                where,
                "Le document text/xml transmis n'est pas un CDA lisible.",
                "The text/xml document carried is not a readable CDA.",
            )
        ]
    found: list[Finding] = []

    def mismatch(label: str, metadata: str, document: str) -> None:
        found.append(
            _f(
                f"xds-{label.lower()}-document-mismatch",
                f"{where}/{label}",
                f"{label} des métadonnées ({metadata}) ne correspond pas au document CDA ({document}).",
                f"Metadata {label} ({metadata}) does not match the CDA document ({document}).",
                code="business-rule",
            )
        )

    unique = external(entry, UNIQUE_ID)
    if unique and unique != header.unique_id:
        mismatch("uniqueId", unique, header.unique_id)
    type_codes = coded(entry, CLASSIFICATIONS["typeCode"])
    if type_codes and type_codes[0][0] != header.type_code[0]:
        mismatch("typeCode", type_codes[0][0], header.type_code[0])
    confidentiality = {c for c, _s in coded(entry, CLASSIFICATIONS["confidentialityCode"])}
    if confidentiality and header.confidentiality[0] and header.confidentiality[0] not in confidentiality:
        mismatch("confidentialityCode", ", ".join(sorted(confidentiality)), header.confidentiality[0])
    patient = external(entry, PATIENT_ID)
    patient_match = _CX.match(patient) if patient else None
    if patient_match:
        identifier, authority, _ = patient_match.groups()
        if (identifier, authority) not in header.patient_ids:
            mismatch("patientId", f"…^^^&{authority}&ISO", "recordTarget/patientRole/id")
    creation = first_slot(entry, "creationTime")
    if creation and header.creation_time and creation[:8] != header.creation_time[:8]:
        mismatch("creationTime", creation, header.creation_time)
    start = first_slot(entry, "serviceStartTime")
    if start and header.service_start and start[:8] != header.service_start[:8]:
        mismatch("serviceStartTime", start, header.service_start)
    language = first_slot(entry, "languageCode")
    if language and header.language and language.lower() != header.language.lower():
        mismatch("languageCode", language, header.language)
    # the people the metadata name are the CDA's (its author, its legal authenticator), by their national id
    authors = {
        value.split("^")[0]
        for author in entry.iterfind(f"rim:Classification[@classificationScheme='{ebrim.DOCUMENT_ENTRY_AUTHOR}']", NS)
        for value in slot_values(author, "authorPerson")
    }
    if header.author_id and authors and header.author_id not in authors:
        mismatch("authorPerson", ", ".join(sorted(authors)), f"author/assignedAuthor/id {header.author_id}")
    legal = first_slot(entry, "legalAuthenticator").split("^")[0]
    legal_id = header.legal_authenticator.split("^")[0]
    if legal and legal_id and legal != legal_id:
        mismatch("legalAuthenticator", legal, f"legalAuthenticator/assignedEntity/id {legal_id}")
    return found
