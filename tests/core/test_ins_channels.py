"""One INS rule set (conformance/validation/ins.py) for every syntax: the same identifier carried in a FHIR
Patient.identifier, an HL7 v2 PID-3, a CDA patientRole/id and an XDS patientId gets the same decision from the
four validators, and that decision is the module's. Each validator keeps its own rule ids; the maps below read
them back into the shared decision."""

from __future__ import annotations

import functools

import pytest
from lxml import etree

from conformance.identifiers import INS_NIA_OID, INS_NIR_OID, INS_TEST_NIR_OID
from conformance.validation.ins import Decision, check_ins, nir_key_ok, trait_conflicts

V3 = "urn:hl7-org:v3"


def _with_key(body: str) -> str:
    number = body.upper()
    number = number[:5] + {"2A": "19", "2B": "18"}.get(number[5:7], number[5:7]) + number[7:]
    return body + str(97 - int(number) % 97).zfill(2)


VALID = "279035121518989"
WRONG_KEY = "279035121518988"
CORSICA = _with_key("279032A041123")
# (case, value, assigning authority OID)
IDENTIFIERS = [
    ("test INS-NIR", VALID, INS_TEST_NIR_OID),
    ("production INS-NIR", VALID, INS_NIR_OID),
    ("INS-NIA", VALID, INS_NIA_OID),
    ("Corsica 2A", CORSICA, INS_NIR_OID),
    ("test INS, wrong key", WRONG_KEY, INS_TEST_NIR_OID),
    ("production INS, wrong key", WRONG_KEY, INS_NIR_OID),
    ("unknown OID under the INS arc", VALID, "1.2.250.1.213.1.4.99"),
    ("INS-C", VALID, "1.2.250.1.213.1.4.2"),
]
EXPECTED = {
    "test INS-NIR": Decision.VALID,
    "production INS-NIR": Decision.VALID,
    "INS-NIA": Decision.VALID,
    "Corsica 2A": Decision.VALID,
    "test INS, wrong key": Decision.KEY_WARNING,
    "production INS, wrong key": Decision.KEY_ERROR,
    "unknown OID under the INS arc": Decision.UNKNOWN_AUTHORITY,
    "INS-C": Decision.INS_C,
}

# each channel's rule ids -> the shared decision (a key rule reads as its severity)
HL7 = {"pam-fr-ins-c": Decision.INS_C, "pam-fr-ins-oid": Decision.UNKNOWN_AUTHORITY, "pam-fr-ins-format": "key"}
CDA = {"cda-ins-c": Decision.INS_C, "cda-ins-unknown-oid": Decision.UNKNOWN_AUTHORITY, "cda-ins-format": "key"}
XDS = {
    "xds-patientid-ins-c": Decision.INS_C,
    "xds-patientid-ins-unknown-oid": Decision.UNKNOWN_AUTHORITY,
    "xds-patientid-ins-key": "key",
    "xds-patientid-not-ins": Decision.NOT_INS,
}
FHIR = {"fr-ins-c": Decision.INS_C, "fr-ins-unknown-oid": Decision.UNKNOWN_AUTHORITY, "fr-ins-key": "key"}


def _decision(findings, rules: dict) -> str:
    decisions = set()
    for rule, severity in findings:
        decision = rules.get(rule)
        if decision == "key":
            decision = Decision.KEY_WARNING if severity == "warning" else Decision.KEY_ERROR
        if decision is not None:
            decisions.add(decision)
    assert len(decisions) <= 1, decisions
    return decisions.pop() if decisions else Decision.VALID


def hl7v2(value: str, oid: str, id_type: str | None = None) -> str:
    from hl7v2.conftest import ADT_A01, with_value  # the PAM FR ADT of the HL7 v2 tests

    from conformance.validation.hl7v2 import validate_message

    message = with_value(with_value(ADT_A01, "PID-3[2].1", value), "PID-3[2].4.2", oid)
    if id_type is not None:
        message = with_value(message, "PID-3[2].5", id_type)
    outcome = validate_message(message, check_cda=False)
    return _decision([(f.rule, f.severity.value) for f in outcome.findings], HL7)


@functools.cache
def _cda_example() -> bytes:
    from conformance import settings

    return (settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml").read_bytes()


def cda(value: str, oid: str) -> str:
    from conformance.validation.cda.document import parse_document
    from conformance.validation.cda.header import check_header
    from conformance.validation.cda.pack import load_pack

    root = etree.fromstring(_cda_example())
    ins = root.find(f"{{{V3}}}recordTarget/{{{V3}}}patientRole/{{{V3}}}id")
    ins.set("root", oid)
    ins.set("extension", value)
    document, problems = parse_document(etree.tostring(root))
    assert document is not None, problems
    return _decision([(f.rule, f.severity.value) for f in check_header(document, load_pack())], CDA)


def xds(value: str, oid: str) -> str:
    from conformance.validation.xds.metadata import check_ins_cx

    found = check_ins_cx(f"{value}^^^&{oid}&ISO^NH", "patientId", "patientId")
    return _decision([(f.rule, f.severity.value) for f in found], XDS)


@pytest.fixture(scope="module")
def fhir_validator():
    from conformance.packages import load_context
    from conformance.validation.fhir import get_validator

    return get_validator(load_context())


def fhir(validator, value: str, oid: str) -> str:
    patient = {"resourceType": "Patient", "identifier": [{"system": f"urn:oid:{oid}", "value": value}]}
    outcome = validator.validate(patient)
    return _decision([(f.rule, f.severity.value) for f in outcome.findings], FHIR)


def test_the_cases_cover_every_decision_on_an_ins_authority():
    assert set(EXPECTED.values()) == set(Decision) - {Decision.NOT_INS}
    assert nir_key_ok(CORSICA) and nir_key_ok(_with_key("279032B041123"))


@pytest.mark.parametrize(("case", "value", "oid"), IDENTIFIERS, ids=[c for c, _v, _o in IDENTIFIERS])
def test_every_channel_decides_as_the_ins_module(case, value, oid, fhir_validator):
    expected = EXPECTED[case]
    assert check_ins(value, oid).decision == expected
    decided = {
        "FHIR Patient.identifier": fhir(fhir_validator, value, oid),
        "HL7 v2 PID-3": hl7v2(value, oid),
        "CDA patientRole/id": cda(value, oid),
        "XDS patientId": xds(value, oid),
    }
    assert decided == dict.fromkeys(decided, expected)


def test_an_identifier_of_another_authority_is_not_an_ins_anywhere(fhir_validator):
    """A FINESS-domain IPP raises no INS rule; only XDS patientId, which must be the INS, refuses it."""
    oid = "1.2.250.1.71.4.2.2"
    assert check_ins("000003", oid).decision == Decision.NOT_INS
    assert fhir(fhir_validator, "000003", oid) == Decision.VALID
    assert xds("000003", oid) == Decision.NOT_INS


@pytest.mark.parametrize("oid", ["1.2.250.1.213.1.4.13", "1.2.250.1.213.1.4.14"], ids=["NSS-NIR", "NSS-NIA"])
def test_a_social_security_number_under_the_ins_arc_is_not_an_ins(oid, fhir_validator):
    """FR Core 2.2.0 (slices NSS-NIR / NSS-NIA) and the ANS CSE 2025.01 examples carry the NIR used as a
    social-security number under these OIDs: not a false INS authority, not an INS where one is owed."""
    assert check_ins(VALID, oid).decision == Decision.NOT_INS
    assert fhir(fhir_validator, VALID, oid) == Decision.VALID
    assert hl7v2(VALID, oid, "NH") == Decision.VALID  # typed as a social-security number (PAM FR §6.6.1)
    assert hl7v2(VALID, oid) == Decision.UNKNOWN_AUTHORITY  # typed INS: it is not an INS authority
    assert cda(VALID, oid) == Decision.VALID
    assert xds(VALID, oid) == Decision.NOT_INS


def test_traits_contradicting_the_nir():
    assert trait_conflicts(VALID, "F", "19790328") == []
    assert [c.trait for c in trait_conflicts(VALID, "M", "1980-03-28")] == ["sex", "birth-year"]
    assert [c.trait for c in trait_conflicts(VALID, "F", "19790428")] == ["birth-month"]
