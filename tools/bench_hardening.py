"""Hardening bench: how long the harness takes to give up on each slow hostile behaviour, against the timeout
it was configured with, what a burst of 10,000 MLLP messages recorded as evidence costs (time, peak memory),
and the large hostile inputs (PID-3 repetitions, 9.5 MB frames, a 50 MB compressed body, a 1,000,000-entry
Bundle): time and peak memory beside the input size, each in a child process.

Uses the reference endpoints' hostile modes (conformance.reference) and the real transports. Nothing asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from functools import partial
from typing import Any

HTTP_TIMEOUTS: dict[str, Any] = {"connect": 1.0, "read": 2.0, "total": 3.0, "retries": 0, "retry_backoff": 0.1}
MLLP_ACK_TIMEOUT = 2.0
BURST = 10_000

# mode -> the configured limit that should end it, as shown in the figure's name
HTTP_MODES = {"silence": "read 2 s", "slow-bytes": "read 2 s, headers", "huge-body": "max 5 MB", "redirect-loop": "-"}
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
            seconds, verdict = _timed(partial(client.read, "Patient", "pat-trois"))
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
                partial(mllp.send_and_receive, host, port, message, timeout=MLLP_ACK_TIMEOUT, connect_timeout=1)
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


LARGE_CHILD = textwrap.dedent(
    """
    import json, sys, time, threading, zlib

    def peak_mb():  # VmHWM: this process's own peak
        return round(int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024, 1)

    def pid3():
        from conformance.reference.pam import PamMessageFactory
        from conformance.reference.test_data import build_test_data
        from conformance.validation.hl7v2 import validate_input
        from conformance.validation.options import ValidateOptions
        segments = PamMessageFactory(build_test_data()).a01().split("\\r")
        for i, segment in enumerate(segments):
            if segment.startswith("PID|"):
                fields = segment.split("|"); fields[3] = "~".join([fields[3].split("~")[0]] * 200_000)
                segments[i] = "|".join(fields)
        data = "\\r".join(segments).encode()
        start = time.perf_counter()
        outcome = list(validate_input(data, name="pid3", options=ValidateOptions(hl7v2_profile="pam-fr-2.11")))
        return {"input MB": round(len(data) / 1e6, 1), "s": round(time.perf_counter() - start, 2),
                "findings": sum(len(o.findings) for o in outcome)}

    def frames():
        from conformance.campaign.listener import Listener
        from conformance.config import parse_config
        from conformance.transport import mllp
        config = parse_config({"mllp": {"max_frame_bytes": 10 * 1024 * 1024, "listener": {"port": 0}}})
        listener = Listener(type("S", (), {"config": config, "lang": "en"})()).start()
        frame = ("MSH|^~\\\\&|A|B|C|D|20260101||ADT^A01^ADT_A01|1|P|2.5\\rNTE|1||" + "x" * 9_500_000 + "\\r").encode()
        start, sent = time.perf_counter(), 0
        for _ in range(160):
            try:
                mllp.send_and_receive("127.0.0.1", listener.port, frame, timeout=30)
                sent += 1
            except mllp.MllpError:
                pass
        elapsed = time.perf_counter() - start
        guard = listener.server.guard
        listener.stop()
        return {"input MB": round(160 * len(frame) / 1e6), "s": round(elapsed, 2), "frames acknowledged": sent,
                "listener exhausted": bool(guard.exhaustion)}

    def gzip_body():
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import tempfile
        from pathlib import Path
        from conformance.evidence.recorder import EvidenceRecorder
        from conformance.transport.http import FhirClient, TransportError
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        blob = b"".join(packer.compress(b'{"resourceType":"Patient","x":"' + b"0" * (16 << 20)) for _ in range(4))
        blob += packer.flush()
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_GET(self):
                self.send_response(200); self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Encoding", "gzip"); self.send_header("Content-Length", str(len(blob)))
                self.end_headers(); self.wfile.write(blob)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with tempfile.TemporaryDirectory() as folder:
            recorder = EvidenceRecorder(Path(folder), secrets=["bench-secret-value"], pseudonymize=True)
            recorder.begin_test("bench/gzip")
            client = FhirClient(f"http://127.0.0.1:{server.server_address[1]}/fhir", sink=recorder)
            start = time.perf_counter()
            try:
                client.read("Patient", "1"); verdict = "read"
            except TransportError as exc:
                verdict = exc.kind
            elapsed = time.perf_counter() - start
        server.shutdown()
        return {"compressed MB": round(len(blob) / 1e6, 2), "inflates to MB": 64, "cut at MB": 50,
                "s (read + redact + pseudonymise + write)": round(elapsed, 2), "verdict": verdict}

    def bundle():  # as `conformance validate FILE` does it: above 16 MiB, entry by entry
        import tempfile
        from pathlib import Path
        from conformance.cli.validate import validate_path
        from conformance.validation.options import ValidateOptions
        with tempfile.TemporaryDirectory(prefix="hopen-bench-bundle-") as folder:
            path = Path(folder) / "bundle.json"
            with path.open("w") as handle:
                handle.write('{"resourceType":"Bundle","type":"collection","entry":[')
                for first in range(0, 1_000_000, 10_000):  # written in pieces: the peak is the validation's
                    handle.write(("," if first else "") + ",".join(
                        '{"fullUrl":"urn:uuid:1b8e0c0e-0000-4000-8000-%012d","resource":{"resourceType":"Basic",'
                        '"id":"b%d","code":{"text":"x"}}}' % (i, i)
                        for i in range(first, first + 10_000)))
                handle.write("]}")
            size = path.stat().st_size
            start, cpu = time.perf_counter(), time.process_time()
            outcome = validate_path(path, ValidateOptions())
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        return {"input MB": round(size / 1e6, 1), "s": round(elapsed, 2), "cpu s (wall time varies with load)": round(cpu, 2),
                "entries": outcome[0].details.get("entries"), "streamed": bool(outcome[0].details.get("streamed")),
                "findings listed": len(outcome[0].findings),
                "findings counted past the cap": outcome[0].details.get("findings_not_listed", 0)}

    figures = {"pid3": pid3, "frames": frames, "gzip": gzip_body, "bundle": bundle}[sys.argv[1]]()
    figures["peak rss MB"] = peak_mb()
    print(json.dumps(figures))
    """
)
LARGE_CASES = {
    "pid3": "hl7v2 PID-3 x 200,000 repetitions",
    "frames": "mllp listener 160 frames x 9.5 MB",
    "gzip": "http 50 MB cap on a gzip body",
    "bundle": "fhir Bundle of 1,000,000 entries",
}


def large_inputs(cases: tuple[str, ...] = tuple(LARGE_CASES)) -> dict[str, object]:
    figures: dict[str, object] = {}
    for case in cases:
        done = subprocess.run(
            [sys.executable, "-c", LARGE_CHILD, case], capture_output=True, text=True, timeout=1800, check=False
        )
        label = LARGE_CASES[case]
        if done.returncode != 0:
            figures[f"{label}: error"] = (done.stderr.strip().splitlines() or ["?"])[-1][:200]
            continue
        for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
            figures[f"{label}: {key}"] = value
    return figures


def run() -> dict[str, object]:
    return {**http_give_up_times(), **mllp_give_up_times(), **burst_recorded(), **large_inputs()}


if __name__ == "__main__":
    selected = run() if len(sys.argv) < 2 else large_inputs(tuple(sys.argv[1:]))
    for name, value in selected.items():
        print(f"{name:<60} {value}")
