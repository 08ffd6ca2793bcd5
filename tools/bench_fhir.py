"""FHIR validator bench: every resource of hl7.fhir.r4.examples (5,305), single process and both cores.

Figures: the orjson parse floor, validation throughput (resources/s), wall time, CPU time of every process
doing the work and minor page faults, peak memory (max RSS), and the time to a first result from a cold
start (a new interpreter, packages already cached). Both cores: the product's batch pool (what
`conformance validate --jobs 2` runs), for the engine alone and for the CLI's whole path; compare its CPU
time with the single process's (the inflation), since wall time on a shared machine lies. Each measure
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.findings import Outcome
    from conformance.validation.options import ValidateOptions

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"package.json", "ig-r4.json", ".index.json"}
PATIENT = b'{"resourceType":"Patient","id":"p","gender":"female","birthDate":"1980-02-29"}'


def _examples_dir() -> Path:
    sys.path.insert(0, str(ROOT))
    from conformance.settings import fhir_cache_dir

    return fhir_cache_dir() / "hl7.fhir.r4.examples#4.0.1" / "package"


def _files() -> list[Path]:
    return sorted(p for p in _examples_dir().glob("*.json") if p.name not in SKIP)  # a folder's order


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---- workers (run in subprocesses) -------------------------------------------------------------------------


def _worker_parse() -> dict[str, Any]:
    import orjson

    files = _files()
    start = time.perf_counter()
    for path in files:
        orjson.loads(path.read_bytes())
    elapsed = time.perf_counter() - start
    return {"count": len(files), "seconds": elapsed, "peak_mib": _peak_mib()}


def _engine_path(path: Path, options: ValidateOptions) -> list[Outcome]:
    """The engine alone on one file (validator.validate(bytes)): what a validation service's engine does."""
    from conformance.validation.fhir.inputs import validator_for

    return [validator_for(options).validate(path.read_bytes())]


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _worker_batch(path: str, processes: int) -> dict[str, Any]:
    """The examples in a folder's order through the product's batch pool (conformance.validation.batch: spawned
    workers warmed up as for a large FHIR batch, chunks largest first), each file by the engine alone
    (`path` "engine") or as `conformance validate --jobs N FOLDER` does ("cli": validate_path, with line
    numbers and the streamed path of the largest Bundles). One process: the same warm-up and the same calls
    in this process. CPU time and minor page faults of every process doing the work (the parent included),
    after the warm-up."""
    from conformance.cli.validate import validate_path
    from conformance.validation.batch import BatchPool, validate_chunk, warm_fhir
    from conformance.validation.options import ValidateOptions

    files = _files()
    options = ValidateOptions()
    validate = validate_path if path == "cli" else _engine_path
    if processes == 1:
        warm_fhir(options)  # as each worker of the pool does first
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_SELF)
        outcomes = validate_chunk(files, options, validate)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu, minflt, peak = _cpu(after) - _cpu(before), after.ru_minflt - before.ru_minflt, _peak_mib()
        elapsed = time.perf_counter() - start
    else:
        with BatchPool(options, processes, validate, warm=True) as pool:
            ready = pool.usage()  # every worker started and warmed up
            start = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_SELF)
            outcomes = pool.validate(files)
            after = resource.getrusage(resource.RUSAGE_SELF)
            elapsed = time.perf_counter() - start
            done = pool.usage()
        cpu = _cpu(after) - _cpu(before) + sum(done[pid][0] - ready[pid][0] for pid in done)
        minflt = after.ru_minflt - before.ru_minflt + sum(done[pid][1] - ready[pid][1] for pid in done)
        peak = max(_peak_mib(), round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1))
    return {
        "count": len(outcomes),  # files: the streamed Bundles give one outcome per entry
        "invalid": sum(1 for batch in outcomes if any(not o.is_valid for o in batch)),
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "minflt": minflt,
        "peak_mib": peak,
    }


def _figures(figures: dict[str, Any], label: str, result: dict[str, Any]) -> None:
    figures[f"{label} (s)"] = round(result["seconds"], 2)
    figures[f"{label} (resources/s)"] = round(result["count"] / result["seconds"])
    figures[f"{label} CPU time, all processes (s)"] = round(result["cpu_seconds"], 2)
    figures[f"{label} minor page faults"] = result["minflt"]
    figures[f"{label} peak memory (MiB)"] = result["peak_mib"]
    figures[f"{label} resources with errors"] = result["invalid"]


def _worker_cold() -> dict[str, Any]:
    from conformance.validation.fhir import validate

    outcome = validate(PATIENT)
    return {"valid": outcome.is_valid}


def _run_worker(*args: str, timeout: float = 1800) -> tuple[dict[str, Any], float]:
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


def run() -> dict[str, Any]:
    if not _examples_dir().is_dir():
        return {"error": "hl7.fhir.r4.examples#4.0.1 not installed (make fhir-packages)"}
    figures: dict[str, Any] = {}
    _run_worker("cold")  # let the package index cache warm up once
    _, cold_wall = _run_worker("cold")
    figures["cold start to first result (s, packages cached)"] = round(cold_wall, 2)
    parse, _ = _run_worker("parse")
    figures["resources"] = parse["count"]
    figures["orjson parse floor (resources/s)"] = round(parse["count"] / parse["seconds"])
    figures["orjson parse floor (s)"] = round(parse["seconds"], 2)
    for path, name in (("engine", "validate"), ("cli", "conformance validate FOLDER,")):
        single, _ = _run_worker("batch", path, "1")
        _figures(figures, f"{name} single process", single)
        double, _ = _run_worker("batch", path, "2")
        _figures(figures, f"{name} 2 processes", double)
        inflation = 100 * (double["cpu_seconds"] / single["cpu_seconds"] - 1)
        figures[f"{name} 2 processes, CPU inflation over single (%)"] = round(inflation, 1)
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
    elif mode == "batch":
        result = _worker_batch(argv[1], int(argv[2]))
    elif mode == "cold":
        result = _worker_cold()
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
