"""`conformance packages install|list|show` and `conformance --version`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pkg_helpers import make_package

from conformance import versions
from conformance.cli import cli
from conformance.cli.packages import EXIT_MISSING_DEPENDENCIES, EXIT_NOT_FOUND


def _run(*args: str, lang: str = "en"):
    return CliRunner().invoke(cli, list(args), env={"HOPEN_LANG": lang}, catch_exceptions=False)


def test_install_list_show_roundtrip(env: dict[str, Path]) -> None:
    tgz = make_package(env["work"], "demo.pkg", "1.2.3", dependencies={"dep.pkg": "1.0.0"})
    make_package(env["search"], "dep.pkg", "1.0.0")
    result = _run("packages", "install", "--offline", str(tgz))
    assert result.exit_code == 0, result.output
    assert "demo.pkg#1.2.3" in result.output and "dep.pkg#1.0.0" in result.output

    listing = _run("packages", "list", "--json")
    assert {(r["name"], r["version"]) for r in json.loads(listing.output)} == {
        ("demo.pkg", "1.2.3"),
        ("dep.pkg", "1.0.0"),
    }

    url = "http://example.org/demo.pkg/StructureDefinition/sd"
    shown = _run("packages", "show", "-p", "demo.pkg#1.2.3", url)
    assert shown.exit_code == 0, shown.output
    assert "demo.pkg#1.2.3" in shown.output and "StructureDefinition (Patient)" in shown.output
    as_json = _run("packages", "show", "-p", "demo.pkg#1.2.3", "--json", url + "|1.2.3")
    assert json.loads(as_json.output)["id"] == "demo.pkg-sd"


def test_show_unknown_canonical_exits_nonzero_and_names_missing_packages(env: dict[str, Path]) -> None:
    make_package(env["search"], "demo.pkg", "1.0.0", dependencies={"gone.pkg": "1.0.0"})
    result = _run("packages", "show", "-p", "demo.pkg#1.0.0", "http://example.org/unknown", lang="fr")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "n'est défini dans aucun paquet" in result.output
    assert "gone.pkg#1.0.0" in result.output


def test_install_corrupt_archive_is_a_clear_error(env: dict[str, Path]) -> None:
    bad = env["work"] / "bad.tgz"
    bad.write_bytes(b"\x1f\x8b\x08 truncated")
    result = _run("packages", "install", str(bad))
    assert result.exit_code == EXIT_NOT_FOUND
    assert "corrupt or truncated" in result.output
    assert "Traceback" not in result.output


def test_install_unknown_package_offline_fails_and_says_so(env: dict[str, Path]) -> None:
    result = _run("packages", "install", "--offline", "nowhere.pkg#1.0.0", lang="fr")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "introuvable" in result.output and "nowhere.pkg#1.0.0" in result.output


def test_missing_dependency_is_named_and_strict_makes_it_fail(env: dict[str, Path]) -> None:
    tgz = make_package(env["work"], "demo.pkg", "1.0.0", dependencies={"gone.pkg": "2.0.0"})
    relaxed = _run("packages", "install", "--offline", str(tgz))
    assert relaxed.exit_code == 0
    assert "gone.pkg#2.0.0" in relaxed.output
    strict = _run("packages", "install", "--offline", "--strict", "-q", str(tgz))
    assert strict.exit_code == EXIT_MISSING_DEPENDENCIES
    assert "gone.pkg#2.0.0" in strict.output


def test_install_rejects_a_malformed_name(env: dict[str, Path]) -> None:
    result = _run("packages", "install", "--offline", "bad name#1")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "invalid package name" in result.output


def test_version_lists_default_packages_and_registered_providers(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versions, "_PROVIDERS", [])
    versions.register_version_provider(lambda: ["HL7 v2 profile pam-fr-2.11"], name="hl7v2")

    def broken() -> list[str]:
        raise RuntimeError("rules not built")

    versions.register_version_provider(broken, name="cda")
    tgz = make_package(env["search"], "hl7.fhir.fr.core", "2.2.0", dependencies={"hl7.fhir.r4.core": "4.0.1"})
    assert "  FHIR package hl7.fhir.fr.core#2.2.0: not installed" in _run("--version").output.splitlines()
    assert not (env["cache"] / "hl7.fhir.fr.core#2.2.0").exists()  # --version never installs
    assert _run("packages", "install", "--offline", str(tgz)).exit_code == 0
    result = _run("--version")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("hopen-conformance ")
    assert "  FHIR package hl7.fhir.fr.core#2.2.0" in lines
    assert "  FHIR package hl7.fhir.r4.core#4.0.1: not installed" in lines
    assert "  HL7 v2 profile pam-fr-2.11" in lines
    assert any(line.startswith("  cda: unavailable (RuntimeError: rules not built)") for line in lines)


def test_install_folder_copies_it_into_the_cache(env: dict[str, Path]) -> None:
    folder = make_package(env["work"], "folder.pkg", "3.0.0", folder=True)
    result = _run("packages", "install", "--offline", str(folder))
    assert result.exit_code == 0, result.output
    installed = env["cache"] / "folder.pkg#3.0.0" / "package"
    assert (installed / "package.json").is_file()
    assert (installed / ".index.json").is_file()
    assert not (folder / "package" / ".index.json").exists()  # the source folder is left untouched


def test_install_real_fr_core_names_unreachable_dependencies_and_lists_them(
    real_base: dict[str, Path], fhir_packages_dir: Path
) -> None:
    result = _run("packages", "install", "--offline", str(fhir_packages_dir / "hl7.fhir.fr.core-2.2.0.tgz"))
    assert result.exit_code == 0, result.output
    assert "ans.fr.terminologies#1.7.0" in result.output
    assert "hl7.terminology.r4#" in result.output  # 7.1.0 asked; today npm has 7.0.1: used with a warning
    listing = _run("packages", "list")
    assert "hl7.fhir.fr.core#2.2.0" in listing.output
    assert "hl7.fhir.r4.core#4.0.1" in listing.output


def test_version_finds_conventional_provider_modules(
    env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fake_area_versions.py").write_text("def version_lines():\n    return ['CDA rules 2025.01']\n")
    (tmp_path / "broken_area_versions.py").write_text("raise ImportError('half-written module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        versions, "CONVENTIONAL_PROVIDERS", ("fake_area_versions", "broken_area_versions", "absent.module.versions")
    )
    lines = versions.describe_versions()
    assert "CDA rules 2025.01" in lines
    assert any("unavailable (ImportError: half-written module)" in line for line in lines)
    assert any("unavailable (ModuleNotFoundError" in line for line in lines)  # a listed module must exist


def test_show_accepts_a_resource_id(env: dict[str, Path]) -> None:
    make_package(env["search"], "demo.pkg", "1.0.0")
    result = _run("packages", "show", "-p", "demo.pkg#1.0.0", "demo.pkg-sd")
    assert result.exit_code == 0, result.output
    assert "http://example.org/demo.pkg/StructureDefinition/sd" in result.output


def test_install_from_a_registry_given_on_the_command_line(env: dict[str, Path], registry) -> None:
    registry.add(make_package(env["work"], "reg.pkg", "0.9.0"), "reg.pkg", "0.9.0")
    result = _run("packages", "install", "--no-npm", "--registry", registry.url, "reg.pkg@0.9.0")
    assert result.exit_code == 0, result.output
    assert registry.url in result.output
    assert (env["cache"] / "reg.pkg#0.9.0" / "package" / "package.json").is_file()


def test_dead_registry_on_the_command_line_is_reported_then_missing(env: dict[str, Path], dead_url: str) -> None:
    result = _run("packages", "install", "--no-npm", "--registry", dead_url, "reg.pkg#0.9.0")
    assert result.exit_code == EXIT_NOT_FOUND
    assert dead_url in result.output and "unreachable" in result.output
    assert "reg.pkg#0.9.0" in result.output


def test_quiet_install_still_reports_unusable_sources(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPEN_NPM", "no-such-npm-client")
    result = _run("packages", "install", "-q", "some.pkg#1.0.0")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "npm client" in result.output and "not installed" in result.output
