"""A run killed mid-way (SIGKILL, SIGTERM) leaves a folder that says it is incomplete and is never sealed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import cli
from conformance.evidence.sealing import INCOMPLETE, MANIFEST, verify_run
from conformance.reports.results_json import load_schema

jsonschema = pytest.importorskip("jsonschema")

CHILD = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path
    from support.sample import fabricate_run, SECRETS
    from conformance.reports import write_partial, write_run_outputs

    run_dir = Path(sys.argv[1])
    graceful = sys.argv[2] == "graceful"
    run, recorder = fabricate_run(run_dir, complete=False)
    if graceful:
        def stop(*_):
            # What a campaign does on SIGTERM: write what it has, marked incomplete, then exit.
            write_run_outputs(run_dir, run)
            sys.exit(143)
        signal.signal(signal.SIGTERM, stop)
    write_partial(run_dir, run)
    print("ready", flush=True)
    test = run.tests[0]
    index = 0
    while True:  # a long test: keeps recording and updating results.json until killed
        recorder.begin_test(test.id)
        from support.sample import _http, _Clock
        from datetime import datetime, UTC
        recorder.record(_http(_Clock(datetime.now(UTC)), "GET", f"http://127.0.0.1:1/fhir/Patient/{index}", 200, b'{"resourceType":"Patient"}', secrets=SECRETS))
        test.evidence = recorder.end_test()
        index += 1
        if index % 20 == 0:
            write_partial(run_dir, run)
    """
)


def _start(run_dir: Path, mode: str) -> subprocess.Popen:
    tests_dir = str(Path(__file__).resolve().parents[1])  # the fabricated run is test support (tests/support)
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")]))},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", process.stderr.read() if process.stderr else line
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(run_dir.rglob("*-http.json"))) < 60:
        time.sleep(0.05)
    return process


@pytest.mark.parametrize(
    ("mode", "sig"), [("plain", signal.SIGKILL), ("plain", signal.SIGTERM), ("graceful", signal.SIGTERM)]
)
def test_killed_run_is_incomplete_and_unsealed(tmp_path: Path, mode: str, sig: signal.Signals) -> None:
    run_dir = tmp_path / "run"
    process = _start(run_dir, mode)
    process.send_signal(sig)
    process.wait(timeout=30)
    assert process.returncode != 0
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"] is False
    jsonschema.Draft202012Validator(load_schema()).validate(results)
    assert not (run_dir / MANIFEST).exists()
    assert verify_run(run_dir) == [INCOMPLETE]
    outcome = CliRunner().invoke(cli, ["verify", str(run_dir), "--lang", "en"])
    assert outcome.exit_code != 0 and INCOMPLETE in outcome.output
    # The evidence recorded up to the kill is there, whole (each file is valid JSON).
    evidence = list((run_dir / "evidence").rglob("*-http.json"))
    assert len(evidence) >= 60
    for path in evidence:
        json.loads(path.read_text())
    if mode == "graceful":
        assert "INCOMPLÈTE" in (run_dir / "report.html").read_text()
