"""Acknowledgements: make_ack builds them per HL7 v2.5 §2.9; check_ack judges each rule with a failing variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import finding
from conformance.validation.hl7v2 import check_ack, make_ack, validate_message
from conformance.validation.hl7v2.er7 import parse

from .conftest import ADT_A01, with_value


def rules(outcome) -> set[tuple[str, str, str]]:
    return {(f.rule, f.location, f.severity.value) for f in outcome.findings}


def test_make_ack_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    ack = parse(make_ack(ADT_A01))
    sent = parse(ADT_A01)
    assert [ack.msh.field(n) for n in (3, 4, 5, 6)] == [sent.msh.field(n) for n in (5, 6, 3, 4)]
    assert ack.message_type == ("ACK", "A01", "ACK")
    assert ack.msh.field(12) == "2.5^FRA^2.11" and ack.msh.field(18) == "UNICODE UTF-8"
    assert ack.first("MSA").field(1) == "AA" and ack.first("MSA").field(2) == "3975"
    assert ack.control_id and ack.control_id != sent.control_id
    assert ack.all("ERR") == []


def test_make_ack_locates_each_fault_in_err() -> None:
    outcome = validate_message(with_value(with_value(ADT_A01, "PID-8", "X"), "PID-3[2].4.2", "1.2.3"))
    ack = make_ack(ADT_A01, "AE", outcome.findings, lang="en")
    errs = parse(ack).all("ERR")
    locations = {err.field(2) for err in errs}
    assert {"PID^1^8^1", "PID^1^3^2^4^2"} <= locations
    table_error = next(err for err in errs if err.field(2) == "PID^1^8^1")
    assert table_error.field(3).startswith("103^Table value not found")
    assert table_error.field(4) == "E"
    assert "hl7v2-table-value" in table_error.field(8)


def test_make_ack_escapes_delimiters_in_texts() -> None:
    problem = finding("error", "value", "x-rule", "PID-5", "a|b^c~d&e", "a|b^c~d&e", source="hl7v2")
    ack = make_ack(ADT_A01, "AR", [problem])
    err = parse(ack).first("ERR")
    assert err.field(8) == "[x-rule] a\\F\\b\\S\\c\\R\\d\\T\\e"


def test_make_ack_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError):
        make_ack(ADT_A01, "OK")


def test_a_good_ack_passes() -> None:
    outcome = check_ack(ADT_A01, make_ack(ADT_A01))
    assert outcome.is_valid, outcome.render("en")
    assert outcome.details["code"] == "AA" and outcome.details["mode"] == "original"


ACK_VARIANTS = [
    ("rejected", lambda ack: with_value(ack, "MSA-1", "AR"), "hl7v2-ack-rejected", "MSA-1", "error"),
    ("control id", lambda ack: with_value(ack, "MSA-2", "9999"), "hl7v2-ack-control-id", "MSA-2", "error"),
    ("not swapped", lambda ack: with_value(ack, "MSH-3", "GAM"), "hl7v2-ack-swap", "MSH-3", "error"),
    ("enhanced code in original mode", lambda ack: with_value(ack, "MSA-1", "CA"), "hl7v2-ack-mode", "MSA-1", "error"),
    ("unknown code", lambda ack: with_value(ack, "MSA-1", "OK"), "hl7v2-ack-code", "MSA-1", "error"),
    ("not an ACK", lambda ack: with_value(ack, "MSH-9.1", "ADT"), "hl7v2-ack-type", "MSH-9.1", "error"),
    ("AE without ERR", lambda ack: with_value(ack, "MSA-1", "AE"), "hl7v2-ack-err", "ERR", "warning"),
    (
        "ERR without location",
        lambda ack: with_value(ack, "MSA-1", "AE") + "ERR|||207^Application error^HL70357|E\r",
        "hl7v2-ack-err-location",
        "ERR-2",
        "warning",
    ),
    (
        "ERR bad location",
        lambda ack: with_value(ack, "MSA-1", "AE") + "ERR||field 8|207^x^HL70357|E\r",
        "hl7v2-ack-err-location",
        "ERR-2",
        "warning",
    ),
    (
        "ERR-4 missing",
        lambda ack: with_value(ack, "MSA-1", "AE") + "ERR||PID^1^8|207^x^HL70357\r",
        "hl7v2-usage-R",
        "ERR-4",
        "error",
    ),
]


@pytest.mark.parametrize(("mutate", "rule", "location", "severity"), [v[1:] for v in ACK_VARIANTS],
                         ids=[v[0] for v in ACK_VARIANTS])  # fmt: skip
def test_ack_rule_variant(mutate, rule: str, location: str, severity: str) -> None:
    outcome = check_ack(ADT_A01, mutate(make_ack(ADT_A01)), expected={"AA"})
    assert (rule, location, severity) in rules(outcome), outcome.render("en")


def test_missing_msa_is_an_error() -> None:
    ack = make_ack(ADT_A01).split("\r")[0] + "\r"
    assert ("hl7v2-ack-msa", "MSA", "error") in rules(check_ack(ADT_A01, ack))


def test_enhanced_mode_accepts_commit_acknowledgements() -> None:
    enhanced = with_value(with_value(ADT_A01, "MSH-15", "AL"), "MSH-16", "NE")
    outcome = check_ack(enhanced, make_ack(enhanced, "CA"))
    assert outcome.is_valid and outcome.details["mode"] == "enhanced", outcome.render("en")
    rejected = check_ack(enhanced, make_ack(enhanced, "CR"))
    assert ("hl7v2-ack-rejected", "MSA-1", "error") in rules(rejected)


def test_expected_codes_are_configurable() -> None:
    ae = make_ack(ADT_A01, "AE", validate_message(with_value(ADT_A01, "PID-8", "X")).findings)
    assert check_ack(ADT_A01, ae, expected={"AE", "AR"}).is_valid
    refused = check_ack(ADT_A01, ae)
    item = next(f for f in refused.findings if f.rule == "hl7v2-ack-rejected")
    assert "PID^1^8^1" in item.message_en  # the ERR explanation is carried into the finding


def test_garbage_ack_is_reported() -> None:
    assert [f.rule for f in check_ack(ADT_A01, "hello").findings] == ["hl7v2-ack-parse"]


@pytest.mark.parametrize(
    ("folder", "defects"),
    [
        ("Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/MDM/Remplacement MDM", set()),
        # Sample defect: this ACK names PFI-X as its sender, while the MDM it acknowledges went to PFI-Y.
        ("Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/MDM/Suppression MDM",
         {("hl7v2-ack-swap", "MSH-3")}),
        ("Volets/TRANS_DOC_CDA_HL7V2/V2.1/ORU/Remplacement ORU", set()),
    ],
)  # fmt: skip
def test_sample_acks_acknowledge_their_messages(hl7v2_samples: Path, folder: str, defects: set) -> None:
    path = hl7v2_samples / folder
    message = next(p for p in path.iterdir() if p.name.startswith("message_") and "Base64" not in p.name)
    ack = (path / "ack.er7").read_bytes().decode("utf-8")
    outcome = check_ack(message.read_bytes().decode("utf-8"), ack)
    assert {(f.rule, f.location) for f in outcome.errors} == defects, outcome.render("en")
    assert outcome.details["profile"].startswith("cisis-cda-hl7v2-2.1#ACK")
