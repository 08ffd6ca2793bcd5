"""A campaign's FHIR findings say where they are in the response body the harness recorded (line and column,
as the HL7 Java validator gives them for a file), so a reviewer opens the evidence file at the defect."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cli_runner import conformance

from conformance.campaign.validators import CampaignFhirValidator
from conformance.evidence.exchange import HttpExchange, HttpRequestRecord, HttpResponseRecord
from conformance.evidence.recorder import EvidenceRecorder
from conformance.findings import Finding, Outcome, Severity


def _value_at(text: str, line: int, column: int) -> Any:
    """The JSON value at line:column (at a member name: the member's value)."""
    offset = sum(len(item) for item in text.splitlines(keepends=True)[: line - 1]) + column - 1
    decoder = json.JSONDecoder()
    value, end = decoder.raw_decode(text, offset)
    colon = re.compile(r"\s*:\s*").match(text, end)
    if isinstance(value, str) and colon:
        value, _ = decoder.raw_decode(text, colon.end())
    return value


def _element(resource: dict, location: str) -> Any:
    """The element a FHIRPath like `Patient.name[0]` names (the deepest one present)."""
    value: Any = resource
    for part in location.split(".")[1:]:
        name, _, index = part.partition("[")
        if name not in value:
            break
        value = value[name]
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def test_fhir_findings_point_into_the_recorded_response_body(tmp_path: Path):
    out = tmp_path / "run"
    done = conformance(
        "run", "--reference", "--faults", "patient-profile-invalid", "--suite", "identity", "--quiet",
        "--output", out,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    test = next(t for t in results["tests"] if t["id"] == "identity/ins/patients-conform")
    assert test["outcome"] == "failed"
    fhir = [f for f in test["findings"] if f.get("source") == "fhir"]
    assert len({f["resource"] for f in fhir}) == 2, fhir  # both configured patients judged
    for finding in fhir:
        assert finding.get("line") and finding.get("column"), finding
        # the finding names the evidence file its line and column count in: a response body of this test
        assert finding.get("file") in test["evidence"] and finding["file"].endswith(".response.json"), finding
        text = (out / finding["file"]).read_text(encoding="utf-8")
        value = _value_at(text, finding["line"], finding["column"])
        patient_id = finding["resource"].split("/", 1)[1]
        pointed = [
            value
            for entry in json.loads(text).get("entry") or []
            if entry["resource"].get("id") == patient_id and value == _element(entry["resource"], finding["location"])
        ]
        assert pointed, finding  # line:column of that file is the very element the finding is about
    report = (out / "report.html").read_text(encoding="utf-8")
    assert f"{fhir[0]['file']}, ligne {fhir[0]['line']}, colonne {fhir[0]['column']}" in report


def test_a_pseudonymised_body_still_locates_the_resource_by_type_and_id(tmp_path: Path):
    """With pseudonymisation on, the recorded body no longer holds the values the validator judged: the
    resource is found by type and id, and the line points at its element in the recorded file."""
    served = {"resourceType": "Patient", "id": "p1", "name": [{"family": "DURAND"}], "gender": "female"}
    recorded = {**served, "name": [{"family": "PSEUDO-7F3A"}]}
    body = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": recorded}]}, indent=1)
    recorder = EvidenceRecorder(tmp_path, redact_logs=False)
    recorder.begin_test("t/g/x")
    now = datetime.now(UTC)
    response = HttpResponseRecord(200, "OK", {"Content-Type": "application/fhir+json"}, body.encode())
    recorder.record(HttpExchange(HttpRequestRecord("GET", "http://127.0.0.1/fhir/Patient", {}), response, now, now))

    class Judge:
        def validate(self, resource, profiles=(), lang="fr"):
            return Outcome(
                "resource", "fhir", [Finding(Severity.ERROR, "invalid", "r", "Patient.name[0].family", "m", "m")]
            )

    state = SimpleNamespace(current=SimpleNamespace(id="t/g/x"), recorder=recorder, run_dir=tmp_path)
    outcome = CampaignFhirValidator(Judge(), state).validate(served)
    finding = outcome.findings[0]
    assert finding.resource == "Patient/p1"
    assert finding.file == outcome.details["evidence_body"]
    text = (tmp_path / finding.file).read_text(encoding="utf-8")
    assert _value_at(text, finding.line, finding.column) == "PSEUDO-7F3A"
