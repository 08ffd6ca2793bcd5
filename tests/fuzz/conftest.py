"""Hypothesis profiles for the fuzz targets (issue 8 item 2).

- "ci": bounded, reproducible (derandomize): the whole folder in well under two minutes on two cores; `make test`.
- "long": many more examples, random seeds; the `@pytest.mark.slow` variants run it (`make fuzz`).
  HOPEN_FUZZ_EXAMPLES sets its example count (default 3000 per target, before each target's scale).

Every target runs twice: `test_x[ci]` and `test_x[long]` (slow), through `fuzz(budget, strategy, check)`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

_QUIET_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_QUIET_CHECKS,
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("HOPEN_FUZZ_EXAMPLES", "3000")),
    deadline=None,
    derandomize=False,
    suppress_health_check=_QUIET_CHECKS,
    print_blob=True,
)

BUDGETS = [pytest.param("ci", id="ci"), pytest.param("long", id="long", marks=pytest.mark.slow)]


def fuzz(budget: str, strategy: st.SearchStrategy, check: Callable[[Any], None], *, scale: float = 1.0) -> None:
    """Run `check` on examples of `strategy` under the budget's profile (`scale` tunes the example count)."""
    profile = settings.get_profile(budget)
    examples = max(5, int(profile.max_examples * scale))

    @settings(profile, max_examples=examples)
    @given(strategy)
    def property_holds(example: Any) -> None:
        check(example)

    property_holds()


@pytest.fixture(params=BUDGETS)
def budget(request: pytest.FixtureRequest) -> str:
    return request.param
