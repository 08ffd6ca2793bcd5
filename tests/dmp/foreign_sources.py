"""Document sources nobody here wrote: an ITI-41 Provide and Register Document Set-b request written as raw text
from IHE ITI TF vol 2b §3.41 (SOAP 1.2, WS-Addressing, MTOM/XOP), vol 3 §4.2 (ebRIM metadata, the standard
classification and identification scheme UUIDs) and the facts sheet (the CNAM samples' value formats, the VIHF
attributes, the XAdES-signed submission set).

Nothing of the product builds these: not its envelope, MTOM, ebRIM, VIHF or XAdES code, nor its CDA header
reader. The XML is string templates; the document's values are read with XPath here; lxml and signxml only
parse and sign (a VIHF and a signature have to be real to be judged); the HTTP client is `requests` itself.

`FAULTS` maps each foreign source's fault to the change it makes to the clean draft; `render(draft)` gives the
HTTP Content-Type and body.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

V3 = {"h": "urn:hl7-org:v3"}
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.1.1#"
ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
# ITI TF vol 3 §4.2.5 (and the facts sheet's B2 table)
DE_OBJECT = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SS_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
EVENT_CODE = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
PS_OID, ST_OID = "1.2.250.1.71.4.2.1", "1.2.250.1.71.4.2.2"


@dataclass
class Signer:
    key_pem: bytes = field(repr=False)
    cert_pem: bytes = field(repr=False)
    subject_dn: str = ""


@dataclass
class Draft:
    """Everything the foreign source writes, as plain values; a fault changes some of them."""

    document: bytes = field(repr=False)
    signer: Signer
    repository_url: str
    soap_ns: str = SOAP12
    media: str = "application/soap+xml"
    action: str = ITI41
    must_understand: bool = True
    message_id: bool = True
    mtom: bool = True
    include_cid: str = ""  # "" : the document part's own Content-ID
    truncate: bool = False
    start_info: str = "application/soap+xml"
    # VIHF
    vihf: bool = True
    vihf_signed: bool = True
    vihf_tamper: bool = False
    vihf_signer: Signer | None = None  # who signs the VIHF (default: `signer`)
    stranger: Signer | None = None  # a signer under another certificate authority
    vihf_attributes: dict[str, str] = field(default_factory=dict)
    vihf_role: bool = True
    # metadata (filled from the document by `draft`)
    values: dict[str, str] = field(default_factory=dict)
    entry_slots: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    mime_type: str = "text/xml"
    hash_of: bytes | None = field(default=None, repr=False)  # what the declared hash describes (default: document)
    size: str = ""
    has_member: bool = True
    ss_classified: bool = True
    xades: bool = True
    xades_over: bytes | None = field(default=None, repr=False)  # what the manifest digests (default: document)


# ---------------------------------------------------------------- the document's values, read here


def _cda_values(document: bytes) -> dict[str, str]:
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))

    def at(path: str, attribute: str | None = None) -> str:
        found = root.xpath(path, namespaces=V3)
        if not found:
            return ""
        node = found[0]
        return (node.get(attribute, "") if attribute else "".join(node.itertext())).strip()

    def utc(value: str) -> str:  # a CDA TS with its offset -> YYYYMMDDhhmmss UTC (ITI TF vol 3 §4.2.3.1.7)
        stamp, sign, offset = value[:14], value[14:15], value[15:19]
        moment = datetime.strptime(stamp, "%Y%m%d%H%M%S")
        if sign in "+-" and offset:
            delta = timedelta(hours=int(offset[:2]), minutes=int(offset[2:]))
            moment = moment.replace(tzinfo=timezone(delta if sign == "+" else -delta))
        return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S") if moment.tzinfo else stamp

    patient = "/h:ClinicalDocument/h:recordTarget/h:patientRole"
    author = "/h:ClinicalDocument/h:author/h:assignedAuthor"
    legal = "/h:ClinicalDocument/h:legalAuthenticator/h:assignedEntity"
    ins_id = root.xpath(f"{patient}/h:id[starts-with(@root, '1.2.250.1.213.1.4.')]", namespaces=V3)[0]
    doc_id = root.xpath("/h:ClinicalDocument/h:id", namespaces=V3)[0]
    return {
        "unique_id": doc_id.get("root") + (f"^{doc_id.get('extension')}" if doc_id.get("extension") else ""),
        "title": at("/h:ClinicalDocument/h:title"),
        "created": utc(at("/h:ClinicalDocument/h:effectiveTime", "value")),
        "language": at("/h:ClinicalDocument/h:languageCode", "code"),
        "type": at("/h:ClinicalDocument/h:code", "code"),
        "type_system": at("/h:ClinicalDocument/h:code", "codeSystem"),
        "type_name": at("/h:ClinicalDocument/h:code", "displayName"),
        "confidentiality": at("/h:ClinicalDocument/h:confidentialityCode", "code"),
        "ins": ins_id.get("extension"),
        "ins_oid": ins_id.get("root"),
        "family": at(f"{patient}/h:patient/h:name/h:family"),
        "given": at(f"{patient}/h:patient/h:name/h:given"),
        "birth": at(f"{patient}/h:patient/h:birthTime", "value"),
        "gender": at(f"{patient}/h:patient/h:administrativeGenderCode", "code"),
        "author_id": at(f"{author}/h:id", "extension"),
        "author_family": at(f"{author}/h:assignedPerson/h:name/h:family"),
        "author_given": at(f"{author}/h:assignedPerson/h:name/h:given"),
        "specialty": at(f"{author}/h:code", "code"),
        "specialty_name": at(f"{author}/h:code", "displayName"),
        "specialty_system": at(f"{author}/h:code", "codeSystem"),
        "org_id": at(f"{author}/h:representedOrganization/h:id", "extension"),
        "org_name": at(f"{author}/h:representedOrganization/h:name"),
        "legal_id": at(f"{legal}/h:id", "extension"),
        "legal_family": at(f"{legal}/h:assignedPerson/h:name/h:family"),
        "legal_given": at(f"{legal}/h:assignedPerson/h:name/h:given"),
        "service_start": utc(at("/h:ClinicalDocument/h:documentationOf/h:serviceEvent/h:effectiveTime/h:low", "value")),
        "facility": at("//h:healthCareFacility/h:code", "code"),
        "facility_name": at("//h:healthCareFacility/h:code", "displayName"),
        "practice": at("//h:serviceEvent/h:performer//h:standardIndustryClassCode", "code"),
        "practice_name": at("//h:serviceEvent/h:performer//h:standardIndustryClassCode", "displayName"),
    }


def draft(document: bytes, signer: Signer, repository_url: str) -> Draft:
    """The clean submission of `document`: CNAM sample formats (facts sheet B2)."""
    v = _cda_values(document)
    patient = f"{v['ins']}^^^&{v['ins_oid']}&ISO^NH"
    person = f"{v['author_id']}^{v['author_family']}^{v['author_given']}^^^^^^&{PS_OID}&ISO^D^^^IDNPS"
    legal = f"{v['legal_id']}^{v['legal_family']}^{v['legal_given']}^^^^^^&{PS_OID}&ISO^D^^^IDNPS"
    values = {
        "patient": patient,
        "ss_patient": patient,
        "unique_id": v["unique_id"],
        "author_person": person,
        "author_institution": f"{v['org_name']}^^^^^&{ST_OID}&ISO^IDNST^^^{v['org_id']}",
        "author_specialty": f"{v['specialty']}^{v['specialty_name']}^{v['specialty_system']}",
        "title": v["title"],
        "ss_unique": f"1.2.250.1.999.77.{uuid.uuid4().int % 10**12}",
        "source_id": "1.2.250.1.999.77",
        "structure": v["org_id"],
    }
    slots = {
        "creationTime": [v["created"]],
        "languageCode": [v["language"]],
        "legalAuthenticator": [legal],
        "serviceStartTime": [v["service_start"] or v["created"]],
        "sourcePatientId": [patient],
        "sourcePatientInfo": [f"PID-5|{v['family']}^{v['given']}^^^^^L", f"PID-7|{v['birth']}", f"PID-8|{v['gender']}"],
    }
    codes = {
        CLASS_CODE: ("10", "1.2.250.1.213.1.1.4.1", "Compte rendu"),
        CONFIDENTIALITY: (v["confidentiality"], "2.16.840.1.113883.5.25", "Normal"),
        FORMAT_CODE: ("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3", "PDF"),
        FACILITY: (v["facility"], "1.2.250.1.71.4.2.4", v["facility_name"]),
        PRACTICE: (v["practice"], "1.2.250.1.213.1.1.4.9", v["practice_name"]),
        TYPE_CODE: (v["type"], v["type_system"], v["type_name"]),
    }
    result = Draft(document, signer, repository_url, values=values, entry_slots=slots, codes=codes)
    result.vihf_attributes = {
        "VIHF_Version": "3.0",
        "Authentification_Mode": "INDIRECTE_RENFORCEE",
        "Identifiant_Structure": v["org_id"],
        "Secteur_Activite": f"{v['facility']}^1.2.250.1.71.4.2.4",
        "urn:oasis:names:tc:xspa:1.0:subject:subject-id": f"{v['author_family']} {v['author_given']}",
        "urn:oasis:names:tc:xacml:2.0:resource:resource-id": patient,
        "Ressource_URN": "urn:dmp",
        "LPS_ID": "SOURCE-ETRANGERE",
        "LPS_Nom": "source étrangère",
        "LPS_Version": "0.9",
        "LPS_ID_HOMOLOGATION_DMP": "ETR-1",
        "_nameid": v["author_id"],
    }
    return result


# ---------------------------------------------------------------- templates


def _slot(name: str, values: list[str]) -> str:
    items = "".join(f"<rim:Value>{escape(v)}</rim:Value>" for v in values)
    return f"<rim:Slot name={quoteattr(name)}><rim:ValueList>{items}</rim:ValueList></rim:Slot>"


def _classification(scheme: str, target: str, code: tuple[str, str, str]) -> str:
    return (
        f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" classificationScheme="{scheme}" '
        f"classifiedObject={quoteattr(target)} nodeRepresentation={quoteattr(code[0])}>"
        f"{_slot('codingScheme', [code[1]])}<rim:Name><rim:LocalizedString value={quoteattr(code[2] or code[0])}/>"
        "</rim:Name></rim:Classification>"
    )


def _author(scheme: str, target: str, v: dict[str, str]) -> str:
    return (
        f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" classificationScheme="{scheme}" '
        f'classifiedObject="{target}" nodeRepresentation="">'
        f"{_slot('authorPerson', [v['author_person']])}{_slot('authorInstitution', [v['author_institution']])}"
        f"{_slot('authorSpecialty', [v['author_specialty']])}</rim:Classification>"
    )


def _external(scheme: str, target: str, value: str, name: str) -> str:
    return (
        f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{target}" '
        f'identificationScheme="{scheme}" value={quoteattr(value)}><rim:Name>'
        f'<rim:LocalizedString value="{name}"/></rim:Name></rim:ExternalIdentifier>'
    )


def _association(kind: str, source: str, target: str, status: bool) -> str:
    slot = _slot("SubmissionSetStatus", ["Original"]) if status else ""
    return (
        f'<rim:Association id="urn:uuid:{uuid.uuid4()}" associationType="{kind}" sourceObject="{source}" '
        f'targetObject="{target}">{slot}</rim:Association>'
    )


def _entry(d: Draft) -> str:
    v = d.values
    hashed = d.document if d.hash_of is None else d.hash_of
    slots = dict(d.entry_slots)
    slots["hash"] = [hashlib.sha1(hashed, usedforsecurity=False).hexdigest()]
    slots["size"] = [d.size or str(len(d.document))]
    body = "".join(_slot(name, values) for name, values in sorted(slots.items()))
    body += f"<rim:Name><rim:LocalizedString value={quoteattr(v['title'])}/></rim:Name>"
    body += _author(DE_AUTHOR, "Doc1", v)
    body += "".join(_classification(scheme, "Doc1", code) for scheme, code in d.codes.items())
    body += _external(DE_PATIENT, "Doc1", v["patient"], "XDSDocumentEntry.patientId")
    body += _external(DE_UNIQUE, "Doc1", v["unique_id"], "XDSDocumentEntry.uniqueId")
    return (
        f'<rim:ExtrinsicObject id="Doc1" mimeType="{d.mime_type}" objectType="{DE_OBJECT}">{body}</rim:ExtrinsicObject>'
    )


def _signature_entry(d: Draft, signature: bytes) -> str:
    v = d.values
    slots = {
        "creationTime": d.entry_slots.get("creationTime", [""]),
        "hash": [hashlib.sha1(signature, usedforsecurity=False).hexdigest()],
        "languageCode": ["art"],
        "size": [str(len(signature))],
        "sourcePatientId": [v["patient"]],
        "serviceStartTime": d.entry_slots.get("serviceStartTime", [""]),
    }
    body = "".join(_slot(n, vals) for n, vals in slots.items() if vals and vals[0])
    body += '<rim:Name><rim:LocalizedString value="Signature"/></rim:Name>'
    body += _author(DE_AUTHOR, "Sig1", v)
    for scheme, code in (
        (CLASS_CODE, ("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", "Digital Signature")),
        (CONFIDENTIALITY, ("N", "2.16.840.1.113883.5.25", "Normal")),
        (FORMAT_CODE, ("http://www.w3.org/2000/09/xmldsig#", "URN", "Default Signature Style")),
        (FACILITY, d.codes.get(FACILITY, ("", "", ""))),
        (PRACTICE, d.codes.get(PRACTICE, ("", "", ""))),
        (TYPE_CODE, ("E1762", "ASTM", "Full Document")),
        (EVENT_CODE, ("1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source")),
    ):
        body += _classification(scheme, "Sig1", code)
    body += _external(DE_PATIENT, "Sig1", v["patient"], "XDSDocumentEntry.patientId")
    body += _external(DE_UNIQUE, "Sig1", f"1.2.250.1.999.78.{uuid.uuid4().int % 10**12}", "XDSDocumentEntry.uniqueId")
    return f'<rim:ExtrinsicObject id="Sig1" mimeType="text/xml" objectType="{DE_OBJECT}">{body}</rim:ExtrinsicObject>'


def _package(d: Draft) -> str:
    v = d.values
    body = _slot("submissionTime", [datetime.now(UTC).strftime("%Y%m%d%H%M%S")])
    body += f"<rim:Name><rim:LocalizedString value={quoteattr(v['title'])}/></rim:Name>"
    body += _author(SS_AUTHOR, "SS1", v)
    body += _classification(SS_CONTENT_TYPE, "SS1", ("03", "1.2.250.1.213.2.2", "Hospitalisation"))
    body += _external(SS_UNIQUE, "SS1", v["ss_unique"], "XDSSubmissionSet.uniqueId")
    body += _external(SS_SOURCE, "SS1", v["source_id"], "XDSSubmissionSet.sourceId")
    body += _external(SS_PATIENT, "SS1", v["ss_patient"], "XDSSubmissionSet.patientId")
    return f'<rim:RegistryPackage id="SS1">{body}</rim:RegistryPackage>'


def _xades(d: Draft) -> bytes:
    """The CNAM form of the submission set's signature (facts sheet B2): a ds:Manifest referencing the submission
    set (placeholder digest) and the document (c14n WithComments, SHA-256 here), XAdES 1.1.1 SignedProperties."""
    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

    over = d.document if d.xades_over is None else d.xades_over
    canonical = etree.tostring(etree.fromstring(over).getroottree(), method="c14n", with_comments=True)
    digest = base64.b64encode(hashlib.sha256(canonical).digest()).decode()
    sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
    holder = etree.fromstring(  # the objects are found by their Id in the signed data, then join the signature
        f'<ds:Signature xmlns:ds="{DS}"><ds:Object><ds:Manifest Id="IHEManifest">'
        f'<ds:Reference URI="urn:oid:{d.values["ss_unique"]}"><ds:DigestMethod Algorithm="{sha256}"/>'
        "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference>"
        f'<ds:Reference URI="urn:oid:{d.values["unique_id"]}"><ds:Transforms><ds:Transform Algorithm="{c14n}"/>'
        f'</ds:Transforms><ds:DigestMethod Algorithm="{sha256}"/><ds:DigestValue>{digest}</ds:DigestValue>'
        "</ds:Reference></ds:Manifest></ds:Object>"
        f'<ds:Object><QualifyingProperties xmlns="{XADES}"><SignedProperties Id="S0-SignedProperties">'
        f"<SignedSignatureProperties><SigningTime>{datetime.now(UTC).isoformat()}</SigningTime>"
        "<SignaturePolicyIdentifier><SignaturePolicyImplied/></SignaturePolicyIdentifier>"
        "</SignedSignatureProperties></SignedProperties></QualifyingProperties></ds:Object></ds:Signature>"
    )
    parts = list(holder)
    signer = XMLSigner(
        method=methods.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS,
    )

    def place(sig_root, signing_settings):
        sig_root.extend(parts)
        for reference in sig_root.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference"):
            if reference.get("URI") == "#IHEManifest":
                reference.set("Type", f"{DS}Manifest")

    signer.signature_annotators.append(place)
    signer.namespaces = {"ds": DS}
    signed = signer.sign(
        holder,
        key=d.signer.key_pem,
        cert=d.signer.cert_pem.decode(),
        reference_uri=["#IHEManifest", "#S0-SignedProperties"],
    )
    return etree.tostring(signed)


def _vihf(d: Draft) -> str:
    if not d.vihf:
        return ""
    signer = d.vihf_signer or d.signer
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attributes = dict(d.vihf_attributes)
    nameid = attributes.pop("_nameid")
    texts = "".join(
        f"<saml2:Attribute Name={quoteattr(name)}><saml2:AttributeValue>{escape(value)}</saml2:AttributeValue>"
        "</saml2:Attribute>"
        for name, value in attributes.items()
    )
    role = (
        '<saml2:Attribute Name="urn:oasis:names:tc:xacml:2.0:subject:role"><saml2:AttributeValue>'
        '<Role xmlns="urn:hl7-org:v3" xsi:type="CE" code="10" codeSystem="1.2.250.1.71.1.2.7" displayName="Médecin"/>'
        "</saml2:AttributeValue></saml2:Attribute>"
        if d.vihf_role
        else ""
    )
    purpose = (
        '<saml2:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"><saml2:AttributeValue>'
        '<PurposeOfUse xmlns="urn:hl7-org:v3" xsi:type="CE" code="normal" codeSystem="1.2.250.1.213.1.1.4.248" '
        'displayName="Accès normal"/></saml2:AttributeValue></saml2:Attribute>'
    )
    assertion_id = f"_{uuid.uuid4().hex}"
    text = (
        '<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{assertion_id}" IssueInstant="{now}" Version="2.0">'
        '<saml2:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">'
        f"{escape(signer.subject_dn)}</saml2:Issuer>"
        f'<ds:Signature xmlns:ds="{DS}" Id="placeholder"/>'
        f"<saml2:Subject><saml2:NameID>{escape(nameid)}</saml2:NameID></saml2:Subject>"
        f'<saml2:AuthnStatement AuthnInstant="{now}"><saml2:AuthnContext><saml2:AuthnContextClassRef>'
        "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml2:AuthnContextClassRef></saml2:AuthnContext>"
        f"</saml2:AuthnStatement><saml2:AttributeStatement>{texts}{role}{purpose}</saml2:AttributeStatement>"
        "</saml2:Assertion>"
    )
    assertion = etree.fromstring(text.encode())
    if d.vihf_signed:
        from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

        assertion = XMLSigner(
            method=methods.enveloped,
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        ).sign(
            assertion, key=signer.key_pem, cert=signer.cert_pem.decode(), reference_uri=assertion_id, id_attribute="ID"
        )
    else:
        assertion.remove(assertion.find(f"{{{DS}}}Signature"))
    if d.vihf_tamper:  # changed after signing
        value = assertion.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}Attribute[@Name='LPS_Version']/*")
        value.text = "9.9"
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    return f'<wsse:Security xmlns:wsse="{wsse}">{etree.tostring(assertion).decode()}</wsse:Security>'


def render(d: Draft) -> tuple[str, bytes]:
    """(Content-Type, body) of the ITI-41 HTTP request."""
    signature = _xades(d) if d.xades else b""
    token = uuid.uuid4().hex
    document_cid, signature_cid, root_cid = (
        f"doc-{token}@etrangere",
        f"sig-{token}@etrangere",
        f"root-{token}@etrangere",
    )
    objects = _entry(d) + (_signature_entry(d, signature) if signature else "") + _package(d)
    if d.ss_classified:
        objects += (
            f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" classifiedObject="SS1" classificationNode="{SS_NODE}"/>'
        )
    if d.has_member:
        objects += _association(HAS_MEMBER, "SS1", "Doc1", True)
    if signature:
        objects += _association(HAS_MEMBER, "SS1", "Sig1", True) + _association(SIGNS, "Sig1", "SS1", False)

    def holder(entry: str, cid: str, data: bytes) -> str:
        if d.mtom:
            target = d.include_cid if (d.include_cid and entry == "Doc1") else cid
            return (
                f'<xdsb:Document id="{entry}"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
                f'href="cid:{target}"/></xdsb:Document>'
            )
        return f'<xdsb:Document id="{entry}">{base64.b64encode(data).decode()}</xdsb:Document>'

    documents = holder("Doc1", document_cid, d.document) + (
        holder("Sig1", signature_cid, signature) if signature else ""
    )
    flag = "true" if d.soap_ns == SOAP12 else "1"
    must = f' s:mustUnderstand="{flag}"' if d.must_understand else ""
    message_id = f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>" if d.message_id else ""
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{d.soap_ns}" xmlns:wsa="http://www.w3.org/2005/08/addressing">'
        f"<s:Header><wsa:Action{must}>{d.action}</wsa:Action>{message_id}"
        "<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>"
        f"<wsa:To>{escape(d.repository_url)}</wsa:To>{_vihf(d)}</s:Header><s:Body>"
        '<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">'
        '<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
        'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
        f"<rim:RegistryObjectList>{objects}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"
        f"{documents}</xdsb:ProvideAndRegisterDocumentSetRequest></s:Body></s:Envelope>"
    ).encode()
    if not d.mtom:
        return f'{d.media}; charset=UTF-8; action="{d.action}"', envelope
    boundary = f"uuid:{token}"
    parts = [
        (
            f'Content-Type: application/xop+xml; charset=UTF-8; type="{d.start_info}"\r\n'
            f"Content-Transfer-Encoding: binary\r\nContent-ID: <{root_cid}>\r\n\r\n"
        ).encode()
        + envelope,
        f"Content-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{document_cid}>\r\n\r\n".encode()
        + d.document,
    ]
    if signature:
        parts.append(
            f"Content-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{signature_cid}>\r\n\r\n".encode()
            + signature
        )
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode()
    if d.truncate:
        body = body[: len(body) // 2]
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; start="<{root_cid}>"; '
        f'start-info="{d.start_info}"; action="{d.action}"'
    )
    return content_type, body


# ---------------------------------------------------------------- the faults, one per foreign source


def _set(**changes: object) -> Callable[[Draft], None]:
    def apply(d: Draft) -> None:
        for name, value in changes.items():
            setattr(d, name, value)

    return apply


def _value(key: str, value: str) -> Callable[[Draft], None]:
    return lambda d: d.values.__setitem__(key, value)


def _vihf_attr(name: str, value: str | None) -> Callable[[Draft], None]:
    def apply(d: Draft) -> None:
        if value is None:
            d.vihf_attributes.pop(name, None)
        else:
            d.vihf_attributes[name] = value

    return apply


def _slot_value(name: str, value: list[str] | None) -> Callable[[Draft], None]:
    def apply(d: Draft) -> None:
        if value is None:
            d.entry_slots.pop(name, None)
        else:
            d.entry_slots[name] = value

    return apply


def _code(scheme: str, code: tuple[str, str, str] | None) -> Callable[[Draft], None]:
    def apply(d: Draft) -> None:
        if code is None:
            d.codes.pop(scheme, None)
        else:
            d.codes[scheme] = code

    return apply


OTHER_INS = "180017512345628"  # a well-formed INS (valid key) of another patient
OTHER_PS = f"899900063480^MAX^LIBRE^^^^^^&{PS_OID}&ISO^D^^^IDNPS"  # another professional (the CNAM samples' one)


def _lf_hash(d: Draft) -> None:  # hashed after normalising the line ends, then sent as is
    d.hash_of = d.document.replace(b"\r\n", b"\n")


def _char_size(d: Draft) -> None:  # the size in characters, not bytes (the CDA has accented letters)
    d.size = str(len(d.document.decode("utf-8")))


def _other_patient_everywhere(d: Draft) -> None:  # metadata and VIHF agree with each other, not with the CDA
    cx = f"{OTHER_INS}^^^&1.2.250.1.213.1.4.10&ISO^NH"
    d.values["patient"] = d.values["ss_patient"] = cx
    d.entry_slots["sourcePatientId"] = [cx]
    d.vihf_attributes["urn:oasis:names:tc:xacml:2.0:resource:resource-id"] = cx


FAULTS: dict[str, Callable[[Draft], None]] = {
    # envelope, addressing, MTOM
    "soap11-envelope": _set(soap_ns=SOAP11, media="text/xml", start_info="text/xml"),
    "action-without-b": _set(action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet"),
    "action-not-mustunderstand": _set(must_understand=False),
    "no-messageid": _set(message_id=False),
    "inline-base64-not-mtom": _set(mtom=False),
    "include-unknown-cid": _set(include_cid="nowhere@etrangere"),
    "multipart-cut-in-half": _set(truncate=True),
    "start-info-text-xml": _set(start_info="text/xml"),
    # VIHF
    "vihf-absent": _set(vihf=False),
    "vihf-not-signed": _set(vihf_signed=False),
    "vihf-changed-after-signing": _set(vihf_tamper=True),
    "vihf-no-identifiant-structure": _vihf_attr("Identifiant_Structure", None),
    "vihf-no-role": _set(vihf_role=False),
    "vihf-sector-without-oid": _vihf_attr("Secteur_Activite", "SA01"),
    "vihf-resource-other-patient": _vihf_attr(
        "urn:oasis:names:tc:xacml:2.0:resource:resource-id", f"{OTHER_INS}^^^&1.2.250.1.213.1.4.10&ISO^NH"
    ),
    "vihf-version-5": _vihf_attr("VIHF_Version", "5.0"),
    "vihf-mode-unknown": _vihf_attr("Authentification_Mode", "AUTOMATIQUE"),
    "vihf-structure-other": _vihf_attr("Identifiant_Structure", "1999999999"),
    "vihf-no-lps-homologation": _vihf_attr("LPS_ID_HOMOLOGATION_DMP", None),
    "vihf-signed-by-another-authority": lambda d: setattr(d, "vihf_signer", d.stranger),
    # metadata
    "hash-of-lf-normalised-document": _lf_hash,
    "size-in-characters": _char_size,
    "patientid-local-ipp": _value("patient", "1234567890121^^^&1.2.3.4.567.8.9.10&ISO^PI"),
    "patientid-without-iso": _value("patient", "279035121518989^^^&1.2.250.1.213.1.4.10^NH"),
    "authorperson-no-authority": _value("author_person", "801234567897^BOILEAU^Charles"),
    "authorinstitution-plain-name": _value("author_institution", "Centre de soins du Belvédère"),
    "classcode-loinc": _code(CLASS_CODE, ("11488-4", "2.16.840.1.113883.6.1", "Consult note")),
    "confidentiality-unknown": _code(CONFIDENTIALITY, ("X", "2.16.840.1.113883.5.25", "?")),
    "facility-not-in-j61": _code(FACILITY, ("HOSP", "2.16.840.1.113883.5.10588", "Hospital")),
    "practice-setting-unknown": _code(PRACTICE, ("CLINIQUE", "1.2.250.1.213.1.1.4.9", "Clinique")),
    "typecode-missing": _code(TYPE_CODE, None),
    "formatcode-missing": _code(FORMAT_CODE, None),
    "creationtime-iso8601": _slot_value("creationTime", ["2019-10-29T10:17:00Z"]),
    "languagecode-missing": _slot_value("languageCode", None),
    "legalauthenticator-missing": _slot_value("legalAuthenticator", None),
    "sourcepatientid-missing": _slot_value("sourcePatientId", None),
    "uniqueid-not-the-cda-id": _value("unique_id", "1.2.250.1.999.77.1"),
    "submissionset-patient-differs": _value("ss_patient", f"{OTHER_INS}^^^&1.2.250.1.213.1.4.10&ISO^NH"),
    "patient-not-the-cda-patient": _other_patient_everywhere,
    "authorperson-another-professional": _value("author_person", OTHER_PS),
    "legalauthenticator-another-professional": _slot_value("legalAuthenticator", [OTHER_PS]),
    "languagecode-not-the-cda-language": _slot_value("languageCode", ["en-US"]),
    "servicestarttime-another-day": _slot_value("serviceStartTime", ["20200101080000"]),
    "no-hasmember-association": _set(has_member=False),
    "submissionset-not-classified": _set(ss_classified=False),
    "mimetype-pdf-for-cda": _set(mime_type="application/pdf"),
    "xades-absent": _set(xades=False),
    "xades-over-another-document": _set(xades_over=b"<ClinicalDocument>autre</ClinicalDocument>"),
}
