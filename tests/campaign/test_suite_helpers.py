"""The suites' HL7 v2 helpers: a validator failure surfaces as a harness error, and the run's language reaches
the acknowledgements the harness writes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.campaign import validators
from conformance.campaign.hl7v2 import Hl7v2Helpers, make_ack
from conformance.config import Hl7v2Config
from conformance.findings import Outcome, finding
from conformance.reference.pam import PamMessageFactory
from conformance.reference.test_data import build_test_data
from conformance.validation import hl7v2
from conformance.validation.hl7v2.er7 import parse

ADT_A01 = (
    "MSH|^~\\&|SENDER|FAC|SUT|SUT|20260101120000||ADT^A01^ADT_A01|MSG0001|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8\r"
    "PID|1||IPP1^^^FAC&1.2.3&ISO^PI\r"
)
PROBLEM = finding("error", "value", "hl7v2-table-value", "PID-8", "Sexe inconnu", "Unknown sex", source="hl7v2")


def test_a_type_error_inside_the_validator_is_not_retried_without_its_options(monkeypatch) -> None:
    calls: list[bool] = []

    def failing_once(message, profile=None, lang="fr", *, check_cda=True, **_):
        calls.append(check_cda)
        if len(calls) == 1:
            raise TypeError("a bug inside the validator")
        return Outcome(subject="message", kind="hl7v2")

    monkeypatch.setattr(hl7v2, "validate_message", failing_once)
    with pytest.raises(TypeError, match="a bug inside the validator"):
        validators.validate_hl7v2(ADT_A01, "fr", check_cda=False)
    assert calls == [False]  # one call, with the caller's options: never a silent second run with others


def test_validate_hl7v2_judges_a_conformant_message_valid() -> None:
    outcome = validators.validate_hl7v2(PamMessageFactory(build_test_data()).a01(), "fr", check_cda=False)
    assert outcome.kind == "hl7v2" and outcome.is_valid, [f.render() for f in outcome.errors]


@pytest.mark.parametrize(("lang", "expected"), [("fr", "Sexe inconnu"), ("en", "Unknown sex")])
def test_make_ack_writes_err_in_the_requested_language(lang: str, expected: str) -> None:
    err = parse(make_ack(ADT_A01, "AE", [PROBLEM], lang=lang)).first("ERR")
    assert err is not None and expected in err.field(8)


@pytest.mark.parametrize(
    ("lang", "expected", "other"), [("fr", "Sexe inconnu", "Unknown sex"), ("en", "Unknown sex", "Sexe inconnu")]
)
def test_the_hl7v2_fixture_acknowledges_in_the_run_language(lang: str, expected: str, other: str) -> None:
    state = SimpleNamespace(lang=lang, config=SimpleNamespace(hl7v2=Hl7v2Config()))
    err = parse(Hl7v2Helpers(state).make_ack(ADT_A01, "AE", [PROBLEM])).first("ERR")
    assert err is not None and expected in err.field(8) and other not in err.field(8)
