"""What a run owes, computed from its outcomes by the documented rule, never by the product's code (so that a
test comparing the two can fail): 1 when a SHALL failed, 2 when only the harness could not judge (an error,
the run is inconclusive), else 0.

    assert done.returncode == owed_exit_code(results["tests"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def owed_exit_code(tests: Iterable[Mapping[str, Any]]) -> int:
    """The exit code `conformance run` owes tests with these outcomes (results.json's "tests")."""
    outcomes = {test["outcome"] for test in tests}
    if "failed" in outcomes:
        return 1
    return 2 if "error" in outcomes else 0
