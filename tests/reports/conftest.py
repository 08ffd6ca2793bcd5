"""Fixtures for the report tests: a fabricated, sealed run folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sample import fabricate_run

from conformance.reports import finalize_run


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    run, _recorder = fabricate_run(run_dir)
    finalize_run(run_dir, run)
    return run_dir
