"""Every ANS sample in ../shared/hl7v2-samples parses and validates against its profile without error, except
the real defects of the samples, each listed here with its explanation. The test fails both when a defect
disappears (a rule stopped firing) and when a new error appears."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from conformance import settings
from conformance.validation.hl7v2 import validate_input, validate_message
from conformance.validation.hl7v2.er7 import parse
from conformance.validation.hl7v2.profile import load_profile_set
from conformance.validation.hl7v2.rules import RuleContext, check_cisis_document
from conformance.validation.options import ValidateOptions

from .conftest import sample_files

# The PAM FR samples ("Consentement_DMP_PAMFR") put no UF code in PV1-3.1 (`^^^CHU-X&000897406&M^O^^`), while
# PAM FR §5.1.1 requires the UF d'hébergement in PV1-3.1 for A01.
UF_MISSING = {("hl7v2-usage-R", "PV1-3.1")}
# Several CI-SIS samples carry a placeholder, base64 of the text "Document medcial au format CDA niveau 1", in
# OBX-5.5 instead of a CDA document (their *_Base64 siblings carry the real CDA).
PLACEHOLDER_ONE = {("cisis-document-not-cda", "OBX-5.5")}
PLACEHOLDER_TWO = PLACEHOLDER_ONE | {("cisis-document-not-cda", "OBX[2]-5.5")}
# Older volet samples (V1.2, V2.0, LPS V1.0) use the production INS-NIR OID 1.2.250.1.213.1.4.8 with invented
# identities whose INS contradicts the traits: e.g. INS 274075176079430 (a woman born in 1974) for a man born
# 20050101; INS 276037510669380 (born 1976, female) for DE VINCI DONATELLO, male, born 20100807, whose NIR key is
# also wrong (97 - n mod 97 != 80).
TRAITS = {("pam-fr-ins-traits", "PID-7"), ("pam-fr-ins-traits", "PID-8")}
TRAITS_AND_KEY = TRAITS | {("pam-fr-ins-format", "PID-3.1")}

EXPECTED_DEFECTS: dict[str, set[tuple[str, str]]] = {
    "Vague 2/Consentement_DMP_PAMFR/ConsentementConsultation_NonOppositionAlimentation.er7": UF_MISSING,
    "Vague 2/Consentement_DMP_PAMFR/NonConsentementConsultation_NonOppositionAlimentation.er7": UF_MISSING,
    "Vague 2/Consentement_DMP_PAMFR/NonRecueillieConsentementConsultation_NonOppositionAlimentation.er7": UF_MISSING,
    "Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/MDM/Transmission initiale MDM/"
    "message_MDM_CR_Radio_INIT_N1.er7": PLACEHOLDER_ONE,
    "Vague 2/Trans_LPS_CDA_MSSanté/TRANSMISSION_LPS_DOC_CDA_COURRIEL_FROM_MSSANTE_V1.1/Transmission initiale MDM/"
    "message_MDM__LPS_MSS_CR_Radio_INIT_N1.er7": PLACEHOLDER_ONE,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.1/ORU/Remplacement ORU/message_ORU_CR_Bio_RPLC_N1_N3.er7": PLACEHOLDER_TWO,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.1/ORU/Suppression ORU/message_ORU_CR_Bio_DEL_N1_N3.er7": PLACEHOLDER_TWO,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.1/ORU/Transmission initiale ORU/message_ORU_CR_Bio_INIT_N1_N3.hl7": PLACEHOLDER_TWO,
    "Volets/TRANS_DOC_CDA_HL7V2/V1.2/MDM/message.hl7": TRAITS_AND_KEY,
    "Volets/TRANS_DOC_CDA_HL7V2/V1.2/ORU/message.hl7": TRAITS_AND_KEY,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.0/MDM/Remplacement MDM/message_MDM_CR_Radio_RPLC_N1.er7": TRAITS,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.0/MDM/Suppression MDM/message_MDM_CR_Radio_DEL_N1.er7": TRAITS,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.0/MDM/Transmission initiale MDM/message_MDM_CR_Radio_INIT_N1.er7": TRAITS,
    "Volets/TRANS_DOC_CDA_HL7V2/V2.0/MDM/Transmission initiale MDM/message_MDM_CR_Radio_INIT_N1_Base64.er7": TRAITS,
    "Volets/Trans_LPS_CDA_MSSanté/V1.0/MDM/message.hl7": TRAITS_AND_KEY,
    "Volets/Trans_LPS_CDA_MSSanté/V1.0/MDM/messageDocB64.hl7": TRAITS_AND_KEY,
    "Volets/Trans_LPS_CDA_MSSanté/V1.0/Remplacement MDM/message_MDM__LPS_MSS_CR_Radio_RPLC_N1.er7": TRAITS,
    "Volets/Trans_LPS_CDA_MSSanté/V1.0/Suppression MDM/message_MDM__LPS_MSS_CR_Radio_DEL_N1.er7": TRAITS,
    "Volets/Trans_LPS_CDA_MSSanté/V1.0/Transmission initiale MDM/message_MDM__LPS_MSS_CR_Radio_INIT_N1.er7": TRAITS,
    "Volets/Trans_LPS_CDA_MSSanté/V1.0/Transmission initiale MDM/message_MDM__LPS_MSS_CR_Radio_INIT_N1_Base64.er7": TRAITS,
}

SAMPLES_ROOT = settings.hl7v2_samples_dir()
SAMPLES = [str(path.relative_to(SAMPLES_ROOT)) for path in sample_files(SAMPLES_ROOT)] if SAMPLES_ROOT.is_dir() else []


def test_the_samples_are_there() -> None:
    assert len(SAMPLES) >= 60, f"expected the ANS samples under {SAMPLES_ROOT}"
    assert set(EXPECTED_DEFECTS) <= set(SAMPLES)


@pytest.mark.parametrize("relative", SAMPLES)
def test_sample_validates_except_its_known_defects(relative: str) -> None:
    outcome = validate_message((SAMPLES_ROOT / relative).read_bytes(), check_cda=False, name=relative)
    assert outcome.details.get("profile"), outcome.render("en")  # every sample has a profile
    errors = {(item.rule, item.location) for item in outcome.errors}
    assert errors == EXPECTED_DEFECTS.get(relative, set()), outcome.render("en")


def test_every_sample_message_type_is_profiled() -> None:
    profiles = {validate_message((SAMPLES_ROOT / r).read_bytes(), check_cda=False).details["profile"] for r in SAMPLES}
    assert {"pam-fr-2.11#ADT^A01", "cisis-cda-hl7v2-2.1#ORU^R01", "cisis-cda-hl7v2-2.1#MDM^T02",
            "cisis-cda-hl7v2-2.1#MDM^T10", "cisis-cda-hl7v2-2.1#MDM^T04", "cisis-cda-hl7v2-2.1#ACK^*",
            "cisis-cda-hl7v2-2.1#ZAM^Z01", "cisis-cda-hl7v2-2.1#MDM^T02 LPS"} <= profiles  # fmt: skip


def _documents(relative: str):
    parsed = parse((SAMPLES_ROOT / relative).read_bytes().decode("utf-8"))
    profile = load_profile_set("cisis-cda-hl7v2-2.1").for_message(*parsed.message_type)
    ctx = RuleContext(parsed, profile, profile.id)
    check_cisis_document(ctx)
    return ctx.documents


def test_the_cda_extracted_from_obx_is_the_published_document() -> None:
    folder = "Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/MDM/Transmission initiale MDM/"
    documents = _documents(folder + "message_MDM_CR_Radio_INIT_N1_Base64.er7")
    published = (SAMPLES_ROOT / folder / "CR_Radio_CDAN1_v1.XML").read_bytes()
    assert [d.location for d in documents] == ["OBX-5.5"]
    # The sample's CDA file is a later edit of the payload (an e-mail address differs): same document id and title.
    assert _identity(documents[0].data) == _identity(published)


def _identity(data: bytes) -> tuple[str, str, str]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    ns = {"cda": "urn:hl7-org:v3"}
    identifier = root.find("cda:id", ns)
    return identifier.get("root"), identifier.get("extension") or "", root.findtext("cda:title", "", ns)


def test_an_oru_with_n1_and_n3_carries_two_documents() -> None:
    documents = _documents(
        "Volets/TRANS_DOC_CDA_HL7V2/V2.1/ORU/Remplacement ORU/message_ORU_CR_Bio_RPLC_N1_Base64_N3_Base64.er7"
    )
    assert [d.location for d in documents] == ["OBX-5.5", "OBX[2]-5.5"]
    assert all(b"<ClinicalDocument" in d.data[:2000] for d in documents)


def test_validate_input_splits_a_file_of_several_messages(adt_a01: str) -> None:
    data = (adt_a01 + adt_a01.replace("|3975|", "|3976|")).encode()
    outcomes = validate_input(data, name="two.hl7", options=ValidateOptions())
    assert [o.subject for o in outcomes] == ["two.hl7#1", "two.hl7#2"]
    assert [o.details["control_id"] for o in outcomes] == ["3975", "3976"]
    assert all(o.is_valid for o in outcomes)


def test_validate_input_accepts_mllp_framed_bytes_and_an_xml_profile(adt_a01: str, tmp_path: Path) -> None:
    framed = b"\x0b" + adt_a01.encode() + b"\x1c\x0d"
    outcomes = validate_input(framed, name="framed.hl7", options=ValidateOptions())
    assert len(outcomes) == 1 and outcomes[0].is_valid


def test_validate_input_reports_no_message() -> None:
    outcomes = validate_input(b"   \n", name="empty.hl7", options=ValidateOptions())
    assert [f.rule for f in outcomes[0].findings] == ["hl7v2-parse"]


@pytest.mark.slow
def test_validate_input_hands_the_cda_to_the_cda_validator() -> None:
    relative = ("Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/MDM/Transmission initiale MDM/"
                "message_MDM_CR_Radio_INIT_N1_Base64.er7")  # fmt: skip
    outcomes = validate_input((SAMPLES_ROOT / relative).read_bytes(), name="mdm.er7", options=ValidateOptions())
    message = outcomes[0]
    documents = message.details["documents"]
    assert documents[0]["location"] == "OBX-5.5"
    if "valid" in documents[0]:  # the CDA validator is installed: its outcome follows the message's
        assert len(outcomes) == 2 and outcomes[1].kind in ("cda", "xdm")
    else:
        assert "cisis-cda-not-checked" in {f.rule for f in message.findings}
