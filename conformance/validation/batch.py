"""Batch validation over worker processes: `conformance validate --jobs N` on folders and archives.

Workers are spawned, not forked: the parent may hold Saxon (a JVM) or loaded packages, which a fork would
duplicate badly. Each worker validates chunks of neighbouring inputs: one task per file cost the parent
about 0.5 ms of CPU per file (its pool threads, pickles each way), and neighbours in a folder are often of
one kind, so a worker's memo caches serve the rest of its chunk. Chunks go largest first, so that a few
long files do not finish the batch alone on one core; the outcomes come back in input order, the same as
validating the inputs one after the other.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import resource
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from conformance.findings import Finding, Outcome
from conformance.validation.options import ValidateOptions

FILE_COST = 32 * 1024  # a file's fixed cost (read, parse, outcome) in bytes of input: about 3 ms, as 32 KiB
CHUNKS_PER_WORKER = 32  # enough chunks that the last ones are short beside the batch
MAX_CHUNK_FILES = 64  # small files: enough per chunk to make a task's cost negligible, not more
WARM_FROM = 500  # FHIR files per worker from which it compiles every base definition first (about 1 CPU-s)
_FHIR_SUFFIXES = (".json", ".ndjson")
_WARM_UP_RESOURCE = b'{"resourceType":"Patient","id":"p","gender":"female","birthDate":"1980-02-29"}'
READY_TIMEOUT = 600.0  # seconds a worker may take to start and warm up (usage())

_BARRIER: Any = None  # a worker's barrier (usage()), set by its initializer

ValidatePath = Callable[[Path, ValidateOptions], list[Outcome]]  # the CLI's validate_path: one input's outcomes
_FINDING_FIELDS = tuple(field.name for field in dataclasses.fields(Finding))
Packed = list[tuple[str, str, dict[str, Any], list[tuple[Any, ...]]]]


def chunks(sizes: Sequence[int], workers: int) -> list[list[int]]:
    """Indexes of the inputs, cut in runs of neighbours of about the same cost, the costliest run first."""
    costs = [max(size, 0) + FILE_COST for size in sizes]
    target = max(FILE_COST * 8, sum(costs) // max(1, workers * CHUNKS_PER_WORKER))
    runs: list[list[int]] = []
    run: list[int] = []
    cost = 0
    for index, item in enumerate(costs):
        if run and (cost + item > target or len(run) >= MAX_CHUNK_FILES):
            runs.append(run)
            run, cost = [], 0
        run.append(index)
        cost += item
    if run:
        runs.append(run)
    return sorted(runs, key=lambda r: -sum(costs[i] for i in r))  # stable: equal runs keep input order


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported by the worker that reads it
        return 0


class BatchPool:
    """`workers` spawned processes validating each input with `validate` (a module-level function) and
    `options`; `warm`: each compiles the FHIR base definitions first (what a large FHIR batch needs anyway)
    and freezes them out of the garbage collector's reach."""

    def __init__(self, options: ValidateOptions, workers: int, validate: ValidatePath, *, warm: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self.workers = workers
        self.options = options
        self._validate = validate
        self._barrier = context.Barrier(workers)
        self._executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start, initargs=(options if warm else None, self._barrier)
        )

    def __enter__(self) -> BatchPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def usage(self) -> dict[int, tuple[float, int]]:
        """Every worker started (and warmed up): its process id -> (CPU seconds, minor page faults) so far."""
        futures = [self._executor.submit(_checkpoint) for _ in range(self.workers)]  # one each: they wait together
        return {pid: used for pid, used in (future.result() for future in futures)}

    def validate(self, paths: Sequence[Path]) -> list[list[Outcome]]:
        """The outcomes of each input, in input order."""
        order = chunks([_size(path) for path in paths], self.workers)
        futures = [
            self._executor.submit(_validate_packed, [paths[i] for i in run], self.options, self._validate)
            for run in order
        ]
        results: list[list[Outcome]] = [[] for _ in paths]
        for run, future in zip(order, futures, strict=True):
            for index, outcomes in zip(run, future.result(), strict=True):
                results[index] = _unpack(outcomes)
        return results


def validate_batch(
    paths: Sequence[Path], options: ValidateOptions, workers: int, validate: ValidatePath
) -> Iterator[Outcome]:
    """Every outcome of `paths` over `workers` processes, in the order of a validation one after the other."""
    fhir = sum(1 for path in paths if path.suffix.lower() in _FHIR_SUFFIXES)
    with BatchPool(options, workers, validate, warm=fhir >= WARM_FROM * workers) as pool:
        batches = pool.validate(paths)
    for batch in batches:
        yield from batch


# ---- in a worker ---------------------------------------------------------------------------------------------


def _start(warm: ValidateOptions | None, barrier: Any) -> None:
    global _BARRIER
    _BARRIER = barrier
    if warm is not None:
        warm_fhir(warm)


def warm_fhir(options: ValidateOptions) -> None:
    """Compile every FHIR base definition and its invariants now, validate one resource, and keep all that
    out of the garbage collector's walks: it lives as long as the process, and each gen-2 collection would
    walk it again."""
    from conformance.validation.fhir.inputs import validate_input, validator_for

    try:
        validator_for(options).warm()
        validate_input(_WARM_UP_RESOURCE, name="warm-up", options=options)
    except Exception:  # e.g. an --ig that does not load: each input reports it
        return
    gc.collect()
    gc.freeze()


def _checkpoint() -> tuple[int, tuple[float, int]]:
    _BARRIER.wait(READY_TIMEOUT)
    used = resource.getrusage(resource.RUSAGE_SELF)
    return os.getpid(), (used.ru_utime + used.ru_stime, used.ru_minflt)


def validate_chunk(paths: list[Path], options: ValidateOptions, validate: ValidatePath) -> list[list[Outcome]]:
    """The outcomes of each of `paths`, in this process."""
    return [validate(path, options) for path in paths]


def _validate_packed(paths: list[Path], options: ValidateOptions, validate: ValidatePath) -> list[Packed]:
    """What a worker does with a chunk: its findings go back as plain tuples, which pickle in about 60 % of
    the CPU time of frozen dataclasses (measured both ways, over a fifth of the R4 examples)."""
    return [_pack(outcomes) for outcomes in validate_chunk(paths, options, validate)]


def _pack(outcomes: list[Outcome]) -> Packed:
    return [
        (o.subject, o.kind, o.details, [tuple([getattr(f, name) for name in _FINDING_FIELDS]) for f in o.findings])
        for o in outcomes
    ]


def _unpack(packed: Packed) -> list[Outcome]:
    return [
        Outcome(subject, kind, [Finding(*values) for values in found], details)
        for subject, kind, details, found in packed
    ]
