"""What `conformance --version` reports: the FHIR packages and rule sets the harness loads.

Other areas add their rule-set versions with `register_version_provider(fn)`: `fn()` returns lines
(e.g. ["HL7 v2 profile pam-fr-2.11"]). Providers must be cheap; one that fails is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

VersionProvider = Callable[[], Iterable[str]]
_PROVIDERS: list[tuple[str, VersionProvider]] = []


def register_version_provider(fn: VersionProvider, *, name: str | None = None) -> VersionProvider:
    """Add a provider (usable as a decorator). Registering the same function twice keeps one."""
    label = name or getattr(fn, "__qualname__", repr(fn))
    if all(existing is not fn for _, existing in _PROVIDERS):
        _PROVIDERS.append((label, fn))
    return fn


def fhir_package_versions() -> list[str]:
    """The packages the default context loads, read from the cache metadata only (no index, no network)."""
    from conformance.packages import DEFAULT_PACKAGES, PackageManager

    manager = PackageManager(network=False)
    result = manager.resolve(list(DEFAULT_PACKAGES), include_core=True)
    lines = [f"FHIR package {p.ref}{_provided_by(p)}" for p in result.packages]
    lines += [f"FHIR package {m.name}#{m.version}: not found" for m in result.missing]
    return lines


def _provided_by(package) -> str:
    try:
        provider = package.manifest().get("x-hopen-provided-by")
    except Exception:
        return ""
    return f" (from {provider})" if provider else ""


def describe_versions() -> list[str]:
    lines: list[str] = []
    for label, provider in [("fhir-packages", fhir_package_versions), *_PROVIDERS]:
        try:
            lines.extend(str(line) for line in provider())
        except Exception as exc:  # --version must always answer
            lines.append(f"{label}: unavailable ({type(exc).__name__}: {exc})")
    return lines
