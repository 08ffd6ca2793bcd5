"""Failing variants for the remaining rule ids: CI-SIS document details, profile problems, segment ids, ACK
structure, minimum cardinality; and a user's own YAML profile set."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from conformance.validation.hl7v2 import validate_message

from .conftest import ADT_A01, with_segment, with_value
from .test_hl7v2_rules import MDM_SAMPLE, _replace_segment, findings_of
from .test_hl7v2_xml_profile import LEGACY

LPS_SAMPLE = (
    "Vague 2/Trans_LPS_CDA_MSSanté/TRANSMISSION_LPS_DOC_CDA_COURRIEL_FROM_MSSANTE_V1.1/Transmission initiale MDM/"
    "message_MDM__LPS_MSS_CR_Radio_INIT_N1_Base64.er7"
)
TINY_CDA = base64.b64encode(b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2.3"/></ClinicalDocument> ').decode()
assert TINY_CDA.endswith("=")  # so that stripping the padding is a real variant


@pytest.fixture(scope="module")
def mdm(hl7v2_samples: Path) -> str:
    return (hl7v2_samples / MDM_SAMPLE).read_bytes().decode("utf-8").replace("\r\n", "\r").replace("\n", "\r")


def _duplicate_document_obx(message: str) -> str:
    lines = message.rstrip("\r").split("\r")
    obx = next(line for line in lines if line.startswith("OBX|1|ED"))
    return with_segment(message, "OBX|1|ED", obx.replace("OBX|1|", "OBX|99|", 1))


VARIANTS = [
    (
        "padding",
        lambda m: with_value(m, "OBX-5.5", TINY_CDA.rstrip("=")),
        "cisis-document-base64-padding",
        "OBX-5.5",
        "warning",
    ),
    ("tiny CDA accepted", lambda m: with_value(m, "OBX-5.5", TINY_CDA), None, None, None),
    ("empty document", lambda m: with_value(m, "OBX-5.5", ""), "cisis-document-empty", "OBX-5.5", "error"),
    ("no document OBX", lambda m: with_value(m, "OBX-2", "ST"), "cisis-document-obx", "OBX", "error"),
    ("two documents in MDM", _duplicate_document_obx, "cisis-document-obx", "OBX[2]", "error"),
    ("metadata code", lambda m: with_value(m, "OBX[2]-3.1", "MASQUE"), "cisis-metadata-code", "OBX[2]-3.1", "error"),
    ("metadata status", lambda m: with_value(m, "OBX[2]-11", "C"), "cisis-metadata-status", "OBX[2]-11", "error"),
    (
        "MSH-21 spaces",
        lambda m: with_value(m, "MSH-21.2", " CISIS_CDA_HL7_V2"),
        "cisis-msh21-spaces",
        "MSH-21",
        "warning",
    ),
    ("OBX-5.2", lambda m: with_value(m, "OBX-5.2", "Application"), "cisis-obx5-type", "OBX-5.2", "error"),
    ("PRT address", lambda m: with_value(m, "PRT[2]-15.3", "Internet"), "cisis-prt-address", "PRT[2]-15.3", "error"),
    ("PRT recipient", lambda m: _replace_segment(m, "PRT||UC||RCT", "NTE|1"), "cisis-prt-recipient", "PRT", "error"),
]


@pytest.mark.parametrize(("mutate", "rule", "location", "severity"), [v[1:] for v in VARIANTS],
                         ids=[v[0] for v in VARIANTS])  # fmt: skip
def test_cisis_variant(mdm: str, mutate, rule, location, severity) -> None:
    outcome, found = findings_of(mutate(mdm))
    if rule is None:
        assert outcome.is_valid, outcome.render("en")
    else:
        assert (rule, location, severity) in found, outcome.render("en")


def test_lps_messages_say_what_is_not_checked(hl7v2_samples: Path) -> None:
    outcome, found = findings_of((hl7v2_samples / LPS_SAMPLE).read_bytes())
    assert outcome.details["profile"] == "cisis-cda-hl7v2-2.1#MDM^T02 LPS"
    assert ("cisis-lps-partial", "MSH-21", "information") in found


def test_ack_with_the_original_structure_in_msh9_is_a_warning() -> None:
    ack = "MSH|^~\\&|DPI|CHU-X|GAM|CHU-X|20240306111155||ACK^A01^ADT_A01|9|P|2.5\rMSA|AA|3975\r"
    outcome, found = findings_of(ack)
    assert ("hl7v2-ack-structure", "MSH-9.3", "warning") in found
    assert outcome.is_valid, outcome.render("en")


def test_a_line_that_is_not_a_segment() -> None:
    outcome, found = findings_of(with_segment(ADT_A01, "EVN", "hello world"))
    assert any(rule == "hl7v2-segment-id" for rule, _, _ in found), outcome.render("en")


def test_minimum_cardinality_from_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "two-rol.xml"
    path.write_text(LEGACY.replace('<Segment Name="ROL" Usage="O" Min="0" Max="*"/>',
                                   '<Segment Name="ROL" Usage="R" Min="2" Max="*"/>'), encoding="utf-8")  # fmt: skip
    outcome = validate_message(with_value(ADT_A01, "PID-3.4.3", "ISO"), str(path))
    assert {(f.rule, f.location) for f in outcome.errors} == {("hl7v2-cardinality-min", "ROL")}, outcome.render("en")


USER_SET = """
id: my-site
title: A site's own ADT rules
version: "1"
hl7_version: "2.5"
segments: [segments.yaml]
tables: [tables.yaml]
structures:
  ADT_A01: [MSH R 1..1, EVN R 1..1, PID R 1..1, PD1 O, ROL O 0..*, PV1 R 1..1, PV2 O, ZBE O, ZFA O, ZFP O, ZFV O, ZFM O, ZFD O]
messages:
  ADT^A01:
    structure: ADT_A01
    msh9: ADT^A01^ADT_A01
    rules: [msh-type, pam-fr-ins, no-such-pack]
"""
USER_SEGMENTS = """
PV1:
  fields:
    2: {usage: R, table: site-classes}
    3: {usage: C, condition: "PV1-2 in [I", else: O}
    7: {usage: C, condition: "PV1-2 = I and PID-8 = F", note: "site rule 12"}
"""
USER_TABLES = """
site-classes: [I, O]
"""


def test_a_users_yaml_profile_set(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text(USER_SET, encoding="utf-8")
    (tmp_path / "segments.yaml").write_text(USER_SEGMENTS, encoding="utf-8")
    (tmp_path / "tables.yaml").write_text(USER_TABLES, encoding="utf-8")
    outcome = validate_message(with_value(ADT_A01, "PV1-2", "E"), str(tmp_path))
    found = {(f.rule, f.location, f.severity.value) for f in outcome.findings}
    assert outcome.details["profile"] == "my-site#ADT^A01"
    assert ("hl7v2-table-value", "PV1-2", "error") in found
    assert ("hl7v2-profile-condition", "PV1", "warning") in found  # the unreadable condition is named, not fatal
    assert ("hl7v2-profile-rule", "", "warning") in found
    assert ("hl7v2-usage-R", "PV1-7", "error") not in found  # PV1-2 is E: the condition does not hold
    conditional = validate_message(ADT_A01, str(tmp_path / "profile.yaml"))
    item = next(f for f in conditional.findings if f.location == "PV1-7")
    assert item.rule == "hl7v2-usage-R" and "site rule 12" in item.message_en
