"""`conformance validate` routes HL7 v2 input to our validate_input: text and JSON output, exit codes,
--hl7v2-profile (a built-in set or a user's XML profile), and `conformance --version` lists our profile sets."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conformance.cli import cli

from .conftest import ADT_A01, with_value
from .test_hl7v2_xml_profile import LEGACY


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_valid_message_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "a01.hl7"
    path.write_bytes(ADT_A01.encode())
    result = run("validate", "--hl7v2-profile", "pam-fr-2.11", str(path))
    assert result.exit_code == 0, result.output
    assert "hl7v2" in result.output


def test_invalid_message_exits_one_with_the_located_finding(tmp_path: Path) -> None:
    path = tmp_path / "bad.hl7"
    path.write_bytes(with_value(ADT_A01, "PID-32", "PROV").encode())
    result = run("validate", "--lang", "en", str(path))
    assert result.exit_code == 1, result.output
    assert "pam-fr-ins-qualified" in result.output and "PID-32" in result.output


def test_json_output_is_an_operation_outcome(tmp_path: Path) -> None:
    path = tmp_path / "bad.hl7"
    path.write_bytes(with_value(ADT_A01, "PID-8", "X").encode())
    result = run("validate", "--format", "json", str(path))
    assert result.exit_code == 1
    data = json.loads(result.output[result.output.index("{") :])
    issues = data["issue"] if data.get("resourceType") == "OperationOutcome" else data["entry"][0]["resource"]["issue"]
    assert any(issue.get("expression") == ["PID-8"] for issue in issues)


def test_user_xml_profile_from_the_cli(tmp_path: Path) -> None:
    profile = tmp_path / "site.xml"
    profile.write_text(LEGACY, encoding="utf-8")
    path = tmp_path / "a01.hl7"
    path.write_bytes(with_value(ADT_A01, "PID-3.4.3", "ISO").encode())
    result = run("validate", "--hl7v2-profile", str(profile), str(path))
    assert result.exit_code == 0, result.output
    strict = tmp_path / "n.hl7"
    strict.write_bytes(ADT_A01.encode())  # its IPP authority type is N, the site profile fixes ISO
    result = run("validate", "--hl7v2-profile", str(profile), "--lang", "en", str(strict))
    assert result.exit_code == 1 and "PID-3.4.3" in result.output, result.output


def test_version_lists_the_hl7v2_profile_sets() -> None:
    result = run("--version")
    assert "HL7 v2 profile pam-fr-2.11" in result.output
    assert "HL7 v2 profile cisis-cda-hl7v2-2.1" in result.output
