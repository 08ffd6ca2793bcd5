"""Users bring their own standard HL7 v2 XML conformance profile (Messaging Workbench / NIST legacy format, or an
IGAMT export); messages are validated against it with the same engine and rule ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.validation.hl7v2 import ProfileError, load_xml_profile, validate_input, validate_message
from conformance.validation.options import ValidateOptions

from .conftest import ADT_A01, with_segment, with_value

LEGACY = """<?xml version="1.0" encoding="UTF-8"?>
<HL7v2xConformanceProfile HL7Version="2.5" ProfileType="Implementation">
  <MetaData Name="Site A01" OrgName="CHU-X" Version="1.0"/>
  <HL7v2xStaticDef MsgType="ADT" EventType="A01" MsgStructID="ADT_A01">
    <Segment Name="MSH" LongName="Message Header" Usage="R" Min="1" Max="1">
      <Field Name="Field Separator" Usage="R" Min="1" Max="1" Datatype="ST" Length="1"/>
      <Field Name="Encoding Characters" Usage="R" Min="1" Max="1" Datatype="ST" Length="4"/>
      <Field Name="Sending Application" Usage="R" Min="1" Max="1" Datatype="HD" Length="227"/>
    </Segment>
    <Segment Name="EVN" Usage="R" Min="1" Max="1"/>
    <Segment Name="PID" Usage="R" Min="1" Max="1">
      <Field Name="Set ID" Usage="O" Min="0" Max="1" Datatype="SI" Length="4"/>
      <Field Name="Patient ID" Usage="X" Min="0" Max="0" Datatype="CX" Length="20"/>
      <Field Name="Patient Identifier List" Usage="R" Min="1" Max="*" Datatype="CX" Length="250">
        <Component Name="ID Number" Usage="R" Datatype="ST" Length="15"/>
        <Component Name="Check Digit" Usage="X" Datatype="ST"/>
        <Component Name="Check Digit Scheme" Usage="O" Datatype="ID"/>
        <Component Name="Assigning Authority" Usage="R" Datatype="HD">
          <SubComponent Name="Namespace ID" Usage="R" Datatype="IS"/>
          <SubComponent Name="Universal ID" Usage="R" Datatype="ST"/>
          <SubComponent Name="Universal ID Type" Usage="R" Datatype="ID" ConstantValue="ISO"/>
        </Component>
      </Field>
    </Segment>
    <Segment Name="PD1" Usage="O" Min="0" Max="1"/>
    <Segment Name="ROL" Usage="O" Min="0" Max="*"/>
    <Segment Name="PV1" Usage="R" Min="1" Max="1">
      <Field Name="Set ID" Usage="O" Min="0" Max="1" Datatype="SI"/>
      <Field Name="Patient Class" Usage="R" Min="1" Max="1" Datatype="IS" Length="1"/>
    </Segment>
    <Segment Name="PV2" Usage="O" Min="0" Max="1"/>
    <SegGroup Name="FRENCH" Usage="O" Min="0" Max="1">
      <Segment Name="ZBE" Usage="R" Min="1" Max="1"/>
      <Segment Name="ZFA" Usage="O" Min="0" Max="1"/>
      <Segment Name="ZFP" Usage="O" Min="0" Max="1"/>
      <Segment Name="ZFV" Usage="O" Min="0" Max="1"/>
      <Segment Name="ZFM" Usage="O" Min="0" Max="1"/>
      <Segment Name="ZFD" Usage="O" Min="0" Max="1"/>
    </SegGroup>
  </HL7v2xStaticDef>
</HL7v2xConformanceProfile>
"""

IGAMT = """<?xml version="1.0" encoding="UTF-8"?>
<ConformanceProfile ID="p1" Type="Constrainable" HL7Version="2.5" SchemaVersion="2.5">
  <MetaData Name="IGAMT A01" OrgName="Test" Version="2" Date="2026"/>
  <Encodings><Encoding>ER7</Encoding></Encodings>
  <Messages>
    <Message ID="m1" Type="ADT" Event="A01" StructID="ADT_A01" Description="Admit">
      <Segment Ref="MSH_1" Usage="R" Min="1" Max="1"/>
      <Segment Ref="EVN_1" Usage="R" Min="1" Max="1"/>
      <Segment Ref="PID_FR" Usage="R" Min="1" Max="1"/>
      <Group ID="g1" Name="REST" Usage="O" Min="0" Max="1">
        <Segment Ref="PD1_1" Usage="O" Min="0" Max="1"/>
        <Segment Ref="ROL_1" Usage="O" Min="0" Max="*"/>
        <Segment Ref="PV1_1" Usage="R" Min="1" Max="1"/>
      </Group>
      <Segment Ref="PV2_1" Usage="O" Min="0" Max="1"/>
      <Segment Ref="ZBE_1" Usage="O" Min="0" Max="1"/>
      <Segment Ref="ZFA_1" Usage="O" Min="0" Max="1"/>
      <Segment Ref="ZFP_1" Usage="O" Min="0" Max="1"/>
      <Segment Ref="ZFV_1" Usage="O" Min="0" Max="1"/>
      <Segment Ref="ZFM_1" Usage="O" Min="0" Max="1"/>
      <Segment Ref="ZFD_1" Usage="O" Min="0" Max="1"/>
    </Message>
  </Messages>
  <Segments>
    <Segment ID="MSH_1" Name="MSH" Description="Message Header"/>
    <Segment ID="EVN_1" Name="EVN"/>
    <Segment ID="PID_FR" Name="PID" Description="Patient (France)">
      <Field Name="Set ID" Datatype="SI" Usage="O" Min="0" Max="1" MinLength="1" MaxLength="4"/>
      <Field Name="Patient ID" Datatype="CX_1" Usage="X" Min="0" Max="0"/>
      <Field Name="Patient Identifier List" Datatype="CX_1" Usage="R" Min="1" Max="*"/>
      <Field Name="Alternate ID" Datatype="CX_1" Usage="X" Min="0" Max="0"/>
      <Field Name="Patient Name" Datatype="XPN" Usage="R" Min="1" Max="*"/>
      <Field Name="Mother" Datatype="XPN" Usage="O" Min="0" Max="*"/>
      <Field Name="Birth" Datatype="TS" Usage="R" Min="1" Max="1"/>
      <Field Name="Sex" Datatype="IS" Usage="R" Min="1" Max="1" Binding="HL70001"/>
    </Segment>
    <Segment ID="PD1_1" Name="PD1"/>
    <Segment ID="ROL_1" Name="ROL"/>
    <Segment ID="PV1_1" Name="PV1"/>
    <Segment ID="PV2_1" Name="PV2"/>
    <Segment ID="ZBE_1" Name="ZBE"/>
    <Segment ID="ZFA_1" Name="ZFA"/>
    <Segment ID="ZFP_1" Name="ZFP"/>
    <Segment ID="ZFV_1" Name="ZFV"/>
    <Segment ID="ZFM_1" Name="ZFM"/>
    <Segment ID="ZFD_1" Name="ZFD"/>
  </Segments>
  <Datatypes>
    <Datatype ID="CX_1" Name="CX" Description="Extended composite ID">
      <Component Name="ID Number" Datatype="ST" Usage="R" MinLength="1" MaxLength="15"/>
      <Component Name="Check Digit" Datatype="ST" Usage="X"/>
      <Component Name="Scheme" Datatype="ID" Usage="O"/>
      <Component Name="Assigning Authority" Datatype="HD" Usage="R"/>
      <Component Name="Type" Datatype="ID" Usage="R" Binding="HL70203"/>
    </Datatype>
  </Datatypes>
  <ValueSetDefinitions>
    <ValueSetDefinition BindingIdentifier="HL70001" Name="Sex">
      <ValueElement Value="F"/><ValueElement Value="M"/><ValueElement Value="U"/>
    </ValueSetDefinition>
  </ValueSetDefinitions>
</ConformanceProfile>
"""


@pytest.fixture
def legacy_profile(tmp_path: Path) -> Path:
    path = tmp_path / "site-a01.xml"
    path.write_text(LEGACY, encoding="utf-8")
    return path


@pytest.fixture
def igamt_profile(tmp_path: Path) -> Path:
    path = tmp_path / "igamt-a01.xml"
    path.write_text(IGAMT, encoding="utf-8")
    return path


def found(outcome) -> set[tuple[str, str]]:
    return {(f.rule, f.location) for f in outcome.findings}


def test_legacy_profile_is_read(legacy_profile: Path) -> None:
    profile_set = load_xml_profile(legacy_profile)
    a01 = profile_set.messages["ADT^A01"]
    assert a01.structure_id == "ADT_A01"
    assert a01.segments["PID"].fields[3].max == -1
    assert a01.segments["PID"].fields[3].components[4].components[3].fixed == "ISO"
    assert [e.name for e in a01.elements][-1] == "FRENCH"


def test_message_against_legacy_profile(legacy_profile: Path) -> None:
    outcome = validate_message(ADT_A01, str(legacy_profile))
    assert outcome.details["profile"] == "xml:site-a01.xml#ADT^A01"
    # The IPP's authority type is N (FINESS-EG), while this site profile fixes HD-3 to ISO.
    assert found(outcome) == {("hl7v2-fixed-value", "PID-3.4.3")}, outcome.render("en")
    variant = with_value(with_value(ADT_A01, "PID-3.1", ""), "PV1-2", "")
    variant = with_segment(with_value(variant, "PID-3.2", "7"), "PV1", "NK1|1")
    result = found(validate_message(variant, str(legacy_profile)))
    assert {("hl7v2-usage-R", "PID-3.1"), ("hl7v2-usage-X", "PID-3.2"), ("hl7v2-usage-R", "PV1-2"),
            ("hl7v2-segment-unexpected", "NK1")} <= result  # fmt: skip


def test_length_from_xml_profile(legacy_profile: Path) -> None:
    outcome = validate_message(with_value(ADT_A01, "PID-3[2].1", "2790351215189891"), str(legacy_profile))
    assert ("hl7v2-length", "PID-3[2].1") in found(outcome)


def test_igamt_profile_with_datatypes_and_value_sets(igamt_profile: Path) -> None:
    assert validate_message(ADT_A01, str(igamt_profile)).is_valid
    outcome = validate_message(with_value(with_value(ADT_A01, "PID-8", "X"), "PID-3.5", ""), str(igamt_profile))
    assert {("hl7v2-table-value", "PID-8"), ("hl7v2-usage-R", "PID-3.5")} <= found(outcome), outcome.render("en")
    no_pv1 = "".join(f"{s}\r" for s in ADT_A01.rstrip("\r").split("\r") if not s.startswith(("PV1", "PD1", "ROL")))
    assert ("hl7v2-usage-R", "PID") not in found(validate_message(no_pv1, str(igamt_profile)))


def test_validate_input_with_a_user_profile_path(legacy_profile: Path) -> None:
    outcomes = validate_input(
        ADT_A01.encode(), name="a01.hl7", options=ValidateOptions(hl7v2_profile=str(legacy_profile))
    )
    assert outcomes[0].details["profile"].startswith("xml:site-a01.xml")


def test_user_profile_without_the_event(legacy_profile: Path) -> None:
    outcome = validate_message(with_value(ADT_A01, "MSH-9.2", "A02"), str(legacy_profile))
    assert [f.rule for f in outcome.findings] == ["hl7v2-no-profile"]


def test_bad_xml_profiles_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<HL7v2xConformanceProfile><oops", encoding="utf-8")
    with pytest.raises(ProfileError, match="cannot read XML profile"):
        load_xml_profile(broken)
    other = tmp_path / "other.xml"
    other.write_text("<html/>", encoding="utf-8")
    outcome = validate_message(ADT_A01, str(other))
    assert [f.rule for f in outcome.findings] == ["hl7v2-profile-error"]
    entity = tmp_path / "entity.xml"
    entity.write_text('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><HL7v2xConformanceProfile>&e;'
                      "</HL7v2xConformanceProfile>", encoding="utf-8")  # fmt: skip
    with pytest.raises(ProfileError):
        load_xml_profile(entity)
