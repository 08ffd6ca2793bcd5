"""`conformance serve --config-template`: a campaign configuration that runs against the served endpoints as is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

CONFORMANCE = str(Path(sys.executable).parent / "conformance")


def test_the_printed_configuration_runs_against_the_served_endpoints_as_is(tmp_path: Path) -> None:
    """SHALL: save the output of `serve --config-template`, run it: the campaign reaches the endpoints and passes."""
    env = {k: v for k, v in os.environ.items() if k != "HOPEN_LANG"}
    config = tmp_path / "campagne.toml"
    with config.open("wb") as out, (tmp_path / "serve.err").open("wb") as err:
        served = subprocess.Popen([CONFORMANCE, "serve", "--config-template"], stdout=out, stderr=err, env=env)
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C" not in (tmp_path / "serve.err").read_text(encoding="utf-8", errors="replace"):
            assert served.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.err").read_text()
            time.sleep(0.2)
        template = tomllib.loads(config.read_text(encoding="utf-8"))
        assert template["fhir"]["base_url"].startswith("http://127.0.0.1:")
        assert template["run"]["language"] == "fr" and template["test_data"]["patients"]
        ran = subprocess.run(
            [CONFORMANCE, "run", "--config", str(config), "--suite", "identity", "--suite", "directory",
             "--output", str(tmp_path / "run"), "--quiet"],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
        assert "identity           RÉUSSI" in ran.stdout and "ÉCHEC 0" in ran.stdout
    finally:
        served.send_signal(signal.SIGINT)
        served.wait(timeout=30)
