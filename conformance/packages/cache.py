"""The standard FHIR package cache: `<root>/<name>#<version>/package/` (root = FHIR_PACKAGE_CACHE or
~/.fhir/packages). Installs are atomic: a package is unpacked into a temporary folder beside the cache
entries and renamed into place only once it has been read successfully, so a corrupt or truncated
archive never damages what is already installed."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from conformance import settings
from conformance.packages.errors import NotAPackage, PackageError
from conformance.packages.indexing import build_index_file

INSTALL_MARKER = "hopen-install.json"


@dataclass(frozen=True)
class PackageInfo:
    """A package available on disk: `path` is its `package/` folder."""

    name: str
    version: str
    path: Path

    @property
    def ref(self) -> str:
        return f"{self.name}#{self.version}"

    def manifest(self) -> dict:
        return read_manifest(self.path)

    def dependencies(self) -> dict[str, str]:
        deps = self.manifest().get("dependencies") or {}
        return {str(k): str(v) for k, v in deps.items()} if isinstance(deps, dict) else {}


def read_manifest(package_dir: Path) -> dict:
    path = package_dir / "package.json"
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise PackageError(
            f"{package_dir} n'est pas un paquet FHIR : package.json absent",
            f"{package_dir} is not a FHIR package: package.json is missing",
        ) from exc
    except orjson.JSONDecodeError as exc:
        raise PackageError(
            f"package.json illisible dans {package_dir} : {exc}", f"unreadable package.json in {package_dir}: {exc}"
        ) from exc
    if not isinstance(data, dict) or not data.get("name") or not data.get("version"):
        raise PackageError(
            f"package.json sans nom ni version dans {package_dir}",
            f"package.json without name or version in {package_dir}",
        )
    return data


def package_dir_of(folder: Path) -> Path:
    """Accept either a package's root (holding `package/`) or the `package/` folder itself."""
    return folder / "package" if (folder / "package" / "package.json").is_file() else folder


class PackageCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else settings.fhir_cache_dir()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise installs between processes (parallel test workers, two shells)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / ".hopen-install.lock").open("a+b")
        except OSError as exc:
            raise _write_error(self.root, exc) from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def entry_dir(self, name: str, version: str) -> Path:
        return self.root / f"{name}#{version}"

    def get(self, name: str, version: str) -> PackageInfo | None:
        package = self.entry_dir(name, version) / "package"
        if (package / "package.json").is_file():
            return PackageInfo(name, version, package)
        return None

    def versions(self, name: str) -> list[str]:
        if not self.root.is_dir():
            return []
        prefix = f"{name}#"
        return sorted(
            entry.name[len(prefix) :]
            for entry in self.root.iterdir()
            if entry.name.startswith(prefix) and (entry / "package" / "package.json").is_file()
        )

    def installed(self) -> list[PackageInfo]:
        if not self.root.is_dir():
            return []
        found = []
        for entry in sorted(self.root.iterdir()):
            name, sep, version = entry.name.partition("#")
            if sep and not name.startswith(".") and (entry / "package" / "package.json").is_file():
                found.append(PackageInfo(name, version, entry / "package"))
        return found

    def install_marker(self, name: str, version: str) -> dict:
        try:
            return orjson.loads((self.entry_dir(name, version) / INSTALL_MARKER).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}

    # --- installing -------------------------------------------------------------------------------------

    def install_tgz(self, tgz: Path, *, source: str = "", alias: tuple[str, str] | None = None) -> PackageInfo:
        """Unpack `tgz` into the cache (replacing the same name#version). `alias` installs it under another
        (name, version), rewriting package.json (how hl7.fhir.r4.examples serves as hl7.fhir.r4.core)."""
        staging = self._staging()
        try:
            _extract(tgz, staging)
            package = _normalise_layout(staging)
            return self._commit(staging, package, source=source or str(tgz), alias=alias, origin=tgz)
        except OSError as exc:
            raise _write_error(self.root, exc) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def install_folder(
        self, folder: Path, *, source: str = "", alias: tuple[str, str] | None = None, link: bool = False
    ) -> PackageInfo:
        """Copy an unpacked package into the cache; `link` uses hard links where possible (for a folder that
        is itself in the cache, e.g. the provider of an alias: same content, no extra space)."""
        src = package_dir_of(folder)
        read_manifest(src)
        staging = self._staging()
        try:
            shutil.copytree(
                src, staging / "package", copy_function=_link_or_copy if link else shutil.copy2, symlinks=False
            )
            # package.json and the index are rewritten below: never share them with the source.
            for special in ("package.json", ".index.json"):
                target = staging / "package" / special
                if target.exists():
                    data = target.read_bytes()
                    target.unlink()
                    target.write_bytes(data)
            return self._commit(staging, staging / "package", source=source or str(folder), alias=alias, origin=src)
        except OSError as exc:
            raise _write_error(self.root, exc) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _staging(self) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=".tmp-install-", dir=self.root))
        except OSError as exc:
            raise _write_error(self.root, exc) from exc

    def _commit(
        self, staging: Path, package: Path, *, source: str, alias: tuple[str, str] | None, origin: Path
    ) -> PackageInfo:
        manifest = read_manifest(package)
        name, version = str(manifest["name"]), str(manifest["version"])
        if alias:
            manifest["x-hopen-provided-by"] = f"{name}#{version}"
            name, version = alias
            manifest["name"], manifest["version"] = name, version
            (package / "package.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        if not (package / ".index.json").is_file():
            build_index_file(package)
        marker = {"source": source, "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        marker.update(_fingerprint(origin))
        (staging / INSTALL_MARKER).write_bytes(orjson.dumps(marker))
        target = self.entry_dir(name, version)
        _swap_into_place(staging, target)
        info = self.get(name, version)
        if info is None:  # pragma: no cover - rename succeeded but the folder vanished
            raise PackageError(
                f"installation de {name}#{version} introuvable après copie", f"{name}#{version} vanished after install"
            )
        return info


def _write_error(root: Path, exc: OSError) -> PackageError:
    return PackageError(
        f"impossible d'écrire dans le cache de paquets {root} : {exc}",
        f"cannot write to the package cache {root}: {exc}",
    )


def _fingerprint(path: Path) -> dict:
    try:
        stat = path.stat()
    except OSError:
        return {}
    return {"source_size": stat.st_size, "source_mtime_ns": stat.st_mtime_ns}


def source_matches(marker: dict, path: Path) -> bool:
    """True when the cache entry was installed from this very file (same path, size and mtime)."""
    fp = _fingerprint(path)
    return bool(fp) and marker.get("source") == str(path) and all(marker.get(k) == v for k, v in fp.items())


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _extract(tgz: Path, staging: Path) -> None:
    try:
        with tarfile.open(tgz, mode="r:*") as archive:
            archive.extractall(staging, filter="data")
    except FileNotFoundError as exc:
        raise PackageError(f"archive introuvable : {tgz}", f"archive not found: {tgz}") from exc
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        raise PackageError(
            f"archive de paquet corrompue ou tronquée : {tgz} ({type(exc).__name__}: {exc}); le cache n'a pas été modifié",
            f"corrupt or truncated package archive: {tgz} ({type(exc).__name__}: {exc}); the cache was left unchanged",
        ) from exc


def _normalise_layout(staging: Path) -> Path:
    """NPM tarballs put everything under `package/`; accept a single other top folder too."""
    package = staging / "package"
    if (package / "package.json").is_file():
        return package
    tops = [p for p in staging.iterdir() if p.is_dir()]
    if len(tops) == 1 and (tops[0] / "package.json").is_file():
        tops[0].rename(package)
        return package
    raise NotAPackage(
        "archive sans package/package.json : ce n'est pas un paquet FHIR (format NPM)",
        "archive has no package/package.json: not an NPM-format FHIR package",
    )


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`; an existing `target` is moved aside first and removed after."""
    trash = None
    if target.exists():
        trash = target.with_name(f".trash-{target.name}-{os.getpid()}-{time.monotonic_ns()}")
        with contextlib.suppress(FileNotFoundError):
            target.rename(trash)
    try:
        staging.rename(target)
    except OSError:
        # Another process installed the same package meanwhile: keep theirs.
        if not (target / "package" / "package.json").is_file():
            raise
    finally:
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    staging.mkdir(exist_ok=True)  # the caller's cleanup expects it
