"""`make bench`: runs every tools/bench_*.py module's run(), prints the figures, writes bench-results.json.

Each module returns a flat dict of named figures. Nothing here asserts: figures are for people and for
comparing runs (bench-results.json keeps the last run; compare it with a previous copy). Throughputs are
given as ratios to a floor measured in the same run (JSON parse for FHIR, ER7 split for HL7 v2, XSD alone for
CDA), so that a loaded machine moves both; the summary repeats the ratios, the figures that have a target, cold
starts, peak memory, the large hostile inputs and the DMP throughput,
with the machine's load average at the start and the end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses (bench_agreement) look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _run_isolated(path: Path) -> dict[str, object]:
    """One bench per process: peak-memory figures (ru_maxrss) must not include another bench's peak."""
    done = subprocess.run([sys.executable, __file__, "--one", str(path)], capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"bench process exited {done.returncode}: {done.stdout[-300:]}"}


def _run_one(path: Path) -> int:
    try:
        figures = _load(path).run()
    except Exception as exc:  # a broken bench must not hide the others
        figures = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.flush()
    print("\n" + json.dumps(figures, default=str))
    return 0


# Besides the ratios and the figures with a target, the summary repeats each engine's floor, cold start and
# peak memory, the large hostile inputs (time and peak memory beside the input size) and the DMP throughput.
_SUMMARY_KEYS = (
    "floor",
    "cold",
    "peak memory",
    "ITI-41 judged per second",
    "repetitions: ",
    "frames x 9.5 MB: ",
    "gzip body: ",
    "1,000,000 entries: ",
)
_SUMMARY_SKIPPED = ("verdict", "findings", "streamed", "inflates", "cut at", "acknowledged", "exhausted")


def _in_summary(key: str) -> bool:
    if key.startswith("ratio") or "target" in key:
        return True
    if not any(part in key for part in _SUMMARY_KEYS):
        return False
    tail = key.rsplit(": ", 1)[-1]
    return tail != "entries" and not any(skip in tail for skip in _SUMMARY_SKIPPED)


def _summary(results: dict[str, object]) -> None:
    print("== summary: ratios to the floors, figures with a target, cold starts, peaks, large inputs")
    for name, figures in results.items():
        if not isinstance(figures, dict) or name == "machine":
            continue
        for key, value in figures.items():
            if _in_summary(key):
                print(f"  {name:<10} {key:<75} {value}")
    machine = results["machine"]
    assert isinstance(machine, dict)
    print(
        f"  load average (1, 5, 15 min): start {machine['load_average_at_start']}, end {machine['load_average_at_end']}"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        return _run_one(Path(argv[1]))
    only = set(argv)
    results: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for path in sorted(TOOLS.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"== {name}", flush=True)
        figures = _run_isolated(path)
        for key, value in figures.items():
            print(f"  {key:<55} {value}", flush=True)
        results[name] = figures
    machine = results["machine"]
    assert isinstance(machine, dict)
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    _summary(results)
    out = Path("bench-results.json")
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"figures written to {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
