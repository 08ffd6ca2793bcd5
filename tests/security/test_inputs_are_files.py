"""`validate` and `verify` take files: FIFOs, devices and sockets are refused without being read, symlink
loops are not followed, an empty input set is a usage error (real CLI in a child process, bounded)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CONFORMANCE = str(Path(sys.executable).parent / "conformance")
BOUND = 60  # seconds: a blocked read would exceed it (the child is then killed and the test fails)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CONFORMANCE, *args], capture_output=True, text=True, timeout=BOUND)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_validate_refuses_a_device(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} absent")
    done = _cli("validate", device)
    assert done.returncode == 2 and "FIFO" in done.stderr and device in done.stderr


def test_validate_refuses_a_fifo_and_a_socket(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    done = _cli("validate", str(fifo), "--lang", "en")
    assert done.returncode == 2 and "neither a regular file nor a folder" in done.stderr
    with socket.socket(socket.AF_UNIX) as server:
        path = tmp_path / "s.sock"
        server.bind(str(path))
        done = _cli("validate", str(path))
    assert done.returncode == 2 and "ni un fichier ordinaire" in done.stderr


def test_fifo_inside_a_folder_is_named_not_read(tmp_path: Path) -> None:
    (tmp_path / "patient.json").write_text('{"resourceType": "Patient"}')
    os.mkfifo(tmp_path / "trap.json")
    done = _cli("validate", str(tmp_path), "--lang", "en")
    assert done.returncode == 1
    assert "trap.json" in done.stdout and "Not a regular file" in done.stdout


def test_symlink_loops_and_an_empty_folder_are_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _cli("validate", str(empty), "--lang", "en")
    assert done.returncode == 2 and "no file to validate" in done.stderr
    loops = tmp_path / "loops"
    loops.mkdir()
    (loops / "a").symlink_to(loops / "b")
    (loops / "b").symlink_to(loops / "a")
    (loops / "self").symlink_to(loops)
    done = _cli("validate", str(loops))
    assert done.returncode == 2 and "aucun fichier à valider" in done.stderr
    done = _cli("validate", str(loops / "a"))
    assert done.returncode == 2


def test_escape_sequences_in_a_file_name_do_not_reach_the_terminal(tmp_path: Path) -> None:
    name = tmp_path / "\x1b[2K\x1b[32mVALIDE.json"
    name.write_text('{"resourceType": "Patient", "gender": "bogus"}')
    done = _cli("validate", str(name))
    assert "\x1b" not in done.stdout + done.stderr and "\\x1b[2K" in done.stdout


def test_verify_of_a_fifo_manifest_does_not_block(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"complete": true}')
    os.mkfifo(tmp_path / "manifest.json")
    done = _cli("verify", str(tmp_path), "--lang", "en")
    assert done.returncode == 1 and "not a regular file" in done.stderr


def test_pid3_with_200000_repetitions_is_validated_linearly_with_a_warning(tmp_path: Path) -> None:
    from conformance.reference.pam import PamMessageFactory
    from conformance.reference.test_data import build_test_data

    segments = PamMessageFactory(build_test_data()).a01().split("\r")
    for position, segment in enumerate(segments):
        if segment.startswith("PID|"):
            fields = segment.split("|")
            fields[3] = "~".join([fields[3]] * 200_000)
            segments[position] = "|".join(fields)
    message = tmp_path / "adt.hl7"
    message.write_text("\r".join(segments))
    done = _cli("validate", str(message), "--hl7v2-profile", "pam-fr-2.11", "--lang", "en")  # within BOUND
    assert done.returncode in (0, 1) and "only the first 1000 are checked" in done.stdout


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.json", '{"resourceType":"Patient","extension":' + "[" * 100_000 + "]" * 100_000 + "}"),
        (
            "deep.ndjson",
            '{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","x":'
            + "[" * 100_000
            + "]" * 100_000
            + "}\n",
        ),
        (
            "deep.xml",
            '<Patient xmlns="http://hl7.org/fhir">' + "<extension>" * 100_000 + "</extension>" * 100_000 + "</Patient>",
        ),
    ],
)
def test_input_nested_100000_deep_is_a_finding_within_seconds(tmp_path: Path, name: str, content: str) -> None:
    """SHALL: nesting past the parsers' depth is a finding (exit 1), never a hang nor a RecursionError (mapping
    findings to lines copied one path per level: 100,000 levels ran for minutes)."""
    (tmp_path / name).write_text(content)
    done = _cli("validate", str(tmp_path / name), "--lang", "en")
    assert done.returncode == 1, done.stdout[-500:] + done.stderr[-500:]
    assert "Traceback" not in done.stderr and "INVALID" in done.stdout
