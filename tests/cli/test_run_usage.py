"""`conformance run` usage: configuration problems all at once, in French; the README's commands keep runs
out of the sources."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from click.testing import CliRunner

from conformance.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def test_every_configuration_problem_is_reported_at_once(tmp_path: Path) -> None:
    """SHALL: a user fixes a wrong TOML in one pass: each unknown key and each wrong section, one line each."""
    config = tmp_path / "bad.toml"
    config.write_text('[run]\nsuites = ["nope"]\n[target]\nx = 1\n[mllp]\nport = "x"\nbogus = 2\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--output", str(tmp_path / "r")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith(str(config))]
    keys = [line.split("\u202f: ")[1] for line in lines]
    assert {"target", "run.suites", "mllp.bogus"} <= set(keys), result.output
    assert len(lines) >= 3
    assert all("\u202f: " in line for line in lines)  # French typography


def test_a_toml_syntax_error_gives_its_line_and_column_in_french(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[run\nsuites = []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--output", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert re.search(r"TOML invalide ligne 1, colonne \d+ \(lecteur TOML\u202f: «", result.output), result.output
    config.write_text("[run]\nsuites = [\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--output", str(tmp_path / "r")])
    assert "TOML invalide en fin de fichier" in result.output, result.output


def test_the_readme_pytest_command_writes_its_run_outside_the_sources() -> None:
    """SHALL: the bare-pytest command of the README names its run folder (else [run] output is relative to
    examples/campaign.toml: examples/runs/), and a run folder under examples/ is ignored by git."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("pytest ") and "--conformance-config" in line]
    assert commands and all("--conformance-output runs/" in line for line in commands)
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "examples/runs/20260101T000000Z/results.json"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


def test_unknown_names_are_usage_errors_in_french_with_the_closest_name(tmp_path: Path) -> None:
    """SHALL: a typo in --faults, --hostile or --programme exits 2 and suggests the name meant, in French."""
    runner = CliRunner()
    served = runner.invoke(cli, ["serve", "--faults", "ins-wrong-oi"])
    assert served.exit_code == 2
    assert "défaut inconnu\u202f: ins-wrong-oi" in served.output and "«\u202fins-wrong-oid\u202f»" in served.output
    ran = runner.invoke(cli, ["run", "--reference", "--faults", "ins-wrong-oid,nope", "--output", str(tmp_path / "r")])
    assert ran.exit_code == 2 and "défaut inconnu\u202f: nope" in ran.output
    assert not (tmp_path / "r").exists()  # refused before anything started
    hostile = runner.invoke(cli, ["serve", "--lang", "en", "--hostile", "nope"])
    assert hostile.exit_code == 2 and "unknown hostile mode: nope" in hostile.output
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text("{}", encoding="utf-8")
    report = runner.invoke(cli, ["report", str(tmp_path / "run"), "--programme", "hopen2-2042"])
    assert report.exit_code == 2 and "programme inconnu\u202f: hopen2-2042" in report.output


def test_trusting_something_that_is_no_key_says_so_in_french(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["keys", "trust", str(tmp_path / "absent.pub")])
    assert result.exit_code == 2
    assert "ni un fichier de clé Ed25519 (PEM) lisible ni une empreinte" in result.output
