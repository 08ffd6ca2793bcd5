"""The common finding shape: what every validator and suite hands to the reports."""

from __future__ import annotations

from conformance.findings import Finding, Outcome, Severity, finding


def _ins_missing() -> Finding:
    return finding(
        "error",
        "invariant",
        "fr-core-1",
        "Patient.identifier",
        "L'INS est obligatoire pour une identité qualifiée",
        "The INS is required for a qualified identity",
        source="fhir",
        profile="https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins",
    )


def test_issue_has_the_reference_validator_shape() -> None:
    issue = _ins_missing().to_issue("en")
    assert issue["severity"] == "error"
    assert issue["code"] == "invariant"
    assert issue["expression"] == ["Patient.identifier"]
    assert issue["details"]["text"] == "The INS is required for a qualified identity"
    message_ids = [e["valueString"] for e in issue["extension"] if e["url"].endswith("operationoutcome-message-id")]
    assert message_ids == ["fr-core-1"]


def test_messages_default_to_french() -> None:
    assert _ins_missing().message() == "L'INS est obligatoire pour une identité qualifiée"
    assert "qualifiée" in Outcome("p", "fhir", [_ins_missing()]).to_operation_outcome()["issue"][0]["details"]["text"]


def test_outcome_validity_follows_error_and_fatal_only() -> None:
    warning = finding("warning", "code-invalid", "tx", "Patient.gender", "avertissement", "warning")
    assert Outcome("w", "fhir", [warning]).is_valid
    assert not Outcome("e", "fhir", [warning, _ins_missing()]).is_valid
    fatal = finding("fatal", "structure", "json", "", "JSON illisible", "unreadable JSON")
    assert not Outcome("f", "fhir", [fatal]).is_valid


def test_operation_outcome_lists_worst_first_and_is_never_empty() -> None:
    info = finding("information", "informational", "tx-unknown-vs", "Patient.address", "jeu inconnu", "unknown VS")
    outcome = Outcome("p", "fhir", [info, _ins_missing()])
    severities = [i["severity"] for i in outcome.to_operation_outcome()["issue"]]
    assert severities == ["error", "information"]
    assert Outcome("ok", "fhir").to_operation_outcome()["issue"][0]["severity"] == "information"


def test_finding_round_trips_through_dict() -> None:
    original = _ins_missing()
    assert Finding.from_dict(original.to_dict()) == original
    assert Severity("fatal").rank > Severity("error").rank > Severity("warning").rank
