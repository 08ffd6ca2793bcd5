"""Hardening bench: how long the harness takes to give up on each slow hostile behaviour, against the timeout
it was configured with, and what a burst of 10,000 MLLP messages recorded as evidence costs (time, peak memory).

Uses the reference endpoints' hostile modes (conformance.reference) and the real transports. Nothing asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

HTTP_TIMEOUTS = {"connect": 1.0, "read": 2.0, "total": 3.0, "retries": 0, "retry_backoff": 0.1}
MLLP_ACK_TIMEOUT = 2.0
BURST = 10_000

# mode -> the configured limit that should end it, as shown in the figure's name
HTTP_MODES = {"silence": "read 2 s", "slow-bytes": "total 3 s", "huge-body": "max 5 MB", "redirect-loop": "-"}
MLLP_MODES = {"silence": "ack 2 s", "slow-bytes": "ack 2 s", "mllp-garbage": "ack 2 s", "mllp-no-end-block": "ack 2 s"}


def _timed(action: Callable[[], object]) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        action()
        verdict = "answered"
    except Exception as exc:  # the fault is the point: keep its class as the verdict
        verdict = type(exc).__name__
    return round(time.perf_counter() - started, 2), verdict


def http_give_up_times() -> dict[str, object]:
    from conformance.config import Timeouts
    from conformance.reference import ReferenceEndpoints
    from conformance.transport.http import FhirClient

    figures: dict[str, object] = {}
    for mode, limit in HTTP_MODES.items():
        with ReferenceEndpoints(hostile=mode, huge_body_bytes=300 * 1024 * 1024) as ref:
            client = FhirClient(
                ref.fhir_base_url, timeouts=Timeouts(**HTTP_TIMEOUTS), max_response_bytes=5 * 1024 * 1024
            )
            seconds, verdict = _timed(lambda client=client: client.read("Patient", "pat-trois"))
        figures[f"http {mode} ({limit}): gave up after s"] = seconds
        figures[f"http {mode}: verdict"] = verdict
    return figures


def mllp_give_up_times() -> dict[str, object]:
    from conformance.reference import ReferenceEndpoints
    from conformance.reference.pam import PamMessageFactory
    from conformance.transport import mllp

    figures: dict[str, object] = {}
    for mode, limit in MLLP_MODES.items():
        with ReferenceEndpoints(hostile=mode) as ref:
            message = PamMessageFactory(ref.test_data).a01()
            host, port = ref.mllp_receiver
            seconds, verdict = _timed(
                lambda h=host, p=port, m=message: mllp.send_and_receive(
                    h, p, m, timeout=MLLP_ACK_TIMEOUT, connect_timeout=1
                )
            )
        figures[f"mllp {mode} ({limit}): gave up after s"] = seconds
        figures[f"mllp {mode}: verdict"] = verdict
    return figures


BURST_CHILD = textwrap.dedent(
    """
    import json, sys, tempfile, time  # peak from VmHWM: ru_maxrss survives exec (the parent's peak)
    from pathlib import Path
    from conformance.evidence.recorder import EvidenceRecorder
    from conformance.reference import ReferenceEndpoints
    from conformance.reference.pam import build_ack, check_pam_message
    from conformance.transport import mllp

    count = int(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="hopen-bench-hardening-") as folder:
        run_dir = Path(folder) / "run"
        recorder = EvidenceRecorder(run_dir, secrets=["bench-secret-value"])
        recorder.begin_test("hardening/burst")
        with ReferenceEndpoints(hostile="mllp-burst", burst_count=count) as ref:
            server = mllp.ThreadedMllpServer(lambda m: build_ack(m, check_pam_message(m)), sink=recorder)
            with server:
                start = time.perf_counter()
                sender = ref.start_mllp_sender("127.0.0.1", server.port)
                sender.wait(600)
                elapsed = time.perf_counter() - start
        files = len(recorder.end_test())
        size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    print(json.dumps({
        "messages acknowledged": len(server.received),
        "all ACKs back": bool(sender.sent and sender.sent[0].ack_ok),
        "s": round(elapsed, 2),
        "messages/s": round(len(server.received) / elapsed, 1),
        "evidence files": files,
        "evidence MB": round(size / 1e6, 1),
        "peak rss MB": round(int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024, 1),
    }))
    """
)


def burst_recorded() -> dict[str, object]:
    """10,000 messages in one burst to the harness's MLLP listener, every frame recorded, in a child process."""
    done = subprocess.run(
        [sys.executable, "-c", BURST_CHILD, str(BURST)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        return {f"mllp burst {BURST}: error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {f"mllp burst {BURST} recorded: {key}": value for key, value in figures.items()}


def run() -> dict[str, object]:
    return {**http_give_up_times(), **mllp_give_up_times(), **burst_recorded()}


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:<60} {value}")
