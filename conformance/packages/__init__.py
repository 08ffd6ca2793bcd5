"""FHIR package manager: NPM-format packages in the standard cache, their dependencies, and a canonical
index over everything loaded. Entry point for validators: `load_context()`."""

from __future__ import annotations

from conformance.packages.cache import PackageCache, PackageInfo
from conformance.packages.context import DEFAULT_PACKAGES, FhirContext, IndexEntry, clear_context_cache, load_context
from conformance.packages.errors import PackageError
from conformance.packages.manager import MissingPackage, PackageManager, Resolution
from conformance.packages.spec import PackageRef, parse_ref

__all__ = [
    "DEFAULT_PACKAGES",
    "FhirContext",
    "IndexEntry",
    "MissingPackage",
    "PackageCache",
    "PackageError",
    "PackageInfo",
    "PackageManager",
    "PackageRef",
    "Resolution",
    "clear_context_cache",
    "load_context",
    "parse_ref",
]
