"""Where things are: shared reference data, the FHIR package cache, the tool's own caches.

Every location is overridable by an environment variable, so CI and users can point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO_ROOT / "profiles"
REPORT_TEMPLATES_DIR = REPO_ROOT / "reports"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def shared_dir() -> Path:
    """The read-only reference data (FR packages, CDA pack, HL7 v2 samples): HOPEN_SHARED_DIR or ../shared."""
    return _env_path("HOPEN_SHARED_DIR") or (REPO_ROOT.parent / "shared")


def fhir_package_search_path() -> list[Path]:
    """Folders searched for `NAME-VERSION.tgz` before the cache and registries: FHIR_PACKAGE_PATH."""
    value = os.environ.get("FHIR_PACKAGE_PATH")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    return [shared_dir() / "fhir-packages"]


def fhir_cache_dir() -> Path:
    """The standard FHIR package cache, ~/.fhir/packages, or FHIR_PACKAGE_CACHE."""
    return _env_path("FHIR_PACKAGE_CACHE") or Path.home() / ".fhir" / "packages"


def tool_cache_dir() -> Path:
    """The harness's own caches (canonical index, compiled schematrons): HOPEN_CACHE_DIR."""
    return _env_path("HOPEN_CACHE_DIR") or Path.home() / ".cache" / "hopen-conformance"


def cda_pack_dir() -> Path:
    """The ANS CDA test pack (XSD, schematrons): HOPEN_CDA_PACK or <shared>/cda/TestContenuCDA-3-0."""
    return _env_path("HOPEN_CDA_PACK") or shared_dir() / "cda" / "TestContenuCDA-3-0"


def hl7v2_samples_dir() -> Path:
    return shared_dir() / "hl7v2-samples"
