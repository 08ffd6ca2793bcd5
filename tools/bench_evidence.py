"""Evidence bench: record 10,000 exchanges (redacted, and pseudonymised in a second run), write every
output, seal, verify. Runs in a child process so its peak memory (VmHWM) is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

EXCHANGES = 10_000
TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"  # the fabricated run is test support

CHILD = textwrap.dedent(
    """
    import json, sys, tempfile, time
    from pathlib import Path
    from support.sample import fabricate_run
    from conformance.evidence.sealing import verify_run
    from conformance.reports import finalize_run

    count, pseudonymize = int(sys.argv[1]), sys.argv[2] == "1"
    figures = {}
    with tempfile.TemporaryDirectory(prefix="hopen-bench-evidence-") as folder:
        run_dir = Path(folder) / "run"
        start = time.perf_counter()
        run, recorder = fabricate_run(run_dir, extra_exchanges=count, pseudonymize=pseudonymize)
        recorded = time.perf_counter()
        finalize_run(run_dir, run)
        sealed = time.perf_counter()
        problems = verify_run(run_dir)
        verified = time.perf_counter()
        files = sum(1 for p in run_dir.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    figures["exchanges_recorded"] = recorder.recorded
    figures["record_s"] = round(recorded - start, 3)
    figures["exchanges_per_s"] = round(recorder.recorded / (recorded - start), 1)
    figures["write_outputs_and_seal_s"] = round(sealed - recorded, 3)
    figures["verify_s"] = round(verified - sealed, 3)
    figures["files"] = files
    figures["run_folder_mb"] = round(size / 1e6, 2)
    # VmHWM belongs to this process image; ru_maxrss survives exec and would report the parent's peak.
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    figures["peak_rss_mb"] = round(int(hwm.split()[1]) / 1024, 1)
    figures["verify_intact"] = not problems
    print(json.dumps(figures))
    """
)


def _measure(count: int, pseudonymize: bool) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(count), "1" if pseudonymize else "0"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))},
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run() -> dict[str, object]:
    figures: dict[str, object] = {}
    for label, pseudonymize in (("redacted", False), ("redacted+pseudonymised", True)):
        for key, value in _measure(EXCHANGES, pseudonymize).items():
            figures[f"{label} {EXCHANGES} exchanges: {key}"] = value
    return figures


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:<60} {value}")
