"""Resolution order (explicit > search path > cache > registry > npm), transitive dependencies, version
fallback, missing packages, and the registry's fall-through when it is dead or failing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pkg_helpers import make_package

from conformance.packages import PackageCache, PackageError, PackageManager


def _variant(dest: Path, tag: str, name: str = "demo.pkg", version: str = "1.0.0", **kw) -> Path:
    """The same name#version with distinguishable content (a Basic resource whose id is the tag)."""
    return make_package(dest / tag, name, version, resources=[{"resourceType": "Basic", "id": tag}], **kw)


def _tag(info) -> str:
    files = orjson.loads((info.path / ".index.json").read_bytes())["files"]
    return files[0]["id"]


def _manager(env: dict[str, Path], **kw) -> PackageManager:
    kw.setdefault("use_npm", False)
    kw.setdefault("registries", [])
    return PackageManager(PackageCache(env["cache"]), [env["search"]], state_dir=env["tool"], **kw)


def test_search_path_beats_cache_and_explicit_beats_both(env: dict[str, Path]) -> None:
    PackageCache(env["cache"]).install_tgz(_variant(env["work"], "cached"))
    manager = _manager(env)
    assert _tag(manager.resolve(["demo.pkg#1.0.0"]).packages[0]) == "cached"

    _variant(env["work"], "onpath").rename(env["search"] / "demo.pkg-1.0.0.tgz")
    result = manager.resolve(["demo.pkg#1.0.0"])
    assert _tag(result.packages[0]) == "onpath"
    assert result.installed  # copied into the cache...
    assert not manager.resolve(["demo.pkg#1.0.0"]).installed  # ...once

    explicit = _variant(env["work"], "explicit")
    assert _tag(manager.resolve([str(explicit)]).packages[0]) == "explicit"


def test_unpacked_folder_on_search_path_is_used_in_place(env: dict[str, Path]) -> None:
    folder = make_package(env["search"], "folder.pkg", "2.0.0", folder=True)
    info = _manager(env).resolve(["folder.pkg#2.0.0"]).packages[0]
    assert info.path == folder / "package"
    assert not (env["cache"] / "folder.pkg#2.0.0").exists()


def test_cache_beats_registry_and_registry_is_used_when_needed(env: dict[str, Path], registry) -> None:
    registry.add(_variant(env["work"], "registry"), "demo.pkg", "1.0.0")
    registry.add(_variant(env["work"], "other", name="other.pkg"), "other.pkg", "1.0.0")
    PackageCache(env["cache"]).install_tgz(_variant(env["work"], "cached"))
    manager = _manager(env, registries=[registry.url])

    assert _tag(manager.resolve(["demo.pkg#1.0.0"]).packages[0]) == "cached"
    assert registry.requests == []

    result = manager.resolve(["other.pkg#1.0.0"])
    assert _tag(result.packages[0]) == "other"
    assert (env["cache"] / "other.pkg#1.0.0" / "package" / "package.json").is_file()
    assert any(registry.url in line for line in result.installed)


def test_dead_registry_is_named_and_the_next_source_is_tried(env: dict[str, Path], registry, dead_url: str) -> None:
    registry.add(_variant(env["work"], "live"), "demo.pkg", "1.0.0")
    result = _manager(env, registries=[dead_url, registry.url]).resolve(["demo.pkg#1.0.0"])
    assert _tag(result.packages[0]) == "live"
    assert any(dead_url in w and "unreachable" in w and "next source" in w for w in result.warnings)


@pytest.mark.parametrize("status", [500, 403])
def test_failing_registry_falls_through_to_missing_with_a_message(env: dict[str, Path], registry, status: int) -> None:
    registry.fail_with = status
    result = _manager(env, registries=[registry.url]).resolve(["demo.pkg#1.0.0"])
    assert result.packages == []
    assert [m.name for m in result.missing] == ["demo.pkg"]
    assert any(f"HTTP {status}" in w for w in result.warnings)


def test_dependencies_resolve_transitively_and_missing_ones_are_named(env: dict[str, Path]) -> None:
    make_package(env["search"], "a.pkg", "1.0.0", dependencies={"b.pkg": "1.0.0"})
    make_package(env["search"], "b.pkg", "1.0.0", dependencies={"c.pkg": "1.0.0", "nowhere.pkg": "3.1.4"})
    make_package(env["search"], "c.pkg", "1.0.0")
    result = _manager(env).resolve(["a.pkg#1.0.0"])
    assert [p.ref for p in result.packages] == ["a.pkg#1.0.0", "b.pkg#1.0.0", "c.pkg#1.0.0"]
    assert [str(m) for m in result.missing] == ["nowhere.pkg#3.1.4 (required by b.pkg#1.0.0)"]


def test_version_fallback_takes_the_nearest_patch_with_a_warning(env: dict[str, Path]) -> None:
    make_package(env["search"], "a.pkg", "1.0.0", dependencies={"b.pkg": "2.4.1"})
    for version in ("2.4.0", "2.4.5", "2.5.1"):
        make_package(env["search"], "b.pkg", version)
    result = _manager(env).resolve(["a.pkg#1.0.0"])
    assert [p.ref for p in result.packages] == ["a.pkg#1.0.0", "b.pkg#2.4.0"]
    assert any("b.pkg#2.4.1" in w and "b.pkg#2.4.0" in w and "nearest patch" in w for w in result.warnings)


@pytest.mark.parametrize(("policy", "expected"), [("patch", None), ("minor", "b.pkg#2.5.1"), ("none", None)])
def test_fallback_across_minor_versions_only_when_allowed(env: dict[str, Path], policy: str, expected) -> None:
    make_package(env["search"], "b.pkg", "2.5.1")
    result = _manager(env, fallback=policy).resolve(["b.pkg#2.4.1"])
    assert [p.ref for p in result.packages] == ([expected] if expected else [])
    if expected:
        assert any("different minor" in w for w in result.warnings)
    else:
        assert [str(m) for m in result.missing] == ["b.pkg#2.4.1"]


def test_registry_version_list_drives_fallback(env: dict[str, Path], registry) -> None:
    registry.add(_variant(env["work"], "v103", version="1.0.3"), "demo.pkg", "1.0.3")
    result = _manager(env, registries=[registry.url]).resolve(["demo.pkg#1.0.2"])
    assert [p.ref for p in result.packages] == ["demo.pkg#1.0.3"]


def test_network_answers_are_remembered_so_repeated_misses_are_fast(env: dict[str, Path], registry) -> None:
    _manager(env, registries=[registry.url]).resolve(["absent.pkg#1.0.0"])
    asked = len(registry.requests)
    assert asked > 0
    again = _manager(env, registries=[registry.url]).resolve(["absent.pkg#1.0.0"])
    assert [m.name for m in again.missing] == ["absent.pkg"]
    assert len(registry.requests) == asked
    _manager(env, registries=[registry.url], refresh=True).resolve(["absent.pkg#1.0.0"])
    assert len(registry.requests) > asked


def test_one_version_per_dependency_name_with_a_warning_on_conflict(env: dict[str, Path]) -> None:
    make_package(env["search"], "a.pkg", "1.0.0", dependencies={"c.pkg": "1.0.0", "b.pkg": "1.0.0"})
    make_package(env["search"], "b.pkg", "1.0.0", dependencies={"c.pkg": "2.0.0"})
    make_package(env["search"], "c.pkg", "1.0.0")
    make_package(env["search"], "c.pkg", "2.0.0")
    result = _manager(env).resolve(["a.pkg#1.0.0"])
    assert [p.ref for p in result.packages] == ["a.pkg#1.0.0", "c.pkg#1.0.0", "b.pkg#1.0.0"]
    assert any("b.pkg#1.0.0 asks c.pkg#2.0.0" in w for w in result.warnings)
    assert result.missing == []


def test_offline_manager_never_contacts_the_registry(env: dict[str, Path], registry) -> None:
    registry.add(_variant(env["work"], "registry"), "demo.pkg", "1.0.0")
    result = _manager(env, registries=[registry.url], network=False).resolve(["demo.pkg#1.0.0"])
    assert result.packages == []
    assert registry.requests == []


def test_bare_name_takes_the_highest_release(env: dict[str, Path]) -> None:
    for version in ("1.0.0", "1.1.0", "2.0.0-ballot"):
        make_package(env["search"], "b.pkg", version)
    result = _manager(env).resolve(["b.pkg"])
    assert [p.ref for p in result.packages] == ["b.pkg#1.1.0"]


def test_damaged_archive_on_search_path_falls_back_to_the_cache(env: dict[str, Path]) -> None:
    PackageCache(env["cache"]).install_tgz(_variant(env["work"], "cached"))
    (env["search"] / "demo.pkg-1.0.0.tgz").write_bytes(b"\x1f\x8b broken")
    result = _manager(env).resolve(["demo.pkg#1.0.0"])
    assert _tag(result.packages[0]) == "cached"
    assert any("corrupt or truncated" in w and "next source" in w for w in result.warnings)


def test_unwritable_cache_is_a_clear_error(env: dict[str, Path]) -> None:
    blocker = env["work"] / "not-a-folder"
    blocker.write_text("a file where the cache should be")
    tgz = make_package(env["work"], "demo.pkg", "1.0.0")
    with pytest.raises(PackageError) as caught:
        PackageManager(PackageCache(blocker / "cache"), [], [], use_npm=False).resolve([str(tgz)])
    assert "cannot write to the package cache" in str(caught.value)
