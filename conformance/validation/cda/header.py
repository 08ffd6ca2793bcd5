"""Explicit CDA header rules that matter for identity and routing (CI-SIS header, INS, RPPS, FINESS).

Each rule has a stable id (`cda-header-*`, `cda-ins-*`) and reports the XPath of the element it judges,
in the same `/cda:ClinicalDocument[1]/...` form as the schematron findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from conformance.findings import Finding, finding
from conformance.identifiers import ID_NAT_PS_OID as ID_NAT_PS
from conformance.identifiers import ID_NAT_STRUCT_OID as ID_NAT_STRUCT
from conformance.identifiers import INS_OIDS
from conformance.validation import ins as ins_rules
from conformance.validation.ins import nir_key_ok  # noqa: F401  (re-exported: the one NIR key check)

from .pack import CdaPack

V3 = "urn:hl7-org:v3"
NS = {"cda": V3}
LOINC = "2.16.840.1.113883.6.1"
CONFIDENTIALITY_SYSTEMS = {"2.16.840.1.113883.5.25", "1.2.250.1.213.1.1.4.13"}
_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d+)?([+-]\d{4})?$")
_LOINC_CODE = re.compile(r"^(\d{1,7})-(\d)$")
_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")


def xpath_of(element: etree._Element) -> str:
    """`/cda:ClinicalDocument[1]/cda:recordTarget[1]/...`, matching the schematron findings' locations."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None and isinstance(node.tag, str):
        qname = etree.QName(node)
        prefix = "cda:" if qname.namespace == V3 else (f"Q{{{qname.namespace}}}" if qname.namespace else "")
        parent = node.getparent()
        position = 1
        if parent is not None:
            position = [c for c in parent if c.tag == node.tag].index(node) + 1
        steps.append(f"{prefix}{qname.localname}[{position}]")
        node = parent
    return "/" + "/".join(reversed(steps))


def _error(rule: str, element: etree._Element | str, fr: str, en: str, severity: str = "error") -> Finding:
    location = element if isinstance(element, str) else xpath_of(element)
    code = "required" if "missing" in rule else "value"
    return finding(severity, code, rule, location, fr, en, source="cda", profile="cda-header")


def check_header(document: etree._Element, pack: CdaPack | None) -> list[Finding]:
    """All header rules on a parsed ClinicalDocument element."""
    findings: list[Finding] = []
    for check in (
        _document_type,
        _effective_time,
        _confidentiality,
        _set_and_version,
        _patient,
        _authors,
        _custodian,
    ):
        findings.extend(check(document, pack))
    return findings


def _document_type(doc: etree._Element, pack: CdaPack | None) -> Iterator[Finding]:
    code = doc.find("cda:code", NS)
    if code is None or not code.get("code"):
        yield _error(
            "cda-header-type-missing",
            code if code is not None else xpath_of(doc),
            "Le type de document (ClinicalDocument/code) est absent.",
            "The document type (ClinicalDocument/code) is missing.",
        )
        return
    value, system = code.get("code", ""), code.get("codeSystem", "")
    if system == LOINC and not _loinc_ok(value):
        yield _error(
            "cda-header-type-loinc",
            code,
            f"Le code LOINC du type de document « {value} » est mal formé ou sa clé de contrôle est fausse.",
            f"The document type LOINC code '{value}' is malformed or its check digit is wrong.",
        )
    allowed = pack.value_set_codes("JDV_J07_XdsTypeCode_CISIS") if pack else None
    if allowed is not None and (value, system) not in allowed:
        yield _error(
            "cda-header-type-valueset",
            code,
            f"Le type de document {value} ({system}) n'appartient pas au jeu de valeurs JDV_J07_XdsTypeCode_CISIS.",
            f"The document type {value} ({system}) is not in the JDV_J07_XdsTypeCode_CISIS value set.",
        )


def _loinc_ok(value: str) -> bool:
    """LOINC codes end with a mod-10 check digit computed like Luhn on the number part."""
    match = _LOINC_CODE.match(value)
    if not match:
        return False
    digits, check = match.group(1), int(match.group(2))
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2 == 0:
            number *= 2
            number = number - 9 if number > 9 else number
        total += number
    return (10 - total % 10) % 10 == check


def _ts_ok(value: str, min_digits: int = 8) -> bool:
    match = _TS.match(value)
    if not match:
        return False
    digits = "".join(g for g in match.groups()[:6] if g)
    if len(digits) < min_digits:
        return False
    month = int(match.group(2) or "1")
    day = int(match.group(3) or "1")
    hour = int(match.group(4) or "0")
    minute = int(match.group(5) or "0")
    second = int(match.group(6) or "0")
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61


def _effective_time(doc: etree._Element, _pack: CdaPack | None) -> Iterator[Finding]:
    time = doc.find("cda:effectiveTime", NS)
    value = time.get("value", "") if time is not None else ""
    if not value:
        yield _error(
            "cda-header-effectivetime-missing",
            time if time is not None else xpath_of(doc),
            "La date de création du document (effectiveTime/@value) est absente.",
            "The document creation time (effectiveTime/@value) is missing.",
        )
    elif not _ts_ok(value, 12):
        yield _error(
            "cda-header-effectivetime-format",
            time,
            f"effectiveTime « {value} » doit être une date-heure précise au moins à la minute (AAAAMMJJhhmm[ss][+/-zzzz]).",
            f"effectiveTime '{value}' must be a date-time precise to the minute at least (YYYYMMDDhhmm[ss][+/-zzzz]).",
        )
    elif not re.search(r"[+-]\d{4}$", value):
        yield _error(
            "cda-header-effectivetime-timezone",
            time,
            f"effectiveTime « {value} » n'indique pas de fuseau horaire.",
            f"effectiveTime '{value}' has no time zone offset.",
            severity="warning",
        )


def _confidentiality(doc: etree._Element, pack: CdaPack | None) -> Iterator[Finding]:
    code = doc.find("cda:confidentialityCode", NS)
    if code is None or not code.get("code"):
        yield _error(
            "cda-header-confidentiality-missing",
            code if code is not None else xpath_of(doc),
            "Le niveau de confidentialité (confidentialityCode) est absent.",
            "The confidentiality code (confidentialityCode) is missing.",
        )
        return
    value, system = code.get("code", ""), code.get("codeSystem", "")
    allowed = (pack.value_set_codes("JDV_J08_XdsConfidentialityCode_CISIS") if pack else None) or {
        ("N", "2.16.840.1.113883.5.25"),
        ("R", "2.16.840.1.113883.5.25"),
        ("V", "2.16.840.1.113883.5.25"),
    }
    if (value, system) not in allowed:
        yield _error(
            "cda-header-confidentiality-value",
            code,
            f"Le code de confidentialité {value} ({system}) n'est pas admis (N, R, V du système 2.16.840.1.113883.5.25).",
            f"Confidentiality code {value} ({system}) is not allowed (N, R, V from 2.16.840.1.113883.5.25).",
        )


def _identifier_ok(element: etree._Element) -> bool:
    root = element.get("root", "")
    return bool(_OID.match(root) or _UUID.match(root))


def _set_and_version(doc: etree._Element, _pack: CdaPack | None) -> Iterator[Finding]:
    doc_id = doc.find("cda:id", NS)
    if doc_id is None or not _identifier_ok(doc_id):
        yield _error(
            "cda-header-id",
            doc_id if doc_id is not None else xpath_of(doc),
            "L'identifiant du document (id/@root) est absent ou n'est pas un OID/UUID.",
            "The document id (id/@root) is missing or not an OID/UUID.",
        )
    set_id = doc.find("cda:setId", NS)
    if set_id is None or not _identifier_ok(set_id):
        yield _error(
            "cda-header-setid",
            set_id if set_id is not None else xpath_of(doc),
            "L'identifiant de lot de versions (setId/@root) est absent ou n'est pas un OID/UUID.",
            "The set id (setId/@root) is missing or not an OID/UUID.",
        )
    version = doc.find("cda:versionNumber", NS)
    value = version.get("value", "") if version is not None else ""
    if not value.isdigit() or int(value) < 1:
        yield _error(
            "cda-header-version",
            version if version is not None else xpath_of(doc),
            f"Le numéro de version (versionNumber/@value) doit être un entier positif, trouvé « {value} ».",
            f"The version number (versionNumber/@value) must be a positive integer, found '{value}'.",
        )
    elif (
        doc_id is not None
        and set_id is not None
        and int(value) > 1
        and (doc_id.get("root"), doc_id.get("extension")) == (set_id.get("root"), set_id.get("extension"))
    ):
        yield _error(
            "cda-header-setid-version",
            set_id,
            "Pour une version > 1, l'identifiant du document doit différer du setId commun aux versions.",
            "For a version > 1 the document id must differ from the set id shared by the versions.",
        )


def _patient(doc: etree._Element, _pack: CdaPack | None) -> Iterator[Finding]:
    role = doc.find("cda:recordTarget/cda:patientRole", NS)
    if role is None:
        yield _error(
            "cda-header-patient-missing",
            xpath_of(doc),
            "Le patient (recordTarget/patientRole) est absent.",
            "The patient (recordTarget/patientRole) is missing.",
        )
        return
    patient = role.find("cda:patient", NS)
    birth = patient.find("cda:birthTime", NS) if patient is not None else None
    if birth is None:
        yield _error(
            "cda-header-patient-birthtime-missing",
            patient if patient is not None else role,
            "La date de naissance du patient (patient/birthTime) est absente.",
            "The patient's birth time (patient/birthTime) is missing.",
        )
    elif birth.get("value") and not _ts_ok(birth.get("value", ""), 4):
        yield _error(
            "cda-header-patient-birthtime-format",
            birth,
            f"Date de naissance « {birth.get('value')} » invalide.",
            f"Invalid birth time '{birth.get('value')}'.",
        )
    ins_ids = []
    for ident in role.findall("cda:id", NS):
        extension = ident.get("extension", "")
        check = ins_rules.check_ins(extension, ident.get("root", ""))
        if check.authority in (ins_rules.Authority.INS_C, ins_rules.Authority.UNKNOWN):
            yield _error(
                "cda-ins-c" if check.authority is ins_rules.Authority.INS_C else "cda-ins-unknown-oid",
                ident,
                f"L'OID {check.oid} se réclame de l'arc INS mais n'est pas une autorité INS admise "
                f"({', '.join(sorted(INS_OIDS))}).",
                f"OID {check.oid} claims the INS arc but is not an accepted INS authority "
                f"({', '.join(sorted(INS_OIDS))}).",
            )
        if check.authority is not ins_rules.Authority.INS:
            continue
        ins_ids.append(ident)
        if not check.key_ok:  # a warning for test identities: ANS's own examples carry keys that do not check out
            yield _error(
                "cda-ins-format",
                ident,
                # the value itself is a patient identifier: never echoed into reports
                f"Le matricule INS ({len(extension)} caractères) n'est pas un NIR/NIA de 15 caractères avec une clé valide.",
                f"The INS ({len(extension)} characters) is not a 15-character NIR/NIA with a valid key.",
                severity=check.key_severity,
            )
    if ins_ids:
        yield from _qualified_identity(ins_ids[0], patient, birth)


def _qualified_identity(
    ins: etree._Element, patient: etree._Element | None, birth: etree._Element | None
) -> Iterator[Finding]:
    """An INS may only be sent for a qualified identity: the INSi reference traits must all be present."""
    missing: list[tuple[str, str]] = []
    name = patient.find("cda:name", NS) if patient is not None else None
    if name is None or not (name.findtext("cda:family[@qualifier='BR']", "", NS) or "").strip():
        missing.append(("nom de naissance (family qualifier=BR)", "birth name (family qualifier=BR)"))
    if name is None or not any((g.text or "").strip() for g in name.findall("cda:given", NS)):
        missing.append(("prénom(s) de naissance (given)", "birth given name(s) (given)"))
    gender = patient.find("cda:administrativeGenderCode", NS) if patient is not None else None
    if gender is None or gender.get("code") not in ("M", "F", "U"):
        missing.append(("sexe (administrativeGenderCode M/F/U)", "sex (administrativeGenderCode M/F/U)"))
    if birth is None or not birth.get("value"):
        missing.append(("date de naissance (birthTime/@value)", "birth date (birthTime/@value)"))
    if missing:
        yield _error(
            "cda-ins-unqualified-identity",
            ins,
            "INS transmis sur une identité non qualifiée : traits de référence absents : "
            + ", ".join(fr for fr, _ in missing)
            + ".",
            "INS sent for an identity that is not qualified: reference traits missing: "
            + ", ".join(en for _, en in missing)
            + ".",
        )
    place = patient.find("cda:birthplace/cda:place/cda:addr/cda:county", NS) if patient is not None else None
    if place is None or not (place.text or "").strip():
        yield _error(
            "cda-ins-birthplace",
            patient if patient is not None else ins,
            "Identité INS sans code officiel géographique du lieu de naissance (birthplace/place/addr/county).",
            "INS identity without the official birthplace code (birthplace/place/addr/county).",
            severity="warning",
        )


def _authors(doc: etree._Element, _pack: CdaPack | None) -> Iterator[Finding]:
    authors = doc.findall("cda:author/cda:assignedAuthor", NS)
    if not authors:
        yield _error(
            "cda-header-author-missing",
            xpath_of(doc),
            "Aucun auteur (author/assignedAuthor) n'est déclaré.",
            "No author (author/assignedAuthor) is declared.",
        )
    for author in authors:
        ids = author.findall("cda:id", NS)
        if not ids:
            yield _error(
                "cda-header-author-id-missing",
                author,
                "L'auteur n'a pas d'identifiant (assignedAuthor/id).",
                "The author has no identifier (assignedAuthor/id).",
            )
            continue
        if author.find("cda:assignedPerson", NS) is None:
            continue  # a device author is not identified by idNatPs
        national = [i for i in ids if i.get("root") == ID_NAT_PS]
        if not national:
            yield _error(
                "cda-header-author-idnatps",
                ids[0],
                f"L'auteur personne physique doit être identifié par son idNatPs (root {ID_NAT_PS}).",
                f"A person author must be identified by their idNatPs (root {ID_NAT_PS}).",
                severity="warning",
            )
        for identifier in national:
            yield from _id_nat_ps(identifier)


def _id_nat_ps(identifier: etree._Element) -> Iterator[Finding]:
    """idNatPs = type prefix + national id: 8 + RPPS (11 digits) is strict; other prefixes vary in practice."""
    value = identifier.get("extension", "")
    if not value:
        yield _error(
            "cda-header-author-idnatps-missing",
            identifier,
            "idNatPs de l'auteur vide (assignedAuthor/id/@extension).",
            "The author's idNatPs is empty (assignedAuthor/id/@extension).",
        )
    elif value.startswith("8") and not (len(value) == 12 and value.isdigit()):
        yield _error(
            "cda-header-author-idnatps-format",
            identifier,
            f"idNatPs « {value} » : 8 suivi d'un RPPS de 11 chiffres attendu.",
            f"idNatPs '{value}': 8 followed by an 11-digit RPPS expected.",
        )
    elif not value.startswith(("0", "1", "2", "3", "4", "5", "8")):
        yield _error(
            "cda-header-author-idnatps-format",
            identifier,
            f"idNatPs « {value} » : préfixe de type d'identifiant inconnu.",
            f"idNatPs '{value}': unknown identifier type prefix.",
            severity="warning",
        )


def _custodian(doc: etree._Element, _pack: CdaPack | None) -> Iterator[Finding]:
    organization = doc.find("cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization", NS)
    if organization is None:
        yield _error(
            "cda-header-custodian-missing",
            xpath_of(doc),
            "L'organisation responsable du document (custodian) est absente.",
            "The custodian organisation is missing.",
        )
        return
    identifier = organization.find("cda:id", NS)
    if identifier is None:
        yield _error(
            "cda-header-custodian-id-missing",
            organization,
            "L'organisation responsable (custodian) n'a pas d'identifiant.",
            "The custodian organisation has no identifier.",
        )
        return
    value = identifier.get("extension", "")
    if identifier.get("root") == ID_NAT_STRUCT and value.startswith("1") and not _FINESS.match(value[1:]):
        yield _error(
            "cda-header-custodian-finess",
            identifier,
            f"Identifiant de structure « {value} » : 1 suivi d'un FINESS de 9 caractères attendu.",
            f"Organisation identifier '{value}': 1 followed by a 9-character FINESS expected.",
            severity="warning",  # ANS's own examples use shortened FINESS numbers
        )
