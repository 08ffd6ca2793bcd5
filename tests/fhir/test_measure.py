"""MeasureReport against its Measure (SHALL, as the reference validator checks it): measureScore prohibited for
cohort scoring, required and within 0..1 for proportion; groups and populations matched by code; subjects
listed only in subject-list reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_helpers import rules, validate_with

POP = "http://terminology.hl7.org/CodeSystem/measure-population"
SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
MEASURE_URL = "http://example.org/fhir/Measure/m1"


def _code(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _measure(scoring: str, groups: int = 1) -> dict[str, Any]:
    return {
        "resourceType": "Measure",
        "id": "m1",
        "url": MEASURE_URL,
        "status": "active",
        "scoring": _code(SCORING, scoring),
        "group": [
            {
                "code": _code("http://example.org/groups", f"g{n}"),
                "population": [{"code": _code(POP, "initial-population")}],
            }
            for n in range(groups)
        ],
    }


def _report(groups: list[dict[str, Any]], report_type: str = "summary") -> dict[str, Any]:
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": report_type,
        "measure": MEASURE_URL,
        "period": {"start": "2024-01-01", "end": "2024-12-31"},
        "group": groups,
    }


def _group(n: int = 0, **extra: Any) -> dict[str, Any]:
    population = {"code": _code(POP, "initial-population"), "count": 3}
    return {"code": _code("http://example.org/groups", f"g{n}"), "population": [population], **extra}


def test_cohort_measure_has_no_score(tmp_path: Path) -> None:
    report = _report([_group(measureScore={"value": 0.5})])
    assert rules(validate_with(tmp_path, report, [_measure("cohort")])) == {"MEASURE_MR_SCORE_PROHIBITED_MS"}
    assert not rules(validate_with(tmp_path, _report([_group()]), [_measure("cohort")]))


def test_proportion_score_is_required_and_between_zero_and_one(tmp_path: Path) -> None:
    measure = _measure("proportion")
    assert rules(validate_with(tmp_path, _report([_group()]), [measure])) == {"MEASURE_MR_SCORE_REQUIRED"}
    too_big = _report([_group(measureScore={"value": 1.5})])
    assert rules(validate_with(tmp_path, too_big, [measure])) == {"MEASURE_MR_SCORE_VALUE_INVALID_01"}
    assert not rules(validate_with(tmp_path, _report([_group(measureScore={"value": 0.25})]), [measure]))


def test_groups_are_matched_by_code(tmp_path: Path) -> None:
    measure = _measure("cohort", groups=2)
    assert not rules(validate_with(tmp_path, _report([_group(0), _group(1)]), [measure]))
    found = rules(validate_with(tmp_path, _report([_group(0), _group(0)]), [measure]))
    assert found == {"MEASURE_MR_GRP_DUPL_CODE", "MEASURE_MR_GRP_MISSING_BY_CODE"}
    uncoded = _group(1)
    del uncoded["code"]
    assert "MEASURE_MR_GRP_NO_CODE" in rules(validate_with(tmp_path, _report([_group(0), uncoded]), [measure]))


def test_subjects_are_listed_only_in_subject_list_reports(tmp_path: Path) -> None:
    group = _group()
    group["population"][0]["subjectResults"] = {"reference": "List/l1"}
    found = rules(validate_with(tmp_path, _report([group]), [_measure("cohort")]))
    assert found == {"MEASURE_MR_GRP_POP_NO_SUBJECTS"}
    assert "MEASURE_MR_GRP_POP_COUNT_MISMATCH" in rules(
        validate_with(tmp_path, _report([group], "subject-list"), [_measure("cohort")])
    )
