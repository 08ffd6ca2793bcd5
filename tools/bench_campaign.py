"""Bench: wall time of the full campaign against the embedded reference endpoints (make bench)."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path


def run() -> dict[str, object]:
    from conformance.campaign import run_campaign
    from conformance.campaign.reference import reference_config, sender_callback
    from conformance.reference import ReferenceEndpoints

    with tempfile.TemporaryDirectory() as tmp, ReferenceEndpoints() as ref:
        config = reference_config(ref)
        started = time.perf_counter()
        result = run_campaign(
            config,
            output=Path(tmp) / "run",
            listener_callbacks=[sender_callback(ref)],
            mss_peer=ref.mss,
            progress=io.StringIO(),
        )
        wall = time.perf_counter() - started
    counts: dict[str, int] = {}
    for test in result.run.tests:
        counts[test.outcome.value] = counts.get(test.outcome.value, 0) + 1
    return {
        "campaign wall time, full, reference endpoints (s)": round(wall, 2),
        "campaign tests executed": len(result.run.tests),
        "campaign outcomes": ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        "campaign exit code": result.exit_code,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<55} {value}")
