"""Patterns from user-supplied profiles run under a deadline: a catastrophic `matches('^(a+)+$')` or an
ElementDefinition regex on a crafted value is "not evaluated: time limit", never a pass, a fail or a hang
(real validator, real FHIR packages)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.validation import patterns
from conformance.validation.fhir.fhirpath import ExpressionCache

EVIL = "a" * 60 + "!"
EVIL_PATTERN = "^(a|aa)+$"  # exponential on backtracking engines, `regex` included: only the deadline ends it
CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def test_catastrophic_pattern_times_out_instead_of_running_a_minute() -> None:
    started = time.monotonic()
    with pytest.raises(patterns.PatternTimeout) as timed_out:
        patterns.search(EVIL_PATTERN, EVIL)
    assert time.monotonic() - started < 30  # the deadline is half a second; a backtracking engine takes a minute
    assert "not evaluated: time limit" in str(timed_out.value)
    assert patterns.search("^(a+)+$", "aaaa") and not patterns.fullmatch("[0-9]+", "12a")
    assert not patterns.search("^(a+)+$", "a" * 31 + "!")  # the reported case: answered at once


def test_fhirpath_matches_past_the_deadline_is_not_evaluated() -> None:
    cache = ExpressionCache()
    expression = f"value.matches('{EVIL_PATTERN}')"
    resource = {"resourceType": "Basic", "id": "x"}
    item = {"value": EVIL}
    assert cache.evaluate_full(expression, item, resource, resource) is None
    assert "time limit" in (cache.error(expression) or "")
    assert cache.evaluate_full("value.matches('^a+!$')", item, resource, resource) is True
    assert cache.evaluate_full(f"value.replaceMatches('{EVIL_PATTERN}', 'x') = 'y'", item, resource, resource) is None


def _evil_profile(tmp_path: Path) -> tuple[Path, str]:
    """The base Patient with a catastrophic invariant on gender and a catastrophic regex on birthDate."""
    base = (
        Path.home() / ".fhir" / "packages" / "hl7.fhir.r4.core#4.0.1" / "package" / "StructureDefinition-Patient.json"
    )
    if not base.is_file():
        pytest.skip("hl7.fhir.r4.core#4.0.1 not in the package cache")
    profile = json.loads(base.read_text(encoding="utf-8"))
    url = "https://example.invalid/StructureDefinition/evil-patient"
    profile.update(url=url, id="evil-patient", name="EvilPatient", derivation="constraint",
                   baseDefinition="http://hl7.org/fhir/StructureDefinition/Patient")  # fmt: skip
    profile.pop("differential", None)
    for element in profile["snapshot"]["element"]:
        if element["path"] == "Patient.gender":
            element.setdefault("constraint", []).append(
                {
                    "key": "evil-1",
                    "severity": "error",
                    "human": "catastrophic",
                    "expression": f"$this.matches('{EVIL_PATTERN}')",
                }
            )
        if element["path"] == "Patient.name":
            element.setdefault("constraint", []).append(
                {"key": "evil-2", "severity": "error", "human": "catastrophic",
                 "expression": f"family.matches('{EVIL_PATTERN}') or family.replaceMatches('{EVIL_PATTERN}', 'x') = 'y'"}
            )  # fmt: skip
    path = tmp_path / "evil-profile.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path, url


def test_catastrophic_profile_constraints_are_not_evaluated_not_failed(tmp_path: Path) -> None:
    profile, url = _evil_profile(tmp_path)
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps({"resourceType": "Patient", "gender": "male", "name": [{"family": EVIL}]}))
    done = subprocess.run(
        [CONFORMANCE, "validate", str(patient), "--ig", str(profile), "--profile", url, "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-2000:]
    outcome = json.loads(done.stdout)
    failed = {key for i in outcome.get("issue", []) if i["severity"] in ("error", "fatal")
              for key in ("evil-1", "evil-2") if key in json.dumps(i)}  # fmt: skip
    assert failed == {"evil-1"}  # 'male' answers at once and does not match: a real fail; evil-2 is no verdict
    assert "constraint-not-evaluated-time-limit" in done.stdout and "non évaluée" in done.stdout
