"""Finding, installing and resolving packages with their dependencies.

Sources, in order: an explicit .tgz/folder; folders on the search path (FHIR_PACKAGE_PATH); the cache;
the configured FHIR package registries; the npm client. A version that is not available exactly falls
back to the nearest patch of the same major.minor, then (policy "minor", the default) to the nearest
version of the same major, always with a warning. A package found nowhere is reported, never fatal.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from conformance import settings
from conformance.packages.cache import PackageCache, PackageInfo, package_dir_of, read_manifest, source_matches
from conformance.packages.errors import Message, PackageError
from conformance.packages.sources import NPM_ALIASES, Npm, Registry, SearchPath, SourceError, configured_registries
from conformance.packages.spec import (
    PackageRef,
    looks_like_path,
    nearest_version,
    parse_ref,
    parse_version,
    version_key,
)

CORE = PackageRef("hl7.fhir.r4.core", "4.0.1")


@dataclass(frozen=True)
class MissingPackage:
    name: str
    version: str
    required_by: str = ""

    def __str__(self) -> str:
        text = f"{self.name}#{self.version}" if self.version else self.name
        return f"{text} (required by {self.required_by})" if self.required_by else text


@dataclass
class Resolution:
    packages: list[PackageInfo] = field(default_factory=list)
    missing: list[MissingPackage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)  # what this call newly put in the cache
    source_failures: list[str] = field(default_factory=list)  # sources that could not be consulted


class PackageManager:
    def __init__(
        self,
        cache: PackageCache | Path | None = None,
        search_path: list[Path] | None = None,
        registries: list[str] | None = None,
        *,
        network: bool = True,
        use_npm: bool = True,
        fallback: str = "minor",
        npm: Npm | None = None,
        state_dir: Path | None = None,
        refresh: bool = False,
        copy_folders: bool = False,
        read_only: bool = False,
    ) -> None:
        self.cache = cache if isinstance(cache, PackageCache) else PackageCache(cache)
        self.search_path = SearchPath(search_path)
        self.registries = [Registry(u) for u in (registries if registries is not None else configured_registries())]
        self.network = network
        self.npm = (npm or Npm()) if use_npm else None
        if fallback not in ("none", "patch", "minor"):
            raise ValueError("fallback must be 'none', 'patch' or 'minor'")
        self.fallback = fallback
        self._failed_sources: set[str] = set()
        self._known = NetworkVersions(state_dir, ttl=0 if refresh else None)
        self.copy_folders = copy_folders  # install explicit folders into the cache (CLI) or use them in place
        self.read_only = read_only  # never write the cache: what is installed is what there is (--version)

    # --- one package ----------------------------------------------------------------------------------

    def find(self, ref: PackageRef, result: Resolution) -> PackageInfo | None:
        """The package on disk (installing it into the cache if it came from elsewhere), or None."""
        if ref.version:
            found = self._find_exact(ref.name, ref.version, result)
            if found or self.fallback == "none":
                return found
        version = self._fallback_version(ref, result)
        if version is None:
            return None
        found = self._find_exact(ref.name, version, result)
        if found and ref.version:
            result.warnings.append(_fallback_message(ref, version))
        return found

    def _find_exact(self, name: str, version: str, result: Resolution) -> PackageInfo | None:
        local = self.search_path.find(name, version)
        if local is not None:
            try:
                found = self._from_local(local.path, name, version, result)
                if found is not None:
                    return found
            except PackageError as exc:  # a damaged file on the search path: say so, use the next source
                result.warnings.append(
                    Message(f"{exc.message_en}; trying the next source", f"{exc.message_fr} ; source suivante")
                )
        cached = self.cache.get(name, version)
        if cached is not None:
            return cached
        if not self.network:
            return None
        return self._download(name, version, result)

    def _from_local(self, path: Path, name: str, version: str, result: Resolution) -> PackageInfo | None:
        if path.is_dir():
            package = package_dir_of(path)
            return PackageInfo(name, version, package)
        path = path.resolve()
        if self.read_only:
            return self.cache.get(name, version)
        if self._installed_from(name, version, path):
            return self.cache.get(name, version)
        with self.cache.lock():
            if self._installed_from(name, version, path):  # another process just did it
                return self.cache.get(name, version)
            info = self.cache.install_tgz(path)
        result.installed.append(f"{info.ref} <- {path}")
        return info

    def _installed_from(self, name: str, version: str, path: Path) -> bool:
        return self.cache.get(name, version) is not None and source_matches(
            self.cache.install_marker(name, version), path
        )

    def _download(self, name: str, version: str, result: Resolution) -> PackageInfo | None:
        known = self._known.get(self._sources_key(name))
        if known is not None and version not in known and (name, version) not in NPM_ALIASES:
            return None  # the network sources said recently that this version does not exist
        with tempfile.TemporaryDirectory(prefix="hopen-pkg-") as tmp:
            for registry in self.registries:
                key = f"registry:{registry.base_url}"
                if key in self._failed_sources:
                    continue
                try:
                    tgz = registry.download(name, version, Path(tmp))
                except SourceError as exc:
                    self._note_source_failure(key, str(exc), result)
                    continue
                if tgz is not None:
                    try:
                        with self.cache.lock():
                            info = self.cache.install_tgz(tgz, source=f"{registry.base_url}/{name}/{version}")
                    except PackageError as exc:
                        self._note_source_failure(key, f"registry {registry.base_url}: {exc.message_en}", result)
                        continue
                    result.installed.append(f"{info.ref} <- {registry.base_url}")
                    return info
            if self.npm is not None and "npm" not in self._failed_sources:
                try:
                    return self._from_npm(name, version, Path(tmp), result)
                except PackageError as exc:
                    self._note_source_failure("npm", f"npm: {exc.message_en}", result)
                except SourceError as exc:
                    self._note_source_failure("npm", str(exc), result)
        return None

    def _from_npm(self, name: str, version: str, tmp: Path, result: Resolution) -> PackageInfo | None:
        assert self.npm is not None
        npm_name, npm_version = NPM_ALIASES.get((name, version), (name, version))
        provider = self.cache.get(npm_name, npm_version)
        if provider is None:
            tgz = self.npm.pack(npm_name, npm_version, tmp)
            if tgz is None:
                return None
            with self.cache.lock():
                provider = self.cache.install_tgz(tgz, source=f"npm:{npm_name}@{npm_version}")
            result.installed.append(f"{provider.ref} <- npm pack {npm_name}@{npm_version}")
        if (npm_name, npm_version) == (name, version):
            return provider
        with self.cache.lock():
            info = self.cache.get(name, version) or self.cache.install_folder(
                provider.path, source=f"npm:{npm_name}@{npm_version}", alias=(name, version), link=True
            )
        result.installed.append(f"{info.ref} <- {provider.ref} (same definitions, installed under the core name)")
        return info

    def _note_source_failure(self, key: str, message: str, result: Resolution) -> None:
        self._failed_sources.add(key)
        warning = Message(f"{message}; trying the next source", f"{message} ; passage à la source suivante")
        result.warnings.append(warning)
        result.source_failures.append(warning)

    def available_versions(self, name: str, result: Resolution) -> list[str]:
        versions = set(self.search_path.versions(name)) | set(self.cache.versions(name))
        versions |= {v for (n, v) in NPM_ALIASES if n == name}
        if self.network:
            versions |= set(self._network_versions(name, result))
        return sorted(versions, key=version_key)

    def _sources_key(self, name: str) -> str:
        registries = ",".join(r.base_url for r in self.registries)
        return f"{name}|{registries}|npm={self.npm is not None}"

    def _network_versions(self, name: str, result: Resolution) -> list[str]:
        known = self._known.get(self._sources_key(name))
        if known is not None:
            return known
        versions: set[str] = set()
        for registry in self.registries:
            key = f"registry:{registry.base_url}"
            if key in self._failed_sources:
                continue
            try:
                versions |= set(registry.versions(name))
            except SourceError as exc:
                self._note_source_failure(key, str(exc), result)
        if self.npm is not None and "npm" not in self._failed_sources:
            try:
                versions |= set(self.npm.versions(name))
            except SourceError as exc:
                self._note_source_failure("npm", str(exc), result)
        if not self._failed_sources:  # remember only complete answers
            self._known.put(self._sources_key(name), sorted(versions, key=version_key))
        return sorted(versions, key=version_key)

    def _fallback_version(self, ref: PackageRef, result: Resolution) -> str | None:
        available = self.available_versions(ref.name, result)
        if not available:
            return None
        if not ref.version:
            releases = [v for v in available if "-" not in v] or available
            return releases[-1]
        chosen = nearest_version(ref.version, available, same_minor_only=True)
        if chosen is None and self.fallback == "minor":
            chosen = nearest_version(ref.version, available, same_minor_only=False)
        return chosen if chosen != ref.version else None

    # --- explicit sources and closures ----------------------------------------------------------------

    def add_explicit(self, source: str | Path, result: Resolution) -> PackageInfo:
        """A .tgz is installed into the cache; a folder is used where it is (or copied, `copy_folders`)."""
        path = Path(source).expanduser()
        if path.is_dir():
            package = package_dir_of(path)
            manifest = read_manifest(package)
            if self.copy_folders:
                with self.cache.lock():
                    info = self.cache.install_folder(path.resolve())
                result.installed.append(f"{info.ref} <- {path}")
                return info
            return PackageInfo(str(manifest["name"]), str(manifest["version"]), package)
        if not path.exists():
            raise PackageError(f"fichier introuvable : {path}", f"file not found: {path}")
        with self.cache.lock():
            info = self.cache.install_tgz(path.resolve())
        result.installed.append(f"{info.ref} <- {path}")
        return info

    def resolve(
        self, sources: list[str | Path], *, with_dependencies: bool = True, include_core: bool = False
    ) -> Resolution:
        """Find every source (NAME#VER, NAME@VER, .tgz, folder) and, transitively, its dependencies.
        One version per package name: the first reached (the ones asked for first, then breadth-first)."""
        result = Resolution()
        queue: deque[tuple[PackageRef | Path, str]] = deque()
        for source in sources:
            text = str(source)
            queue.append((Path(text).expanduser() if looks_like_path(text) else parse_ref(text), ""))
        if include_core:
            queue.append((CORE, ""))
        chosen: dict[str, PackageInfo] = {}
        missing_names: set[str] = set()
        while queue:
            item, required_by = queue.popleft()
            if isinstance(item, Path):
                info = self._explicit_once(item, chosen, result)
                if any(p.ref == info.ref for p in result.packages):
                    continue
                chosen.setdefault(info.name, info)
                result.packages.append(info)
                if with_dependencies:
                    for dep_name, dep_version in info.dependencies().items():
                        queue.append((PackageRef(dep_name, dep_version), info.ref))
                continue
            if required_by == "" and any(p.ref == f"{item.name}#{item.version}" for p in result.packages):
                continue
            if required_by == "" and item.version:
                # Asked for by name: install it even when another version of the name is loaded.
                info = self.find(item, result)
                if info is None:
                    result.missing.append(MissingPackage(item.name, item.version, required_by))
                    continue
                if any(p.ref == info.ref for p in result.packages):
                    continue
            else:
                if item.name in chosen:
                    self._note_other_version(item, required_by, chosen[item.name], result)
                    continue
                if f"{item.name}#{item.version}" in missing_names:
                    continue
                info = self.find(item, result)
                if info is None:
                    missing_names.add(f"{item.name}#{item.version}")
                    result.missing.append(MissingPackage(item.name, item.version, required_by))
                    continue
            if info.name in chosen and required_by:
                continue
            chosen.setdefault(info.name, info)
            result.packages.append(info)
            if with_dependencies:
                for dep_name, dep_version in info.dependencies().items():
                    queue.append((PackageRef(dep_name, dep_version), info.ref))
        self._settle_missing(result, chosen)
        return result

    @staticmethod
    def _note_other_version(item: PackageRef, required_by: str, loaded: PackageInfo, result: Resolution) -> None:
        wanted, have = parse_version(item.version), parse_version(loaded.version)
        if not item.version or (wanted and have and (wanted.major, wanted.minor) == (have.major, have.minor)):
            return
        message = Message(
            f"{required_by} asks {item}: {loaded.ref} is loaded instead",
            f"{required_by} demande {item} : {loaded.ref} est chargé à la place",
        )
        if message not in result.warnings:
            result.warnings.append(message)

    @staticmethod
    def _settle_missing(result: Resolution, chosen: dict[str, PackageInfo]) -> None:
        """A dependency version found nowhere while another version of the same package is loaded is
        not missing: that other version serves (one version per package name), with a warning."""
        still_missing = []
        for missing in result.missing:
            loaded = chosen.get(missing.name)
            if loaded is not None and missing.required_by:
                result.warnings.append(
                    Message(
                        f"{missing.required_by} asks {missing.name}#{missing.version}: {loaded.ref} is loaded instead",
                        f"{missing.required_by} demande {missing.name}#{missing.version} : {loaded.ref} est chargé à la place",
                    )
                )
            else:
                still_missing.append(missing)
        result.missing = still_missing

    def _explicit_once(self, path: Path, chosen: dict[str, PackageInfo], result: Resolution) -> PackageInfo:
        if path.is_file():
            # Same file already installed: skip the unpacking (keeps `make` fast the second time).
            for cached in self.cache.installed():
                marker = self.cache.install_marker(cached.name, cached.version)
                if source_matches(marker, path.resolve()):
                    return cached
        return self.add_explicit(path, result)


def _fallback_message(ref: PackageRef, version: str) -> Message:
    wanted, used = parse_version(ref.version), parse_version(version)
    same_minor = bool(wanted and used and (wanted.major, wanted.minor) == (used.major, used.minor))
    kind_en = "nearest patch" if same_minor else "nearest version of the same major, different minor"
    kind_fr = (
        "correctif le plus proche" if same_minor else "version la plus proche de la même majeure, mineure différente"
    )
    return Message(
        f"{ref} is not available: using {ref.name}#{version} ({kind_en})",
        f"{ref} n'est pas disponible : {ref.name}#{version} est utilisé à la place ({kind_fr})",
    )


def missing_message(missing: MissingPackage) -> Message:
    ref = f"{missing.name}#{missing.version}" if missing.version else missing.name
    by_en = f" (required by {missing.required_by})" if missing.required_by else ""
    by_fr = f" (requis par {missing.required_by})" if missing.required_by else ""
    return Message(
        f"package {ref}{by_en} not found; the rest is loaded (to add it: conformance packages install {ref})",
        f"paquet {ref}{by_fr} introuvable ; le reste est chargé (pour l'ajouter : conformance packages install {ref})",
    )


class NetworkVersions:
    """What the network sources (registries, npm) said exists, remembered for a while on disk so that
    repeated installs and loads do not ask again for packages that exist nowhere (keeps `make` fast)."""

    def __init__(self, state_dir: Path | None = None, ttl: float | None = None) -> None:
        directory = state_dir if state_dir is not None else settings.tool_cache_dir()
        self.path = Path(directory) / "package-versions.json"
        self.ttl = ttl if ttl is not None else float(os.environ.get("HOPEN_PACKAGE_VERSIONS_TTL", 6 * 3600))
        self._data: dict | None = None

    def _load(self) -> dict:
        if self._data is None:
            try:
                data = orjson.loads(self.path.read_bytes())
                self._data = data if isinstance(data, dict) else {}
            except (OSError, orjson.JSONDecodeError):
                self._data = {}
        return self._data

    def get(self, name: str) -> list[str] | None:
        record = self._load().get(name)
        if not isinstance(record, dict) or time.time() - float(record.get("at", 0)) > self.ttl:
            return None
        versions = record.get("versions")
        return list(versions) if isinstance(versions, list) else None

    def put(self, name: str, versions: list[str]) -> None:
        data = self._load()
        data[name] = {"at": time.time(), "versions": versions}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps(data))
            os.replace(tmp, self.path)
        except OSError:
            pass  # only a speed-up
