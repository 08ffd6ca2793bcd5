"""The XAdES-signed submission set the DMP requires (S5: "lot de soumission XDS signé (XAdES)"): built by the
harness as a document source, judged by the harness as the DMP. The XML signature is signxml's work (its
XAdESSigner / XMLVerifier); this module only provides what is signed, an IHE `ds:Manifest` listing the
submission set and its documents by `urn:oid:<uniqueId>`, and checks that manifest against the documents.

Layout (CNAM kit template and its TD2.1 signature sample, facts sheet B2): an extra DocumentEntry `Signature01`
(mimeType text/xml, languageCode `art`, classCode `urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1` "Digital Signature",
typeCode `E1762` ASTM, formatCode `http://www.w3.org/2000/09/xmldsig#`, eventCode `1.2.840.10065.1.12.1.14`),
a HasMember association from the submission set and a `urn:ihe:iti:2007:AssociationType:signs` association
from the signature to the submission set. The signature references `#IHEManifest` (Type Manifest) and the
XAdES SignedProperties; the manifest's document references use the inclusive c14n WithComments transform.

Settings (the facts leave them open; `XdsRules.xades`, `[dmp] xades`):
- produced: XAdES 1.3.2 qualifying properties (what signxml writes: SigningTime, SigningCertificateV2 and the
  legacy SigningCertificate when the issuer name allows it, SignaturePolicyImplied), RSA-SHA256, inclusive c14n
  WithComments. The CNAM sample is XAdES 1.1.1 with RSA-SHA1: verification accepts both namespaces and SHA-1.
- the manifest's reference to the submission set carries the placeholder digest `AA==`, as the CNAM sample does
  (the submission set has no byte form to digest); it is not checked.
- required ("required", the default) or verified only when present ("optional").
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable

from cryptography import x509
from lxml import etree

from conformance.findings import Finding, finding
from conformance.transport.vihf import SigningKey

from . import ebrim
from .ebrim import NS, external
from .signature_text import french_problem
from .trust import issued_by

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NAMESPACES = (
    "http://uri.etsi.org/01903/v1.1.1#",
    "http://uri.etsi.org/01903/v1.3.2#",
    "http://uri.etsi.org/01903/v1.4.1#",
)
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
SIGNATURE_FORMAT = ("http://www.w3.org/2000/09/xmldsig#", "URN", "Default Signature Style")
SIGNATURE_CLASS = ("urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", "Digital Signature")
SIGNATURE_TYPE = ("E1762", "ASTM", "Full Document")
SIGNATURE_EVENT = ("1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source")
SIGNATURE_ENTRY_ID = "Signature01"
EVENT_CODE_LIST = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"  # DocumentEntry eventCodeList (IHE)
MANIFEST_ID = "IHEManifest"
C14N_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
SS_PLACEHOLDER_DIGEST = "AA=="
_DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": lambda d: hashlib.sha1(d, usedforsecurity=False).digest(),
    "http://www.w3.org/2001/04/xmlenc#sha256": lambda d: hashlib.sha256(d).digest(),
    "http://www.w3.org/2001/04/xmldsig-more#sha384": lambda d: hashlib.sha384(d).digest(),
    "http://www.w3.org/2001/04/xmlenc#sha512": lambda d: hashlib.sha512(d).digest(),
}
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def is_signature_entry(entry: etree._Element) -> bool:
    """A DocumentEntry that carries the submission set's signature (its formatCode is the XML-DSig one)."""
    scheme = ebrim.CLASSIFICATIONS["formatCode"]
    return any(
        c.get("nodeRepresentation") == SIGNATURE_FORMAT[0]
        for c in entry.findall(f"rim:Classification[@classificationScheme='{scheme}']", NS)
    )


def document_octets(content: bytes, transforms: list[str]) -> bytes:
    """What a manifest reference digests: the document after its transforms (c14n, with or without comments),
    or its bytes when it has none. Raises ValueError when a transform is not supported or the XML unreadable."""
    if not transforms:
        return content
    if len(transforms) > 1 or transforms[0] not in (
        C14N_WITH_COMMENTS,
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    ):
        raise ValueError(f"unsupported transform {', '.join(transforms)}")
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"unreadable XML: {exc}") from None
    return etree.tostring(root.getroottree(), method="c14n", with_comments=transforms[0] == C14N_WITH_COMMENTS)


# ---------------------------------------------------------------- building (the harness as a document source)


def _manifest(holder: etree._Element, set_unique_id: str, documents: list[tuple[str, bytes]]) -> etree._Element:
    obj = etree.SubElement(holder, f"{{{DS}}}Object")
    manifest = etree.SubElement(obj, f"{{{DS}}}Manifest", Id=MANIFEST_ID)
    reference = etree.SubElement(manifest, f"{{{DS}}}Reference", URI=f"urn:oid:{set_unique_id}")
    etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
    etree.SubElement(reference, f"{{{DS}}}DigestValue").text = SS_PLACEHOLDER_DIGEST
    for unique_id, content in documents:
        reference = etree.SubElement(manifest, f"{{{DS}}}Reference", URI=f"urn:oid:{unique_id}")
        transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
        etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=C14N_WITH_COMMENTS)
        etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=SHA256)
        digest = _DIGESTS[SHA256](document_octets(content, [C14N_WITH_COMMENTS]))
        etree.SubElement(reference, f"{{{DS}}}DigestValue").text = base64.b64encode(digest).decode()
    return obj


def sign_submission(
    set_unique_id: str, documents: list[tuple[str, bytes]], key: SigningKey | bytes, cert_pem: bytes
) -> bytes:
    """The XAdES signature (XML) of a submission set and its documents ((uniqueId, content) pairs)."""
    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, methods
    from signxml.util import xades_tag
    from signxml.xades import XAdESSigner

    class _SubmissionSigner(XAdESSigner):
        def __init__(self, manifest_object: etree._Element) -> None:
            super().__init__(
                method=methods.detached,
                signature_algorithm=SignatureMethod.RSA_SHA256,
                digest_algorithm=DigestAlgorithm.SHA256,
                c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS,
            )
            self.manifest_object = manifest_object
            self.signature_annotators.append(self._place_manifest)

        def _place_manifest(self, sig_root: etree._Element, signing_settings: object) -> None:
            """The manifest joins the signature (in the namespace context it was digested in) and its reference
            is typed, before SignedInfo is signed."""
            sig_root.append(self.manifest_object)
            for reference in sig_root.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference"):
                if reference.get("URI") == f"#{MANIFEST_ID}":
                    reference.set("Type", f"{DS}Manifest")

        def add_signature_policy_identifier(self, signed_signature_properties, sig_root, signing_settings):
            policy = etree.SubElement(signed_signature_properties, xades_tag("SignaturePolicyIdentifier"))
            etree.SubElement(policy, xades_tag("SignaturePolicyImplied"))

    cert = x509.load_pem_x509_certificate(cert_pem)
    issuer_attributes = {a.oid for a in cert.issuer}
    namespaces = {"ds": DS, "xades": XADES_NAMESPACES[1]}
    holder = etree.Element(f"{{{DS}}}Signature", nsmap=namespaces)  # the context the manifest is digested in
    signer = _SubmissionSigner(_manifest(holder, set_unique_id, documents))
    legacy = {x509.NameOID.COUNTRY_NAME, x509.NameOID.ORGANIZATION_NAME, x509.NameOID.ORGANIZATIONAL_UNIT_NAME}
    signer.use_deprecated_legacy_signing_certificate = legacy | {x509.NameOID.COMMON_NAME} <= issuer_attributes
    signature = signer.sign(
        holder, key=key, cert=cert_pem.decode("ascii"), reference_uri=[f"#{MANIFEST_ID}"], always_add_key_value=False
    )
    return etree.tostring(signature, encoding="UTF-8")


def add_signature(request, signature: bytes, *, unique_root: str = "1.2.250.1.999.3") -> None:
    """Add the signature entry, its HasMember and `signs` associations and its MIME part to an ITI-41 request
    (`conformance.validation.xds.build.ProvideRequest`)."""
    from conformance.transport.mtom import XOP_NS, Part, new_content_id

    from .build import classification, external_id, localized, rim, slot

    objects = request.submission_set.getparent()
    package_id = request.submission_set.get("id", "")
    entry = rim("ExtrinsicObject", None, id=SIGNATURE_ENTRY_ID, mimeType="text/xml", objectType=ebrim.DOCUMENT_ENTRY)
    objects.insert(objects.index(request.submission_set), entry)
    for name in ("creationTime", "serviceStartTime", "serviceStopTime"):
        value = next(
            iter(request.entry.xpath(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value/text()", namespaces=NS)), ""
        )
        if value:
            slot(entry, name, value)
    slot(entry, "hash", hashlib.sha1(signature, usedforsecurity=False).hexdigest())
    slot(entry, "languageCode", "art")
    slot(entry, "size", str(len(signature)))
    source = request.entry.find("rim:Slot[@name='sourcePatientId']/rim:ValueList/rim:Value", NS)
    if source is not None:
        slot(entry, "sourcePatientId", source.text or "")
    localized(entry, "Name", "Signature")
    for element in request.entry.findall("rim:Classification", NS):
        if element.get("classificationScheme") == ebrim.DOCUMENT_ENTRY_AUTHOR:
            author = etree.fromstring(etree.tostring(element))
            author.set("classifiedObject", SIGNATURE_ENTRY_ID)
            author.set("id", f"urn:uuid:{uuid.uuid4()}")
            entry.append(author)
    codes = {
        "classCode": SIGNATURE_CLASS,
        "confidentialityCode": ("N", "2.16.840.1.113883.5.25", "Normal"),
        "formatCode": SIGNATURE_FORMAT,
        "healthcareFacilityTypeCode": _code(request.entry, "healthcareFacilityTypeCode"),
        "practiceSettingCode": _code(request.entry, "practiceSettingCode"),
        "typeCode": SIGNATURE_TYPE,
    }
    for label, code in codes.items():
        classification(entry, ebrim.CLASSIFICATIONS[label], SIGNATURE_ENTRY_ID, code)
    classification(entry, EVENT_CODE_LIST, SIGNATURE_ENTRY_ID, SIGNATURE_EVENT)
    external_id(entry, ebrim.PATIENT_ID, SIGNATURE_ENTRY_ID, request.patient_cx, "XDSDocumentEntry.patientId")
    unique = f"{unique_root}.{uuid.uuid4().int % 10**15}"
    external_id(entry, ebrim.UNIQUE_ID, SIGNATURE_ENTRY_ID, unique, "XDSDocumentEntry.uniqueId")
    for kind, source_id, target in (
        (ebrim.HAS_MEMBER, package_id, SIGNATURE_ENTRY_ID),
        (SIGNS, SIGNATURE_ENTRY_ID, package_id),
    ):
        association = rim(
            "Association",
            objects,
            id=f"urn:uuid:{uuid.uuid4()}",
            associationType=kind,
            sourceObject=source_id,
            targetObject=target,
        )
        if kind == ebrim.HAS_MEMBER:
            slot(association, "SubmissionSetStatus", "Original")
    content_id = new_content_id()
    document = etree.SubElement(request.payload, f"{{{ebrim.XDSB}}}Document", id=SIGNATURE_ENTRY_ID)
    etree.SubElement(document, f"{{{XOP_NS}}}Include", href=f"cid:{content_id}", nsmap={"xop": XOP_NS})
    request.attachments.append(Part(content_id, "text/xml", signature))


def _code(entry: etree._Element, label: str) -> tuple[str, str, str]:
    scheme = ebrim.CLASSIFICATIONS[label]
    found = entry.find(f"rim:Classification[@classificationScheme='{scheme}']", NS)
    if found is None:
        return ("", "", "")
    coding = found.find("rim:Slot[@name='codingScheme']/rim:ValueList/rim:Value", NS)
    name = found.find("rim:Name/rim:LocalizedString", NS)
    return (
        found.get("nodeRepresentation", ""),
        (coding.text or "") if coding is not None else "",
        name.get("value", "") if name is not None else "",
    )


# ---------------------------------------------------------------- judging (the harness as the DMP)


def _f(rule: str, location: str, fr: str, en: str, code: str = "invalid") -> Finding:
    return finding("error", code, rule, location, fr, en, source="xds")


def judge_signatures(submit: etree._Element, documents: dict[str, bytes], rules) -> list[Finding]:
    """The submission set's XAdES signature: present (when required), associated, valid, covering every
    document by its uniqueId with the right digest, signed with a certificate of the trusted authority."""
    entries = submit.findall(".//rim:ExtrinsicObject", NS)
    signatures = [e for e in entries if is_signature_entry(e)]
    if not signatures:
        if rules.xades != "required":
            return []
        return [
            _f(
                "xds-xades-missing",
                "RegistryObjectList",
                "Lot de soumission non signé : aucune fiche de signature XAdES (formatCode xmldsig#).",
                "Unsigned submission set: no XAdES signature entry (formatCode xmldsig#).",
                code="required",
            )
        ]
    packages = {p.get("id", ""): external(p, ebrim.SS_UNIQUE_ID) for p in submit.findall(".//rim:RegistryPackage", NS)}
    signed_documents = {
        external(e, ebrim.UNIQUE_ID): documents.get(e.get("id", "")) for e in entries if not is_signature_entry(e)
    }
    found: list[Finding] = []
    for entry in signatures:
        where = f"ExtrinsicObject[@id='{entry.get('id')}']"
        signs = [
            a
            for a in submit.iterfind(".//rim:Association", NS)
            if a.get("associationType") == SIGNS and a.get("sourceObject") == entry.get("id")
        ]
        if not any(a.get("targetObject") in packages for a in signs):
            found.append(
                _f(
                    "xds-xades-association",
                    where,
                    "La signature n'est pas associée au lot de soumission (association signs absente).",
                    "The signature is not associated with the submission set (no signs association).",
                    code="required",
                )
            )
        content = documents.get(entry.get("id", ""))
        if content is not None:
            found.extend(_judge_signature(content, where, set(packages.values()), signed_documents, rules))
    return found


def _judge_signature(content: bytes, where: str, set_ids: set[str], documents: dict[str, bytes | None], rules):
    from signxml import DigestAlgorithm, SignatureMethod, XMLVerifier
    from signxml.verifier import SignatureConfiguration

    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [_f("xds-xades-unreadable", where, f"Signature illisible : {exc}", f"Unreadable signature: {exc}")]
    certificate_text = root.findtext(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    if root.tag != f"{{{DS}}}Signature" or not (certificate_text or "").strip():
        return [
            _f(
                "xds-xades-unreadable",
                where,
                "Le document de signature n'est pas une ds:Signature portant son certificat X509.",
                "The signature document is not a ds:Signature carrying its X509 certificate.",
            )
        ]
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join(certificate_text.split())))
    except ValueError:
        return [_f("xds-xades-unreadable", where, "Certificat X509 illisible.", "Unreadable X509 certificate.")]
    methods = set(SignatureConfiguration().signature_methods)
    digests = set(SignatureConfiguration().digest_algorithms)
    if rules.allow_sha1:
        methods |= {SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1}
        digests |= {DigestAlgorithm.SHA1}
    config = SignatureConfiguration(
        signature_methods=frozenset(methods), digest_algorithms=frozenset(digests), expect_references=True
    )
    try:
        results = XMLVerifier().verify(root, x509_cert=certificate, expect_config=config)
    except Exception as exc:  # signxml raises several types on a broken or hostile signature
        return [
            _f(
                "xds-xades-signature-invalid",
                where,
                f"Signature XAdES invalide : {french_problem(str(exc), type(exc).__name__)}.",
                f"Invalid XAdES signature ({type(exc).__name__}: {exc}).",
            )
        ]
    signed = [r.signed_xml for r in (results if isinstance(results, list) else [results]) if r.signed_xml is not None]
    found: list[Finding] = []
    if not any(
        isinstance(e.tag, str) and e.tag.split("}")[0][1:] in XADES_NAMESPACES and e.tag.endswith("}SignedProperties")
        for e in signed
    ):
        found.append(
            _f(
                "xds-xades-signed-properties",
                where,
                "La signature ne couvre pas de SignedProperties XAdES (SigningTime, SigningCertificate).",
                "The signature does not cover XAdES SignedProperties (SigningTime, SigningCertificate).",
                code="required",
            )
        )
    manifests = [e for e in signed if e.tag == f"{{{DS}}}Manifest"]
    manifests += [m for e in signed if e.tag == f"{{{DS}}}Object" for m in e.iterfind(f"{{{DS}}}Manifest")]
    if not manifests:
        found.append(
            _f(
                "xds-xades-manifest-missing",
                where,
                "La signature ne couvre aucun ds:Manifest listant les documents du lot.",
                "The signature covers no ds:Manifest listing the submission's documents.",
                code="required",
            )
        )
    else:
        found.extend(_judge_manifest(manifests[0], where, set_ids, documents))
    if rules.trusted_ca is not None and not issued_by(certificate, rules.trusted_ca):
        found.append(
            _f(
                "xds-xades-certificate-untrusted",
                where,
                "Le certificat de signature du lot n'est pas émis par l'autorité de confiance configurée.",
                "The submission's signing certificate is not issued by the configured trusted authority.",
                code="security",
            )
        )
    return found


def _judge_manifest(manifest, where: str, set_ids: set[str], documents: dict[str, bytes | None]) -> list[Finding]:
    found: list[Finding] = []
    covered: set[str] = set()
    for reference in manifest.iterfind(f"{{{DS}}}Reference"):
        unique = (reference.get("URI") or "").removeprefix("urn:oid:")
        if unique in set_ids:
            continue  # the submission set has no byte form: its digest is a placeholder (CNAM sample)
        content = documents.get(unique)
        if content is None:
            continue
        covered.add(unique)
        method = reference.find(f"{{{DS}}}DigestMethod")
        digest = _DIGESTS.get(method.get("Algorithm", "") if method is not None else "")
        transforms = [t.get("Algorithm", "") for t in reference.iterfind(f"{{{DS}}}Transforms/{{{DS}}}Transform")]
        try:
            if digest is None:
                raise ValueError("unsupported digest method")
            expected = base64.b64encode(digest(document_octets(content, transforms))).decode()
        except ValueError as exc:
            found.append(
                _f(
                    "xds-xades-manifest-document",
                    where,
                    f"Référence urn:oid:{unique} invérifiable ({exc}).",
                    f"Reference urn:oid:{unique} cannot be checked ({exc}).",
                )
            )
            continue
        if "".join((reference.findtext(f"{{{DS}}}DigestValue") or "").split()) != expected:
            found.append(
                _f(
                    "xds-xades-manifest-document",
                    where,
                    f"L'empreinte du document urn:oid:{unique} dans le manifeste signé ne correspond pas au document envoyé.",
                    f"The digest of document urn:oid:{unique} in the signed manifest does not match the document sent.",
                    code="value",
                )
            )
    for unique in sorted({u for u, content in documents.items() if content is not None} - covered):
        found.append(
            _f(
                "xds-xades-manifest-document",
                where,
                f"Le document {unique} n'est pas couvert par le manifeste signé.",
                f"Document {unique} is not covered by the signed manifest.",
                code="required",
            )
        )
    return found
