"""The real campaign (`conformance run --reference`) killed mid-way leaves an incomplete, unsealed folder."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import cli
from conformance.evidence.sealing import INCOMPLETE, MANIFEST, verify_run

pytest.importorskip("conformance.campaign.runner", reason="the campaign runner has not landed")

MAIN = "from conformance.cli import main; main()"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_campaign_killed_mid_run(tmp_path: Path, sig: signal.Signals) -> None:
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-c", MAIN, "run", "--reference", "--output", str(run_dir), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            evidence = list((run_dir / "evidence").rglob("*.json")) if (run_dir / "evidence").is_dir() else []
            if len(evidence) >= 5 and (run_dir / "results.json").exists():
                break
            time.sleep(0.1)
        if process.poll() is not None:
            pytest.fail(f"the campaign ended before it could be killed: {process.stderr.read()[-500:]!r}")
        process.send_signal(sig)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["complete"] is False
    assert not (run_dir / MANIFEST).exists()
    assert verify_run(run_dir) == [INCOMPLETE]
    outcome = CliRunner().invoke(cli, ["verify", str(run_dir), "--lang", "en"])
    assert outcome.exit_code != 0 and INCOMPLETE in outcome.output
    for path in (run_dir / "evidence").rglob("*.json"):
        json.loads(path.read_text())  # every evidence file written is whole
