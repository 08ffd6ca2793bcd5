"""Where things are: shared reference data, the FHIR package cache, the tool's own caches.

Every location is overridable by an environment variable, so CI and users can point elsewhere.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

# Only to guess the default of HOPEN_SHARED_DIR (../shared beside a checkout); the package's own data is
# found through importlib.resources, never through the checkout.
REPO_ROOT = Path(__file__).resolve().parent.parent


def package_dir(*parts: str) -> Path:
    """A folder of data shipped inside the package (profiles, suites, report templates), as a real path.

    The package is installed as files (wheel or editable), so the resource is a path on disk that the
    readers (YAML, XML, pytest) can walk.
    """
    return Path(str(resources.files("conformance").joinpath(*parts)))


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return _path(value, os.environ.get("HOME")) if value else None


@functools.lru_cache(maxsize=64)
def _path(value: str, home: str | None) -> Path:
    """`value` as a path, `~` expanded (from `home`, HOME: part of the key). Remembered: the validators ask
    for these locations per input, and building them cost about 20 µs a resource."""
    return Path(value).expanduser()


@functools.lru_cache(maxsize=16)
def _under(base: Path, *parts: str) -> Path:
    return base.joinpath(*parts)


@functools.lru_cache(maxsize=16)
def _under_home(home: str | None, *parts: str) -> Path:
    return Path.home().joinpath(*parts)


def shared_dir() -> Path:
    """The read-only reference data (FR packages, CDA pack, HL7 v2 samples): HOPEN_SHARED_DIR or ../shared."""
    return _env_path("HOPEN_SHARED_DIR") or _under(REPO_ROOT.parent, "shared")


def fhir_package_search_path() -> list[Path]:
    """Folders searched for `NAME-VERSION.tgz` before the cache and registries: FHIR_PACKAGE_PATH."""
    value = os.environ.get("FHIR_PACKAGE_PATH")
    if value:
        home = os.environ.get("HOME")
        return [_path(p, home) for p in value.split(os.pathsep) if p]
    return [_under(shared_dir(), "fhir-packages")]


def fhir_cache_dir() -> Path:
    """The standard FHIR package cache, ~/.fhir/packages, or FHIR_PACKAGE_CACHE."""
    return _env_path("FHIR_PACKAGE_CACHE") or _under_home(os.environ.get("HOME"), ".fhir", "packages")


def tool_cache_dir() -> Path:
    """The harness's own caches (canonical index, compiled schematrons): HOPEN_CACHE_DIR."""
    return _env_path("HOPEN_CACHE_DIR") or _under_home(os.environ.get("HOME"), ".cache", "hopen-conformance")


def cda_pack_dir() -> Path:
    """The ANS CDA test pack (XSD, schematrons): HOPEN_CDA_PACK or <shared>/cda/TestContenuCDA-3-0."""
    return _env_path("HOPEN_CDA_PACK") or shared_dir() / "cda" / "TestContenuCDA-3-0"


def hl7v2_samples_dir() -> Path:
    return shared_dir() / "hl7v2-samples"
