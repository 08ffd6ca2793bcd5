"""The SDK's checks: one line each, every failed check kept, findings per resource, validators filtered."""

from __future__ import annotations

import pytest

from conformance.findings import Outcome, Severity, finding
from conformance.sdk import (
    SHALL,
    SHOULD,
    ConformanceFailure,
    RuleError,
    RuleSet,
    expect,
    expect_valid,
    fail,
    findings_of,
    report,
    require,
    resource,
    verdict,
)

rules = RuleSet("sdk-tests")
STATUS = rules.rule(
    "sdk-test-status",
    "fhir-r4.http.status",
    SHALL,
    fr="{ref} au statut « {status} » au lieu de current",
    en="{ref} has status '{status}' instead of current",
    code="value",
)
URL = rules.rule("sdk-test-url", "fhir-r4.http.status", SHALL, fr="{ref} : url absente", en="{ref}: url missing")
ETAG = rules.rule("sdk-test-etag", "fhir-r4.read.etag", SHOULD, fr="ETag absent", en="ETag missing")


def test_expect_outside_a_verdict_raises_the_rules_finding():
    with pytest.raises(ConformanceFailure) as caught:
        expect(False, STATUS, "DocumentReference.status", ref="DocumentReference/1", status="superseded")
    (item,) = caught.value.findings
    assert item.rule == "sdk-test-status" and item.code == "value" and item.source == "suite"
    assert item.severity is Severity.ERROR and item.location == "DocumentReference.status"
    assert item.message_fr == "DocumentReference/1 au statut « superseded » au lieu de current"
    assert item.message_en == "DocumentReference/1 has status 'superseded' instead of current"
    assert caught.value.message("fr") == item.message_fr


def test_a_passing_expect_returns_true_and_records_nothing():
    with verdict() as scope:
        assert expect(True, STATUS, "", ref="x", status="current") is True
    assert scope.findings == []


def test_every_failed_expect_is_kept_and_the_block_fails_at_its_end():
    reached = []
    with pytest.raises(ConformanceFailure) as caught, verdict():
        assert expect(False, STATUS, "", ref="A", status="entered-in-error") is False
        reached.append("after first")
        expect(False, ETAG, "ETag")
        reached.append("after second")
    assert reached == ["after first", "after second"]
    assert [f.rule for f in caught.value.findings] == ["sdk-test-status", "sdk-test-etag"]
    assert caught.value.findings[1].severity is Severity.WARNING  # a SHOULD's finding is a warning


def test_one_bad_resource_never_hides_another():
    documents = [{"id": "1", "status": "superseded"}, {"id": "2", "status": "current"}, {"id": "3", "status": "x"}]
    judged = []
    with pytest.raises(ConformanceFailure) as caught, verdict():
        for doc in documents:
            with resource("DocumentReference", doc["id"]):
                require(doc["id"] != "1", URL, "content[0].attachment.url", ref=f"DocumentReference/{doc['id']}")
                expect(doc["status"] == "current", STATUS, "status", ref=doc["id"], status=doc["status"])
                judged.append(doc["id"])
    assert judged == ["2", "3"]  # the first stopped at its require; the others were judged
    assert [(f.resource, f.rule) for f in caught.value.findings] == [
        ("DocumentReference/1", "sdk-test-url"),
        ("DocumentReference/3", "sdk-test-status"),
    ]
    assert "DocumentReference/1" in caught.value.message("en")


def test_require_returns_the_value_and_stops_the_test_outside_a_resource():
    reached = []
    with pytest.raises(ConformanceFailure) as caught, verdict():
        assert require("http://x", URL, "", ref="a") == "http://x"
        expect(False, ETAG, "ETag")
        require(None, URL, "url", ref="b")
        reached.append("never")
    assert reached == []
    assert [f.rule for f in caught.value.findings] == ["sdk-test-etag", "sdk-test-url"]


def test_fail_outside_a_verdict_raises():
    with pytest.raises(ConformanceFailure):
        fail(URL, "url", ref="a")


def test_wrong_values_are_a_harness_error_even_when_the_check_passes():
    with pytest.raises(RuleError, match="missing"):
        expect(True, STATUS, "", ref="x")
    with pytest.raises(RuleError, match="unexpected"):
        expect(True, URL, "", ref="x", extra=1)


def test_rule_templates_must_have_the_same_parameters():
    with pytest.raises(RuleError, match="French parameters"):
        RuleSet("bad").rule("sdk-test-bad", "fhir-r4.http.status", SHALL, fr="{a} {b}", en="{a}")
    with pytest.raises(RuleError, match="positional"):
        RuleSet("bad").rule("sdk-test-positional", "fhir-r4.http.status", SHALL, fr="{}", en="{}")
    with pytest.raises(RuleError, match="twice"):
        RuleSet("bad").rule("sdk-test-url", "other.requirement", SHALL, fr="x", en="x")


def _outcome(subject: str, *rules_and_severities: tuple[str, str]) -> Outcome:
    outcome = Outcome(subject, "hl7v2")
    for rule, severity in rules_and_severities:
        outcome.add(finding(severity, "value", rule, "PID-3", f"fr {rule}", f"en {rule}", source="hl7v2"))
    return outcome


def test_findings_of_filters_validator_outcomes_by_rule_id():
    outcomes = [
        _outcome("message 1", ("pam-fr-ins-oid", "error"), ("pam-fr-zbe-action", "error")),
        _outcome("message 2", ("pam-fr-ins-cx7", "warning"), ("pam-fr-ins-qualified", "error")),
    ]
    ins = findings_of(outcomes, "pam-fr-ins-*")
    assert [(f.resource, f.rule) for f in ins] == [
        ("message 1", "pam-fr-ins-oid"),
        ("message 2", "pam-fr-ins-qualified"),  # warnings are not failures
    ]
    assert [f.rule for f in findings_of(outcomes, "pam-fr-ins-oid")] == ["pam-fr-ins-oid"]
    assert [f.rule for f in findings_of(outcomes, exclude=["pam-fr-ins-*"])] == ["pam-fr-zbe-action"]


def test_expect_valid_passes_on_warnings_and_raises_outside_a_verdict():
    assert expect_valid(_outcome("message 1", ("pam-fr-ins-cx7", "warning"))) is True
    assert report([]) is True
    with pytest.raises(ConformanceFailure) as caught:
        expect_valid(_outcome("message 2", ("pam-fr-zbe-action", "error")))
    assert caught.value.findings[0].resource == "message 2"


def test_expect_valid_excludes_the_rules_another_test_owns():
    broken = _outcome("message 2", ("pam-fr-ins-oid", "error"), ("pam-fr-zbe-action", "error"))
    with pytest.raises(ConformanceFailure) as caught, verdict():
        assert expect_valid(broken, exclude=["pam-fr-ins-*"]) is False
    assert [(f.resource, f.rule) for f in caught.value.findings] == [("message 2", "pam-fr-zbe-action")]
    with verdict():
        assert expect_valid(broken, exclude=["pam-fr-ins-oid", "pam-fr-zbe-*"]) is True


def test_a_value_can_read_differently_in_each_language():
    from conformance.sdk import Text

    with pytest.raises(ConformanceFailure) as caught:
        expect(False, URL, "", ref=Text("le document", "the document"))
    assert caught.value.findings[0].message_fr == "le document : url absente"
    assert caught.value.findings[0].message_en == "the document: url missing"
