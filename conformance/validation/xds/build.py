"""Build XDS.b requests from a CI-SIS CDA document: ITI-41 Provide and Register (metadata derived from the CDA
header, the formats of the CNAM samples), ITI-18 stored queries, ITI-43 retrieves and ITI-57 status updates.

A conformant document gives a conformant submission; the reference faults and the harness's defective
submissions then change the built tree (`ProvideRequest.entry`, `.submission_set`, `.document`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from conformance.identifiers import ID_NAT_PS_OID as ID_NAT_PS
from conformance.identifiers import ID_NAT_STRUCT_OID as ID_NAT_STRUCT
from conformance.identifiers import INS_OIDS
from conformance.transport.mtom import XOP_NS, Part, new_content_id
from conformance.validation.cda.document import find_clinical_document
from conformance.validation.cda.header import V3

from . import ebrim
from .ebrim import CLASSIFICATIONS, DOCUMENT_ENTRY, PATIENT_ID, RIM, UNIQUE_ID

_NS = {"cda": V3}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
FORMAT_DEFAULT = ("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3")
CONTENT_TYPE_DEFAULT = ("03", "1.2.250.1.213.2.2")  # TRE_R209 (hospitalisation)
CLASS_DEFAULT = ("10", "1.2.250.1.213.1.1.4.1")  # TRE_A03, in JDV_J57


@dataclass(slots=True)
class CdaHeader:
    """What the metadata is derived from. Every field is a plain string (empty when the CDA has none)."""

    unique_id: str
    type_code: tuple[str, str, str]
    confidentiality: tuple[str, str, str]
    title: str
    creation_time: str
    language: str
    patient_cx: str
    patient_ins: tuple[str, str]  # (extension, root)
    patient_ids: list[tuple[str, str]]  # every recordTarget/patientRole/id
    patient_name: tuple[str, str]
    birth_time: str
    gender: str
    author_xcn: str
    author_id: str
    institution_xon: str
    institution_id: str
    legal_authenticator: str
    service_start: str
    service_stop: str
    facility: tuple[str, str, str]
    practice: tuple[str, str, str]
    specialty: str


def _attr(element: etree._Element | None, name: str) -> str:
    return element.get(name, "") if element is not None else ""


def _text(document: etree._Element, path: str) -> str:
    element = document.find(path, _NS)
    return "".join(element.itertext()).strip() if element is not None else ""


def _coded(document: etree._Element, path: str) -> tuple[str, str, str]:
    element = document.find(path, _NS)
    return (_attr(element, "code"), _attr(element, "codeSystem"), _attr(element, "displayName"))


def utc_ts(value: str) -> str:
    """A CDA TS (with an offset) as the XDS UTC form YYYYMMDDhhmmss; the value unchanged if it has no time."""
    digits = value.split("+")[0].split("-")[0].split(".")[0]
    if len(digits) < 14 or ("+" not in value and "-" not in value):
        return digits
    try:
        parsed = datetime.strptime(digits[:14] + value[len(digits) :][:5], "%Y%m%d%H%M%S%z")
    except ValueError:
        return digits
    return parsed.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def xcn(identifier: str, family: str, given: str) -> str:
    return f"{identifier}^{family}^{given}^^^^^^&{ID_NAT_PS}&ISO^D^^^IDNPS"


def xon(name: str, identifier: str) -> str:
    return f"{name}^^^^^&{ID_NAT_STRUCT}&ISO^IDNST^^^{identifier}"


def read_header(content: bytes) -> CdaHeader:
    root = etree.fromstring(content, _PARSER)
    document = find_clinical_document(root)
    if document is None:
        raise ValueError("not a CDA document")
    doc_id = document.find("cda:id", _NS)
    unique = _attr(doc_id, "root") + (f"^{_attr(doc_id, 'extension')}" if _attr(doc_id, "extension") else "")
    ids = document.findall("cda:recordTarget/cda:patientRole/cda:id", _NS)
    ins = next((i for i in ids if i.get("root") in INS_OIDS), ids[0] if ids else None)
    patient = (_attr(ins, "extension"), _attr(ins, "root"))
    patient_el = "cda:recordTarget/cda:patientRole/cda:patient"
    family = _text(document, f"{patient_el}/cda:name/cda:family")
    given = _text(document, f"{patient_el}/cda:name/cda:given")
    author = "cda:author/cda:assignedAuthor"
    author_id = _attr(document.find(f"{author}/cda:id", _NS), "extension")
    organisation = f"{author}/cda:representedOrganization"
    institution_id = _attr(document.find(f"{organisation}/cda:id", _NS), "extension")
    legal = "cda:legalAuthenticator/cda:assignedEntity"
    service = "cda:documentationOf/cda:serviceEvent/cda:effectiveTime"
    specialty = _coded(document, f"{author}/cda:code")
    return CdaHeader(
        unique_id=unique,
        type_code=_coded(document, "cda:code"),
        confidentiality=_coded(document, "cda:confidentialityCode"),
        title=_text(document, "cda:title"),
        creation_time=utc_ts(_attr(document.find("cda:effectiveTime", _NS), "value")),
        language=_attr(document.find("cda:languageCode", _NS), "code") or "fr-FR",
        patient_cx=f"{patient[0]}^^^&{patient[1]}&ISO^NH",
        patient_ins=patient,
        patient_ids=[(_attr(i, "extension"), _attr(i, "root")) for i in ids],
        patient_name=(family, given),
        birth_time=_attr(document.find(f"{patient_el}/cda:birthTime", _NS), "value"),
        gender=_attr(document.find(f"{patient_el}/cda:administrativeGenderCode", _NS), "code"),
        author_xcn=xcn(
            author_id,
            _text(document, f"{author}/cda:assignedPerson/cda:name/cda:family"),
            _text(document, f"{author}/cda:assignedPerson/cda:name/cda:given"),
        ),
        author_id=author_id,
        institution_xon=xon(_text(document, f"{organisation}/cda:name"), institution_id),
        institution_id=institution_id,
        legal_authenticator=xcn(
            _attr(document.find(f"{legal}/cda:id", _NS), "extension"),
            _text(document, f"{legal}/cda:assignedPerson/cda:name/cda:family"),
            _text(document, f"{legal}/cda:assignedPerson/cda:name/cda:given"),
        ),
        service_start=utc_ts(_attr(document.find(f"{service}/cda:low", _NS), "value")),
        service_stop=utc_ts(_attr(document.find(f"{service}/cda:high", _NS), "value")),
        facility=_coded(
            document, "cda:componentOf/cda:encompassingEncounter/cda:location/cda:healthCareFacility/cda:code"
        ),
        practice=_coded(
            document,
            "cda:documentationOf/cda:serviceEvent/cda:performer/cda:assignedEntity/cda:representedOrganization/"
            "cda:standardIndustryClassCode",
        ),
        specialty=f"{specialty[0]}^{specialty[2]}^{specialty[1]}" if specialty[0] else "",
    )


# ---------------------------------------------------------------- ebRIM helpers


def rim(tag: str, parent: etree._Element | None = None, **attributes: str) -> etree._Element:
    if parent is None:
        return etree.Element(f"{{{RIM}}}{tag}", attributes, nsmap={"rim": RIM})
    return etree.SubElement(parent, f"{{{RIM}}}{tag}", attributes)


def slot(parent: etree._Element, name: str, *values: str) -> etree._Element:
    element = rim("Slot", parent, name=name)
    value_list = rim("ValueList", element)
    for value in values:
        rim("Value", value_list).text = value
    return element


def localized(parent: etree._Element, tag: str, text: str) -> None:
    rim("LocalizedString", rim(tag, parent), value=text)


def classification(
    parent: etree._Element, scheme: str, target: str, code: tuple[str, ...], display: str = ""
) -> etree._Element:
    element = rim(
        "Classification",
        parent,
        id=f"urn:uuid:{uuid.uuid4()}",
        classificationScheme=scheme,
        classifiedObject=target,
        nodeRepresentation=code[0],
    )
    slot(element, "codingScheme", code[1])
    localized(element, "Name", display or (code[2] if len(code) > 2 and code[2] else code[0]))
    return element


def external_id(parent: etree._Element, scheme: str, target: str, value: str, name: str) -> etree._Element:
    element = rim(
        "ExternalIdentifier",
        parent,
        id=f"urn:uuid:{uuid.uuid4()}",
        registryObject=target,
        identificationScheme=scheme,
        value=value,
    )
    localized(element, "Name", name)
    return element


def author(parent: etree._Element, scheme: str, target: str, header: CdaHeader) -> None:
    element = classification(parent, scheme, target, ("", ""))
    element.remove(element.find(f"{{{RIM}}}Slot"))  # the author classification has no codingScheme
    element.remove(element.find(f"{{{RIM}}}Name"))
    element.insert(0, _slot_element("authorInstitution", header.institution_xon))
    element.insert(0, _slot_element("authorPerson", header.author_xcn))
    if header.specialty:
        element.append(_slot_element("authorSpecialty", header.specialty))


def _slot_element(name: str, *values: str) -> etree._Element:
    holder = etree.Element("holder")
    return slot(holder, name, *values)


@dataclass(slots=True)
class ProvideRequest:
    """An ITI-41 request under construction: the payload, the document part, and handles on its parts."""

    payload: etree._Element = field(repr=False)
    entry: etree._Element = field(repr=False)
    submission_set: etree._Element = field(repr=False)
    document: etree._Element = field(repr=False)  # xdsb:Document
    attachments: list[Part] = field(default_factory=list, repr=False)
    unique_id: str = ""
    patient_cx: str = ""
    entry_uuid: str = ""

    def content(self) -> bytes:
        return self.attachments[0].data if self.attachments else b""

    def replace_content(self, data: bytes) -> None:
        self.attachments[0] = Part(self.attachments[0].content_id, self.attachments[0].content_type, data)


def provide_request(
    content: bytes, *, source_id: str = "1.2.250.1.999.2", content_type=CONTENT_TYPE_DEFAULT
) -> ProvideRequest:
    """ITI-41 for one CDA document, its metadata derived from the header (formats of the CNAM samples)."""
    header = read_header(content)
    payload = etree.Element(f"{{{ebrim.XDSB}}}ProvideAndRegisterDocumentSetRequest", nsmap={"xdsb": ebrim.XDSB})
    submit = etree.SubElement(payload, f"{{{ebrim.LCM}}}SubmitObjectsRequest", nsmap={"lcm": ebrim.LCM, "rim": RIM})
    objects = rim("RegistryObjectList", submit)
    entry_id = "Document01"
    entry = rim("ExtrinsicObject", objects, id=entry_id, mimeType="text/xml", objectType=DOCUMENT_ENTRY)
    slot(entry, "creationTime", header.creation_time)
    slot(entry, "hash", hashlib.sha1(content, usedforsecurity=False).hexdigest())
    slot(entry, "languageCode", header.language)
    slot(entry, "legalAuthenticator", header.legal_authenticator)
    slot(entry, "serviceStartTime", header.service_start or header.creation_time)
    if header.service_stop:
        slot(entry, "serviceStopTime", header.service_stop)
    slot(entry, "size", str(len(content)))
    slot(entry, "sourcePatientId", header.patient_cx)
    slot(
        entry,
        "sourcePatientInfo",
        f"PID-5|{header.patient_name[0]}^{header.patient_name[1]}^^^^^L",
        f"PID-7|{header.birth_time}",
        f"PID-8|{header.gender}",
    )
    localized(entry, "Name", header.title or "Document")
    author(entry, ebrim.DOCUMENT_ENTRY_AUTHOR, entry_id, header)
    codes = {
        "classCode": CLASS_DEFAULT,
        "confidentialityCode": header.confidentiality,
        "formatCode": FORMAT_DEFAULT,
        "healthcareFacilityTypeCode": header.facility,
        "practiceSettingCode": header.practice,
        "typeCode": header.type_code,
    }
    for label, code in codes.items():
        classification(entry, CLASSIFICATIONS[label], entry_id, code)
    external_id(entry, PATIENT_ID, entry_id, header.patient_cx, "XDSDocumentEntry.patientId")
    external_id(entry, UNIQUE_ID, entry_id, header.unique_id, "XDSDocumentEntry.uniqueId")
    package_id = "SubmissionSet01"
    package = rim("RegistryPackage", objects, id=package_id)
    slot(package, "submissionTime", datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    localized(package, "Name", header.title or "Lot de soumission")
    author(package, ebrim.SUBMISSION_SET_AUTHOR, package_id, header)
    classification(package, ebrim.CONTENT_TYPE_CODE, package_id, content_type)
    external_id(
        package, ebrim.SS_UNIQUE_ID, package_id, f"{source_id}.{uuid.uuid4().int % 10**15}", "XDSSubmissionSet.uniqueId"
    )
    external_id(package, ebrim.SS_SOURCE_ID, package_id, source_id, "XDSSubmissionSet.sourceId")
    external_id(package, ebrim.SS_PATIENT_ID, package_id, header.patient_cx, "XDSSubmissionSet.patientId")
    association = _submission_set_association(objects, package_id, ebrim.HAS_MEMBER, entry_id)
    slot(association, "SubmissionSetStatus", "Original")
    content_id = new_content_id()
    document = etree.SubElement(payload, f"{{{ebrim.XDSB}}}Document", id=entry_id)
    etree.SubElement(document, f"{{{XOP_NS}}}Include", href=f"cid:{content_id}", nsmap={"xop": XOP_NS})
    return ProvideRequest(
        payload,
        entry,
        package,
        document,
        [Part(content_id, "text/xml", content)],
        header.unique_id,
        header.patient_cx,
        entry_id,
    )


def _submission_set_association(
    objects: etree._Element, package_id: str, association_type: str, target: str
) -> etree._Element:
    """The Classification that makes `package_id` a submission set, then its association to `target`."""
    rim(
        "Classification",
        objects,
        id=f"urn:uuid:{uuid.uuid4()}",
        classifiedObject=package_id,
        classificationNode=ebrim.SUBMISSION_SET,
    )
    return rim(
        "Association",
        objects,
        id=f"urn:uuid:{uuid.uuid4()}",
        associationType=association_type,
        sourceObject=package_id,
        targetObject=target,
    )


# ---------------------------------------------------------------- queries, retrieve, update


def _stored_query(query_id: str, return_type: str) -> tuple[etree._Element, etree._Element]:
    """An ITI-18 AdhocQueryRequest and its AdhocQuery (for the parameter slots)."""
    request = etree.Element(f"{{{ebrim.QUERY}}}AdhocQueryRequest", nsmap={"query": ebrim.QUERY, "rim": RIM})
    etree.SubElement(request, f"{{{ebrim.QUERY}}}ResponseOption", returnComposedObjects="true", returnType=return_type)
    return request, rim("AdhocQuery", request, id=query_id)


def find_documents(patient_cx: str, statuses: tuple[str, ...] = (ebrim.APPROVED,), return_type: str = "LeafClass"):
    request, query = _stored_query(ebrim.FIND_DOCUMENTS, return_type)
    slot(query, "$XDSDocumentEntryPatientId", f"'{patient_cx}'")
    slot(query, "$XDSDocumentEntryStatus", "(" + ",".join(f"'{s}'" for s in statuses) + ")")
    return request


def get_documents(unique_ids: list[str]):
    request, query = _stored_query(ebrim.GET_DOCUMENTS, "LeafClass")
    slot(query, "$XDSDocumentEntryUniqueId", "(" + ",".join(f"'{u}'" for u in unique_ids) + ")")
    return request


def retrieve_request(repository_id: str, unique_id: str):
    request = etree.Element(f"{{{ebrim.XDSB}}}RetrieveDocumentSetRequest", nsmap={"xdsb": ebrim.XDSB})
    item = etree.SubElement(request, f"{{{ebrim.XDSB}}}DocumentRequest")
    etree.SubElement(item, f"{{{ebrim.XDSB}}}RepositoryUniqueId").text = repository_id
    etree.SubElement(item, f"{{{ebrim.XDSB}}}DocumentUniqueId").text = unique_id
    return request


def status_update(entry_uuid: str, patient_cx: str, original: str, new: str, source_id: str = "1.2.250.1.999.2"):
    """ITI-57 changing a document's availability status (archive: Archived, delete: Deleted)."""
    request = etree.Element(f"{{{ebrim.LCM}}}SubmitObjectsRequest", nsmap={"lcm": ebrim.LCM, "rim": RIM})
    objects = rim("RegistryObjectList", request)
    package_id = "SubmissionSet01"
    package = rim("RegistryPackage", objects, id=package_id)
    slot(package, "submissionTime", datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    external_id(package, ebrim.SS_UNIQUE_ID, package_id, f"{source_id}.{uuid.uuid4().int % 10**15}", "uniqueId")
    external_id(package, ebrim.SS_SOURCE_ID, package_id, source_id, "sourceId")
    external_id(package, ebrim.SS_PATIENT_ID, package_id, patient_cx, "patientId")
    association = _submission_set_association(objects, package_id, ebrim.UPDATE_AVAILABILITY, entry_uuid)
    slot(association, "OriginalStatus", original)
    slot(association, "NewStatus", new)
    return request


def confidentiality_update(entry: etree._Element, lid: str, version: str, codes: list[tuple[str, str]]):
    """ITI-57 metadata update of a stored entry (new version) with the given confidentiality codes (masking)."""
    request = etree.Element(f"{{{ebrim.LCM}}}SubmitObjectsRequest", nsmap={"lcm": ebrim.LCM, "rim": RIM})
    objects = rim("RegistryObjectList", request)
    new = etree.fromstring(etree.tostring(entry))
    new_id = f"urn:uuid:{uuid.uuid4()}"
    new.set("id", new_id)
    new.set("lid", lid)
    for old in new.findall(
        f"rim:Classification[@classificationScheme='{CLASSIFICATIONS['confidentialityCode']}']", ebrim.NS
    ):
        new.remove(old)
    for code in codes:
        classification(new, CLASSIFICATIONS["confidentialityCode"], new_id, code)
    objects.append(new)
    package = rim("RegistryPackage", objects, id="SubmissionSet01")
    slot(package, "submissionTime", datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    rim(
        "Classification",
        objects,
        id=f"urn:uuid:{uuid.uuid4()}",
        classifiedObject="SubmissionSet01",
        classificationNode=ebrim.SUBMISSION_SET,
    )
    association = rim(
        "Association",
        objects,
        id=f"urn:uuid:{uuid.uuid4()}",
        associationType=ebrim.HAS_MEMBER,
        sourceObject="SubmissionSet01",
        targetObject=new_id,
    )
    slot(association, "SubmissionSetStatus", "Original")
    slot(association, "PreviousVersion", version)
    return request
