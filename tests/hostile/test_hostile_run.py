"""`conformance run` (a subprocess, as a user runs it) against the reference endpoints in a hostile mode.

For each mode: the run ends (exit 1: tests failed/errored, never 2 = harness broken), results.json is complete,
the tests hit by the fault are failed or errored with a message naming it, the suite the mode does not touch
still passes (the other tests still run), the evidence of the faulty exchanges is in the run folder (with the
error, or with the body the verdict is about), and the sealed report verifies.

A few modes run in `make test`; the slower ones (each test waiting for a timeout) are marked slow.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hardening_support import (
    CONFORMANCE,
    RunOutcome,
    Target,
    described,
    free_port,
    run_conformance,
    write_config,
)
from support.verdicts import owed_exit_code

HTTP_SUITE, MLLP_SUITE = "fhir-basics", "pam"
SLOW = pytest.mark.slow

# mode -> ({suite hit: text its failed/errored tests must name}, the faulty exchanges carry an `error`)
MODES = {
    "html-200": ({HTTP_SUITE: "text/html"}, False),
    "tls-required": ({HTTP_SUITE: "requires tls"}, True),
    "mllp-close-mid-frame": ({MLLP_SUITE: "mid-frame"}, True),
    "mllp-wrong-ack": ({MLLP_SUITE: "msa-2"}, False),
    "silence": ({HTTP_SUITE: "read timeout", MLLP_SUITE: "no answer within"}, True),
    "slow-bytes": ({HTTP_SUITE: "read timeout", MLLP_SUITE: "no end block within"}, True),
    "huge-body": ({HTTP_SUITE: "maximum size"}, True),
    "truncated-json": ({HTTP_SUITE: "not a fhir json resource"}, False),
    "not-fhir-json": ({HTTP_SUITE: "not a fhir json resource"}, False),
    "wrong-media-type": ({HTTP_SUITE: "text/plain instead of application/fhir+json"}, False),
    "redirect-loop": ({HTTP_SUITE: "redirect loop"}, True),
    "redirect-other-host": ({HTTP_SUITE: "another host refused"}, True),
    "tls-invalid-cert": ({HTTP_SUITE: "certificate verify failed"}, True),
    "mllp-garbage": ({MLLP_SUITE: "garbage"}, True),
    "mllp-no-end-block": ({MLLP_SUITE: "missing end block"}, True),
}
FAST = {"html-200", "tls-required", "mllp-close-mid-frame", "mllp-wrong-ack"}


def params() -> list:
    return [pytest.param(mode, marks=[] if mode in FAST else [SLOW], id=mode) for mode in MODES]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("mode", params())
def test_hostile_run_finishes_names_the_fault_and_keeps_evidence(hostile, tmp_path: Path, mode: str) -> None:
    hits, transport_fault = MODES[mode]
    ref = hostile(mode, huge_body_bytes=64 * 1024 * 1024)
    # slow-bytes trickles a byte a second: the read timeout must outlast the first byte to see a frame started
    timeouts = {"read": 3.0, "total": 5.0} if mode == "slow-bytes" else None
    config = write_config(
        tmp_path / "campaign.toml", Target.of(ref), suites=[HTTP_SUITE, MLLP_SUITE], timeouts=timeouts
    )
    # --no-preflight: every test meets the hostile endpoint (with the preflight, an endpoint that never answers
    # or refuses TLS stops the run before any suite: tests/campaign/test_verdicts.py)
    outcome = run_conformance(config, tmp_path / "run", "--no-preflight")

    assert outcome.code == owed_exit_code(outcome.tests.values()) != 0, outcome.output[-3000:]
    assert outcome.results["complete"] is True
    for suite, named in hits.items():
        check_suite_hit(outcome, mode, suite, named, transport_fault)

    # A suite the hostile mode does not touch still ran, and passed (pam's receiver side is not configured).
    for other_suite in {HTTP_SUITE, MLLP_SUITE} - set(hits):
        others = [t for t in outcome.tests.values() if t["suite"] == other_suite and t["outcome"] != "skipped"]
        assert others and all(t["outcome"] == "passed" for t in others), {t["id"]: t["messages"] for t in others}

    # The report of a hostile run is still readable and sealed.
    assert (outcome.run_dir / "report.html").stat().st_size > 1000
    verify = subprocess.run([CONFORMANCE, "verify", str(outcome.run_dir)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def check_suite_hit(outcome: RunOutcome, mode: str, suite: str, named: str, transport_fault: bool) -> None:
    hit = [t for t in outcome.tests.values() if t["suite"] == suite and t["outcome"] != "skipped"]
    assert hit and all(t["outcome"] in ("failed", "warning", "error") for t in hit if mode != "wrong-media-type")
    naming = [t for t in hit if named in described(t)]
    assert naming, {t["id"]: t["messages"] for t in hit}

    # The evidence of the faulty exchanges is in the folder, attached to the tests that made them (a test
    # reusing a module fixture's response has no exchange of its own: the first test holds it).
    listed = [outcome.run_dir / p for t in naming for p in t["evidence"]]
    assert all(f.is_file() for f in listed)
    records = [json.loads(f.read_text(encoding="utf-8")) for f in listed if f.suffix == ".json"]
    exchanges = [r for r in records if r.get("kind") in ("http", "mllp")]
    assert exchanges, [t["id"] for t in naming]
    if transport_fault:
        assert any(named in (r.get("error") or "").lower() for r in exchanges)
    else:
        assert all(r.get("error") is None for r in exchanges)  # the answer came; the verdict is about it


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_burst_of_ten_thousand_messages_during_a_run(hostile, tmp_path: Path) -> None:
    """The system under test floods the harness's listener with 10,000 messages while the campaign runs."""
    ref = hostile("mllp-burst")
    port = free_port()
    listener = {"host": "127.0.0.1", "port": port, "wait_seconds": 120.0, "expect_messages": ref.burst_count}
    config = write_config(tmp_path / "c.toml", Target.of(ref), suites=[MLLP_SUITE], listener=listener)
    sender: list = []

    def flood_when_listening() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                time.sleep(0.2)
                continue
            sender.append(ref.start_mllp_sender("127.0.0.1", port))
            return

    flooder = threading.Thread(target=flood_when_listening, daemon=True)
    flooder.start()
    outcome = run_conformance(config, tmp_path / "run", timeout=800)
    flooder.join(5)

    assert outcome.code in (0, 1), outcome.output[-3000:]
    assert outcome.results["complete"] is True
    assert sender and sender[0].wait(30) and sender[0].sent, "the burst never started"
    assert sender[0].sent[0].ack_ok, sender[0].sent[0].ack  # 10,000 ACKs came back on the connection
    received = outcome.tests["pam/receiver/messages-received"]
    assert received["outcome"] == "passed", received["messages"]
    verify = subprocess.run([CONFORMANCE, "verify", str(outcome.run_dir)], capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout[-2000:]
