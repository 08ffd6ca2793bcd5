"""Each rule has a failing variant, reported with its stable rule id at the right location.

The PAM FR variants start from a conformant ADT^A01 (conftest.ADT_A01); the CI-SIS ones from the ANS V2.1 MDM
sample carrying a base64 CDA, which validates without error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.validation.hl7v2 import validate_message

from .conftest import ADT_A01, with_segment, with_value, without_segment

MDM_SAMPLE = "Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/MDM/Transmission initiale MDM/message_MDM_CR_Radio_INIT_N1_Base64.er7"


def findings_of(message: str | bytes, **kwargs):
    outcome = validate_message(message, check_cda=False, **kwargs)
    return outcome, {(f.rule, f.location, f.severity.value) for f in outcome.findings}


def as_event(message: str, event: str, structure: str) -> str:
    return with_value(with_value(message, "MSH-9.2", event), "MSH-9.3", structure)


def test_the_reference_adt_is_valid() -> None:
    outcome, _ = findings_of(ADT_A01)
    assert outcome.is_valid, outcome.render("en")
    assert not [f for f in outcome.findings if f.severity.value == "warning"], outcome.render("en")
    assert outcome.details["profile"] == "pam-fr-2.11#ADT^A01"


PAM_VARIANTS = [
    # (id, mutation, rule, location, severity)
    ("field R", lambda m: with_value(m, "PID-5", ""), "hl7v2-usage-R", "PID-5", "error"),
    ("component R", lambda m: with_value(m, "PID-3[2].1", ""), "hl7v2-usage-R", "PID-3[2].1", "error"),
    ("segment R", lambda m: without_segment(m, "ZBE"), "hl7v2-usage-R", "ZBE", "error"),
    ("UF hebergement", lambda m: with_value(m, "PV1-3.1", ""), "hl7v2-usage-R", "PV1-3.1", "error"),
    ("PID-18 ITI-31", lambda m: with_value(m, "PID-18", ""), "hl7v2-usage-R", "PID-18", "error"),
    ("PV1-19 ITI-31", lambda m: with_value(m, "PV1-19", ""), "hl7v2-usage-R", "PV1-19", "error"),
    ("field X", lambda m: with_value(m, "PID-19", "1790375123456"), "hl7v2-usage-X", "PID-19", "error"),
    ("Z field X", lambda m: with_value(m, "ZBE-3", "20240307"), "hl7v2-usage-X", "ZBE-3", "error"),
    ("cardinality", lambda m: with_value(m, "PID-8", "F~M"), "hl7v2-cardinality-max", "PID-8[2]", "error"),
    ("table field", lambda m: with_value(m, "PID-8", "X"), "hl7v2-table-value", "PID-8", "error"),
    ("table PV1-2", lambda m: with_value(m, "PV1-2", "Z"), "hl7v2-table-value", "PV1-2", "error"),
    ("table component", lambda m: with_value(m, "PID-5.7", "A"), "hl7v2-table-value", "PID-5.7", "error"),
    (
        "table subcomponent",
        lambda m: with_value(m, "PID-3[2].4.3", "OID"),
        "hl7v2-table-value",
        "PID-3[2].4.3",
        "error",
    ),
    ("table Z segment", lambda m: with_value(m, "ZBE-9.1", "Q"), "hl7v2-table-value", "ZBE-9.1", "error"),
    ("ZFA consent codes", lambda m: with_value(m, "ZFA-11.1", "OUI"), "hl7v2-table-value", "ZFA-11.1", "error"),
    ("datatype DTM", lambda m: with_value(m, "PID-7", "1979-03-28"), "hl7v2-datatype", "PID-7.1", "error"),
    ("datatype NM", lambda m: with_value(m, "ZFD-2", "douze"), "hl7v2-datatype", "ZFD-2", "error"),
    ("fixed MSH-12.3", lambda m: with_value(m, "MSH-12.3", "2.10"), "hl7v2-fixed-value", "MSH-12.3", "error"),
    (
        "fixed MSH-21.2",
        lambda m: with_value(m, "MSH-21.2", "IHE_FRANCE-2.10-PAM"),
        "hl7v2-fixed-value",
        "MSH-21.2",
        "error",
    ),
    ("MSH-18", lambda m: with_value(m, "MSH-18", "ASCII"), "hl7v2-table-value", "MSH-18", "error"),
    ("length", lambda m: with_value(m, "ZFM-1", "88"), "hl7v2-length", "ZFM-1", "warning"),
    ("unknown segment", lambda m: with_segment(m, "PID", "ZZZ|1"), "hl7v2-segment-unexpected", "ZZZ", "error"),
    (
        "segment order",
        lambda m: with_segment(without_segment(m, "ZFA"), "PID", "ZFA|ACTIF"),
        "hl7v2-segment-order",
        "ZFA",
        "error",
    ),
    ("extra field", lambda m: with_value(m, "ZFP-3", "1"), "hl7v2-field-extra", "ZFP-3", "warning"),
    ("extra component", lambda m: with_value(m, "PV1-20", "A^B^C"), "hl7v2-component-extra", "PV1-20.3", "warning"),
    ("MSH-9.3", lambda m: with_value(m, "MSH-9.3", "ADT_A05"), "hl7v2-msh9-structure", "MSH-9.3", "error"),
    ("no profile", lambda m: with_value(m, "MSH-9.2", "A99"), "hl7v2-no-profile", "MSH-9", "warning"),
    ("charset 8859/1", lambda m: with_value(m, "MSH-18", "8859/1"), "pam-fr-msh-charset", "MSH-18", "warning"),
    (
        "INS OID",
        lambda m: with_value(m, "PID-3[2].4.2", "1.2.250.1.213.1.4.99"),
        "pam-fr-ins-oid",
        "PID-3[2].4.2",
        "error",
    ),
    ("INS type", lambda m: with_value(m, "PID-3[2].5", "PI"), "pam-fr-ins-type", "PID-3[2].5", "error"),
    # a wrong key: a warning for a test identity (OID .10), an error for a production INS-NIR (validation/ins.py)
    ("INS key", lambda m: with_value(m, "PID-3[2].1", "279035121518988"), "pam-fr-ins-format", "PID-3[2].1", "warning"),
    (
        "INS key, production",
        lambda m: with_value(with_value(m, "PID-3[2].1", "279035121518988"), "PID-3[2].4.2", "1.2.250.1.213.1.4.8"),
        "pam-fr-ins-format",
        "PID-3[2].1",
        "error",
    ),
    (
        "INS arc, unknown OID, type PI",
        lambda m: with_value(with_value(m, "PID-3[2].4.2", "1.2.250.1.213.1.4.99"), "PID-3[2].5", "PI"),
        "pam-fr-ins-oid",
        "PID-3[2].4.2",
        "error",
    ),
    (
        "INS-C",
        lambda m: with_value(with_value(m, "PID-3[2].5", "INS-C"), "PID-3[2].4.2", "1.2.250.1.213.1.4.2"),
        "pam-fr-ins-c",
        "PID-3[2].4.2",
        "error",
    ),
    ("INS CX-7", lambda m: with_value(m, "PID-3[2].7", "20101207"), "pam-fr-ins-cx7", "PID-3[2].7", "warning"),
    ("INS not qualified", lambda m: with_value(m, "PID-32", "PROV"), "pam-fr-ins-qualified", "PID-32", "error"),
    ("INS no status", lambda m: with_value(m, "PID-32", ""), "pam-fr-ins-qualified", "PID-32", "error"),
    ("INS sex", lambda m: with_value(m, "PID-8", "M"), "pam-fr-ins-traits", "PID-8", "error"),
    ("INS birth year", lambda m: with_value(m, "PID-7", "19800328"), "pam-fr-ins-traits", "PID-7", "error"),
    ("INS birth month", lambda m: with_value(m, "PID-7", "19790428"), "pam-fr-ins-traits", "PID-7", "error"),
    ("INS no birth date", lambda m: with_value(m, "PID-7", ""), "pam-fr-ins-traits", "PID-7", "error"),
    ("INS first name", lambda m: with_value(m, "PID-5.2", ""), "pam-fr-ins-traits", "PID-5.2", "error"),
    (
        "INS birth place code",
        lambda m: with_value(m, "PID-11[2].9", ""),
        "pam-fr-ins-birthplace",
        "PID-11[2].9",
        "error",
    ),
    (
        "INS birth place differs",
        lambda m: with_value(m, "PID-11[2].9", "63220"),
        "pam-fr-ins-birthplace",
        "PID-11[2].9",
        "warning",
    ),
    ("PID-32 status", lambda m: with_value(m, "PID-32", "FICT"), "pam-fr-pid32-status", "PID-32", "error"),
    (
        "PID-32 attribute",
        lambda m: with_value(m, "PID-32", "VALI~PROV"),
        "pam-fr-pid32-attribute",
        "PID-32[2]",
        "warning",
    ),
    ("birth name", lambda m: with_value(m, "PID-5.7", "D"), "pam-fr-pid5-birth-name", "PID-5", "error"),
    ("ZBE action", lambda m: with_value(m, "ZBE-4", "CANCEL"), "pam-fr-zbe-action", "ZBE-4", "error"),
    ("ZBE-6 condition", lambda m: with_value(m, "ZBE-4", "CANCEL"), "hl7v2-usage-R", "ZBE-6", "error"),
    ("ZBE nature C", lambda m: with_value(m, "ZBE-9", "C"), "pam-fr-zbe-nature-c", "ZBE-9", "error"),
    ("PV1-41 only on A03", lambda m: with_value(m, "PV1-41", "D"), "hl7v2-usage-X", "PV1-41", "warning"),
    ("corrected birth date", lambda m: with_value(m, "ZFD-4", "Y"), "pam-fr-ins-corrected-birthdate", "ZFD-4", "error"),
    ("empty Z segment", lambda m: with_segment(m, "ZFD", "ZFS|||||"), "pam-fr-z-empty", "ZFS", "warning"),
    ("ZFV hospital context", lambda m: without_segment(m, "ZFV"), "hl7v2-usage-RE", "ZFV", "information"),
]


@pytest.mark.parametrize(("mutate", "rule", "location", "severity"), [v[1:] for v in PAM_VARIANTS],
                         ids=[v[0] for v in PAM_VARIANTS])  # fmt: skip
def test_pam_fr_rule_variant(mutate, rule: str, location: str, severity: str) -> None:
    outcome, found = findings_of(mutate(ADT_A01))
    assert (rule, location, severity) in found, outcome.render("en")


def test_line_and_column_point_at_the_field() -> None:
    message = with_value(ADT_A01, "PID-8", "X")
    outcome, _ = findings_of(message)
    item = next(f for f in outcome.findings if f.rule == "hl7v2-table-value")
    pid = message.split("\r")[2]
    assert item.line == 3
    assert pid[item.column - 1 :].startswith("X|")
    assert item.message_fr != item.message_en and "PID-8" in item.message_fr


def test_iti30_event_forbids_zbe_and_accepts_its_absence() -> None:
    a28 = as_event(ADT_A01, "A28", "ADT_A05")
    outcome, found = findings_of(a28)
    assert ("hl7v2-usage-X", "ZBE", "error") in found, outcome.render("en")
    clean, _ = findings_of(without_segment(a28, "ZBE"))
    assert clean.is_valid, clean.render("en")


def _a11(original_trigger: str) -> str:
    message = as_event(ADT_A01, "A11", "ADT_A09")
    for name in ("ROL", "ZFA", "ZFP", "ZFV", "ZFM", "ZFD"):
        message = without_segment(message, name)
    return with_value(with_value(message, "ZBE-4", "CANCEL"), "ZBE-6", original_trigger)


def test_cancellation_names_the_cancelled_trigger() -> None:
    outcome, found = findings_of(_a11("A01"))
    assert outcome.is_valid, outcome.render("en")
    outcome, found = findings_of(_a11("A02"))
    assert ("pam-fr-zbe-original-trigger", "ZBE-6", "error") in found, outcome.render("en")


def test_z99_update_requires_original_trigger() -> None:
    z99 = with_value(as_event(ADT_A01, "Z99", "ADT_A01"), "ZBE-4", "UPDATE")
    outcome, found = findings_of(z99)
    assert ("hl7v2-usage-R", "ZBE-6", "error") in found, outcome.render("en")
    outcome, found = findings_of(with_value(with_value(z99, "ZBE-6", "A01"), "ZBE-9", "C"))
    assert outcome.is_valid, outcome.render("en")
    outcome, found = findings_of(with_value(with_value(z99, "ZBE-6", "A02"), "ZBE-9", "C"))
    assert ("pam-fr-zbe-nature-c", "ZBE-9", "error") in found, outcome.render("en")


def test_trusted_person_only_in_iti31() -> None:
    nk1 = "NK1|1|PAT^CONFIANCE^^^^^L|FRI^Ami^HL70063||||K"
    a28 = without_segment(with_segment(as_event(ADT_A01, "A28", "ADT_A05"), "ROL", nk1), "ZBE")
    outcome, found = findings_of(a28)
    assert ("pam-fr-nk1-trusted-person", "NK1-7.1", "error") in found, outcome.render("en")
    outcome, found = findings_of(with_segment(ADT_A01, "ROL", nk1))
    assert outcome.is_valid, outcome.render("en")
    a03 = as_event(without_segment(without_segment(without_segment(ADT_A01, "ZFA"), "ZFP"), "ZFD"), "A03", "ADT_A03")
    outcome, found = findings_of(with_value(a03, "PV1-41", "D"))
    assert outcome.is_valid, outcome.render("en")


def test_charset_mismatch_is_reported_on_bytes() -> None:
    latin = with_value(ADT_A01, "PID-5.1", "PÉRIER").encode("iso-8859-15")
    outcome, found = findings_of(latin)
    assert ("hl7v2-charset", "MSH-18", "error") in found
    declared = with_value(with_value(ADT_A01, "PID-5.1", "PÉRIER"), "MSH-18", "8859/15")
    outcome, found = findings_of(declared.encode("iso-8859-15"))
    assert outcome.is_valid, outcome.render("en")


def test_unreadable_message_is_fatal_not_a_crash() -> None:
    outcome, _ = findings_of("PID|1||x\r")
    assert [f.rule for f in outcome.findings] == ["hl7v2-parse"]
    assert not outcome.is_valid


def test_unknown_profile_is_reported() -> None:
    outcome = validate_message(ADT_A01, "no-such-profile")
    assert [f.rule for f in outcome.findings] == ["hl7v2-profile-error"]


# ----------------------------------------------------------------------------------------------- CI-SIS


@pytest.fixture(scope="module")
def mdm(hl7v2_samples: Path) -> str:
    return (hl7v2_samples / MDM_SAMPLE).read_bytes().decode("utf-8").replace("\r\n", "\r").replace("\n", "\r")


def _replace_segment(message: str, start: str, new: str) -> str:
    lines = message.replace("\n", "\r").rstrip("\r").split("\r")
    return "\r".join(new if line.startswith(start) else line for line in lines) + "\r"


CISIS_VARIANTS = [
    ("ORC-1 vs T02", lambda m: with_value(m, "ORC-1", "RO"), "cisis-action-consistency", "ORC-1"),
    ("OBX-11 vs T02", lambda m: with_value(m, "OBX-11", "C"), "cisis-action-consistency", "OBX-11"),
    ("OBX-5.4", lambda m: with_value(m, "OBX-5.4", "Hex"), "cisis-obx5-encoding", "OBX-5.4"),
    ("OBX-5.3", lambda m: with_value(m, "OBX-5.3", "PDF"), "cisis-obx5-subtype", "OBX-5.3"),
    ("base64", lambda m: with_value(m, "OBX-5.5", "***"), "cisis-document-base64", "OBX-5.5"),
    ("not a CDA", lambda m: with_value(m, "OBX-5.5", "SGVsbG8="), "cisis-document-not-cda", "OBX-5.5"),
    ("OBX-3 vs OBR-4", lambda m: with_value(m, "OBX-3.1", "11502-2"), "cisis-obx3-obr4", "OBX-3.1"),
    ("metadata missing", lambda m: _replace_segment(m, "OBX|7|", "NTE|1"), "cisis-metadata-missing", "OBX"),
    ("metadata value", lambda m: with_value(m, "OBX[2]-5.1", "X"), "cisis-metadata-value", "OBX[2]-5.1"),
    ("metadata type", lambda m: with_value(m, "OBX[2]-2", "ST"), "cisis-metadata-type", "OBX[2]-2"),
    (
        "metadata order",
        lambda m: with_value(with_value(m, "OBX[2]-3.1", "DESTDMP"), "OBX[7]-3.1", "MASQUE_PS"),
        "cisis-metadata-order",
        "OBX[7]-3.1",
    ),
    ("sender PRT", lambda m: _replace_segment(m, "PRT||UC||SB", "NTE|1"), "cisis-prt-sender", "PRT"),
    ("MSH-21 volet", lambda m: with_value(m, "MSH-21.2", "OTHER_VOLET"), "cisis-msh21", "MSH-21.2"),
    ("MSH-12 MDM", lambda m: with_value(m, "MSH-12", "2.5"), "hl7v2-fixed-value", "MSH-12.1"),
    (
        "TXA-13 on T10",
        lambda m: as_event(with_value(with_value(m, "ORC-1", "RO"), "OBX-11", "C"), "T10", "MDM_T02"),
        "hl7v2-usage-R",
        "TXA-13",
    ),
    ("TXA-17", lambda m: with_value(m, "TXA-17", "LA"), "hl7v2-fixed-value", "TXA-17"),
]


def test_the_reference_mdm_is_valid(mdm: str) -> None:
    outcome, _ = findings_of(mdm)
    assert outcome.is_valid, outcome.render("en")
    assert outcome.details["profile"] == "cisis-cda-hl7v2-2.1#MDM^T02"


@pytest.mark.parametrize(
    ("mutate", "rule", "location"), [v[1:] for v in CISIS_VARIANTS], ids=[v[0] for v in CISIS_VARIANTS]
)
def test_cisis_rule_variant(mdm: str, mutate, rule: str, location: str) -> None:
    outcome, found = findings_of(mutate(mdm))
    assert (rule, location, "error") in found, outcome.render("en")


def test_older_volet_version_only_warns_on_version_specific_rules(mdm: str) -> None:
    legacy = with_value(with_value(mdm, "MSH-21.1", "2.0"), "TXA-17", "LA")
    outcome, found = findings_of(legacy)
    assert ("cisis-volet-version", "MSH-21", "warning") in found
    assert ("hl7v2-fixed-value", "TXA-17", "warning") in found
    assert outcome.is_valid, outcome.render("en")
