"""Finding, installing and resolving packages with their dependencies.

Sources, in order: an explicit .tgz/folder; folders on the search path (FHIR_PACKAGE_PATH); the cache;
the configured FHIR package registries; the npm client. A version that is not available exactly falls
back to the nearest patch of the same major.minor, then (policy "minor", the default) to the nearest
version of the same major, always with a warning. A package found nowhere is reported, never fatal.
"""

from __future__ import annotations

import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

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
            return self._from_local(local.path, name, version, result)
        cached = self.cache.get(name, version)
        if cached is not None:
            return cached
        if not self.network:
            return None
        return self._download(name, version, result)

    def _from_local(self, path: Path, name: str, version: str, result: Resolution) -> PackageInfo:
        if path.is_dir():
            package = package_dir_of(path)
            return PackageInfo(name, version, package)
        path = path.resolve()
        cached = self.cache.get(name, version)
        if cached is not None and source_matches(self.cache.install_marker(name, version), path):
            return cached
        info = self.cache.install_tgz(path)
        result.installed.append(f"{info.ref} <- {path}")
        return info

    def _download(self, name: str, version: str, result: Resolution) -> PackageInfo | None:
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
                    info = self.cache.install_tgz(tgz, source=f"{registry.base_url}/{name}/{version}")
                    result.installed.append(f"{info.ref} <- {registry.base_url}")
                    return info
            if self.npm is not None and "npm" not in self._failed_sources:
                try:
                    return self._from_npm(name, version, Path(tmp), result)
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
            provider = self.cache.install_tgz(tgz, source=f"npm:{npm_name}@{npm_version}")
            result.installed.append(f"{provider.ref} <- npm pack {npm_name}@{npm_version}")
        if (npm_name, npm_version) == (name, version):
            return provider
        info = self.cache.install_folder(provider.path, source=f"npm:{npm_name}@{npm_version}", alias=(name, version))
        result.installed.append(f"{info.ref} <- {provider.ref} (same definitions, installed under the core name)")
        return info

    def _note_source_failure(self, key: str, message: str, result: Resolution) -> None:
        self._failed_sources.add(key)
        result.warnings.append(
            Message(f"{message}; trying the next source", f"{message} ; passage à la source suivante")
        )

    def available_versions(self, name: str, result: Resolution) -> list[str]:
        versions = set(self.search_path.versions(name)) | set(self.cache.versions(name))
        versions |= {v for (n, v) in NPM_ALIASES if n == name}
        if self.network:
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
        """A .tgz is installed into the cache; a folder is used where it is."""
        path = Path(source).expanduser()
        if path.is_dir():
            package = package_dir_of(path)
            manifest = read_manifest(package)
            return PackageInfo(str(manifest["name"]), str(manifest["version"]), package)
        if not path.exists():
            raise PackageError(f"fichier introuvable : {path}", f"file not found: {path}")
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
            else:
                if item.name in chosen or item.name in missing_names:
                    continue
                info = self.find(item, result)
                if info is None:
                    missing_names.add(item.name)
                    result.missing.append(MissingPackage(item.name, item.version, required_by))
                    continue
            if info.name in chosen:
                continue
            chosen[info.name] = info
            result.packages.append(info)
            if with_dependencies:
                for dep_name, dep_version in info.dependencies().items():
                    queue.append((PackageRef(dep_name, dep_version), info.ref))
        return result

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
