"""FhirContext: every conformance resource of a set of loaded packages, by canonical URL.

The canonical index (url -> package + file) is built once per package set and kept on disk under the
tool cache; resources themselves are read lazily (orjson) on first use and memoised. Resources returned
are shared: treat them as read-only (copy before changing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import orjson

from conformance import settings
from conformance.packages.cache import PackageCache, PackageInfo
from conformance.packages.indexing import read_index_file, scan_package
from conformance.packages.manager import CORE, MissingPackage, PackageManager, missing_message
from conformance.packages.snapshot import SnapshotError, generate_snapshot, needs_snapshot
from conformance.packages.spec import version_key

DEFAULT_PACKAGES = ("hl7.fhir.fr.core#2.2.0",)
FHIR_BASE = "http://hl7.org/fhir/StructureDefinition/"
INDEX_FORMAT = 2  # bumped when the index or the snapshot generator changes: cached snapshots are regenerated
MAX_INDEX_FILES = 64
# Compact entry layout in the on-disk index: one list per resource.
_FIELDS = ("filename", "resourceType", "id", "url", "version", "kind", "type", "derivation", "content", "supplements")


# Canonical bases of packages that FR guides depend on but that are often not installable (observed in
# the references of FR Core, PDSm and Annuaire): used only to explain an unresolved reference.
KNOWN_CANONICAL_BASES: dict[str, tuple[str, ...]] = {
    "ans.fr.terminologies": ("https://mos.esante.gouv.fr/NOS/", "https://smt.esante.gouv.fr/fhir/"),
    "ans.fr.nos": ("https://mos.esante.gouv.fr/NOS/",),
    "ihe.iti.mhd": ("https://profiles.ihe.net/ITI/MHD/",),
    "hl7.fhir.uv.xver-r5.r4": ("http://hl7.org/fhir/5.0/StructureDefinition/",),
    "hl7.fhir.uv.tools": ("http://hl7.org/fhir/tools/",),
}


class IndexEntry(NamedTuple):
    """Where one resource lives: `package` is the PackageInfo, `filename` relative to its folder."""

    package: PackageInfo
    filename: str
    resource_type: str
    id: str
    url: str
    version: str
    kind: str
    type: str
    derivation: str

    @property
    def path(self) -> Path:
        return self.package.path / self.filename


class FhirContext:
    def __init__(
        self,
        packages: Sequence[PackageInfo],
        missing: Sequence[MissingPackage] = (),
        warnings: Sequence[str] = (),
        *,
        index_dir: Path | None = None,
    ) -> None:
        self.packages: list[PackageInfo] = list(packages)
        self.missing_details: list[MissingPackage] = list(missing)
        self.missing: list[str] = [f"{m.name}#{m.version}" if m.version else m.name for m in missing]
        self.warnings: list[str] = list(warnings)
        self.index_cache_hit = False
        self._resources: dict[Path, dict | None] = {}
        self._lock = threading.Lock()
        self._entries: list[IndexEntry] = []
        self._by_url: dict[str, list[IndexEntry]] = {}
        self._by_type: dict[str, list[IndexEntry]] = {}
        self._sd_by_type: dict[str, list[IndexEntry]] = {}
        self._snapshots: dict[str, dict | None] = {}
        self._generating: set[str] = set()
        self._index_dir = index_dir if index_dir is not None else settings.tool_cache_dir() / "fhir-index"
        self._build(self._index_dir)

    # --- index ------------------------------------------------------------------------------------------

    def _build(self, index_dir: Path) -> None:
        per_package = self._load_or_build_index(index_dir)
        by_type = self._by_type
        by_url = self._by_url
        sd_by_type = self._sd_by_type
        for package, rows in zip(self.packages, per_package, strict=True):
            for row in rows:
                entry = IndexEntry(package, *row[:8])
                self._entries.append(entry)
                by_type.setdefault(entry.resource_type, []).append(entry)
                if entry.url:
                    by_url.setdefault(entry.url, []).append(entry)
                if entry.resource_type == "StructureDefinition" and entry.type:
                    sd_by_type.setdefault(entry.type, []).append(entry)

    def _fingerprint(self) -> str:
        digest = hashlib.sha256(f"format={INDEX_FORMAT}".encode())
        for package in self.packages:
            digest.update(f"|{package.ref}|{package.path}".encode())
            for name in ("package.json", ".index.json"):
                try:
                    stat = (package.path / name).stat()
                    digest.update(f"|{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
                except OSError:
                    digest.update(f"|{name}:-".encode())
            if not (package.path / ".index.json").is_file():
                digest.update(f"|dir:{package.path.stat().st_mtime_ns}".encode())
        return digest.hexdigest()[:32]

    def _load_or_build_index(self, index_dir: Path) -> list[list[list[str]]]:
        cache_file = index_dir / f"context-{self._fingerprint()}.json"
        try:
            data = orjson.loads(cache_file.read_bytes())
            if data.get("format") == INDEX_FORMAT and len(data.get("packages", [])) == len(self.packages):
                self.index_cache_hit = True
                return data["packages"]
        except (OSError, orjson.JSONDecodeError, AttributeError):
            pass
        per_package = [self._package_rows(p) for p in self.packages]
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps({"format": INDEX_FORMAT, "packages": per_package}))
            os.replace(tmp, cache_file)
            _prune_index_files(index_dir)
        except OSError as exc:  # a read-only cache only costs speed
            self.warnings.append(f"canonical index not saved to {index_dir}: {exc}")
        return per_package

    def _package_rows(self, package: PackageInfo) -> list[list[str]]:
        entries = read_index_file(package.path)
        if entries is None:
            entries, problems = scan_package(package.path)
            self.warnings.extend(f"{package.ref}: unreadable file {p}" for p in problems[:20])
        return [[str(e.get(f, "")) for f in _FIELDS] for e in entries]

    # --- lookups ----------------------------------------------------------------------------------------

    def entry(self, url: str) -> IndexEntry | None:
        """The index entry for a canonical URL (`url|version` allowed): the highest version when several
        packages define it (the first loaded on a tie); `|major.minor` matches any patch of it."""
        url, _, version = url.partition("|")
        candidates = self._by_url.get(url)
        if not candidates:
            return None
        if version:
            exact = [e for e in candidates if e.version == version]
            candidates = exact or [e for e in candidates if e.version.startswith(version + ".")]
            if not candidates:
                return None
        if len(candidates) == 1:
            return candidates[0]
        best = candidates[0]
        for candidate in candidates[1:]:
            if version_key(candidate.version) > version_key(best.version):
                best = candidate
        return best

    def load(self, entry: IndexEntry) -> dict | None:
        path = entry.path
        try:
            return self._resources[path]
        except KeyError:
            pass
        try:
            resource = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            resource = None
        if not isinstance(resource, dict):
            resource = None
        with self._lock:
            self._resources[path] = resource
        return resource

    def resolve(self, url: str) -> dict | None:
        entry = self.entry(url)
        return self.load(entry) if entry else None

    def structure_definition(self, url_or_type: str) -> dict | None:
        """A StructureDefinition by canonical URL, or the base definition of a type name ("Patient")."""
        url = url_or_type if ("/" in url_or_type or ":" in url_or_type) else FHIR_BASE + url_or_type
        return self._typed(url, "StructureDefinition")

    def snapshot(self, url_or_type: str) -> dict | None:
        """The StructureDefinition with its snapshot: generated from its differential and base when the
        package ships none, kept beside the canonical index (one file per definition and package set)."""
        sd = self.structure_definition(url_or_type)
        if sd is None or not needs_snapshot(sd):
            return sd
        key = f"{sd.get('url')}|{sd.get('version', '')}"
        if key in self._snapshots:
            return self._snapshots[key] or sd
        cache_file = self._index_dir / f"snapshots-{self._fingerprint()}" / (_digest(key) + ".json")
        generated = _read_json(cache_file)
        if generated is None:
            generated = self._generate(sd, key, self.snapshot)
            if generated is not None:
                self._save(cache_file, generated)
        with self._lock:
            self._snapshots[key] = generated
        return generated or sd

    def _generate(self, sd: dict, key: str, fetch: Callable[[str], dict | None]) -> dict | None:
        if key in self._generating:  # a definition based on itself
            return None
        self._generating.add(key)
        try:
            return generate_snapshot(sd, fetch)
        except SnapshotError as exc:
            self.warnings.append(f"snapshot of {key} not generated: {exc}")
            return None
        finally:
            self._generating.discard(key)

    def _save(self, cache_file: Path, generated: dict) -> None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps(generated))
            os.replace(tmp, cache_file)
        except (OSError, TypeError) as exc:  # a read-only cache only costs speed
            self.warnings.append(f"snapshot not saved to {cache_file.parent}: {exc}")

    def value_set(self, url: str) -> dict | None:
        return self._typed(url, "ValueSet")

    def code_system(self, url: str) -> dict | None:
        return self._typed(url, "CodeSystem")

    def _typed(self, url: str, resource_type: str) -> dict | None:
        entry = self.entry(url)
        if entry is None or entry.resource_type != resource_type:
            # Another kind of resource may share the URL: look for one of the wanted type.
            base, _, version = url.partition("|")
            typed = [e for e in self._by_url.get(base, ()) if e.resource_type == resource_type]
            if version:
                typed = [e for e in typed if e.version == version or e.version.startswith(version + ".")]
            if not typed:
                return None
            entry = max(typed, key=lambda e: version_key(e.version))
        return self.load(entry)

    def resources_of_type(self, resource_type: str) -> Iterator[dict]:
        for entry in self._by_type.get(resource_type, ()):
            resource = self.load(entry)
            if resource is not None:
                yield resource

    def entries(self, resource_type: str | None = None) -> list[IndexEntry]:
        """Index metadata without reading any file."""
        return list(self._by_type.get(resource_type, ())) if resource_type else list(self._entries)

    def structure_definitions_for_type(self, type_name: str, *, derivation: str | None = None) -> list[dict]:
        """Every StructureDefinition whose `type` is `type_name` (base definition and profiles);
        `derivation="constraint"` keeps the profiles only."""
        found = []
        for entry in self._sd_by_type.get(type_name, ()):
            if derivation and entry.derivation != derivation:
                continue
            resource = self.load(entry)
            if resource is not None:
                found.append(resource)
        return found

    def structure_definition_entries_for_type(self, type_name: str) -> list[IndexEntry]:
        return list(self._sd_by_type.get(type_name, ()))

    def missing_package_for(self, url: str) -> str | None:
        """If `url` does not resolve and its canonical base belongs to a package that could not be loaded
        (e.g. the French national terminologies), that package's `name#version`: for messages such as
        "ValueSet X is defined in ans.fr.terminologies#1.7.0, which is not installed"."""
        if self.entry(url) is not None:
            return None
        base = url.partition("|")[0]
        for missing in self.missing_details:
            if any(base.startswith(prefix) for prefix in KNOWN_CANONICAL_BASES.get(missing.name, ())):
                return f"{missing.name}#{missing.version}" if missing.version else missing.name
        return None

    def package_of(self, url: str) -> PackageInfo | None:
        entry = self.entry(url)
        return entry.package if entry else None

    def __repr__(self) -> str:
        refs = ", ".join(p.ref for p in self.packages)
        return f"FhirContext({refs}; {len(self._entries)} resources; missing={self.missing})"


def _prune_index_files(index_dir: Path, keep: int | None = None) -> None:
    """Keep the most recently written indexes: each package set has its own, old ones pile up."""
    keep = MAX_INDEX_FILES if keep is None else keep
    files = []
    for path in index_dir.glob("context-*.json"):
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    files.sort(reverse=True)
    for _mtime, path in files[keep:]:
        path.unlink(missing_ok=True)
    kept = {path.stem.removeprefix("context-") for _mtime, path in files[:keep]}
    for folder in index_dir.glob("snapshots-*"):
        if folder.name.removeprefix("snapshots-") not in kept:
            shutil.rmtree(folder, ignore_errors=True)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _read_json(path: Path) -> dict | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


_CONTEXTS: dict[tuple, FhirContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def load_context(
    packages: Sequence[str] = DEFAULT_PACKAGES,
    igs: Sequence[str | Path] = (),
    *,
    cache_dir: Path | None = None,
    search_path: Sequence[Path] | None = None,
    network: bool = False,
    fresh: bool = False,
) -> FhirContext:
    """Load packages (NAME#VERSION) and IGs (.tgz or folders) with their dependencies, plus
    hl7.fhir.r4.core#4.0.1 always. Offline by default (search path + cache): packages not installed
    are listed in `ctx.missing` (install them with `conformance packages install`). `network=True`
    also tries the registries and npm. Contexts are memoised per process (`fresh=True` rebuilds)."""
    cache = PackageCache(cache_dir)
    folders = [Path(p) for p in search_path] if search_path is not None else settings.fhir_package_search_path()
    key = (
        tuple(packages),
        tuple(str(i) for i in igs),
        str(cache.root),
        tuple(str(f) for f in folders),
        network,
        str(settings.tool_cache_dir()),
    )
    with _CONTEXTS_LOCK:
        if not fresh and key in _CONTEXTS:
            return _CONTEXTS[key]
        manager = PackageManager(cache, folders, network=network)
        sources: list[str | Path] = [*igs, *packages]
        resolution = manager.resolve(sources)
        if not any(p.name == CORE.name for p in resolution.packages) and not any(
            m.name == CORE.name for m in resolution.missing
        ):
            extra = manager.resolve([str(CORE)], with_dependencies=False)
            resolution.packages.extend(extra.packages)
            resolution.missing.extend(extra.missing)
            resolution.warnings.extend(extra.warnings)
        warnings = list(resolution.warnings)
        warnings.extend(missing_message(m) for m in resolution.missing)
        ctx = FhirContext(resolution.packages, resolution.missing, warnings)
        _CONTEXTS[key] = ctx
        return ctx


def clear_context_cache() -> None:
    with _CONTEXTS_LOCK:
        _CONTEXTS.clear()
