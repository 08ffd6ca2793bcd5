"""`conformance serve`: prints the endpoints, serves until interrupted, refuses non-loopback addresses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from conformance.cli import cli

from .helpers import http


def test_serve_prints_endpoints_and_stops_on_sigint() -> None:
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "conformance"), "serve", "--json", "--faults", "zbe-missing"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        assert info["faults"] == ["zbe-missing"]
        assert info["fhir_base_url"].startswith("http://127.0.0.1:")
        assert http(f"{info['fhir_base_url']}/metadata").status == 200
        assert info["test_data"]["patients"][0]["ins_token"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0


def test_serve_refuses_a_non_loopback_address_and_unknown_names() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "loopback" in result.output
    result = runner.invoke(cli, ["serve", "--faults", "nope"])
    assert result.exit_code != 0 and "défaut inconnu" in result.output
    result = runner.invoke(cli, ["serve", "--hostile", "nope"])
    assert result.exit_code != 0 and "mode hostile inconnu" in result.output


def test_serve_list_names_every_fault_and_mode() -> None:
    from conformance.reference.faults import FAULTS
    from conformance.reference.hostile import HOSTILE_MODES

    result = CliRunner().invoke(cli, ["serve", "--list"])
    assert result.exit_code == 0
    for name in [*FAULTS, *HOSTILE_MODES]:
        assert name in result.output


def test_serve_send_to_emits_the_pam_sequence_to_a_listener() -> None:
    from conformance.reference.pam import build_ack, check_pam_message
    from conformance.transport import mllp

    received: list[str] = []

    def listener(message: str) -> str:
        received.append(message)
        return build_ack(message, check_pam_message(message))

    with mllp.ThreadedMllpServer(listener) as server:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "conformance"), "serve", "--send-to", f"127.0.0.1:{server.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while len(received) < 8 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)
    assert len(received) == 8
