"""A run stopped by SIGTERM leaves a partial, unsealed run folder that says it is incomplete."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from cli_runner import CONFORMANCE


def test_sigterm_leaves_partial_unsealed_run(tmp_path):
    config = tmp_path / "campaign.toml"
    # the receiver-side tests wait up to a minute for messages that will never all come: time to interrupt
    config.write_text("[mllp.listener]\nwait_seconds = 60\nexpect_messages = 1000\n", encoding="utf-8")
    out = tmp_path / "run"
    process = subprocess.Popen(
        [CONFORMANCE, "run", "--reference", "--config", str(config), "--suite", "pam", "--output", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    results = out / "results.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists():
            time.sleep(3)  # inside the receiver-side wait
            break
        time.sleep(0.2)
    assert process.poll() is None, process.stdout.read() if process.stdout else ""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["complete"] is False
    assert not (out / "manifest.json").exists()
    assert "interrupted" in output.lower() or "interrompue" in output.lower()
