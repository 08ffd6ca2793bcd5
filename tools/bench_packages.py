"""Package manager figures: loading R4 core + FR Core (cold = empty tool-cache index, packages already in
the FHIR cache; warm = index on disk, new process state), index build, and first lookups.

Runs against the real FHIR cache (run `make fhir-packages` first) with a temporary tool cache, so the
user's own index cache is not touched."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FR_PATIENT = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run() -> dict[str, object]:
    from conformance.packages import FhirContext, clear_context_cache, load_context

    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="hopen-bench-packages-") as tool_cache:
        previous = os.environ.get("HOPEN_CACHE_DIR")
        os.environ["HOPEN_CACHE_DIR"] = tool_cache
        try:
            clear_context_cache()
            ctx, cold = _timed(lambda: load_context(fresh=True))
            figures["packages loaded"] = ", ".join(p.ref for p in ctx.packages)
            figures["packages missing"] = ", ".join(ctx.missing) or "-"
            figures["resources indexed"] = len(ctx.entries())
            figures["cold load R4 core + FR Core (ms, index built)"] = _ms(cold)

            warm_times = []
            for _ in range(5):
                clear_context_cache()
                _, seconds = _timed(lambda: load_context(fresh=True))
                warm_times.append(seconds)
            figures["warm load R4 core + FR Core (ms, median of 5)"] = _ms(statistics.median(warm_times))

            _, memo = _timed(load_context)
            figures["load_context memoised in-process (ms)"] = _ms(memo)

            # Index build from the packages' own files, ignoring their .index.json (worst case: folders
            # without an index).
            from conformance.packages.indexing import scan_package

            _, scan = _timed(lambda: [scan_package(p.path) for p in ctx.packages])
            figures["index build by scanning every file (ms)"] = _ms(scan)
            _, rebuild = _timed(lambda: FhirContext(ctx.packages, index_dir=Path(tool_cache) / "fresh"))
            figures["index build from .index.json files (ms)"] = _ms(rebuild)

            warm = load_context()
            _, first = _timed(lambda: warm.resolve(FR_PATIENT))
            figures["first resolve fr-core-patient (ms, file read)"] = _ms(first)
            _, again = _timed(lambda: warm.resolve(FR_PATIENT))
            figures["memoised resolve (µs)"] = round(again * 1e6, 1)
            _, profiles = _timed(lambda: warm.structure_definitions_for_type("Patient"))
            figures["structure_definitions_for_type('Patient') (ms)"] = _ms(profiles)
            _, all_sd = _timed(lambda: sum(1 for _ in warm.resources_of_type("StructureDefinition")))
            figures["load every StructureDefinition (ms)"] = _ms(all_sd)
        finally:
            clear_context_cache()
            if previous is None:
                os.environ.pop("HOPEN_CACHE_DIR", None)
            else:
                os.environ["HOPEN_CACHE_DIR"] = previous
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<55} {value}")
