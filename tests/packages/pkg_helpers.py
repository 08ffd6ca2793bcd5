"""Helpers for the package manager's tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from conformance import settings

REAL_CACHE = settings.fhir_cache_dir()
CORE_REF = "hl7.fhir.r4.core#4.0.1"
FR_CORE_REF = "hl7.fhir.fr.core#2.2.0"


def make_package(
    dest: Path,
    name: str,
    version: str,
    *,
    dependencies: dict[str, str] | None = None,
    resources: list[dict] | None = None,
    index: list[dict] | None = None,
    folder: bool = False,
) -> Path:
    """Write a small NPM-format FHIR package as `dest/NAME-VERSION.tgz` (or an unpacked folder)."""
    manifest = {"name": name, "version": version, "fhirVersions": ["4.0.1"], "dependencies": dependencies or {}}
    if resources is None:
        resources = [
            {
                "resourceType": "StructureDefinition",
                "id": f"{name}-sd",
                "url": f"http://example.org/{name}/StructureDefinition/sd",
                "version": version,
                "type": "Patient",
                "kind": "resource",
                "derivation": "constraint",
            }
        ]
    files = {"package/package.json": json.dumps(manifest).encode()}
    for resource in resources:
        files[f"package/{resource['resourceType']}-{resource['id']}.json"] = json.dumps(resource).encode()
    if index is not None:
        files["package/.index.json"] = json.dumps({"index-version": 2, "files": index}).encode()
    dest.mkdir(parents=True, exist_ok=True)
    if folder:
        root = dest / f"{name}#{version}"
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return root
    target = dest / f"{name}-{version}.tgz"
    with tarfile.open(target, "w:gz") as archive:
        for rel, data in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def link_real_package(cache: Path, ref: str) -> None:
    """Make a package of the real cache visible in an isolated cache (symlink: no copy)."""
    source = REAL_CACHE / ref
    if not (source / "package" / "package.json").is_file():
        pytest.fail(f"{ref} is not in {REAL_CACHE}: run `make fhir-packages` first")
    (cache / ref).symlink_to(source, target_is_directory=True)
