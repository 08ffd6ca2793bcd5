"""Build IHE XDM packages from CDA documents (tests, the reference endpoints, demo data).

The metadata is derived from each document's header so that a conformant document gives a conformant
package; callers then tamper with the bytes to inject defects.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .document import find_clinical_document
from .header import INS_OIDS, V3
from .pack import CdaPack, load_pack
from .xdm import CLASSIFICATIONS, DOCUMENT_ENTRY, PATIENT_ID, SUBMISSION_SET, UNIQUE_ID

_NS = {"cda": V3}
_SUBMISSION_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
_SUBMISSION_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
_SUBMISSION_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"


def _first_concept(pack: CdaPack, value_set: str, fallback: tuple[str, str]) -> tuple[str, str]:
    codes = pack.value_set_codes(value_set)
    return sorted(codes)[0] if codes else fallback


def _code(document: etree._Element, path: str) -> tuple[str, str] | None:
    element = document.find(path, _NS)
    if element is None or not element.get("code"):
        return None
    return element.get("code", ""), element.get("codeSystem", "")


def _slot(name: str, *values: str) -> str:
    inner = "".join(f"<rim:Value>{escape(v)}</rim:Value>" for v in values)
    return f'<rim:Slot name="{name}"><rim:ValueList>{inner}</rim:ValueList></rim:Slot>'


def _classification(scheme: str, target: str, code: tuple[str, str]) -> str:
    return (
        f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" classificationScheme="{scheme}" '
        f"classifiedObject={quoteattr(target)} nodeRepresentation={quoteattr(code[0])}>"
        f"{_slot('codingScheme', code[1])}</rim:Classification>"
    )


def document_entry_metadata(content: bytes, file_name: str, pack: CdaPack | None = None) -> tuple[str, str]:
    """(ExtrinsicObject XML, patient CX) describing one CDA document."""
    pack = pack or load_pack()
    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    document = find_clinical_document(root)
    if document is None:
        raise ValueError("not a CDA document")
    entry_id = f"urn:uuid:{uuid.uuid4()}"
    ins = next(
        (i for i in document.findall("cda:recordTarget/cda:patientRole/cda:id", _NS) if i.get("root") in INS_OIDS),
        None,
    )
    first_id = document.find("cda:recordTarget/cda:patientRole/cda:id", _NS)
    patient_element = ins if ins is not None else first_id
    patient = f"{patient_element.get('extension', '')}^^^&{patient_element.get('root', '')}&ISO"
    doc_id = document.find("cda:id", _NS)
    unique = doc_id.get("root", "") + (f"^{doc_id.get('extension')}" if doc_id.get("extension") else "")
    codes = {
        "typeCode": _code(document, "cda:code") or ("11488-4", "2.16.840.1.113883.6.1"),
        "confidentialityCode": _code(document, "cda:confidentialityCode") or ("N", "2.16.840.1.113883.5.25"),
        "classCode": ("10", "1.2.250.1.213.1.1.4.1"),
        "formatCode": ("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3"),
        "healthcareFacilityTypeCode": _code(
            document, "cda:componentOf/cda:encompassingEncounter/cda:location/cda:healthCareFacility/cda:code"
        )
        or _first_concept(pack, "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS", ("SA01", "1.2.250.1.71.4.2.4")),
        "practiceSettingCode": _code(
            document,
            "cda:documentationOf/cda:serviceEvent/cda:performer/cda:assignedEntity/cda:representedOrganization/"
            "cda:standardIndustryClassCode",
        )
        or _first_concept(pack, "JDV_J04_XdsPracticeSettingCode_CISIS", ("ETABLISSEMENT", "1.2.250.1.213.1.1.4.9")),
    }
    classifications = "".join(_classification(CLASSIFICATIONS[k], entry_id, v) for k, v in codes.items())
    xml = (
        f'<rim:ExtrinsicObject id="{entry_id}" mimeType="text/xml" objectType="{DOCUMENT_ENTRY}">'
        + _slot("hash", hashlib.sha1(content, usedforsecurity=False).hexdigest())
        + _slot("size", str(len(content)))
        + _slot("URI", file_name)
        + _slot("languageCode", "fr-FR")
        + _slot("sourcePatientId", patient)
        + classifications
        + f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{entry_id}" '
        f'identificationScheme="{PATIENT_ID}" value={quoteattr(patient)}/>'
        + f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{entry_id}" '
        f'identificationScheme="{UNIQUE_ID}" value={quoteattr(unique)}/>' + "</rim:ExtrinsicObject>"
    )
    return xml, patient


def build_xdm(documents: list[bytes], *, index_htm: bool = True, readme: bool = True) -> bytes:
    """An IHE_XDM.ZIP with one subset (SUBSET01) holding the given CDA documents as DOC0001.XML, …"""
    pack = load_pack()
    entries: list[str] = []
    patient = ""
    files: dict[str, bytes] = {}
    for number, content in enumerate(documents, start=1):
        file_name = f"DOC{number:04d}.XML"
        xml, patient = document_entry_metadata(content, file_name, pack)
        entries.append(xml)
        files[f"IHE_XDM/SUBSET01/{file_name}"] = content
    package_id = f"urn:uuid:{uuid.uuid4()}"
    submission = (
        f'<rim:RegistryPackage id="{package_id}">'
        + _slot("submissionTime", "20260101120000")
        + f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{package_id}" '
        f'identificationScheme="{_SUBMISSION_UNIQUE_ID}" value="1.2.250.1.999.1.{uuid.uuid4().int % 10**12}"/>'
        + f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{package_id}" '
        f'identificationScheme="{_SUBMISSION_SOURCE_ID}" value="1.2.250.1.999.2"/>'
        + f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{package_id}" '
        f'identificationScheme="{_SUBMISSION_PATIENT_ID}" value={quoteattr(patient)}/>'
        + "</rim:RegistryPackage>"
        + f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" classifiedObject="{package_id}" '
        f'classificationNode="{SUBMISSION_SET}"/>'
    )
    metadata = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
        'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>'
        + "".join(entries)
        + submission
        + "</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"
    ).encode("utf-8")
    files["IHE_XDM/SUBSET01/METADATA.XML"] = metadata
    if index_htm:
        files["INDEX.HTM"] = b"<html><body><a href='IHE_XDM/SUBSET01/DOC0001.XML'>Document</a></body></html>"
    if readme:
        files["README.TXT"] = b"IHE XDM package built by hopen-conformance.\r\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, content in files.items():
            zf.writestr(path, content)
    return buffer.getvalue()
