"""`conformance report RUN_DIR --allure` with a relative RUN_DIR, and the notice that the site needs HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reports.allure import allure_available

CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def _conformance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HOPEN_LANG"}
    return subprocess.run([CONFORMANCE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.skipif(not allure_available(), reason="Allure 3 not installed (make node-deps)")
def test_allure_from_a_relative_run_folder_and_the_http_notice(tmp_path: Path) -> None:
    """SHALL: `report runs/x --allure` works from the folder the user is in, and says the site needs HTTP."""
    ran = _conformance("run", "--reference", "--suite", "identity", "--output", "runs/x", "--quiet", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    rendered = _conformance("report", "runs/x", "--allure", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    site = tmp_path / "runs" / "x" / "renderings" / "allure-report"
    assert (site / "index.html").is_file()
    assert "http.server --directory" in rendered.stderr and "file://" in rendered.stderr
    assert str(site) in rendered.stderr
