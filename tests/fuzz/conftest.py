"""Hypothesis profiles for the fuzz targets (issue 8 item 2).

- "ci": bounded, reproducible (derandomize): the whole folder in well under two minutes on two cores; `make test`.
- "long": many more examples, random seeds; the `@pytest.mark.slow` variants run it (`make fuzz`).
  HOPEN_FUZZ_EXAMPLES sets its example count (default 3000 per target, before each target's scale).

Every target runs twice: `test_x[ci]` and `test_x[long]` (slow), through fuzz_support.fuzz(budget, strategy, check).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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

from fuzz_support import BUDGETS  # noqa: E402


@pytest.fixture(params=BUDGETS)
def budget(request: pytest.FixtureRequest) -> str:
    return request.param
