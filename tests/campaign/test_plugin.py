"""The pytest plugin turns each test into a TestResult: passed / failed with findings / error / skipped."""

from __future__ import annotations

import json

pytest_plugins = ["pytester"]

SUITE = '''
import pytest
from conformance.sdk import SHALL, RuleSet, expect
from conformance.transport.http import TransportError

MY_RULE = RuleSet("plugin-test").rule(
    "my-rule", "fhir-r4.http.status", SHALL, fr="message fr {n}", en="message en {n}"
)


@pytest.mark.requirement("fhir-r4.read.id")
@pytest.mark.capability("fhir.rest.read")
@pytest.mark.title_en("Passes")
def test_passes(config):
    """Réussit"""


@pytest.mark.capability("fhir.rest.search")
def test_fails_with_finding():
    """Échoue"""
    expect(False, MY_RULE, "Bundle.entry", n=1)
    expect(False, MY_RULE, "Bundle.entry", n=2)  # the test goes on: both findings are kept


def test_errors():
    """Erreur"""
    raise TransportError("timeout", "délai dépassé", "timed out")


def test_needs_fhir(fhir_client):
    """Ignoré faute de FHIR"""
'''


def test_results_per_test(pytester, tmp_path):
    suite = pytester.mkpydir("fhir_basics")
    (suite / "test_things.py").write_text(SUITE, encoding="utf-8")
    pytester.makeconftest("from conformance.sdk.suite_hooks import pytest_runtest_call  # noqa: F401\n")
    config = tmp_path / "c.toml"
    config.write_text("[run]\nsuites = ['fhir-basics']\nlanguage = 'en'\n", encoding="utf-8")
    out = tmp_path / "run"
    result = pytester.runpytest_subprocess(
        "--conformance-config", str(config), "--conformance-output", str(out), "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    tests = {t["id"]: t for t in data["tests"]}
    assert tests["fhir-basics/things/passes"]["outcome"] == "passed"
    assert tests["fhir-basics/things/passes"]["title"] == "Réussit"
    assert tests["fhir-basics/things/passes"]["capabilities"] == ["fhir.rest.read"]
    assert tests["fhir-basics/things/passes"]["requirements"][0]["id"] == "fhir-r4.read.id"
    assert tests["fhir-basics/things/passes"]["requirements"][0]["strength"] == "SHALL"
    failed = tests["fhir-basics/things/fails-with-finding"]
    assert failed["outcome"] == "failed" and [f["rule"] for f in failed["findings"]] == ["my-rule", "my-rule"]
    assert failed["messages"] == ["message en 1; message en 2"]
    errored = tests["fhir-basics/things/errors"]
    assert errored["outcome"] == "error" and "timed out" in errored["messages"][0]
    skipped = tests["fhir-basics/things/needs-fhir"]
    assert skipped["outcome"] == "skipped" and "fhir.base_url" in skipped["messages"][0]
    assert data["complete"] is True and (out / "manifest.json").exists()


def test_inert_without_configuration(pytester):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_bad_configuration_is_a_usage_error(pytester, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[fhir]\nbase_url = 42\n", encoding="utf-8")
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("--conformance-config", str(config))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*fhir.base_url*"])


def test_bare_pytest_sigterm_leaves_partial_run(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    suite = tmp_path / "suites" / "fhir_basics"
    suite.mkdir(parents=True)
    (suite / "test_slow.py").write_text(
        "import time\n\ndef test_first():\n    pass\n\ndef test_slow():\n    time.sleep(60)\n", encoding="utf-8"
    )
    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path / "suites"),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--conformance-config",
            str(config),
            "--conformance-output",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    results = out / "results.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and '"fhir-basics/slow/first"' not in (
        results.read_text(encoding="utf-8") if results.exists() else ""
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["complete"] is False, output
    assert not (out / "manifest.json").exists()
    assert next(t["id"] for t in data["tests"]) == "fhir-basics/slow/first"
