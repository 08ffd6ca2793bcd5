"""Evidence integrity at run level (issue 8 item 4), with the real `conformance run` and `conformance verify`.

A run killed in the middle (SIGTERM, then SIGKILL) leaves a partial folder that says it is incomplete and is not
sealed, and verify says so (non-zero). A complete run's folder, once changed in any way, no longer verifies.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hardening_support import CONFORMANCE, Target, write_config

pytestmark = pytest.mark.timeout(240)


def verify(run_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CONFORMANCE, "verify", str(run_dir), "--lang", "en"], capture_output=True, text=True, timeout=60
    )


def wait_for_progress(run_dir: Path, process: subprocess.Popen, evidence_files: int = 3) -> None:
    """Until the run has finished a few tests (partial results and evidence on disk), bounded."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        results = run_dir / "results.json"
        if results.exists() and len(list((run_dir / "evidence").rglob("*.json"))) >= evidence_files:
            return
        time.sleep(0.1)
    pytest.fail(f"the run made no progress (exit {process.poll()})")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_is_partial_unsealed_and_verify_says_so(hostile, tmp_path: Path, sig: signal.Signals) -> None:
    ref = hostile("silence")  # every exchange waits for its read timeout: the run is long, and busy
    config = write_config(
        tmp_path / "c.toml", Target.of(ref), suites=["fhir-basics", "pam"], timeouts={"read": 2.0, "total": 4.0}
    )
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        # --no-preflight: the silent endpoint would stop the run before any test (nothing to kill mid-run)
        [CONFORMANCE, "run", "--config", str(config), "--output", str(run_dir), "--lang", "en", "--no-preflight"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_progress(run_dir, process)
        process.send_signal(sig)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    if sig == signal.SIGTERM:
        assert process.returncode == 130, output[-2000:]
        assert "interrupted" in output.lower()
    else:
        assert process.returncode == -signal.SIGKILL

    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert results["complete"] is False
    assert not (run_dir / "manifest.json").exists() and not (run_dir / "manifest.sig").exists()
    finished = [t for t in results["tests"] if t["outcome"] != "skipped"]
    assert finished, "the partial results list the tests that finished"
    for path in (run_dir / "evidence").rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # every evidence file is whole (atomic writes)

    checked = verify(run_dir)
    assert checked.returncode != 0
    assert "incomplete" in (checked.stdout + checked.stderr).lower()


@pytest.fixture(scope="module")
def sealed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conformance.reference import ReferenceEndpoints

    folder = tmp_path_factory.mktemp("sealed")
    with ReferenceEndpoints() as ref:
        config = write_config(folder / "c.toml", Target.of(ref), suites=["fhir-basics"])
        done = subprocess.run(
            [CONFORMANCE, "run", "--config", str(config), "--output", str(folder / "run"), "--quiet"],
            capture_output=True,
            text=True,
            timeout=200,
        )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert verify(folder / "run").returncode == 0
    return folder / "run"


def _flip_evidence_byte(run: Path) -> None:
    path = sorted((run / "evidence").rglob("*.json"))[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _add_file(run: Path) -> None:
    (run / "evidence" / "extra.json").write_text("{}")


def _remove_file(run: Path) -> None:
    sorted((run / "evidence").rglob("*.json"))[-1].unlink()


def _edit_manifest(run: Path) -> None:
    """A consistent forgery without the key: results.json changed AND its hash updated in the manifest."""
    _edit_results(run)
    data = (run / "results.json").read_bytes()
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"]["results.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (run / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _edit_results(run: Path) -> None:
    results = json.loads((run / "results.json").read_text())
    for test in results["tests"]:
        test["outcome"] = "passed"
    (run / "results.json").write_text(json.dumps(results))


@pytest.mark.parametrize(
    "tamper",
    [_flip_evidence_byte, _add_file, _remove_file, _edit_manifest, _edit_results],
    ids=lambda f: f.__name__.strip("_"),
)
def test_any_change_to_a_sealed_run_is_detected(sealed_run: Path, tmp_path: Path, tamper) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(sealed_run, copy)
    assert verify(copy).returncode == 0  # the control: an untouched copy verifies
    tamper(copy)
    assert verify(copy).returncode != 0
