"""The real `conformance` command in a child process, as users run it (imported by name from the tests here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def conformance(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CONFORMANCE, *map(str, args)], capture_output=True, text=True, timeout=timeout)
