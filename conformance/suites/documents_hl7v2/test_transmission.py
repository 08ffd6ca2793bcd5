"""CI-SIS document transmission over HL7 v2: MDM^T02 and ORU^R01 carrying a CDA document."""

from __future__ import annotations

import base64
import binascii
import uuid

import pytest

from conformance.campaign.checks import ConformanceFailure, expect_valid
from conformance.campaign.hl7v2 import OK_CODES, field, segments
from conformance.findings import Severity, finding

CISIS = "ANS CI-SIS Transmission de documents CDA en HL7 v2 (2.1)"


@pytest.fixture(scope="module")
def enabled(config, lang):
    if not config.hl7v2.documents:
        pytest.skip(
            "[hl7v2] documents = false: transmission de documents non testée"
            if lang == "fr"
            else "[hl7v2] documents = false: document transmission not tested"
        )


def _cda(test_data) -> bytes:
    from conformance import settings

    path = test_data.cda_document or settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"
    return path.read_bytes()


@pytest.mark.requirement(
    CISIS, "profils-messages: MDM^T02 (v2.6), OBX-5 ED Base64", text="An MDM^T02 carrying a CDA is acknowledged AA"
)
@pytest.mark.capability("documents.hl7v2.transmission")
@pytest.mark.title_en("A CDA document sent by MDM^T02 is accepted")
def test_mdm_t02_accepted(enabled, mllp_client, hl7v2, qualified_patients, test_data):
    """Un document CDA envoyé par MDM^T02 est accepté"""
    message = hl7v2.factory(qualified_patients[0]).mdm_t02(_cda(test_data), f"DOC{uuid.uuid4().hex[:10]}")
    expect_valid(hl7v2.check_ack(message, mllp_client.send(message), OK_CODES), "ACK MDM^T02", "ACK MDM^T02")


@pytest.mark.requirement(
    CISIS, "profils-messages: ORU^R01 (v2.5), OBX-5 ED Base64", text="An ORU^R01 carrying a CDA is acknowledged AA"
)
@pytest.mark.capability("documents.hl7v2.transmission")
@pytest.mark.title_en("A CDA document sent by ORU^R01 is accepted")
def test_oru_r01_accepted(enabled, mllp_client, hl7v2, qualified_patients, test_data):
    """Un document CDA envoyé par ORU^R01 est accepté"""
    message = hl7v2.factory(qualified_patients[0]).oru_r01(_cda(test_data), f"DOC{uuid.uuid4().hex[:10]}")
    expect_valid(hl7v2.check_ack(message, mllp_client.send(message), OK_CODES), "ACK ORU^R01", "ACK ORU^R01")


def _document_obx(message: str) -> list[str]:
    return [s for s in ("|".join(x) for x in segments(message)) if s.startswith("OBX|") and s.split("|")[2:3] == ["ED"]]


@pytest.mark.requirement(
    CISIS,
    "OBX-5 (ED): ^TEXT^XML^Base64^<document>",
    text="Documents emitted by the system carry the CDA in Base64 and the CDA conforms",
)
@pytest.mark.capability("documents.hl7v2.transmission", "documents.cda.content")
@pytest.mark.title_en("Documents emitted over HL7 v2 carry a valid Base64 CDA")
def test_emitted_documents(enabled, mllp_listener, evidence, lang):
    """Les documents émis en HL7 v2 portent un CDA Base64 valide"""
    received = [
        r.message for r in mllp_listener.wait_for() if field(r.message, "MSH", 9).split("^")[0] in ("ORU", "MDM")
    ]
    if not received:
        pytest.skip(
            "aucun ORU/MDM émis par le système pendant l'exécution"
            if lang == "fr"
            else "no ORU/MDM emitted by the system during the run"
        )
    from conformance.campaign.validators import validate_cda

    problems, outcomes = [], []
    for index, message in enumerate(received):
        for obx in _document_obx(message):
            value = obx.split("|")[5].split("^") if len(obx.split("|")) > 5 else []
            encoding = value[3] if len(value) > 3 else ""
            if encoding != "Base64":
                problems.append(
                    finding(
                        Severity.ERROR,
                        "value",
                        "cisis-obx-encoding",
                        "OBX-5.4",
                        f"message {index + 1}: OBX-5.4 = {encoding!r} au lieu de Base64",
                        f"message {index + 1}: OBX-5.4 = {encoding!r} instead of Base64",
                        source="suite",
                    )
                )
                continue
            try:
                cda = base64.b64decode(value[4] if len(value) > 4 else "", validate=True)
            except (binascii.Error, ValueError):
                problems.append(
                    finding(
                        Severity.ERROR,
                        "value",
                        "cisis-obx-base64",
                        "OBX-5.5",
                        f"message {index + 1}: OBX-5.5 n'est pas du Base64",
                        f"message {index + 1}: OBX-5.5 is not Base64",
                        source="suite",
                    )
                )
                continue
            outcome = validate_cda(cda, lang, name=f"message {index + 1} OBX")
            evidence.outcome(f"validation-cda-message-{index + 1}.json", outcome)
            outcomes.append(outcome)
    if problems:
        raise ConformanceFailure(problems + [f for o in outcomes for f in o.findings])
    expect_valid(outcomes)
