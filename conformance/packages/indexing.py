"""Per-package resource index: the package's `.index.json` (FHIR NPM package spec, index-version 2) when it
is present, otherwise built by reading each resource file once."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

# Fields kept per resource: enough to answer "which file holds canonical X" and "which profiles
# constrain type T" without opening any resource.
ENTRY_FIELDS = (
    "filename",
    "resourceType",
    "id",
    "url",
    "version",
    "kind",
    "type",
    "derivation",
    "content",
    "supplements",
)
_SKIP_FILES = {"package.json", ".index.json", "ig-r4.json", "fhir.schema.json"}


def entry_for(filename: str, resource: object) -> dict | None:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return None
    entry: dict = {"filename": filename}
    for field in ENTRY_FIELDS[1:]:
        value = resource.get(field)
        if isinstance(value, str):
            entry[field] = value
    return entry


def scan_package(package: Path) -> tuple[list[dict], list[str]]:
    """Read every top-level JSON resource of a package folder. Returns (entries, problems)."""
    entries: list[dict] = []
    problems: list[str] = []
    with os.scandir(package) as it:
        names = sorted(e.name for e in it if e.is_file() and e.name.endswith(".json") and e.name not in _SKIP_FILES)
    for name in names:
        try:
            resource = orjson.loads((package / name).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        entry = entry_for(name, resource)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def build_index_file(package: Path) -> list[dict]:
    entries, _problems = scan_package(package)
    (package / ".index.json").write_bytes(orjson.dumps({"index-version": 2, "files": entries}))
    return entries


def read_index_file(package: Path) -> list[dict] | None:
    """Entries of `.index.json`, completed for StructureDefinitions that lack `type` (older indexes)."""
    try:
        data = orjson.loads((package / ".index.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    entries = []
    for raw in files:
        if not isinstance(raw, dict) or not isinstance(raw.get("filename"), str) or not raw.get("resourceType"):
            continue
        entry = {k: raw[k] for k in ENTRY_FIELDS if isinstance(raw.get(k), str)}
        if entry["resourceType"] == "StructureDefinition" and "type" not in entry:
            try:
                completed = entry_for(entry["filename"], orjson.loads((package / entry["filename"]).read_bytes()))
            except (OSError, orjson.JSONDecodeError):
                completed = None
            entry = completed or entry
        entries.append(entry)
    return entries
