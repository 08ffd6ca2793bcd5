"""Package references (`NAME#VERSION`, `NAME@VERSION`, a .tgz, a folder) and version arithmetic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conformance.packages.errors import PackageError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION_RE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$")


@dataclass(frozen=True)
class PackageRef:
    """A package asked for by name and version (version may be empty = any)."""

    name: str
    version: str = ""

    def __str__(self) -> str:
        return f"{self.name}#{self.version}" if self.version else self.name


def looks_like_path(text: str) -> bool:
    return text.endswith((".tgz", ".tar.gz")) or "/" in text or text.startswith(".") or Path(text).is_dir()


def parse_ref(text: str) -> PackageRef:
    """`hl7.fhir.fr.core#2.2.0`, `hl7.fhir.fr.core@2.2.0` or a bare name."""
    text = text.strip()
    for sep in ("#", "@"):
        if sep in text:
            name, _, version = text.partition(sep)
            break
    else:
        name, version = text, ""
    if not _NAME_RE.match(name):
        raise PackageError(
            f"nom de paquet invalide : {text!r} (attendu NOM#VERSION)",
            f"invalid package name: {text!r} (expected NAME#VERSION)",
        )
    if version and not re.match(r"^[0-9A-Za-z.+-]+$", version):
        raise PackageError(f"version invalide : {text!r}", f"invalid version: {text!r}")
    return PackageRef(name, version)


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    # A release sorts after its pre-releases: (1, "") > (0, "ballot").
    release_rank: tuple[int, str]

    @property
    def is_prerelease(self) -> bool:
        return self.release_rank[0] == 0


def parse_version(text: str) -> Version | None:
    match = _VERSION_RE.match(text.strip())
    if not match:
        return None
    major, minor, patch, label = match.groups()
    rank = (0, label) if label else (1, "")
    return Version(int(major), int(minor or 0), int(patch or 0), rank)


def version_key(text: str) -> tuple:
    """Sort key for any version string; unparseable ones sort first."""
    parsed = parse_version(text)
    return (1, parsed) if parsed else (0, text)


def nearest_version(wanted: str, available: list[str], *, same_minor_only: bool = True) -> str | None:
    """The available version closest to `wanted` within the same major.minor (or, if `same_minor_only`
    is False, the same major): releases before pre-releases (ballots), then the nearest, the higher on a tie."""
    target = parse_version(wanted)
    if target is None:
        return None
    candidates = []
    for text in available:
        parsed = parse_version(text)
        if parsed is None or parsed.major != target.major:
            continue
        if same_minor_only and parsed.minor != target.minor:
            continue
        distance = (abs(parsed.minor - target.minor), abs(parsed.patch - target.patch))
        candidates.append((parsed.is_prerelease, distance, [-x for x in (parsed.minor, parsed.patch)], text))
    if not candidates:
        return None
    candidates.sort()
    return candidates[0][3]
