"""What `conformance --version` reports: the FHIR packages and rule sets the harness loads.

Two ways for other areas to add their rule-set versions (lines such as "HL7 v2 profile pam-fr-2.11"):
- a module `versions.py` with `version_lines() -> list[str]`, listed in CONVENTIONAL_PROVIDERS (imported only
  when `--version` runs);
- `register_version_provider(fn)` from code that is imported anyway.
Providers must be cheap; one that fails is reported as unavailable, never fatal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

VersionProvider = Callable[[], Iterable[str]]
_PROVIDERS: list[tuple[str, VersionProvider]] = []
CONVENTIONAL_PROVIDERS = (
    "conformance.validation.hl7v2.versions",
    "conformance.validation.cda.versions",
    "conformance.reports.versions",
)


def register_version_provider(fn: VersionProvider, *, name: str | None = None) -> VersionProvider:
    """Add a provider (usable as a decorator). Registering the same function twice keeps one."""
    label = name or getattr(fn, "__qualname__", repr(fn))
    if all(existing is not fn for _, existing in _PROVIDERS):
        _PROVIDERS.append((label, fn))
    return fn


def fhir_package_versions() -> list[str]:
    """The packages the default context loads, read from the cache metadata only (no index, no network)."""
    from conformance.packages import DEFAULT_PACKAGES, PackageManager

    manager = PackageManager(network=False, read_only=True)
    result = manager.resolve(list(DEFAULT_PACKAGES), include_core=True)
    lines = [f"FHIR package {p.ref}{_provided_by(p)}" for p in result.packages]
    lines += [f"FHIR package {m.name}#{m.version}: not installed" for m in result.missing]
    return lines


def _provided_by(package) -> str:
    try:
        provider = package.manifest().get("x-hopen-provided-by")
    except Exception:
        return ""
    return f" (from {provider})" if provider else ""


def _conventional_providers() -> list[tuple[str, VersionProvider]]:
    found: list[tuple[str, VersionProvider]] = []
    for module_name in CONVENTIONAL_PROVIDERS:
        parts = module_name.split(".")
        label = parts[-2] if len(parts) > 1 else module_name
        try:
            provider = importlib.import_module(module_name).version_lines
        except Exception as exc:  # a broken module must not break --version

            def provider(exc: Exception = exc) -> list[str]:
                raise exc

        found.append((label, provider))
    return found


def describe_versions() -> list[str]:
    lines: list[str] = []
    providers = [("fhir-packages", fhir_package_versions), *_conventional_providers(), *_PROVIDERS]
    for label, provider in providers:
        try:
            lines.extend(str(line) for line in provider())
        except Exception as exc:  # --version must always answer
            lines.append(f"{label}: unavailable ({type(exc).__name__}: {exc})")
    return lines
