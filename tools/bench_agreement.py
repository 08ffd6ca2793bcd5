"""FHIR validator agreement with the HL7 Java validator on the development cases of its own test corpus.

The cases (HOPEN_SHARED_DIR/fhir-test-cases-dev: instance, conformance resources, the reference's
OperationOutcome) run in-process through the path `conformance validate --ig ... --profile ...` takes.
As the reference runner, a case is "invalid" when it has at least one issue of severity error or fatal.

Figures, overall and per module: verdict agreement, precision and recall on "invalid", the share of valid
cases called invalid, and the share of the reference's error locations (`expression`) among ours.
`python tools/bench_agreement.py [-v]` prints them (`-v`: every disagreeing case); `make agreement` runs it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    shared = Path(os.environ.get("HOPEN_SHARED_DIR") or ROOT.parent / "shared")
    return shared / "fhir-test-cases-dev"


@dataclass(slots=True)
class CaseResult:
    id: str
    module: str
    expected_valid: bool
    valid: bool
    expected_locations: list[str]
    locations: list[str]
    messages: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def agrees(self) -> bool:
        return self.expected_valid == self.valid


def _normal(location: str) -> str:
    """Locations compared without array indexes on the root (the reference writes `Bundle.entry[0]...` too)."""
    return location.replace("ofType(", "").replace(")", "").strip()


def _expected_errors(case_dir: Path, case: dict[str, Any]) -> list[str]:
    outcome = json.loads((case_dir / case["expected_outcome"]).read_text(encoding="utf-8"))
    return [
        (issue.get("expression") or [""])[0]
        for issue in outcome.get("issue") or ()
        if issue.get("severity") in ("error", "fatal")
    ]


def run_case(case_dir: Path, case: dict[str, Any]) -> CaseResult:
    from conformance.validation.fhir.inputs import validate_input
    from conformance.validation.options import ValidateOptions

    profiles = [case["profile_url"]] if case.get("mode") == "profile" and case.get("profile_url") else []
    igs = [str(case_dir / name) for name in case.get("profile_files") or ()]
    options = ValidateOptions(lang="en", profiles=profiles, igs=igs)
    expected = _expected_errors(case_dir, case)
    path = case_dir / case["file"]
    try:
        outcomes = validate_input(path.read_bytes(), name=str(path), options=options)
    except Exception as exc:  # a harness must count a crash as a disagreement, not stop
        return CaseResult(case["id"], case["module"], case["expected_valid"], False, expected, [], [], repr(exc))
    errors = [f for outcome in outcomes for f in outcome.findings if f.severity.is_failure]
    return CaseResult(
        case["id"],
        case["module"],
        bool(case["expected_valid"]),
        not errors,
        expected,
        [f.location for f in errors],
        [f"{f.rule} @ {f.location}: {f.message_en}" for f in errors],
    )


def run_all(only: set[str] | None = None) -> list[CaseResult]:
    case_dir = corpus_dir()
    cases = json.loads((case_dir / "index.json").read_text(encoding="utf-8"))
    return [run_case(case_dir, case) for case in cases if not only or case["id"] in only or case["module"] in only]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    """Agreement, precision/recall on "invalid", valid cases called invalid, error locations found."""
    invalid_expected = [r for r in results if not r.expected_valid]
    invalid_called = [r for r in results if not r.valid]
    true_invalid = sum(1 for r in invalid_called if not r.expected_valid)
    valid_expected = [r for r in results if r.expected_valid]
    wanted = found = 0
    for result in invalid_expected:
        ours = {_normal(loc) for loc in result.locations}
        for location in dict.fromkeys(result.expected_locations):
            wanted += 1
            found += _normal(location) in ours
    return {
        "cases": len(results),
        "agreement": _ratio(sum(r.agrees for r in results), len(results)),
        "precision_invalid": _ratio(true_invalid, len(invalid_called)),
        "recall_invalid": _ratio(true_invalid, len(invalid_expected)),
        "valid_called_invalid": _ratio(sum(1 for r in valid_expected if not r.valid), len(valid_expected)),
        "error_locations_found": _ratio(found, wanted),
        "harness_errors": sum(1 for r in results if r.error),
    }


def per_module(results: list[CaseResult]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        groups[result.module].append(result)
    return {module: summarise(group) for module, group in sorted(groups.items())}


# ---- entry point for tools/bench.py ------------------------------------------------------------------------


def run() -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    if not (corpus_dir() / "index.json").is_file():
        return {"error": f"{corpus_dir()} not found (HOPEN_SHARED_DIR)"}
    start = time.perf_counter()
    results = run_all()
    elapsed = time.perf_counter() - start
    figures: dict[str, object] = {f"all {key}": value for key, value in summarise(results).items()}
    figures["all seconds"] = round(elapsed, 1)
    for module, summary in per_module(results).items():
        figures[f"{module} agreement ({summary['cases']} cases)"] = summary["agreement"]
        figures[f"{module} precision/recall invalid"] = f"{summary['precision_invalid']}/{summary['recall_invalid']}"
    return figures


def _main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    verbose = "-v" in argv
    only = {a for a in argv if not a.startswith("-")} or None
    results = run_all(only)
    if verbose:
        for result in results:
            if not result.agrees or result.error:
                expected = "valid" if result.expected_valid else "invalid"
                print(f"--- {result.id} [{result.module}] expected {expected}, ours {len(result.messages)} errors")
                for message in result.messages[:6]:
                    print(f"    ours: {message[:220]}")
                for location in result.expected_locations[:6]:
                    print(f"    reference error at: {location}")
                if result.error:
                    print(f"    harness: {result.error}")
    print(f"{'module':<14} {'cases':>5} {'agree':>6} {'prec':>6} {'recall':>6} {'v->inv':>6} {'locs':>6}")
    rows = {**per_module(results), "ALL": summarise(results)}
    for module, s in rows.items():
        cells = [s["agreement"], s["precision_invalid"], s["recall_invalid"], s["valid_called_invalid"]]
        cells.append(s["error_locations_found"])
        shown = " ".join(f"{'-' if c is None else format(c, '.3f'):>6}" for c in cells)
        print(f"{module:<14} {s['cases']:>5} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
