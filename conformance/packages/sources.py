"""Where packages come from besides the cache: folders on a search path, a FHIR package registry
(NPM-style protocol, base URL configured by the user: none is built in), and the `npm` client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conformance import settings

# The HL7 R4 core package is not published on the npm registry; hl7.fhir.r4.examples@4.0.1 carries the
# same conformance resources (all StructureDefinitions with snapshots, ValueSets, CodeSystems,
# SearchParameters) plus the spec's examples, so it is installed under the core name.
NPM_ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("hl7.fhir.r4.core", "4.0.1"): ("hl7.fhir.r4.examples", "4.0.1"),
}


class SourceError(Exception):
    """A source could not be consulted (network down, tool missing, bad answer): callers fall through."""


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# --- search path ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalCandidate:
    path: Path  # a .tgz or an unpacked package folder
    version: str


class SearchPath:
    """Folders holding `NAME-VERSION.tgz` / `NAME#VERSION.tgz` archives or unpacked `NAME#VERSION/` folders."""

    def __init__(self, folders: list[Path] | None = None) -> None:
        self.folders = [Path(f) for f in (folders if folders is not None else settings.fhir_package_search_path())]

    def candidates(self, name: str) -> list[LocalCandidate]:
        found: list[LocalCandidate] = []
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                version = _version_from_filename(entry, name)
                if version:
                    found.append(LocalCandidate(entry, version))
        return found

    def find(self, name: str, version: str) -> LocalCandidate | None:
        for candidate in self.candidates(name):
            if candidate.version == version:
                return candidate
        return None

    def versions(self, name: str) -> list[str]:
        return sorted({c.version for c in self.candidates(name)})


def _version_from_filename(entry: Path, name: str) -> str | None:
    filename = entry.name
    if entry.is_file():
        for suffix in (".tgz", ".tar.gz"):
            if filename.endswith(suffix):
                filename = filename[: -len(suffix)]
                break
        else:
            return None
    elif not (entry / "package" / "package.json").is_file() and not (entry / "package.json").is_file():
        return None
    for sep in ("#", "-"):
        prefix = name + sep
        if filename.startswith(prefix):
            version = filename[len(prefix) :]
            if version and version[0].isdigit():
                return version
    return None


# --- FHIR package registry (NPM protocol) ---------------------------------------------------------------


def configured_registries() -> list[str]:
    """FHIR_PACKAGE_REGISTRY: one or more base URLs separated by commas or spaces. Empty by default."""
    value = os.environ.get("FHIR_PACKAGE_REGISTRY", "")
    return [u.strip().rstrip("/") for u in value.replace(",", " ").split() if u.strip()]


class Registry:
    """GET {base}/{name} -> {"versions": {v: {"dist": {"tarball": url}}}}; GET {base}/{name}/{v} -> tgz."""

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if timeout is not None else _env_float("FHIR_PACKAGE_REGISTRY_TIMEOUT", 10.0)

    def _get(self, url: str):
        import requests

        try:
            response = requests.get(url, timeout=self.timeout, stream=True)
        except requests.RequestException as exc:
            raise SourceError(f"registry {self.base_url} unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code >= 400:
            response.close()
            raise SourceError(f"registry {self.base_url} answered HTTP {response.status_code} for {url}")
        return response

    def _metadata(self, name: str) -> dict | None:
        response = self._get(f"{self.base_url}/{name}")
        if response is None:
            return None
        try:
            data = response.json()
        except ValueError as exc:
            raise SourceError(f"registry {self.base_url} sent an unreadable answer for {name}") from exc
        finally:
            response.close()
        return data if isinstance(data, dict) else None

    def versions(self, name: str) -> list[str]:
        data = self._metadata(name)
        versions = (data or {}).get("versions")
        return sorted(versions) if isinstance(versions, dict) else []

    def download(self, name: str, version: str, dest_dir: Path, max_bytes: int = 1 << 30) -> Path | None:
        data = self._metadata(name)
        if data is None:
            return None
        info = (data.get("versions") or {}).get(version)
        if not isinstance(info, dict):
            return None
        tarball = (info.get("dist") or {}).get("tarball") or f"{self.base_url}/{name}/{version}"
        response = self._get(tarball)
        if response is None:
            raise SourceError(f"registry {self.base_url} lists {name}#{version} but its archive is missing")
        target = dest_dir / f"{name}-{version}.tgz"
        size = 0
        try:
            with target.open("wb") as out:
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceError(
                            f"registry {self.base_url}: {name}#{version} is larger than {max_bytes} bytes"
                        )
                    out.write(chunk)
        except OSError as exc:
            raise SourceError(f"registry {self.base_url}: download of {name}#{version} failed: {exc}") from exc
        finally:
            response.close()
        return target


# --- npm client -----------------------------------------------------------------------------------------


class Npm:
    """`npm pack NAME@VERSION` into a temporary folder; `npm view NAME versions --json` to list versions."""

    def __init__(self, timeout: float | None = None, executable: str | None = None) -> None:
        self.timeout = timeout if timeout is not None else _env_float("HOPEN_NPM_TIMEOUT", 300.0)
        self.executable = executable or os.environ.get("HOPEN_NPM", "npm")

    def _run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        exe = shutil.which(self.executable)
        if exe is None:
            raise SourceError(f"the npm client ({self.executable}) is not installed")
        try:
            return subprocess.run(
                [exe, *args], cwd=cwd, capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SourceError(f"npm {' '.join(args)} took longer than {self.timeout:g} s") from exc
        except OSError as exc:
            raise SourceError(f"npm could not be started: {exc}") from exc

    @staticmethod
    def _not_found(proc: subprocess.CompletedProcess) -> bool:
        text = proc.stderr + proc.stdout
        return any(code in text for code in ("E404", "ETARGET", "404 Not Found", "No matching version"))

    def versions(self, name: str) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="hopen-npm-") as tmp:
            proc = self._run(["view", name, "versions", "--json"], Path(tmp))
        if proc.returncode != 0:
            if self._not_found(proc):
                return []
            raise SourceError(f"npm view {name} failed: {_last_line(proc.stderr)}")
        try:
            data = json.loads(proc.stdout or "[]")
        except ValueError as exc:
            raise SourceError(f"npm view {name} gave unreadable output") from exc
        if isinstance(data, str):
            data = [data]
        return [str(v) for v in data] if isinstance(data, list) else []

    def pack(self, name: str, version: str, dest_dir: Path) -> Path | None:
        """The downloaded tgz, or None when npm has no such package/version."""
        proc = self._run(["pack", f"{name}@{version}", "--json", "--pack-destination", str(dest_dir)], dest_dir)
        if proc.returncode != 0:
            if self._not_found(proc):
                return None
            raise SourceError(f"npm pack {name}@{version} failed: {_last_line(proc.stderr)}")
        archives = sorted(dest_dir.glob("*.tgz"))
        if not archives:
            raise SourceError(f"npm pack {name}@{version} produced no archive")
        return archives[0]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"
