"""Batch validation over worker processes (conformance.validation.batch): chunks, order, as one by one."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from conformance.cli.validate import validate_path
from conformance.findings import Outcome
from conformance.settings import fhir_cache_dir, shared_dir
from conformance.validation import batch
from conformance.validation.options import ValidateOptions


def test_chunks_cover_every_input_once_in_runs_of_neighbours_costliest_first() -> None:
    sizes = [100, 5_000_000, 10, 0, 70_000, *([2_000] * 300), 3_000_000, 1]
    order = batch.chunks(sizes, 2)
    assert sorted(i for run in order for i in run) == list(range(len(sizes)))
    assert all(run == list(range(run[0], run[0] + len(run))) for run in order)
    assert all(len(run) <= batch.MAX_CHUNK_FILES for run in order)
    costs = [sum(sizes[i] + batch.FILE_COST for i in run) for run in order]
    assert costs == sorted(costs, reverse=True)
    assert order[0] == [1] and order[1] == [305]  # the large files alone, first


def test_chunks_of_nothing_and_of_one() -> None:
    assert batch.chunks([], 4) == []
    assert batch.chunks([10], 4) == [[0]]


def _inputs(folder: Path) -> list[Path]:
    examples = fhir_cache_dir() / "hl7.fhir.r4.examples#4.0.1" / "package"
    if not examples.is_dir():
        pytest.skip("hl7.fhir.r4.examples#4.0.1 is not installed: run `make fhir-packages`")
    names = ["Patient-example.json", "Observation-example.json", "Bundle-bundle-example.json"]
    names += ["Questionnaire-qs1.json", "ValueSet-example-expansion.json"]
    for name in names:
        shutil.copy(examples / name, folder / name)
    (folder / "broken.json").write_text('{"resourceType":"Patient","gender":"nope","birthDate":"1980-13-40"}')
    (folder / "not-json.json").write_text("{")
    for index, sample in enumerate(sorted((shared_dir() / "hl7v2-samples").rglob("*.hl7"))[:3]):
        (folder / f"{index:02d}-{sample.name}").write_bytes(sample.read_bytes())
    return sorted(folder.iterdir())


def _judged(outcomes: list[Outcome]) -> list[tuple]:
    return [(o.subject, o.kind, o.is_valid, [dataclasses.astuple(f) for f in o.findings]) for o in outcomes]


@pytest.mark.parametrize("warm", [False, True])
def test_a_batch_gives_the_outcomes_of_one_by_one_in_input_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    paths = _inputs(tmp_path)
    options = ValidateOptions(lang="en")
    one_by_one = [outcome for path in paths for outcome in validate_path(path, options)]
    monkeypatch.setattr(batch, "WARM_FROM", 1 if warm else 10**9)
    assert _judged(list(batch.validate_batch(paths, options, 2, validate_path))) == _judged(one_by_one)
    assert any(not o.is_valid for o in one_by_one) and any(o.is_valid for o in one_by_one)


def test_usage_names_every_worker_once(tmp_path: Path) -> None:
    paths = _inputs(tmp_path)
    with batch.BatchPool(ValidateOptions(), 2, validate_path) as pool:
        before = pool.usage()
        pool.validate(paths)
        after = pool.usage()
    assert len(before) == 2 and set(after) == set(before)
    assert all(after[pid][0] >= before[pid][0] and after[pid][1] >= before[pid][1] for pid in before)
