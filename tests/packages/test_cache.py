"""Installing into the cache: atomic, and a corrupt or truncated archive leaves the cache intact."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import orjson
import pytest
from pkg_helpers import make_package

from conformance.packages import PackageCache, PackageError


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_install_tgz_puts_package_in_standard_layout_with_index(env: dict[str, Path]) -> None:
    tgz = make_package(env["work"], "demo.pkg", "1.0.0")
    info = PackageCache(env["cache"]).install_tgz(tgz)
    assert info.path == env["cache"] / "demo.pkg#1.0.0" / "package"
    assert (info.path / "package.json").is_file()
    index = orjson.loads((info.path / ".index.json").read_bytes())
    assert [f["url"] for f in index["files"]] == ["http://example.org/demo.pkg/StructureDefinition/sd"]
    assert PackageCache(env["cache"]).versions("demo.pkg") == ["1.0.0"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "no-manifest"])
def test_damaged_archive_gives_clear_error_and_leaves_cache_intact(env: dict[str, Path], damage: str) -> None:
    cache = PackageCache(env["cache"])
    good = make_package(env["work"], "demo.pkg", "1.0.0")
    cache.install_tgz(good)
    before = _snapshot(env["cache"])

    bad = env["work"] / "bad" / "demo.pkg-1.0.0.tgz"
    bad.parent.mkdir()
    # A new version of the same package, so a broken install would overwrite the good one.
    fresh = make_package(env["work"] / "v2", "demo.pkg", "1.0.0", resources=[{"resourceType": "Basic", "id": "x"}] * 50)
    data = fresh.read_bytes()
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        bad.write_bytes(b"\x1f\x8b" + b"not really gzip" * 20)
    elif damage == "empty":
        bad.write_bytes(b"")
    else:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as archive:
            info = tarfile.TarInfo("package/readme.txt")
            archive.addfile(info, io.BytesIO(b""))
        bad.write_bytes(buf.getvalue())

    with pytest.raises(PackageError) as caught:
        cache.install_tgz(bad)
    message = str(caught.value)
    assert str(bad) in message or "package.json" in message
    assert caught.value.message_fr != caught.value.message_en
    assert _snapshot(env["cache"]) == before
    assert not [p for p in env["cache"].iterdir() if p.name.startswith((".tmp-", ".trash-"))]


def test_archive_escaping_its_folder_is_refused(env: dict[str, Path]) -> None:
    evil = env["work"] / "evil.tgz"
    with tarfile.open(evil, "w:gz") as archive:
        for name, data in (("package/package.json", b'{"name":"e","version":"1.0.0"}'), ("../../escaped.txt", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with pytest.raises(PackageError):
        PackageCache(env["cache"]).install_tgz(evil)
    assert not (env["cache"].parent / "escaped.txt").exists()
    assert not (env["cache"] / "e#1.0.0").exists()


def test_reinstall_replaces_the_previous_content(env: dict[str, Path]) -> None:
    cache = PackageCache(env["cache"])
    cache.install_tgz(make_package(env["work"] / "a", "demo.pkg", "1.0.0"))
    second = make_package(env["work"] / "b", "demo.pkg", "1.0.0", resources=[{"resourceType": "Basic", "id": "new"}])
    info = cache.install_tgz(second)
    assert sorted(p.name for p in info.path.iterdir()) == [".index.json", "Basic-new.json", "package.json"]


def test_parallel_installs_of_the_same_package_do_not_clash(env: dict[str, Path]) -> None:
    import subprocess
    import sys

    make_package(
        env["search"], "demo.pkg", "1.0.0", resources=[{"resourceType": "Basic", "id": f"r{i}"} for i in range(200)]
    )
    script = (
        "from pathlib import Path; from conformance.packages import PackageManager;"
        f"r = PackageManager(Path({str(env['cache'])!r}), [Path({str(env['search'])!r})], [], use_npm=False,"
        f" state_dir=Path({str(env['tool'])!r})).resolve(['demo.pkg#1.0.0']);"
        "print(len(r.packages), len(r.installed))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(out[0] == "1" for out in outputs)
    assert sum(int(out[1]) for out in outputs) == 1  # installed once, the others found it done
    package = env["cache"] / "demo.pkg#1.0.0" / "package"
    assert len(list(package.glob("Basic-*.json"))) == 200
    assert not [p for p in env["cache"].iterdir() if p.name.startswith((".tmp-", ".trash-"))]
