"""The complete example of conformance/sdk/README.md, run as written (its rules and its test, each a code
block named by its first line) as a suite of bare pytest with the campaign plugin: it passes against the
reference endpoints and fails with one finding per patient when the seeded fault `read-wrong-id` is on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.reference import ReferenceEndpoints
from conformance.settings import package_dir

pytest_plugins = ["pytester"]

README = package_dir("sdk") / "README.md"
EXAMPLE = "conformance/suites/example/"


def example_files() -> dict[str, str]:
    """The README's code blocks whose first line is `# conformance/suites/example/<file>`, by file name."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return {
        block.split("\n", 1)[0].removeprefix(f"# {EXAMPLE}"): block.split("\n", 1)[1]
        for block in blocks
        if block.startswith(f"# {EXAMPLE}")
    }


def test_the_readme_holds_the_example_rules_and_test() -> None:
    assert sorted(example_files()) == ["rules.py", "test_read.py"]


def _run_example(pytester: pytest.Pytester, tmp_path: Path, faults: str) -> dict:
    # A campaign runs the suites the package ships: outside it, the example takes the folder name of one.
    suite = pytester.mkpydir("fhir_basics")
    for name, text in example_files().items():
        (suite / name).write_text(text, encoding="utf-8")
    pytester.makeconftest("from conformance.suites.conftest import *  # noqa: F403\n")
    out = tmp_path / "run"
    with ReferenceEndpoints(faults) as ref:
        config = tmp_path / "campaign.toml"
        config.write_text(
            f'[run]\nsuites = ["fhir-basics"]\nlanguage = "en"\n\n[fhir]\nbase_url = "{ref.fhir_base_url}"\n',
            encoding="utf-8",
        )
        result = pytester.runpytest_subprocess(
            "--conformance-config", str(config), "--conformance-output", str(out), "-p", "no:cacheprovider"
        )
    assert result.ret in (0, 1), result.stdout.str()[-3000:]
    (test,) = json.loads((out / "results.json").read_text(encoding="utf-8"))["tests"]
    return test


def test_the_example_passes_against_the_reference(pytester: pytest.Pytester, tmp_path: Path) -> None:
    test = _run_example(pytester, tmp_path, "")
    assert test["id"] == "fhir-basics/read/each-patient-is-read-under-its-id"
    assert test["outcome"] == "passed", test["messages"]
    assert test["title"] == "Chaque patient listé est relu sous son propre id"
    assert [r["id"] for r in test["requirements"]] == ["fhir-r4.read.id"]


def test_the_example_fails_each_patient_read_under_another_id(pytester: pytest.Pytester, tmp_path: Path) -> None:
    test = _run_example(pytester, tmp_path, "read-wrong-id")
    assert test["outcome"] == "failed", test["messages"]
    findings = test["findings"]
    assert findings and {f["rule"] for f in findings} == {"example-read-id"}
    resources = [f["resource"] for f in findings]
    assert len(set(resources)) == len(resources) > 1  # one finding per patient, each named
    assert all("-autre" in f["message"]["en"] for f in findings)
