"""Fixtures for the evidence tests: a fabricated run folder (see support.sample)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sample import fabricate_run

from conformance.reports import finalize_run


@pytest.fixture
def sealed_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    run, _recorder = fabricate_run(run_dir)
    assert finalize_run(run_dir, run) is not None
    return run_dir
