"""FHIR validator bench: every resource of hl7.fhir.r4.examples (5,305), single process and both cores.

Figures: the orjson parse floor, validation throughput (resources/s), wall time, peak memory (max RSS), and
the time to a first result from a cold start (a new interpreter, packages already cached). Each measure
runs in its own subprocess so that peaks and caches do not leak from one into another.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"package.json", "ig-r4.json", ".index.json"}
PATIENT = b'{"resourceType":"Patient","id":"p","gender":"female","birthDate":"1980-02-29"}'


def _examples_dir() -> Path:
    sys.path.insert(0, str(ROOT))
    from conformance.settings import fhir_cache_dir

    return fhir_cache_dir() / "hl7.fhir.r4.examples#4.0.1" / "package"


def _files() -> list[Path]:
    files = [p for p in _examples_dir().glob("*.json") if p.name not in SKIP]
    return sorted(files, key=lambda p: p.stat().st_size, reverse=True)  # big first: balances the pool


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---- workers (run in subprocesses) -------------------------------------------------------------------------


def _worker_parse() -> dict[str, object]:
    import orjson

    files = _files()
    start = time.perf_counter()
    for path in files:
        orjson.loads(path.read_bytes())
    elapsed = time.perf_counter() - start
    return {"count": len(files), "seconds": elapsed, "peak_mib": _peak_mib()}


_VALIDATOR = None


def _validate_file(path: Path) -> tuple[int, int]:
    assert _VALIDATOR is not None
    outcome = _VALIDATOR.validate(path.read_bytes())
    return 1, len(outcome.errors)


def _worker_validate(processes: int) -> dict[str, object]:
    global _VALIDATOR
    from conformance.packages import load_context
    from conformance.validation.fhir import get_validator

    files = _files()
    _VALIDATOR = get_validator(load_context())
    _VALIDATOR.warm()  # as a validation service: every base definition and its invariants compiled before forking
    _VALIDATOR.validate(PATIENT)
    start = time.perf_counter()
    cpu_start = time.process_time()
    if processes == 1:
        results = [_validate_file(path) for path in files]
        peak = _peak_mib()
        cpu = time.process_time() - cpu_start
    else:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        with context.Pool(processes) as pool:
            results = list(pool.imap_unordered(_validate_file, files, chunksize=1))
        peak = max(_peak_mib(), round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = children.ru_utime + children.ru_stime + time.process_time() - cpu_start
    elapsed = time.perf_counter() - start
    return {
        "count": sum(r[0] for r in results),
        "invalid": sum(1 for r in results if r[1]),
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "peak_mib": peak,
    }


def _worker_cold() -> dict[str, object]:
    from conformance.validation.fhir import validate

    outcome = validate(PATIENT)
    return {"valid": outcome.is_valid}


def _run_worker(*args: str, timeout: float = 1800) -> tuple[dict[str, object], float]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "worker failed")
    return json.loads(completed.stdout.strip().splitlines()[-1]), wall


# ---- entry point for tools/bench.py ------------------------------------------------------------------------


def run() -> dict[str, object]:
    if not _examples_dir().is_dir():
        return {"error": "hl7.fhir.r4.examples#4.0.1 not installed (make fhir-packages)"}
    figures: dict[str, object] = {}
    _run_worker("cold")  # let the package index cache warm up once
    _, cold_wall = _run_worker("cold")
    figures["cold start to first result (s, packages cached)"] = round(cold_wall, 2)
    parse, _ = _run_worker("parse")
    figures["resources"] = parse["count"]
    figures["orjson parse floor (resources/s)"] = round(parse["count"] / parse["seconds"])
    figures["orjson parse floor (s)"] = round(parse["seconds"], 2)
    for processes, label in ((1, "single process"), (2, "2 processes")):
        result, _ = _run_worker("validate", str(processes))
        figures[f"validate {label} (s)"] = round(result["seconds"], 2)
        figures[f"validate {label} (resources/s)"] = round(result["count"] / result["seconds"])
        figures[f"validate {label} CPU time, all processes (s)"] = round(result["cpu_seconds"], 2)
        figures[f"validate {label} peak memory (MiB)"] = result["peak_mib"]
        figures[f"validate {label} resources with errors"] = result["invalid"]
    floor = figures["orjson parse floor (resources/s)"]
    for label in ("single process", "2 processes"):
        figures[f"ratio validate {label} / JSON parse floor"] = round(
            figures[f"validate {label} (resources/s)"] / floor, 4
        )
    figures["validate 2 processes (resources/s, target 1000)"] = figures["validate 2 processes (resources/s)"]
    figures["machine load average (1 min)"] = round(os.getloadavg()[0], 2)
    return figures


def _main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    if not argv:
        for key, value in run().items():
            print(f"{key:<55} {value}")
        return 0
    mode = argv[0]
    if mode == "parse":
        result = _worker_parse()
    elif mode == "validate":
        result = _worker_validate(int(argv[1]))
    elif mode == "cold":
        result = _worker_cold()
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
