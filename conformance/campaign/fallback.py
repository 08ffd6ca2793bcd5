"""Stand-ins used only when the evidence layer (conformance.evidence.recorder, conformance.reports) is absent.

They keep a campaign usable on its own: exchanges written as redacted JSON, a plain results.json. The real
recorder and report writers replace them as soon as they can be imported.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from conformance.evidence.exchange import Exchange
from conformance.results import RunResult


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text


class FallbackRecorder:
    def __init__(self, run_dir: Path, secrets: Sequence[str] = (), pseudonymize: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.secrets = [s for s in secrets if s]
        self.current: str | None = None
        self.paths: list[str] = []
        self.counter = 0

    def begin_test(self, test_id: str) -> None:
        self.current = test_id
        self.paths = []

    def end_test(self) -> list[str]:
        paths, self.paths, self.current = self.paths, [], None
        return paths

    def _write(self, test_id: str | None, name: str, data: bytes) -> str:
        self.counter += 1
        folder = self.run_dir / "evidence" / (test_id or "_session").replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.counter:05d}-{name}"
        path.write_bytes(data)
        rel = str(path.relative_to(self.run_dir))
        if test_id == self.current:
            self.paths.append(rel)
        return rel

    def record(self, exchange: Exchange) -> None:
        text = json.dumps(_jsonable(exchange), ensure_ascii=False, indent=1)
        if exchange.kind == "http":
            for header in ("Authorization", "authorization", "Cookie", "Set-Cookie"):
                for record in (exchange.request, exchange.response):
                    if record is not None and header in record.headers:
                        text = text.replace(json.dumps(record.headers[header])[1:-1], "[REDACTED]")
        self._write(self.current, f"{exchange.kind}.json", _redact(text, self.secrets).encode())

    def attach(self, test_id: str, name: str, data: bytes | str, media_type: str) -> str:
        raw = data.encode() if isinstance(data, str) else data
        with contextlib.suppress(UnicodeDecodeError):
            raw = _redact(raw.decode("utf-8"), self.secrets).encode()
        return self._write(test_id, name, raw)


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj):
        return {k: _jsonable(v) for k, v in asdict(obj).items()} | ({"kind": obj.kind} if hasattr(obj, "kind") else {})
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bytes):
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_results_json(run_dir: Path, run: RunResult) -> Path:
    path = Path(run_dir) / "results.json"
    tmp = path.with_suffix(".json.tmp")
    data = _cleaned(run_dir, _jsonable(run))
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def _cleaned(run_dir: Path, data: Any) -> Any:
    """Even a last-resort results.json goes through the run's redaction and pseudonymisation when known."""
    try:
        from conformance.evidence.recorder import privacy_for
        from conformance.evidence.sanitize import clean_data
    except ImportError:
        return data
    privacy = privacy_for(Path(run_dir))
    return clean_data(privacy.data(data) if privacy is not None else data)


def write_partial(run_dir: Path, run: RunResult) -> None:
    write_results_json(run_dir, run)


def write_run_outputs(run_dir: Path, run: RunResult, *, lang: str = "fr") -> list[Path]:
    return [write_results_json(run_dir, run)]
