"""Floor on the agreement with the HL7 Java validator over the development cases of its test corpus.

The figure is measured by tools/bench_agreement.py (`make agreement`); this test keeps it from sliding back.
Raise the floors when the validator improves.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
AGREEMENT_FLOOR = 0.96
VALID_CALLED_INVALID_CEILING = 0.05


def _harness() -> Any:
    spec = importlib.util.spec_from_file_location("bench_agreement", TOOLS / "bench_agreement.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_agreement", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_agreement_with_the_reference_validator_stays_above_its_floor() -> None:
    harness = _harness()
    if not (harness.corpus_dir() / "index.json").is_file():
        pytest.skip("fhir-test-cases-dev not found (HOPEN_SHARED_DIR)")
    results = harness.run_all()
    summary = harness.summarise(results)
    assert summary["harness_errors"] == 0, [r.error for r in results if r.error][:3]
    assert summary["agreement"] >= AGREEMENT_FLOOR, summary
    assert summary["valid_called_invalid"] <= VALID_CALLED_INVALID_CEILING, summary


def test_summary_counts_verdicts_and_locations_as_the_reference_runner_does() -> None:
    harness = _harness()
    case = harness.CaseResult
    results = [
        case("a", "m", True, True, [], []),
        case("b", "m", False, False, ["Patient.name"], ["Patient.name", "Patient.id"]),
        case("c", "m", False, True, ["Patient.gender"], []),
        case("d", "m", True, False, [], ["Patient"]),
    ]
    summary = harness.summarise(results)
    assert summary["agreement"] == 0.5
    assert summary["precision_invalid"] == 0.5
    assert summary["recall_invalid"] == 0.5
    assert summary["valid_called_invalid"] == 0.5
    assert summary["error_locations_found"] == 0.5
