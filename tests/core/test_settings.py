"""Locations follow the environment at each call, though they are remembered (the validators ask per input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import settings


def test_cache_and_data_locations_follow_the_environment_between_calls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FHIR_PACKAGE_CACHE", raising=False)
    monkeypatch.delenv("HOPEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("FHIR_PACKAGE_PATH", raising=False)
    monkeypatch.delenv("HOPEN_SHARED_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "one"))
    assert settings.fhir_cache_dir() == tmp_path / "one" / ".fhir" / "packages"
    assert settings.tool_cache_dir() == tmp_path / "one" / ".cache" / "hopen-conformance"
    monkeypatch.setenv("HOME", str(tmp_path / "two"))
    assert settings.fhir_cache_dir() == tmp_path / "two" / ".fhir" / "packages"
    assert settings.tool_cache_dir() == tmp_path / "two" / ".cache" / "hopen-conformance"

    monkeypatch.setenv("FHIR_PACKAGE_CACHE", "~/cache")
    assert settings.fhir_cache_dir() == tmp_path / "two" / "cache"
    monkeypatch.setenv("HOME", str(tmp_path / "three"))
    assert settings.fhir_cache_dir() == tmp_path / "three" / "cache"  # `~` expanded from the HOME of the call

    assert settings.fhir_package_search_path() == [settings.shared_dir() / "fhir-packages"]
    monkeypatch.setenv("HOPEN_SHARED_DIR", str(tmp_path / "shared"))
    assert settings.fhir_package_search_path() == [tmp_path / "shared" / "fhir-packages"]
    monkeypatch.setenv("FHIR_PACKAGE_PATH", f"~/a:{tmp_path / 'b'}")
    paths = settings.fhir_package_search_path()
    assert paths == [tmp_path / "three" / "a", tmp_path / "b"]
    paths.append(tmp_path)  # the caller's own list
    assert settings.fhir_package_search_path() == [tmp_path / "three" / "a", tmp_path / "b"]
