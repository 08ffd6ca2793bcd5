"""`conformance run`: exit code 2 when the harness cannot run; secrets never reach the run folder."""

from __future__ import annotations

import pytest
from cli_runner import conformance
from click.testing import CliRunner

from conformance.cli import cli


def test_bad_configuration_exits_2(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[timeouts]\nread = 'slow'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "timeouts.read" in result.output


def test_missing_configuration_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--config", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2 and "absent.toml" in result.output


def test_non_empty_output_folder_exits_2(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "something").write_text("x")
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--output", str(out), "--lang", "en"])
    assert result.exit_code == 2 and "not empty" in result.output


def test_faults_without_reference_is_a_usage_error(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--faults", "zbe-missing"])
    assert result.exit_code == 2


def test_secrets_never_reach_the_run_folder(tmp_path):
    token = "Tok3n-Very-Secret-0a1b2c3d4e"
    config = tmp_path / "c.toml"
    config.write_text(f"[fhir.auth]\ntype = 'bearer'\ntoken = '{token}'\n", encoding="utf-8")
    out = tmp_path / "run"
    done = conformance("run", "--reference", "--config", config, "--suite", "fhir-basics", "--output", out, "--quiet")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert token not in done.stdout + done.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 10  # exchanges were recorded
    leaks = [str(p) for p in files if token.encode() in p.read_bytes()]
    assert not leaks
    sent = [p for p in (out / "evidence").rglob("*.json") if b'"Authorization": "Bearer [REDACTED]"' in p.read_bytes()]
    assert sent  # the token was sent with the requests, and redacted in their records


@pytest.mark.browser
def test_pdf_is_written_and_sealed(tmp_path):
    from conformance.reports.pdf import find_chromium

    if find_chromium() is None:
        pytest.skip("chromium not installed (make system-deps)")
    out = tmp_path / "run"
    done = conformance("run", "--reference", "--suite", "directory", "--output", out, "--pdf", "--quiet")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "report.pdf" in (out / "manifest.json").read_text(encoding="utf-8")
    verify = conformance("verify", out, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
