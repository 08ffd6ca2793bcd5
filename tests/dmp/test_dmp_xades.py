"""The XAdES-signed submission set: produced by the document source (signxml), verified by the DMP simulator's
judge, including a signature in the CNAM sample's form (XAdES 1.1.1, RSA-SHA1, two references), reconstructed
here from its documented structure (facts sheet B2) and signed with signxml."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from conformance.reference.dmp.source import DocumentSource, SigningMaterial
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import provide_request
from conformance.validation.xds.ebrim import NS, external
from conformance.validation.xds.metadata import judge_submission
from conformance.validation.xds.rules import XdsRules
from conformance.validation.xds.xades import (
    C14N_WITH_COMMENTS,
    DS,
    SIGNATURE_ENTRY_ID,
    SIGNS,
    add_signature,
    document_octets,
    is_signature_entry,
)

XADES_111 = "http://uri.etsi.org/01903/v1.1.1#"


@pytest.fixture
def signing(dmp_pki) -> SigningMaterial:
    return SigningMaterial(dmp_pki.signing_cert.read_bytes(), dmp_pki.signing_key.read_bytes())


def _signed(cda_bytes: bytes, signing: SigningMaterial):
    request = provide_request(cda_bytes)
    DocumentSource(None, "https://dmp.invalid/repository", signing=signing).sign(request)
    return request


def _documents(request) -> dict[str, bytes]:
    ids = [d.get("id") for d in request.payload.iterfind("xdsb:Document", NS)]
    return dict(zip(ids, (p.data for p in request.attachments), strict=True))


def _judge(request, rules: XdsRules, documents: dict[str, bytes] | None = None) -> set[str]:
    submit = request.payload.find("lcm:SubmitObjectsRequest", NS)
    judged = judge_submission(submit, documents if documents is not None else _documents(request), rules)
    return {f.rule for f in judged.errors}


def _signature(request) -> etree._Element:
    return etree.fromstring(_documents(request)[SIGNATURE_ENTRY_ID])


def test_the_signed_submission_has_the_dmp_layout_and_verifies_as_xades(cda_bytes, signing, dmp_pki):
    from signxml.xades import XAdESVerifier

    request = _signed(cda_bytes, signing)
    objects = request.submission_set.getparent()
    entry = objects.find(f"rim:ExtrinsicObject[@id='{SIGNATURE_ENTRY_ID}']", NS)
    assert entry is not None and is_signature_entry(entry) and entry.get("mimeType") == "text/xml"
    associations = {(a.get("associationType"), a.get("sourceObject"), a.get("targetObject")) for a in objects}
    assert (SIGNS, SIGNATURE_ENTRY_ID, request.submission_set.get("id")) in associations
    assert (ebrim.HAS_MEMBER, request.submission_set.get("id"), SIGNATURE_ENTRY_ID) in associations
    signature = _signature(request)
    XAdESVerifier().verify(signature, x509_cert=dmp_pki.signing_cert.read_text())  # an independent XAdES check
    manifest = signature.find(f"{{{DS}}}Object/{{{DS}}}Manifest[@Id='IHEManifest']")
    uris = [r.get("URI") for r in manifest.iterfind(f"{{{DS}}}Reference")]
    assert uris == [f"urn:oid:{external(request.submission_set, ebrim.SS_UNIQUE_ID)}", f"urn:oid:{request.unique_id}"]
    assert signature.find(f".//{{{XADES_111.replace('1.1.1', '1.3.2')}}}SignaturePolicyImplied") is not None
    # the DMP simulator's judge accepts it, and a second sign() does not add a second signature
    assert _judge(request, XdsRules(trusted_ca=dmp_pki.ca_cert.read_bytes())) == set()
    DocumentSource(None, "https://dmp.invalid/repository", signing=signing).sign(request)
    assert len([e for e in objects.iterfind("rim:ExtrinsicObject", NS) if is_signature_entry(e)]) == 1


def test_an_unsigned_submission_is_refused_unless_the_signature_is_optional(cda_bytes):
    request = provide_request(cda_bytes)
    assert _judge(request, XdsRules()) == {"xds-xades-missing"}
    assert _judge(request, XdsRules(xades="optional")) == set()


def test_a_document_other_than_the_signed_one_breaks_the_manifest(cda_bytes, signing):
    request = _signed(cda_bytes, signing)
    documents = _documents(request)
    documents["Document01"] = cda_bytes.replace(b"</ClinicalDocument>", b"<!-- x --></ClinicalDocument>")
    found = _judge(request, XdsRules(), documents)
    assert "xds-xades-manifest-document" in found  # comments count: the transform is c14n WithComments
    assert "xds-xades-signature-invalid" not in found


def test_a_signature_changed_after_signing_is_invalid(cda_bytes, signing):
    request = _signed(cda_bytes, signing)
    documents = _documents(request)
    signature = etree.fromstring(documents[SIGNATURE_ENTRY_ID])
    signature.find(".//{http://uri.etsi.org/01903/v1.3.2#}SigningTime").text = "2001-01-01T00:00:00+00:00"
    documents[SIGNATURE_ENTRY_ID] = etree.tostring(signature)
    assert _judge(request, XdsRules(), documents) >= {"xds-xades-signature-invalid"}
    documents[SIGNATURE_ENTRY_ID] = b"<not-a-signature"
    assert "xds-xades-unreadable" in _judge(request, XdsRules(), documents)


def test_a_signature_from_another_authority_is_untrusted(cda_bytes, signing):
    from conformance.reference.dmp.pki import generate_dmp_pki

    other = generate_dmp_pki("1999999999", "Autre structure")
    try:
        request = _signed(cda_bytes, signing)
        assert _judge(request, XdsRules(trusted_ca=other.ca_cert.read_bytes())) == {"xds-xades-certificate-untrusted"}
    finally:
        other.cleanup()


def _cnam_form_signature(request, signing: SigningMaterial) -> bytes:
    """The CNAM TD2.1 sample's form: inclusive c14n WithComments, RSA-SHA1, references #IHEManifest (typed
    Manifest) and #S0-SignedProperties (XAdES 1.1.1), the manifest's submission set digest the placeholder AA==.
    Reconstructed from the documented structure, not copied; the signature itself is signxml's (with the ds
    prefix: signxml does not sign correctly under a default XML-DSig namespace)."""
    import hashlib

    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

    holder = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    manifest_object = etree.SubElement(holder, f"{{{DS}}}Object")
    manifest = etree.SubElement(manifest_object, f"{{{DS}}}Manifest", Id="IHEManifest")
    set_unique = external(request.submission_set, ebrim.SS_UNIQUE_ID)
    for uri, digest in (
        (set_unique, "AA=="),
        (
            request.unique_id,
            base64.b64encode(
                hashlib.sha1(document_octets(request.content(), [C14N_WITH_COMMENTS]), usedforsecurity=False).digest()
            ).decode(),
        ),
    ):
        reference = etree.SubElement(manifest, f"{{{DS}}}Reference", URI=f"urn:oid:{uri}")
        if uri != set_unique:
            transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
            etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=C14N_WITH_COMMENTS)
        etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2000/09/xmldsig#sha1")
        etree.SubElement(reference, f"{{{DS}}}DigestValue").text = digest
    properties_object = etree.SubElement(holder, f"{{{DS}}}Object")
    qualifying = etree.SubElement(properties_object, f"{{{XADES_111}}}QualifyingProperties", nsmap={None: XADES_111})
    signed = etree.SubElement(qualifying, f"{{{XADES_111}}}SignedProperties", Id="S0-SignedProperties")
    signature_properties = etree.SubElement(signed, f"{{{XADES_111}}}SignedSignatureProperties")
    etree.SubElement(signature_properties, f"{{{XADES_111}}}SigningTime").text = "2019-04-04T14:20:12.282+02:00"
    policy = etree.SubElement(signature_properties, f"{{{XADES_111}}}SignaturePolicyIdentifier")
    etree.SubElement(policy, f"{{{XADES_111}}}SignaturePolicyImplied")

    class _Signer(XMLSigner):
        def check_deprecated_methods(self) -> None:  # SHA-1, as the sample
            return

    signer = _Signer(
        method=methods.detached,
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0_WITH_COMMENTS,
    )

    def place(sig_root, signing_settings):
        sig_root.extend([manifest_object, properties_object])
        for reference in sig_root.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference"):
            if reference.get("URI") == "#IHEManifest":
                reference.set("Type", f"{DS}Manifest")

    signer.signature_annotators.append(place)
    signer.namespaces = {"ds": DS}
    signature = signer.sign(
        holder,
        key=signing.key,
        cert=signing.cert_pem.decode(),
        reference_uri=["#IHEManifest", "#S0-SignedProperties"],
    )
    return etree.tostring(signature)


def test_a_signature_in_the_cnam_sample_form_is_accepted(cda_bytes, signing, dmp_pki):
    request = provide_request(cda_bytes)
    signature = _cnam_form_signature(request, signing)
    add_signature(request, signature)
    root = etree.fromstring(signature)
    assert [r.get("URI") for r in root.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")] == [
        "#IHEManifest",
        "#S0-SignedProperties",
    ]
    assert _judge(request, XdsRules(trusted_ca=dmp_pki.ca_cert.read_bytes())) == set()
    assert "xds-xades-signature-invalid" in _judge(request, XdsRules(allow_sha1=False))
