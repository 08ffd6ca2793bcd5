"""The npm client path, with the real npm client and real packages from the npm registry.

hl7.fhir.uv.extensions.r4 (0.7 MB) is small enough to fetch in a test; the 30 MB R4 core is not
re-fetched: its alias installation is exercised with the same machinery on the small package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.packages import PackageCache, PackageManager
from conformance.packages import sources as sources_module

pytestmark = [
    pytest.mark.network_tools,
    pytest.mark.skipif(shutil.which("npm") is None, reason="the npm client is not installed"),
]

EXT = "hl7.fhir.uv.extensions.r4"
EXT_VERSION = "5.3.0-ballot-tc1"


def _manager(env: dict[str, Path], **kw) -> PackageManager:
    return PackageManager(PackageCache(env["cache"]), [env["search"]], [], state_dir=env["tool"], **kw)


def test_npm_pack_installs_a_real_package(env: dict[str, Path]) -> None:
    result = _manager(env).resolve([f"{EXT}#{EXT_VERSION}"], with_dependencies=False)
    assert [p.ref for p in result.packages] == [f"{EXT}#{EXT_VERSION}"]
    package = env["cache"] / f"{EXT}#{EXT_VERSION}" / "package"
    assert (package / ".index.json").is_file()  # npm tarballs have none: built at install
    assert any("npm pack" in line for line in result.installed)


def test_npm_version_list_gives_the_fallback(env: dict[str, Path]) -> None:
    result = _manager(env).resolve([f"{EXT}#5.3.0"], with_dependencies=False)
    assert [p.ref for p in result.packages] == [f"{EXT}#{EXT_VERSION}"]
    assert any(f"{EXT}#5.3.0" in w for w in result.warnings)


def test_npm_alias_installs_under_the_other_name(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # The same mechanism that serves hl7.fhir.r4.examples@4.0.1 as hl7.fhir.r4.core#4.0.1.
    monkeypatch.setitem(sources_module.NPM_ALIASES, ("test.alias.core", "1.0.0"), (EXT, EXT_VERSION))
    result = _manager(env).resolve(["test.alias.core#1.0.0"], with_dependencies=False)
    info = result.packages[0]
    assert info.ref == "test.alias.core#1.0.0"
    manifest = info.manifest()
    assert manifest["name"] == "test.alias.core"
    assert manifest["x-hopen-provided-by"] == f"{EXT}#{EXT_VERSION}"
    # The provider stays installed under its own name and its package.json is untouched.
    assert PackageCache(env["cache"]).get(EXT, EXT_VERSION).manifest()["name"] == EXT


def test_unknown_package_on_npm_is_missing_not_an_error(env: dict[str, Path]) -> None:
    result = _manager(env).resolve(["ans.fr.terminologies#1.7.0"])
    assert [str(m) for m in result.missing] == ["ans.fr.terminologies#1.7.0"]
    assert not [w for w in result.warnings if "failed" in w]


def test_absent_npm_client_is_a_clear_warning(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPEN_NPM", "no-such-npm-client")
    result = _manager(env).resolve(["some.pkg#1.0.0"])
    assert [m.name for m in result.missing] == ["some.pkg"]
    assert any("npm client" in w and "not installed" in w for w in result.warnings)


@pytest.mark.slow
def test_r4_core_from_npm_examples_package_in_an_empty_cache(env: dict[str, Path]) -> None:
    """The full path `make fhir-packages` takes on a fresh machine (30 MB download, 190 MB unpacked)."""
    result = _manager(env).resolve(["hl7.fhir.r4.core#4.0.1"])
    assert [p.ref for p in result.packages] == ["hl7.fhir.r4.core#4.0.1"]
    core = result.packages[0].path
    assert len(list(core.glob("StructureDefinition-*.json"))) == 655
    assert (env["cache"] / "hl7.fhir.r4.examples#4.0.1" / "package" / "package.json").is_file()
    assert (core / "StructureDefinition-Patient.json").stat().st_nlink >= 2  # shared with the examples
