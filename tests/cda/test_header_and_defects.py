"""Injected defects are each reported with the rule and the XPath location of the faulty element."""

from __future__ import annotations

from lxml import etree

from conformance.validation.cda.document import check_xsd, parse_document
from conformance.validation.cda.header import check_header, nir_key_ok
from conformance.validation.cda.pack import load_pack

from .conftest import NS, V3, example_bytes, mutate, validated

CR_GM = "CANCER-CR-GM_2022.01_AnalyseRealisee.xml"
PATIENT = "/cda:ClinicalDocument[1]/cda:recordTarget[1]/cda:patientRole[1]"


def _header(data: bytes):
    root, problems = parse_document(data)
    assert root is not None, problems
    return check_header(root, load_pack())


def _rules(findings) -> dict[str, str]:
    return {f.rule: f.location for f in findings}


def test_example_header_is_clean() -> None:
    assert [f for f in _header(example_bytes(CR_GM)) if f.severity.is_failure] == []


def test_missing_birth_time() -> None:
    def drop(root):
        birth = root.find("cda:recordTarget/cda:patientRole/cda:patient/cda:birthTime", NS)
        birth.getparent().remove(birth)

    rules = _rules(_header(mutate(CR_GM, drop)))
    assert rules["cda-header-patient-birthtime-missing"] == PATIENT + "/cda:patient[1]"
    # the identity also stops being qualified, so its INS is now refused
    assert rules["cda-ins-unqualified-identity"] == PATIENT + "/cda:id[1]"


def test_ins_on_unqualified_identity() -> None:
    def unqualify(root):
        for family in root.findall("cda:recordTarget/cda:patientRole/cda:patient/cda:name/cda:family", NS):
            family.attrib.pop("qualifier", None)

    findings = _header(mutate(CR_GM, unqualify))
    ins = [f for f in findings if f.rule == "cda-ins-unqualified-identity"]
    assert len(ins) == 1 and ins[0].severity.is_failure
    assert ins[0].location == PATIENT + "/cda:id[1]"
    assert "family qualifier=BR" in ins[0].message_en


def test_ins_key_is_checked() -> None:
    assert nir_key_ok("279035121518989")
    assert not nir_key_ok("279035121518988")
    # Corsica: the department (characters 6-7) 2A counts as 19, 2B as 18
    assert nir_key_ok("15503" + "2A" + "004123" + str(97 - int("1550319004123") % 97).zfill(2))
    assert nir_key_ok("15503" + "2B" + "004123" + str(97 - int("1550318004123") % 97).zfill(2))

    def wrong_key(root):
        root.find("cda:recordTarget/cda:patientRole/cda:id", NS).set("extension", "279035121518988")

    test_ins = [f for f in _header(mutate(CR_GM, wrong_key)) if f.rule == "cda-ins-format"]
    assert [(f.location, f.severity.value) for f in test_ins] == [(PATIENT + "/cda:id[1]", "warning")]

    def real_ins_wrong_key(root):
        ins = root.find("cda:recordTarget/cda:patientRole/cda:id", NS)
        ins.set("root", "1.2.250.1.213.1.4.8")  # a real INS-NIR: a wrong key is an error
        ins.set("extension", "279035121518988")

    real = [f for f in _header(mutate(CR_GM, real_ins_wrong_key)) if f.rule == "cda-ins-format"]
    assert [f.severity.value for f in real] == ["error"]


def test_header_rules_name_their_element() -> None:
    def damage(root):
        root.find("cda:code", NS).set("code", "51969-5")  # LOINC check digit broken
        root.find("cda:confidentialityCode", NS).set("code", "X")
        root.find("cda:versionNumber", NS).set("value", "0")
        root.find("cda:effectiveTime", NS).set("value", "2018")
        author_id = root.find("cda:author/cda:assignedAuthor/cda:id", NS)
        author_id.set("extension", "812")
        custodian = root.find("cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization/cda:id", NS)
        custodian.set("root", "1.2.250.1.71.4.2.2")
        custodian.set("extension", "1ABC")

    rules = _rules(_header(mutate(CR_GM, damage)))
    assert rules["cda-header-type-loinc"] == "/cda:ClinicalDocument[1]/cda:code[1]"
    assert rules["cda-header-type-valueset"] == "/cda:ClinicalDocument[1]/cda:code[1]"
    assert rules["cda-header-confidentiality-value"] == "/cda:ClinicalDocument[1]/cda:confidentialityCode[1]"
    assert rules["cda-header-version"] == "/cda:ClinicalDocument[1]/cda:versionNumber[1]"
    assert rules["cda-header-effectivetime-format"] == "/cda:ClinicalDocument[1]/cda:effectiveTime[1]"
    assert rules["cda-header-author-idnatps-format"].endswith("cda:assignedAuthor[1]/cda:id[1]")
    assert rules["cda-header-custodian-finess"].endswith("cda:representedCustodianOrganization[1]/cda:id[1]")


def test_broken_xsd_structure_is_located() -> None:
    def misplace(root):
        stray = etree.SubElement(root.find("cda:recordTarget/cda:patientRole", NS), f"{{{V3}}}notInCda")
        stray.text = "x"

    root, _ = parse_document(mutate(CR_GM, misplace))
    findings = check_xsd(root, load_pack())
    assert findings, "a foreign element in patientRole must break the CDA schema"
    assert {f.rule for f in findings} == {"cda-xsd"}
    assert findings[0].location == PATIENT + "/cda:notInCda[1]"
    assert findings[0].line is not None


def test_not_well_formed_and_doctype_are_findings() -> None:
    outcome = validated_bytes(b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id></ClinicalDocument>")
    assert [f.rule for f in outcome.errors] == ["cda-not-well-formed"]
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>'
    assert [f.rule for f in validated_bytes(bomb).errors] == ["cda-doctype"]
    assert [f.rule for f in validated_bytes(b"<x xmlns='urn:other'/>").errors] == ["cda-not-clinical-document"]


def validated_bytes(data: bytes):
    from conformance.validation.cda import validate_document

    return validate_document(data, name="test")


def test_wrong_document_type_code_fails_the_volet_schematron() -> None:
    """Full pipeline: the CR-GM schematron itself reports the wrong code, at the ClinicalDocument."""
    from conformance.validation.cda import validate_document

    def wrong_type(root):
        root.find("cda:code", NS).set("code", "11502-2")  # a real LOINC type, but not a CR-GM

    outcome = validate_document(mutate(CR_GM, wrong_type), name="wrong-type")
    volet = [f for f in outcome.errors if f.profile == "CI-SIS_CANCER-CR-GM_2022.01.sch"]
    assert volet, outcome.render("en")
    assert volet[0].location == "/cda:ClinicalDocument[1]"
    assert "51969-4" in volet[0].message_fr  # the schematron's own message
    assert volet[0].rule == "variables-1"  # pattern id + assertion rank: stable across runs
    assert validated(CR_GM).is_valid


def test_declared_encodings_and_bom_are_honoured() -> None:
    from conformance.validation.cda import validate_document

    text = example_bytes("LDL-EES_2022.01.xml").decode("utf-8")
    latin1 = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1).encode("latin-1", errors="replace")
    for data in (latin1, b"\xef\xbb\xbf" + example_bytes("LDL-EES_2022.01.xml")):
        outcome = validate_document(data, name="encoded")
        assert outcome.is_valid, outcome.render("en")
        assert "cda-schematron-parse" not in {f.rule for f in outcome.findings}


def test_doctype_after_a_long_comment_is_still_refused() -> None:
    padding = b"<!--" + b" " * 70000 + b"-->"
    bomb = b'<?xml version="1.0"?>' + padding + b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert [f.rule for f in validated_bytes(bomb).errors] == ["cda-doctype"]


def test_ins_value_is_not_echoed_in_messages() -> None:
    def wrong_key(root):
        root.find("cda:recordTarget/cda:patientRole/cda:id", NS).set("extension", "279035121518988")

    findings = [f for f in _header(mutate(CR_GM, wrong_key)) if f.rule.startswith("cda-ins")]
    assert findings and not any("27903512151898" in f.message_fr + f.message_en for f in findings)
