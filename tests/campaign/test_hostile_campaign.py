"""Hostile reference endpoints: the campaign finishes within its timeouts, every test fails or errors naming the fault."""

from __future__ import annotations

import json

import pytest
from cli_runner import conformance
from support.verdicts import owed_exit_code

CONFIG = "[timeouts]\nconnect = 2\nread = 2\ntotal = 6\nretries = 0\n[fhir]\nmax_response_bytes = 1000000\n"

# mode -> words the messages of the metadata test must contain
MODES = {
    "huge-body": "maximum size",
    "html-200": "not a FHIR JSON resource",
    "redirect-loop": "redirect loop",
    "redirect-other-host": "another host",
    "tls-invalid-cert": "TLS",
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_hostile_fhir_server(tmp_path, mode):
    config = tmp_path / "hostile.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "run"
    done = conformance(
        "run",
        "--reference",
        "--hostile",
        mode,
        "--config",
        config,
        "--suite",
        "fhir-basics",
        "--output",
        out,
        "--lang",
        "en",
        "--quiet",
        "--no-preflight",  # every test meets the hostile server (the preflight is tests/campaign/test_verdicts.py)
    )
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert done.returncode == owed_exit_code(results["tests"]), done.stdout + done.stderr
    assert results["complete"] is True and (out / "manifest.json").exists()
    tests = {t["id"]: t for t in results["tests"]}
    metadata = tests["fhir-basics/capability/metadata-is-r4"]
    assert metadata["outcome"] in ("failed", "error")
    assert MODES[mode].lower() in metadata["messages"][0].lower(), metadata["messages"]
    if mode != "html-200":  # every request is hit by these modes: nothing can pass
        assert not [t["id"] for t in tests.values() if t["outcome"] == "passed"]
    if mode != "tls-invalid-cert":  # plain http://: the TLS test says why it did not run
        assert tests["fhir-basics/security/tls"]["outcome"] == "skipped"
    assert len(tests) == 20  # every fhir-basics test ran and was judged


MLLP_MODES = {
    "mllp-close-mid-frame": ("error", "mid-frame"),
    "mllp-wrong-ack": ("failed", "MSA-2"),
}


@pytest.mark.parametrize("mode", sorted(MLLP_MODES))
def test_hostile_mllp_receiver(tmp_path, mode):
    config = tmp_path / "hostile.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "run"
    done = conformance(
        "run",
        "--reference",
        "--hostile",
        mode,
        "--config",
        config,
        "--suite",
        "pam",
        "--output",
        out,
        "--lang",
        "en",
        "--quiet",
    )
    tests = {t["id"]: t for t in json.loads((out / "results.json").read_text(encoding="utf-8"))["tests"]}
    assert done.returncode == owed_exit_code(tests.values()), done.stdout + done.stderr
    outcome, words = MLLP_MODES[mode]
    senders = [t for key, t in tests.items() if key.startswith("pam/sender/")]
    assert len(senders) == 9 and all(t["outcome"] == outcome for t in senders)
    assert words in tests["pam/sender/admission"]["messages"][0]
    assert all(t["evidence"] for t in senders)  # the exchange up to the fault is kept
