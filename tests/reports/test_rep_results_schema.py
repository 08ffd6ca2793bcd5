"""results.json validates against its published JSON Schema (complete and partial runs)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from support.sample import fabricate_run

from conformance.reports import write_partial
from conformance.reports.results_json import SCHEMA_FILE, SCHEMA_VERSION, load_schema

jsonschema = pytest.importorskip("jsonschema")


def _validator() -> object:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schema_file_is_shipped_and_versioned() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$id"].endswith(f"results-{SCHEMA_VERSION}.schema.json")


def test_complete_run_validates(run_folder: Path) -> None:
    results = json.loads((run_folder / "results.json").read_text())
    _validator().validate(results)
    assert results["complete"] is True and results["schema_version"] == SCHEMA_VERSION
    assert results["summary"] == {
        "total": 10,
        "passed": 5,
        "failed": 2,
        "warning": 0,
        "error": 1,
        "skipped": 2,
        "not_applicable": 0,
    }
    assert results["verdict"] == "not_met"
    assert {t["outcome"] for t in results["tests"]} == {"passed", "failed", "error", "skipped"}
    assert all(t["evidence"] for t in results["tests"] if t["outcome"] in ("passed", "failed", "error"))
    for test in results["tests"]:
        for path in test["evidence"]:
            assert (run_folder / path).is_file(), path


def test_partial_run_validates_and_says_incomplete(tmp_path: Path) -> None:
    run, _ = fabricate_run(tmp_path, complete=False)
    write_partial(tmp_path, run)
    results = json.loads((tmp_path / "results.json").read_text())
    _validator().validate(results)
    assert results["complete"] is False


def test_schema_rejects_malformed_results(run_folder: Path) -> None:
    """The control: the schema really constrains the document."""
    results = json.loads((run_folder / "results.json").read_text())
    validator = _validator()
    for mutate in (
        lambda r: r["tests"][0].__setitem__("outcome", "maybe"),
        lambda r: r.pop("complete"),
        lambda r: r["tests"][0].__setitem__("evidence", ["/etc/passwd"]),
        lambda r: r["indicators"][0].__setitem__("status", "great"),
        lambda r: r["summary"].__setitem__("passed", -1),
    ):
        broken = copy.deepcopy(results)
        mutate(broken)
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
