"""The package runs when installed: the wheel is built, installed into a fresh virtual environment outside the
checkout, and `conformance run --reference` (the whole campaign, every suite the package ships) and
`conformance validate FILE` work from another directory. Part of `make test` (about 40 s): CI runs it.

The fresh environment gets the wheel (without its dependencies) in its own site-packages; the dependencies
come from the development environment's site-packages as a plain path entry, so that environment's editable
install of this checkout is not active there (its finder is installed by a .pth file that is not processed).
Outside a checkout the shared reference data cannot be guessed (../shared): it is named by HOPEN_SHARED_DIR,
as a user of the installed package names it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from conformance import settings
from conformance.suites import suite_names

CHECKOUT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)
_NOT_SOURCES = (".venv", ".git", "build", "*.egg-info", "node_modules", "runs", "out", "__pycache__", ".*_cache")


def _run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HOPEN_SHARED_DIR"] = str(settings.shared_dir())
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh environment holding the wheel of this checkout."""
    root = tmp_path_factory.mktemp("installed")
    assert not root.resolve().is_relative_to(CHECKOUT), root
    wheels = root / "wheels"
    source = root / "source"  # a copy: a build/ folder left in the checkout would put stale modules in the wheel
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        cwd=root,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("hopen_conformance-*.whl")
    env_dir = root / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root).stdout.strip()
    )
    (purelib / "development-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], cwd=root
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return env_dir / "bin"


def _a28() -> str:
    from conformance.config import PatientData
    from conformance.validation.hl7v2.build import PamContext, PamMessageFactory

    patient = PatientData("279035121518989", family="PAT-TROIS", given="DOMINIQUE", birth_date="1979-03-28",
                          gender="female", ipp="IPP1", birth_city="DOMPREMY")  # fmt: skip
    context = PamContext("APP", "FAC", "SUT", "SUT", "000897406")
    return PamMessageFactory(context, patient, account="NDA1", visit="VN1").create_patient()


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    found = _run([str(installed / "python"), "-c", "import conformance; print(conformance.__file__)"], tmp_path)
    assert found.returncode == 0, found.stderr[-2000:]
    assert not Path(found.stdout.strip()).is_relative_to(CHECKOUT), found.stdout


def test_validate_a_file_from_another_directory(installed: Path, tmp_path: Path) -> None:
    message = tmp_path / "a28.hl7"
    message.write_text(_a28(), encoding="utf-8")
    result = _run(
        [str(installed / "conformance"), "validate", "--lang", "en", "--format", "json", str(message)], tmp_path
    )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert json.loads(result.stdout)


def test_run_against_the_reference_from_another_directory(installed: Path, tmp_path: Path) -> None:
    """`conformance run --reference` from the installed package: exit 0, every shipped suite run and passed."""
    output = tmp_path / "run"
    result = _run([str(installed / "conformance"), "run", "--reference", "--quiet", "--output", str(output)], tmp_path)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    assert results["complete"] and results["summary"]["failed"] == 0 and results["summary"]["error"] == 0
    assert {test["suite"] for test in results["tests"]} == set(suite_names())
    assert (output / "report.html").is_file()
