"""A reference campaign with a seeded fault, run once for the French-output tests (the real command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def conformance(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300):
    environment = {k: v for k, v in os.environ.items() if k != "HOPEN_LANG"} | (env or {})
    return subprocess.run(
        [CONFORMANCE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=environment
    )


@pytest.fixture(scope="session")
def faulty_reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`conformance run --reference --faults ins-wrong-oid`: some tests fail, with findings."""
    run_dir = tmp_path_factory.mktemp("french") / "run"
    completed = conformance("run", "--reference", "--faults", "ins-wrong-oid", "--output", run_dir, "--quiet")
    assert completed.returncode == 1, completed.stderr[-3000:]
    return run_dir, completed
