"""CI-SIS document transmission over HL7 v2: MDM^T02 and ORU^R01 carrying a CDA document."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

import pytest

from conformance.campaign.hl7v2 import OK_CODES, field, ins_in_pid3, segments
from conformance.sdk import expect, expect_valid, findings_of, report, resource, verifies
from conformance.suites.documents_hl7v2.rules import BASE64_RULES, OBX_BASE64, OBX_ENCODING, OBX_NOT_XML
from conformance.suites.pam.rules import INS_AUTHORITY, INS_RULES
from conformance.validation.hl7v2.build import CdaDocument

CISIS_PROFILE = "cisis-cda-hl7v2-2.1"


@pytest.fixture(scope="module")
def enabled(config, lang):
    if not config.hl7v2.documents:
        pytest.skip(
            "[hl7v2] documents = false: transmission de documents non testée"
            if lang == "fr"
            else "[hl7v2] documents = false: document transmission not tested"
        )


def _document(test_data) -> CdaDocument:
    from conformance import settings

    path = test_data.cda_document or settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"
    return CdaDocument(path.read_bytes(), f"DOC{uuid.uuid4().hex[:10]}")


@verifies("cisis.hl7v2.accepted", "documents.hl7v2.transmission", title_en="A CDA document sent by MDM^T02 is accepted")
def test_mdm_t02_accepted(enabled, mllp_client, hl7v2, qualified_patients, test_data):
    """Un document CDA envoyé par MDM^T02 est accepté"""
    message = hl7v2.factory(qualified_patients[0]).mdm_t02(_document(test_data))
    outcome = hl7v2.check_ack(message, mllp_client.send(message), OK_CODES)
    outcome.subject = "ACK MDM^T02"
    expect_valid(outcome)


@verifies("cisis.hl7v2.accepted", "documents.hl7v2.transmission", title_en="A CDA document sent by ORU^R01 is accepted")
def test_oru_r01_accepted(enabled, mllp_client, hl7v2, qualified_patients, test_data):
    """Un document CDA envoyé par ORU^R01 est accepté"""
    message = hl7v2.factory(qualified_patients[0]).oru_r01(_document(test_data))
    outcome = hl7v2.check_ack(message, mllp_client.send(message), OK_CODES)
    outcome.subject = "ACK ORU^R01"
    expect_valid(outcome)


def _document_obx(message: str) -> list[str]:
    return [s for s in ("|".join(x) for x in segments(message)) if s.startswith("OBX|") and s.split("|")[2:3] == ["ED"]]


@pytest.fixture(scope="module")
def emitted_messages(enabled, mllp_listener, lang) -> list[str]:
    """The ORU/MDM messages the system emitted during the run."""
    received = [
        r.message for r in mllp_listener.wait_for() if field(r.message, "MSH", 9).split("^")[0] in ("ORU", "MDM")
    ]
    if not received:
        pytest.skip(
            "aucun ORU/MDM émis par le système pendant l'exécution"
            if lang == "fr"
            else "no ORU/MDM emitted by the system during the run"
        )
    return received


@verifies(
    "cisis.hl7v2.emit-profile",
    "documents.hl7v2.transmission",
    title_en="The ORU/MDM messages emitted conform to the CI-SIS message profile",
)
def test_emitted_messages_conform(emitted_messages, evidence, lang):
    """Les messages ORU/MDM émis sont conformes au profil de message du CI-SIS"""
    from conformance.campaign.validators import validate_hl7v2

    for index, message in enumerate(emitted_messages):
        # the CDA inside is judged by its own test (cisis.cda.content)
        outcome = validate_hl7v2(message, lang, profile=CISIS_PROFILE, check_cda=False)
        kind = field(message, "MSH", 9)
        outcome.subject = f"message {index + 1} ({kind}, MSH-10 {field(message, 'MSH', 10)})"
        evidence.outcome(f"validation-message-{index + 1}.json", outcome)
        expect_valid(outcome, exclude=(*BASE64_RULES, *INS_RULES))


@verifies(
    "cisis.hl7v2.emit-ins",
    "documents.hl7v2.transmission",
    "identity.ins.qualified",
    title_en="The ORU/MDM messages emitted carry the INS only for qualified identities, with its OID",
)
def test_ins_in_emitted_messages(emitted_messages, test_data, lang):
    """Les messages ORU/MDM émis ne portent l'INS que pour les identités qualifiées, avec son OID"""
    from conformance.campaign.validators import validate_hl7v2

    # a configured identity's INS under another authority passes every rule on the message alone
    authorities = {p.ins: p.oid for p in test_data.patients if p.ins and p.oid}
    for index, message in enumerate(emitted_messages):
        outcome = validate_hl7v2(message, lang, profile=CISIS_PROFILE, check_cda=False)
        outcome.subject = f"message {index + 1} ({field(message, 'MSH', 9)}, MSH-10 {field(message, 'MSH', 10)})"
        report(findings_of(outcome, *INS_RULES))
        for ins, oid in ins_in_pid3(message):
            expected = authorities.get(ins)
            if expected is None:
                continue
            with resource(outcome.subject, None):
                expect(oid == expected, INS_AUTHORITY, "PID-3", ins=ins, got=oid or "(absent)", expected=expected)


@dataclass(frozen=True, slots=True)
class EmittedDocument:
    label: str  # "message N OBX M"
    encoding: str
    decoded: bytes | None  # None: not decodable (not Base64)
    data_type: str = ""  # OBX-5.3

    @property
    def cda(self) -> bytes | None:
        """The decoded bytes when they are an XML document (hexadecimal declared Base64 decodes, to noise)."""
        if self.decoded is None or not self.decoded.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return None
        return self.decoded


@pytest.fixture(scope="module")
def emitted_documents(emitted_messages) -> list[EmittedDocument]:
    """The CDA documents in the ORU/MDM messages the system emitted during the run, one per document OBX."""
    received = emitted_messages
    documents = []
    for index, message in enumerate(received):
        for number, obx in enumerate(_document_obx(message)):
            value = obx.split("|")[5].split("^") if len(obx.split("|")) > 5 else []
            encoding = value[3] if len(value) > 3 else ""
            decoded = None
            if encoding == "Base64":
                try:
                    decoded = base64.b64decode(value[4] if len(value) > 4 else "", validate=True)
                except (binascii.Error, ValueError):
                    decoded = None
            data_type = value[2] if len(value) > 2 else ""
            documents.append(EmittedDocument(f"message {index + 1} OBX {number + 1}", encoding, decoded, data_type))
    return documents


@verifies(
    "cisis.hl7v2.obx-base64",
    "documents.hl7v2.transmission",
    title_en="Documents emitted over HL7 v2 carry the CDA in Base64",
)
def test_emitted_documents(emitted_documents):
    """Les documents émis en HL7 v2 portent le CDA en Base64"""
    for document in emitted_documents:
        with resource("OBX", document.label):
            if not expect(document.encoding == "Base64", OBX_ENCODING, "OBX-5.4", encoding=document.encoding):
                continue
            if expect(document.decoded is not None, OBX_BASE64, "OBX-5.5"):
                expect(document.cda is not None, OBX_NOT_XML, "OBX-5.5", type=document.data_type)


@verifies(
    "cisis.cda.content",
    "documents.hl7v2.transmission",
    "documents.cda.content",
    title_en="The CDA documents emitted over HL7 v2 conform to the CI-SIS",
)
def test_emitted_documents_cda_conform(emitted_documents, evidence, lang):
    """Les documents CDA émis en HL7 v2 sont conformes au CI-SIS"""
    from conformance.campaign.validators import validate_cda

    decoded = [d for d in emitted_documents if d.cda is not None]  # the others are the Base64 test's finding
    if not decoded:
        pytest.skip("aucun CDA décodable à valider" if lang == "fr" else "no decodable CDA to validate")
    for document in decoded:
        outcome = validate_cda(document.cda, lang, name=document.label)
        evidence.outcome(f"validation-cda-{document.label.replace(' ', '-')}.json", outcome)
        expect_valid(outcome)
