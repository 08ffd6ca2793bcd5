"""`conformance --version` names every rule set a verdict depends on, so a report can be reproduced."""

from __future__ import annotations

from click.testing import CliRunner

from conformance.cli import cli


def test_version_lists_packages_profiles_schematrons_and_indicator_catalogues() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("hopen-conformance ")
    for expected in (
        "FHIR package hl7.fhir.fr.core#2.2.0",
        "HL7 v2 profile pam-fr-2.11",
        "CDA pack TestContenuCDA-3-0",
        "Indicator catalogue hopen2-2024",
    ):
        assert any(expected in line for line in lines), (expected, result.output)
