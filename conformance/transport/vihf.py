"""The VIHF: the SAML 2.0 assertion a DMP client puts in `wsse:Security`, signed (enveloped XML-DSig) with the
structure's signing certificate. Built, signed, read and verified here; the signature is signxml's work.

Judging the attribute values is `conformance.validation.xds.vihf`'s job: this module only reads them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from conformance.transport.soap import WSSE_NS

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
HL7_NS = "urn:hl7-org:v3"
NS = {"saml": SAML_NS, "ds": DS_NS, "wsse": WSSE_NS, "hl7": HL7_NS}
X509_SUBJECT_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
AUTHN_UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"


@dataclass(slots=True)
class Coded:
    code: str
    code_system: str
    display: str = ""


@dataclass(slots=True)
class VihfContent:
    """What a VIHF says. The reference client and the harness as document source fill it from the configuration."""

    subject_nameid: str  # the professional's national id, or the person responsible for an automated processing
    subject_id: str  # the user's name (software name for an automate)
    structure_id: str  # Identifiant_Structure
    activity_sector: str  # Secteur_Activite, e.g. SA01^1.2.250.1.71.4.2.4
    resource_id: str  # the patient's INS as a CX: <INS>^^^&<OID>&ISO^NH
    roles: list[Coded] = field(default_factory=list)
    purpose: Coded = field(default_factory=lambda: Coded("normal", "1.2.250.1.213.1.1.4.248", "Accès normal"))
    version: str = "3.0"
    authentication_mode: str = "INDIRECTE_RENFORCEE"
    authentication_mode_name: str = "Authentification_Mode"  # or the CNAM samples' Authentification_mode
    resource_urn: str = "urn:dmp"
    lps: dict[str, str] = field(default_factory=dict)  # LPS_ID, LPS_Nom, LPS_Version, LPS_ID_HOMOLOGATION_DMP
    authn_context: str = AUTHN_UNSPECIFIED


@dataclass(slots=True)
class Vihf:
    """A VIHF as read from a request: the assertion and its attributes (text values, or the coded element)."""

    assertion: etree._Element = field(repr=False)
    issuer: str
    issuer_format: str
    nameid: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    coded: dict[str, list[Coded]] = field(default_factory=dict)

    def first(self, name: str) -> str:
        values = self.attributes.get(name) or [""]
        return values[0]


def _saml(tag: str) -> str:
    return f"{{{SAML_NS}}}{tag}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_assertion(content: VihfContent, issuer_dn: str) -> etree._Element:
    """The unsigned assertion, with the signature placeholder after the Issuer (SAML's order)."""
    assertion = etree.Element(
        _saml("Assertion"), nsmap={"saml2": SAML_NS, "xsi": XSI_NS}, ID=f"_{uuid.uuid4()}", IssueInstant=_now()
    )
    assertion.set("Version", "2.0")
    issuer = etree.SubElement(assertion, _saml("Issuer"), Format=X509_SUBJECT_FORMAT)
    issuer.text = issuer_dn
    etree.SubElement(assertion, f"{{{DS_NS}}}Signature", Id="placeholder", nsmap={"ds": DS_NS})
    subject = etree.SubElement(assertion, _saml("Subject"))
    etree.SubElement(subject, _saml("NameID")).text = content.subject_nameid
    statement = etree.SubElement(assertion, _saml("AuthnStatement"), AuthnInstant=_now())
    context = etree.SubElement(statement, _saml("AuthnContext"))
    etree.SubElement(context, _saml("AuthnContextClassRef")).text = content.authn_context
    attributes = etree.SubElement(assertion, _saml("AttributeStatement"))
    texts = {
        "VIHF_Version": content.version,
        content.authentication_mode_name: content.authentication_mode,
        "Identifiant_Structure": content.structure_id,
        "Secteur_Activite": content.activity_sector,
        SUBJECT_ID: content.subject_id,
        RESOURCE_ID: content.resource_id,
        "Ressource_URN": content.resource_urn,
        **content.lps,
    }
    for name, value in texts.items():
        if value:
            _attribute(attributes, name).append(_value(value))
    if content.roles:
        role = _attribute(attributes, ROLE)
        for coded in content.roles:
            role.append(_coded_value("Role", coded))
    _attribute(attributes, PURPOSE_OF_USE).append(_coded_value("PurposeOfUse", content.purpose))
    return assertion


def _attribute(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _saml("Attribute"), Name=name)


def _value(text: str) -> etree._Element:
    value = etree.Element(_saml("AttributeValue"))
    value.text = text
    return value


def _coded_value(tag: str, coded: Coded) -> etree._Element:
    value = etree.Element(_saml("AttributeValue"))
    element = etree.SubElement(value, f"{{{HL7_NS}}}{tag}", nsmap={None: HL7_NS})
    element.set(f"{{{XSI_NS}}}type", "CE")
    element.set("code", coded.code)
    element.set("codeSystem", coded.code_system)
    if coded.display:
        element.set("displayName", coded.display)
    return value


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_signing_key(key_pem: bytes, password: str | None = None) -> SigningKey:
    """The private key of a PEM file. Loading checks an RSA key's consistency (tens of milliseconds): whoever
    signs repeatedly loads it once (`SigningMaterial.key`)."""
    key = serialization.load_pem_private_key(key_pem, password=password.encode() if password else None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"unsupported signing key type: {type(key).__name__}")
    return key


def sign_assertion(
    assertion: etree._Element,
    key_pem: bytes | SigningKey,
    cert_pem: bytes,
    *,
    sha1: bool = False,
    password: str | None = None,
) -> etree._Element:
    """Enveloped XML-DSig over the assertion (exclusive c14n, RSA/ECDSA-SHA256; SHA-1 only to imitate old kits)."""
    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

    key = load_signing_key(key_pem, password) if isinstance(key_pem, bytes) else key_pem
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    if sha1:
        signature = SignatureMethod.RSA_SHA1 if is_rsa else SignatureMethod.ECDSA_SHA1
        digest = DigestAlgorithm.SHA1
    else:
        signature = SignatureMethod.RSA_SHA256 if is_rsa else SignatureMethod.ECDSA_SHA256
        digest = DigestAlgorithm.SHA256
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=signature,
        digest_algorithm=digest,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    if sha1:
        signer.check_deprecated_methods = lambda: None  # type: ignore[method-assign]
    return signer.sign(
        assertion, key=key, cert=cert_pem.decode("ascii"), reference_uri=assertion.get("ID"), id_attribute="ID"
    )


def security_header(signed_assertion: etree._Element) -> etree._Element:
    security = etree.Element(f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS})
    security.append(signed_assertion)
    return security


def signed_vihf(
    content: VihfContent, key_pem: bytes | SigningKey, cert_pem: bytes, *, password: str | None = None
) -> etree._Element:
    """The `wsse:Security` header carrying the signed VIHF."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    assertion = build_assertion(content, cert.subject.rfc4514_string())
    return security_header(sign_assertion(assertion, key_pem, cert_pem, password=password))


def read_vihf(security: etree._Element | None) -> Vihf | None:
    """The assertion in a `wsse:Security` header, or None when there is none."""
    if security is None:
        return None
    assertion = security.find("saml:Assertion", NS)
    if assertion is None:
        return None
    issuer = assertion.find("saml:Issuer", NS)
    nameid = assertion.find("saml:Subject/saml:NameID", NS)
    vihf = Vihf(
        assertion=assertion,
        issuer=(issuer.text or "").strip() if issuer is not None else "",
        issuer_format=issuer.get("Format", "") if issuer is not None else "",
        nameid=(nameid.text or "").strip() if nameid is not None else "",
    )
    for attribute in assertion.findall("saml:AttributeStatement/saml:Attribute", NS):
        name = attribute.get("Name", "")
        for value in attribute.findall("saml:AttributeValue", NS):
            coded = next((c for c in value if isinstance(c.tag, str)), None)
            if coded is not None:
                vihf.coded.setdefault(name, []).append(
                    Coded(coded.get("code", ""), coded.get("codeSystem", ""), coded.get("displayName", ""))
                )
            else:
                vihf.attributes.setdefault(name, []).append((value.text or "").strip())
    return vihf


@dataclass(slots=True)
class SignatureCheck:
    valid: bool
    certificate: x509.Certificate | None = None
    algorithm: str = ""
    problem_fr: str = ""
    problem_en: str = ""


def verify_assertion(assertion: etree._Element, *, allow_sha1: bool = True) -> SignatureCheck:
    """Verify the enveloped signature against the certificate in its KeyInfo (trust is judged by the caller)."""
    from signxml import DigestAlgorithm, SignatureMethod, XMLVerifier
    from signxml.exceptions import InvalidInput, InvalidSignature
    from signxml.verifier import SignatureConfiguration

    cert_element = assertion.find("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    if assertion.find("ds:Signature", NS) is None:
        return SignatureCheck(False, problem_fr="aucune signature XML", problem_en="no XML signature")
    if cert_element is None or not (cert_element.text or "").strip():
        return SignatureCheck(
            False, problem_fr="pas de certificat X509 dans KeyInfo", problem_en="no X509 certificate in KeyInfo"
        )
    try:
        pem = (
            "-----BEGIN CERTIFICATE-----\n"
            + "".join((cert_element.text or "").split())
            + "\n-----END CERTIFICATE-----\n"
        )
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return SignatureCheck(False, problem_fr="certificat X509 illisible", problem_en="unreadable X509 certificate")
    method = assertion.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS)
    algorithm = method.get("Algorithm", "") if method is not None else ""
    methods = set(SignatureConfiguration().signature_methods)
    digests = set(SignatureConfiguration().digest_algorithms)
    if allow_sha1:
        methods |= {SignatureMethod.RSA_SHA1, SignatureMethod.ECDSA_SHA1}
        digests |= {DigestAlgorithm.SHA1}
    config = SignatureConfiguration(
        signature_methods=frozenset(methods), digest_algorithms=frozenset(digests), location="./"
    )
    document = etree.fromstring(etree.tostring(assertion))  # verify the assertion alone, as its own document
    try:
        XMLVerifier().verify(document, x509_cert=certificate, id_attribute="ID", expect_config=config)
    except (InvalidSignature, InvalidInput) as exc:
        return SignatureCheck(
            False, certificate, algorithm, f"signature invalide ({exc})", f"invalid signature ({exc})"
        )
    except Exception as exc:  # signxml raises a few other types on hostile input
        return SignatureCheck(
            False,
            certificate,
            algorithm,
            f"signature invérifiable ({type(exc).__name__})",
            f"signature cannot be verified ({type(exc).__name__})",
        )
    return SignatureCheck(True, certificate, algorithm)
