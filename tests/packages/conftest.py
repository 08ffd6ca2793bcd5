"""Fixtures for the package manager's tests: isolated caches, tiny packages built on the fly, a tiny
FHIR package registry served on 127.0.0.1, and the real packages `make fhir-packages` installed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pkg_helpers import CORE_REF, REAL_CACHE, link_real_package

from conformance.packages import clear_context_cache


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every location the package manager touches, pointed into this test's temp folder."""
    paths = {
        "cache": tmp_path / "fhir-cache",
        "tool": tmp_path / "tool-cache",
        "search": tmp_path / "search",
        "work": tmp_path / "work",
    }
    for path in paths.values():
        path.mkdir()
    monkeypatch.setenv("FHIR_PACKAGE_CACHE", str(paths["cache"]))
    monkeypatch.setenv("HOPEN_CACHE_DIR", str(paths["tool"]))
    monkeypatch.setenv("FHIR_PACKAGE_PATH", str(paths["search"]))
    monkeypatch.delenv("FHIR_PACKAGE_REGISTRY", raising=False)
    clear_context_cache()
    yield paths
    clear_context_cache()


@pytest.fixture
def real_base(env: dict[str, Path]) -> dict[str, Path]:
    """An isolated cache holding (as symlinks) the real R4 core, THO and extensions; FR Core comes from
    ../shared through the search path."""
    link_real_package(env["cache"], CORE_REF)
    # Whatever versions `make fhir-packages` found on npm (7.0.1 and 5.3.0-ballot-tc1 today).
    for name in ("hl7.terminology.r4", "hl7.fhir.uv.extensions.r4"):
        for entry in REAL_CACHE.glob(f"{name}#*"):
            link_real_package(env["cache"], entry.name)
    return env


# --- a tiny registry on 127.0.0.1 --------------------------------------------------------------------------


@dataclass
class TinyRegistry:
    url: str
    archives: dict[tuple[str, str], bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    fail_with: int | None = None

    def add(self, tgz: Path, name: str, version: str) -> None:
        self.archives[(name, version)] = tgz.read_bytes()


def _handler(registry: TinyRegistry):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            registry.requests.append(self.path)
            if registry.fail_with:
                self.send_error(registry.fail_with)
                return
            parts = [p for p in self.path.split("/") if p]
            if len(parts) == 1:
                versions = {
                    v: {"name": n, "version": v, "dist": {"tarball": f"{registry.url}/{n}/{v}"}}
                    for (n, v) in registry.archives
                    if n == parts[0]
                }
                if not versions:
                    self.send_error(404)
                    return
                self._send(json.dumps({"name": parts[0], "versions": versions}).encode(), "application/json")
            elif len(parts) == 2 and tuple(parts) in registry.archives:
                self._send(registry.archives[tuple(parts)], "application/tar+gzip")
            else:
                self.send_error(404)

        def _send(self, body: bytes, media_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def registry() -> Iterator[TinyRegistry]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    reg = TinyRegistry(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(reg)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield reg
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_url() -> str:
    """A 127.0.0.1 URL nothing listens on (the port was bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
