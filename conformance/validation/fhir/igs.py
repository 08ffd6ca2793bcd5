"""`--ig` sources: packages go to `conformance.packages.load_context`; loose conformance resources (a folder
without package.json, or single StructureDefinition / ValueSet / CodeSystem files, JSON or XML) are laid over it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from conformance.packages.snapshot import SnapshotError, generate_snapshot, needs_snapshot

_CONFORMANCE = frozenset(
    {
        "StructureDefinition",
        "ValueSet",
        "CodeSystem",
        "Questionnaire",
        "Measure",
        "Library",
        "SearchParameter",
        "ImplementationGuide",
    }
)
_LOOSE_SUFFIXES = (".json", ".xml")


class OverlayContext:
    """A FhirContext plus loose conformance resources, which win over the packages' ones."""

    def __init__(self, base: Any, resources: list[dict[str, Any]]) -> None:
        self._base = base
        self._by_url: dict[str, dict[str, Any]] = {}
        self._snapshots: dict[str, dict[str, Any] | None] = {}
        self._globals: dict[str, list[str]] = {}
        for guide in (r for r in resources if r.get("resourceType") == "ImplementationGuide"):
            for declared in guide.get("global") or ():
                if isinstance(declared, dict) and isinstance(declared.get("profile"), str):
                    self._globals.setdefault(str(declared.get("type")), []).append(declared["profile"])
        for resource in resources:
            url = resource.get("url")
            if isinstance(url, str):
                self._by_url[url] = resource
                if resource.get("version"):
                    self._by_url[f"{url}|{resource['version']}"] = resource

    def global_profiles(self, resource_type: str) -> list[str]:
        """Profiles the loaded ImplementationGuides declare for every resource of this type (`global`)."""
        return self._globals.get(resource_type, [])

    def __getattr__(self, name: str) -> Any:  # packages, missing, warnings, entries...
        return getattr(self._base, name)

    def entry(self, url: str) -> Any:
        """The packages' index entry, unless a loose resource takes the URL (it has none)."""
        if url in self._by_url or url.split("|", 1)[0] in self._by_url:
            return None
        return self._base.entry(url)

    def resolve(self, url: str) -> dict[str, Any] | None:
        return self._by_url.get(url) or self._by_url.get(url.split("|", 1)[0]) or self._base.resolve(url)

    def _typed(self, url: str, resource_type: str) -> dict[str, Any] | None:
        found = self._by_url.get(url) or self._by_url.get(url.split("|", 1)[0])
        return found if found is not None and found.get("resourceType") == resource_type else None

    def structure_definition(self, url_or_type: str) -> dict[str, Any] | None:
        return self._typed(url_or_type, "StructureDefinition") or self._base.structure_definition(url_or_type)

    def snapshot(self, url_or_type: str) -> dict[str, Any] | None:
        """A loose StructureDefinition with its snapshot, generated (once) when it has only a differential."""
        sd = self._typed(url_or_type, "StructureDefinition")
        if sd is None:
            return self._base.snapshot(url_or_type)
        if not needs_snapshot(sd):
            return sd
        key = f"{sd.get('url')}|{sd.get('version', '')}"
        if key not in self._snapshots:
            self._snapshots[key] = None  # a definition based on itself stops here
            try:
                self._snapshots[key] = generate_snapshot(sd, self.snapshot)
            except SnapshotError as exc:
                self._base.warnings.append(f"snapshot of {key} not generated: {exc}")
        return self._snapshots[key] or sd

    def value_set(self, url: str) -> dict[str, Any] | None:
        return self._typed(url, "ValueSet") or self._base.value_set(url)

    def code_system(self, url: str) -> dict[str, Any] | None:
        return self._typed(url, "CodeSystem") or self._base.code_system(url)

    def resources_of_type(self, resource_type: str) -> Iterator[dict[str, Any]]:
        yield from (r for r in self._by_url.values() if r.get("resourceType") == resource_type)
        yield from self._base.resources_of_type(resource_type)


def context_for(igs: Sequence[str]) -> Any:
    """The context for these --ig sources (raises PackageError for a bad package, ValueError for a bad file)."""
    from conformance.packages import load_context

    packages, loose = split_igs(igs)
    base = load_context(igs=packages)
    if not loose:
        return base
    return OverlayContext(base, read_loose(loose, base))


def split_igs(igs: Sequence[str]) -> tuple[list[str], list[Path]]:
    """--ig sources: (packages, loose conformance files)."""
    packages: list[str] = []
    loose: list[Path] = []
    for source in igs:
        path = Path(source).expanduser()
        if path.is_dir() and not (path / "package.json").exists() and not (path / "package" / "package.json").exists():
            loose.extend(sorted(p for p in path.rglob("*") if p.suffix in _LOOSE_SUFFIXES and p.is_file()))
        elif path.is_file() and path.suffix in _LOOSE_SUFFIXES:
            loose.append(path)
        else:
            packages.append(source)
    return packages, loose


def read_loose(paths: list[Path], base: Any) -> list[dict[str, Any]]:
    return list(_read_loose(paths, base))


def _read_loose(paths: list[Path], base: Any) -> Iterator[dict[str, Any]]:
    from conformance.validation.fhir.validator import FhirValidator
    from conformance.validation.fhir.xml import looks_like_xml, xml_to_json

    converter: FhirValidator | None = None
    for path in paths:
        data = path.read_bytes()
        if looks_like_xml(data):
            converter = converter or FhirValidator(base)
            resource, _problems = xml_to_json(data, converter)
            if resource is None:
                raise ValueError(f"{path}: not a FHIR XML resource")
        else:
            try:
                resource = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}: {exc}") from exc
        yield from _conformance_resources(resource)


def _conformance_resources(resource: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(resource, dict):
        return
    if resource.get("resourceType") in _CONFORMANCE:
        yield resource
    elif resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry") or ():
            if isinstance(entry, dict):
                yield from _conformance_resources(entry.get("resource"))
