"""IHE XDM packages (ITI-32, the form of MSSanté attachments): ZIP layout, XDS metadata, then each document.

The ZIP is read in memory with hard limits (entries, per-entry and total uncompressed size, compression
ratio, path traversal): a hostile archive yields findings, never an exception or a write to disk.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from conformance.findings import Finding, Outcome, finding
from conformance.validation.options import ValidateOptions

from .document import find_clinical_document, validate_document
from .header import INS_OIDS, V3
from .pack import load_pack

MAX_ENTRIES = 2000
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries above 1 MiB

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
NS = {"rim": RIM}
DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c1-4a08149bdc96"
CLASSIFICATIONS = {
    "classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
    "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
    "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
    "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
    "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
    "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
}
PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
VALUE_SETS = {
    "typeCode": "JDV_J07_XdsTypeCode_CISIS",
    "confidentialityCode": "JDV_J08_XdsConfidentialityCode_CISIS",
    "healthcareFacilityTypeCode": "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS",
    "practiceSettingCode": "JDV_J04_XdsPracticeSettingCode_CISIS",
    "classCode": "JDV_J06_XdsClassCode_CISIS",
    "formatCode": "JDV_J10_XdsFormatCode_CISIS",
}
_SUBSET = re.compile(r"^IHE_XDM/([^/]+)/")


@dataclass(slots=True)
class Archive:
    files: dict[str, bytes] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _xdm(severity: str, rule: str, location: str, fr: str, en: str, code: str = "invalid") -> Finding:
    return finding(severity, code, rule, location, fr, en, source="xdm")


def _safe_name(name: str) -> str | None:
    """The entry name normalised, or None when it escapes the archive (absolute, `..`, drive letters)."""
    if not name or "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return None
    normal = posixpath.normpath(name.replace("\\", "/"))
    if normal.startswith("../") or normal == ".." or "/../" in f"/{normal}/":
        return None
    return normal


def read_archive(data: bytes) -> Archive:
    archive = Archive()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:  # any malformed central directory
        archive.findings.append(
            _xdm("fatal", "xdm-zip-invalid", "", f"Archive ZIP illisible : {exc}", f"Unreadable ZIP archive: {exc}")
        )
        return archive
    if len(infos) > MAX_ENTRIES:
        archive.findings.append(
            _xdm(
                "fatal",
                "xdm-zip-too-many-entries",
                "",
                f"Archive refusée : {len(infos)} entrées (maximum {MAX_ENTRIES}).",
                f"Archive refused: {len(infos)} entries (maximum {MAX_ENTRIES}).",
                code="too-costly",
            )
        )
        return archive
    total = 0
    for info in infos:
        if info.filename and info.is_dir():  # an empty name (cut at a NUL byte) would break is_dir()
            continue
        name = _safe_name(info.filename)
        if name is None:
            archive.findings.append(
                _xdm(
                    "error",
                    "xdm-zip-path-traversal",
                    info.filename,
                    f"Entrée « {info.filename} » hors de l'archive (chemin absolu ou « .. ») : ignorée.",
                    f"Entry '{info.filename}' escapes the archive (absolute path or '..'): ignored.",
                    code="security",
                )
            )
            continue
        problem = _size_problem(info, total)
        if problem is not None:
            archive.findings.append(problem)
            if problem.severity.value == "fatal":
                return archive
            continue
        content = _read_bounded(zf, info, archive)
        if content is None:
            continue
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            archive.findings.append(_too_big("xdm-zip-total-size", "", total, MAX_TOTAL_BYTES, fatal=True))
            return archive
        archive.files[name] = content
    return archive


def _too_big(rule: str, location: str, size: int, limit: int, fatal: bool = False) -> Finding:
    return _xdm(
        "fatal" if fatal else "error",
        rule,
        location,
        f"Taille décompressée excessive ({size} octets, limite {limit}) : entrée refusée.",
        f"Uncompressed size too large ({size} bytes, limit {limit}): entry refused.",
        code="too-costly",
    )


def _size_problem(info: zipfile.ZipInfo, total: int) -> Finding | None:
    if info.file_size > MAX_ENTRY_BYTES:
        return _too_big("xdm-zip-entry-size", info.filename, info.file_size, MAX_ENTRY_BYTES)
    if total + info.file_size > MAX_TOTAL_BYTES:
        return _too_big("xdm-zip-total-size", info.filename, total + info.file_size, MAX_TOTAL_BYTES, fatal=True)
    if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return _xdm(
            "fatal",
            "xdm-zip-bomb",
            info.filename,
            f"Taux de compression suspect ({info.file_size}/{info.compress_size}) : bombe ZIP probable, archive refusée.",
            f"Suspicious compression ratio ({info.file_size}/{info.compress_size}): likely ZIP bomb, archive refused.",
            code="security",
        )
    return None


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Archive) -> bytes | None:
    """Read at most the declared size + 1 byte: headers that lie about sizes cannot make us inflate more."""
    limit = min(info.file_size, MAX_ENTRY_BYTES)
    try:
        with zf.open(info) as handle:
            content = handle.read(limit + 1)
    except Exception as exc:  # zlib.error, BadZipFile, CRC errors, encrypted entries...: hostile input
        archive.findings.append(
            _xdm(
                "error",
                "xdm-zip-entry-unreadable",
                info.filename,
                f"Entrée illisible : {exc}",
                f"Unreadable entry: {exc}",
            )
        )
        return None
    if len(content) > limit:
        archive.findings.append(_too_big("xdm-zip-entry-size", info.filename, len(content), limit))
        return None
    return content


def validate_xdm(data: bytes, options: ValidateOptions | None = None, *, name: str = "package") -> list[Outcome]:
    """Validate an IHE_XDM.ZIP package: the package outcome first, then one outcome per CDA document in it."""
    options = options or ValidateOptions()
    package = Outcome(subject=name, kind="xdm")
    archive = read_archive(data)
    package.extend(archive.findings)
    if any(f.severity.value == "fatal" for f in archive.findings):
        return [package]
    files = _strip_common_root(archive.files)
    _check_layout(files, package)
    outcomes = [package]
    subsets = sorted({m.group(1) for path in files if (m := _SUBSET.match(path))})
    package.details["subsets"] = subsets
    documents: list[str] = []
    for subset in subsets:
        metadata_path = f"IHE_XDM/{subset}/METADATA.XML"
        metadata = _find_case_insensitive(files, metadata_path)
        if metadata is None:
            package.add(
                _xdm(
                    "error",
                    "xdm-metadata-missing",
                    metadata_path,
                    f"Le sous-ensemble {subset} n'a pas de METADATA.XML.",
                    f"Subset {subset} has no METADATA.XML.",
                    code="required",
                )
            )
            continue
        for entry_name, content in _check_metadata(files, subset, files[metadata], package, options):
            documents.append(entry_name)
            outcomes.append(validate_document(content, options, name=f"{name}!{entry_name}"))
    package.details["documents"] = documents
    return outcomes


def _strip_common_root(files: dict[str, bytes]) -> dict[str, bytes]:
    """Some tools zip the folder itself (`IHE_XDM.ZIP/…` or `export/IHE_XDM/…`): read from the XDM root."""
    if any(path.upper().startswith("IHE_XDM/") for path in files):
        return files
    for path in files:
        index = path.upper().find("/IHE_XDM/")
        if index >= 0:
            prefix = path[: index + 1]
            return {p[len(prefix) :]: c for p, c in files.items() if p.startswith(prefix)}
    return files


def _find_case_insensitive(files: dict[str, bytes], wanted: str) -> str | None:
    if wanted in files:
        return wanted
    lowered = wanted.lower()
    return next((path for path in files if path.lower() == lowered), None)


def _check_layout(files: dict[str, bytes], package: Outcome) -> None:
    for required in ("INDEX.HTM", "README.TXT"):
        if _find_case_insensitive(files, required) is None:
            package.add(
                _xdm(
                    "error",
                    "xdm-layout-" + required.split(".")[0].lower(),
                    required,
                    f"{required} absent à la racine de l'archive (exigé par IHE ITI-32).",
                    f"{required} missing at the root of the archive (required by IHE ITI-32).",
                    code="required",
                )
            )
    if not any(_SUBSET.match(path) for path in files):
        package.add(
            _xdm(
                "error",
                "xdm-layout-subset",
                "IHE_XDM/",
                "Aucun sous-ensemble IHE_XDM/SUBSETnn/ dans l'archive.",
                "No IHE_XDM/SUBSETnn/ subset in the archive.",
                code="required",
            )
        )


def _slot(element: etree._Element, name: str) -> list[str]:
    return [v.text or "" for v in element.findall(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS)]


def _metadata_location(subset: str, index: int, detail: str = "") -> str:
    location = f"IHE_XDM/{subset}/METADATA.XML#ExtrinsicObject[{index}]"
    return f"{location}/{detail}" if detail else location


def _check_metadata(
    files: dict[str, bytes], subset: str, metadata: bytes, package: Outcome, options: ValidateOptions
) -> list[tuple[str, bytes]]:
    where = f"IHE_XDM/{subset}/METADATA.XML"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(metadata, parser)
    except etree.XMLSyntaxError as exc:
        package.add(
            _xdm("error", "xdm-metadata-not-well-formed", where, f"XML mal formé : {exc}", f"Malformed XML: {exc}")
        )
        return []
    if not _has_submission_set(root):
        package.add(
            _xdm(
                "error",
                "xdm-submissionset-missing",
                where,
                "METADATA.XML ne contient pas de lot de soumission (RegistryPackage classé SubmissionSet).",
                "METADATA.XML has no submission set (RegistryPackage classified as SubmissionSet).",
                code="required",
            )
        )
    entries = list(root.iter(f"{{{RIM}}}ExtrinsicObject"))
    if not entries:
        package.add(
            _xdm(
                "error",
                "xdm-metadata-no-document",
                where,
                "METADATA.XML ne décrit aucun document (ExtrinsicObject).",
                "METADATA.XML describes no document (ExtrinsicObject).",
                code="required",
            )
        )
    pack = load_pack(options.cda_pack)
    documents: list[tuple[str, bytes]] = []
    for index, entry in enumerate(entries, start=1):
        codes = _classifications(entry, subset, index, package, pack)
        uri = (_slot(entry, "URI") or [""])[0].strip()
        if not uri:
            package.add(
                _xdm(
                    "error",
                    "xdm-uri-missing",
                    _metadata_location(subset, index, "Slot[URI]"),
                    "Le document n'a pas de slot URI (nom du fichier dans le sous-ensemble).",
                    "The document has no URI slot (its file name in the subset).",
                    code="required",
                )
            )
            continue
        path = _safe_name(posixpath.join(f"IHE_XDM/{subset}", uri.replace("\\", "/")))
        found = _find_case_insensitive(files, path) if path else None
        if found is None:
            package.add(
                _xdm(
                    "error",
                    "xdm-document-missing",
                    _metadata_location(subset, index, "Slot[URI]"),
                    f"Le fichier « {uri} » déclaré dans METADATA.XML est absent de l'archive.",
                    f"File '{uri}' declared in METADATA.XML is missing from the archive.",
                    code="not-found",
                )
            )
            continue
        content = files[found]
        _check_hash_and_size(entry, content, subset, index, package)
        patient = _patient_id(entry, subset, index, package)
        unique = _unique_id(entry, subset, index, package)
        if entry.get("mimeType") in (None, "text/xml", "application/xml") and content.lstrip().startswith(b"<"):
            _cross_check_cda(content, codes, patient, unique, subset, index, package)
            documents.append((found, content))
    return documents


def _has_submission_set(root: etree._Element) -> bool:
    packages = {p.get("id") for p in root.iter(f"{{{RIM}}}RegistryPackage")}
    return any(
        c.get("classificationNode") == SUBMISSION_SET and c.get("classifiedObject") in packages
        for c in root.iter(f"{{{RIM}}}Classification")
    ) or any(c.get("classificationNode") == SUBMISSION_SET for p in root.iter(f"{{{RIM}}}RegistryPackage") for c in p)


def _classifications(
    entry: etree._Element, subset: str, index: int, package: Outcome, pack
) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for label, scheme in CLASSIFICATIONS.items():
        element = entry.find(f"rim:Classification[@classificationScheme='{scheme}']", NS)
        location = _metadata_location(subset, index, label)
        if element is None or not element.get("nodeRepresentation"):
            package.add(
                _xdm(
                    "error",
                    f"xdm-{label}-missing",
                    location,
                    f"Métadonnée XDS {label} absente.",
                    f"XDS metadata {label} missing.",
                    code="required",
                )
            )
            continue
        code = element.get("nodeRepresentation", "")
        system = (_slot(element, "codingScheme") or [""])[0]
        found[label] = (code, system)
        allowed = pack.value_set_codes(VALUE_SETS[label]) if pack.root.is_dir() else None
        if allowed is None:
            package.add(
                _xdm(
                    "information",
                    f"xdm-{label}-unchecked",
                    location,
                    f"Jeu de valeurs {VALUE_SETS[label]} absent du paquet : {label} {code} non vérifié.",
                    f"Value set {VALUE_SETS[label]} not in the pack: {label} {code} not checked.",
                    code="not-supported",
                )
            )
        elif (code, system) not in allowed:
            package.add(
                _xdm(
                    "error",
                    f"xdm-{label}-value",
                    location,
                    f"{label} {code} ({system}) n'appartient pas au jeu de valeurs {VALUE_SETS[label]}.",
                    f"{label} {code} ({system}) is not in value set {VALUE_SETS[label]}.",
                    code="code-invalid",
                )
            )
    return found


def _check_hash_and_size(entry: etree._Element, content: bytes, subset: str, index: int, package: Outcome) -> None:
    declared_hash = (_slot(entry, "hash") or [""])[0].strip().lower()
    actual_hash = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    if not declared_hash:
        package.add(
            _xdm(
                "error",
                "xdm-hash-missing",
                _metadata_location(subset, index, "Slot[hash]"),
                "Slot hash (SHA-1 du document) absent.",
                "hash slot (document SHA-1) missing.",
                code="required",
            )
        )
    elif declared_hash != actual_hash:
        package.add(
            _xdm(
                "error",
                "xdm-hash-mismatch",
                _metadata_location(subset, index, "Slot[hash]"),
                f"Empreinte SHA-1 déclarée {declared_hash} différente de celle du document {actual_hash}.",
                f"Declared SHA-1 {declared_hash} differs from the document's {actual_hash}.",
                code="value",
            )
        )
    declared_size = (_slot(entry, "size") or [""])[0].strip()
    if not declared_size:
        package.add(
            _xdm(
                "error",
                "xdm-size-missing",
                _metadata_location(subset, index, "Slot[size]"),
                "Slot size absent.",
                "size slot missing.",
                code="required",
            )
        )
    elif declared_size != str(len(content)):
        package.add(
            _xdm(
                "error",
                "xdm-size-mismatch",
                _metadata_location(subset, index, "Slot[size]"),
                f"Taille déclarée {declared_size} différente de la taille réelle {len(content)}.",
                f"Declared size {declared_size} differs from the actual size {len(content)}.",
                code="value",
            )
        )


def _external_identifier(entry: etree._Element, scheme: str) -> str | None:
    element = entry.find(f"rim:ExternalIdentifier[@identificationScheme='{scheme}']", NS)
    return element.get("value") if element is not None else None


def _patient_id(entry: etree._Element, subset: str, index: int, package: Outcome) -> tuple[str, str] | None:
    value = _external_identifier(entry, PATIENT_ID)
    location = _metadata_location(subset, index, "patientId")
    if not value:
        package.add(
            _xdm("error", "xdm-patientid-missing", location, "patientId absent.", "patientId missing.", code="required")
        )
        return None
    match = re.match(r"^([^^]+)\^\^\^&([0-9.]+)&ISO$", value.strip())
    if not match:
        package.add(
            _xdm(
                "error",
                "xdm-patientid-format",
                location,
                "patientId n'a pas la forme CX ID^^^&OID&ISO.",
                "patientId is not a CX ID^^^&OID&ISO.",
            )
        )
        return None
    identifier, authority = match.groups()
    if authority not in INS_OIDS:
        package.add(
            _xdm(
                "error",
                "xdm-patientid-ins",
                location,
                f"patientId doit être l'INS du patient (autorité {', '.join(sorted(INS_OIDS))}), trouvé {authority}.",
                f"patientId must be the patient's INS (authority {', '.join(sorted(INS_OIDS))}), found {authority}.",
            )
        )
    return identifier, authority


def _unique_id(entry: etree._Element, subset: str, index: int, package: Outcome) -> str | None:
    value = _external_identifier(entry, UNIQUE_ID)
    if not value:
        package.add(
            _xdm(
                "error",
                "xdm-uniqueid-missing",
                _metadata_location(subset, index, "uniqueId"),
                "uniqueId absent.",
                "uniqueId missing.",
                code="required",
            )
        )
    return value


def _cross_check_cda(
    content: bytes,
    codes: dict[str, tuple[str, str]],
    patient: tuple[str, str] | None,
    unique: str | None,
    subset: str,
    index: int,
    package: Outcome,
) -> None:
    """The metadata must describe the document it points at: typeCode, confidentiality, patient, uniqueId."""
    try:
        root = etree.fromstring(
            content, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        )
    except etree.XMLSyntaxError:
        return  # the document's own outcome reports it
    document = find_clinical_document(root)
    if document is None:
        return
    ns = {"cda": V3}
    doc_code = document.find("cda:code", ns)
    if "typeCode" in codes and doc_code is not None and codes["typeCode"][0] != doc_code.get("code"):
        package.add(_mismatch("typeCode", subset, index, codes["typeCode"][0], doc_code.get("code", "")))
    confidentiality = document.find("cda:confidentialityCode", ns)
    if (
        "confidentialityCode" in codes
        and confidentiality is not None
        and confidentiality.get("code")
        and codes["confidentialityCode"][0] != confidentiality.get("code")
        and codes["confidentialityCode"][0] in ("N", "R", "V")
    ):
        package.add(
            _mismatch(
                "confidentialityCode", subset, index, codes["confidentialityCode"][0], confidentiality.get("code", "")
            )
        )
    if patient is not None:
        ids = {
            (i.get("extension", ""), i.get("root", ""))
            for i in document.findall("cda:recordTarget/cda:patientRole/cda:id", ns)
        }
        if patient not in ids:
            # identifiers of the patient stay out of the message: only the assigning authority is shown
            package.add(_mismatch("patientId", subset, index, f"…^^^&{patient[1]}&ISO", "recordTarget/patientRole/id"))
    if unique:
        doc_id = document.find("cda:id", ns)
        if doc_id is not None:
            expected = {doc_id.get("root", ""), f"{doc_id.get('root', '')}^{doc_id.get('extension', '')}"}
            if unique not in expected:
                package.add(_mismatch("uniqueId", subset, index, unique, " / ".join(sorted(expected))))


def _mismatch(label: str, subset: str, index: int, metadata: str, document: str) -> Finding:
    return _xdm(
        "error",
        f"xdm-{label}-document-mismatch",
        _metadata_location(subset, index, label),
        f"{label} des métadonnées ({metadata}) ne correspond pas au document ({document}).",
        f"Metadata {label} ({metadata}) does not match the document ({document}).",
        code="business-rule",
    )
