"""EvidenceRecorder: the ExchangeSink that writes each exchange to the run folder as it happens.

Layout (relative to the run folder):
    evidence/<test-id-slug>/001-http.json            one HTTP exchange (request + response or error)
    evidence/<test-id-slug>/001-http.request.json    its bodies, as the bytes exchanged (.json, .xml, .hl7,
    evidence/<test-id-slug>/001-http.response.xml      .txt by media type, .bin when not text)
    evidence/<test-id-slug>/002-mllp-sent.json       one MLLP frame, its payload in 002-mllp-sent.payload.hl7
    evidence/<test-id-slug>/<name>                   attachments (validated document, OperationOutcome)
    evidence/_run/...                                exchanges recorded outside any test
Every record is redacted (secrets) and, when asked, pseudonymised before it is written; each file is
written to a temporary name then renamed, so a killed run leaves whole files only.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from conformance.evidence.exchange import Exchange, HttpExchange, MllpFrame
from conformance.evidence.pseudonymize import Pseudonymizer
from conformance.evidence.redaction import Redactor, redact_all_logs
from conformance.evidence.sanitize import clean_data, for_terminal

EVIDENCE_DIR = "evidence"
OUTSIDE_TEST = "_run"
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ATTACHMENT_NAME = 100
_TEXT_MEDIA = ("json", "xml", "text", "hl7", "html", "x-www-form-urlencoded", "ndjson")
_EXTENSIONS = {"json": ".json", "xml": ".xml", "html": ".html", "hl7": ".hl7", "text/plain": ".txt"}

_ACTIVE_PRIVACY: dict[Path, Privacy] = {}


class Privacy:
    """Redaction (always) and pseudonymisation (optional) applied to everything a run writes."""

    def __init__(self, secrets: Iterable[str] = (), pseudonymize: bool = False) -> None:
        self.redactor = Redactor(secrets)
        self.pseudonymizer = Pseudonymizer() if pseudonymize else None

    @property
    def pseudonymize(self) -> bool:
        return self.pseudonymizer is not None

    def learn(self, headers: Mapping[str, str] | None = None, body: bytes = b"", url: str = "") -> None:
        if headers:
            self.redactor.learn_from_headers(headers)
        if body:
            self.redactor.learn_from_body(body)
        if self.pseudonymizer is not None:
            if body:
                self.pseudonymizer.learn(body)
            if url:
                self.pseudonymizer.learn_from_url(url)

    def text(self, value: str) -> str:
        value = self.redactor.redact_text(value)
        return self.pseudonymizer.apply(value) if self.pseudonymizer is not None else value

    def bytes(self, value: bytes) -> bytes:
        value = self.redactor.redact_bytes(value)
        return self.pseudonymizer.apply_bytes(value) if self.pseudonymizer is not None else value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        redacted = self.redactor.redact_headers(headers)
        if self.pseudonymizer is None:
            return redacted
        return {name: self.pseudonymizer.apply(value) for name, value in redacted.items()}

    def console(self, value: object) -> str:
        """Text for a terminal or a log: redacted, pseudonymised when asked, control characters escaped."""
        return for_terminal(self.text(str(value)))

    def report(self, value: Any) -> Any:
        """A JSON-like structure for the report writers: cleaned, and XML-safe (see evidence.sanitize)."""
        return clean_data(self.data(value))

    def data(self, value: Any) -> Any:
        """A JSON-like structure with every string cleaned (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def privacy_for(run_dir: Path) -> Privacy | None:
    """The privacy settings of the recorder writing to `run_dir`, if one was created in this process."""
    return _ACTIVE_PRIVACY.get(Path(run_dir).resolve())


def console_text(value: object, run_dir: Path | None = None) -> str:
    """The one way a run's text reaches the console: through the run's privacy (when known), terminal-safe."""
    privacy = privacy_for(run_dir) if run_dir is not None else None
    return privacy.console(value) if privacy is not None else for_terminal(value)


def slugify_test_id(test_id: str) -> str:
    """A file-system-safe, stable folder name for a test id ("suite/group/test" -> "suite__group__test")."""
    slug = _SLUG_UNSAFE.sub("-", test_id.replace("/", "__")).strip("-.") or "test"
    if len(slug) > 100 or slug != test_id.replace("/", "__"):
        # Different ids could slug alike once characters are replaced: a short hash keeps them apart.
        slug = f"{slug[:90]}-{hashlib.sha256(test_id.encode()).hexdigest()[:8]}"
    return slug


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


class EvidenceRecorder:
    """Implements ExchangeSink. One per run; `begin_test`/`end_test` attach records to the running test."""

    def __init__(
        self,
        run_dir: Path,
        secrets: Sequence[str] = (),
        pseudonymize: bool = False,
        *,
        known_patients: Iterable[Mapping[str, Any]] = (),
        redact_logs: bool = True,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.privacy = Privacy(secrets, pseudonymize)
        self._lock = threading.RLock()
        self._current: str | None = None
        self._counters: dict[str, int] = {}
        self._paths: dict[str, list[str]] = {}
        self.recorded = 0
        for patient in known_patients:
            self.learn_patient(**patient)
        _ACTIVE_PRIVACY[self.run_dir.resolve()] = self.privacy
        if redact_logs:
            redact_all_logs(self.privacy.redactor)

    # -- ExchangeSink ---------------------------------------------------------------------------
    def record(self, exchange: Exchange) -> None:
        with self._lock:
            test_id = self._current or OUTSIDE_TEST
            number = self._next_number(test_id)
            if isinstance(exchange, HttpExchange):
                self._record_http(test_id, number, exchange)
            elif isinstance(exchange, MllpFrame):
                self._record_mllp(test_id, number, exchange)
            else:
                self._write_json(test_id, f"{number:03d}-unknown.json", {"record": self.privacy.text(repr(exchange))})
            self.recorded += 1

    # -- test boundaries ------------------------------------------------------------------------
    def begin_test(self, test_id: str) -> None:
        with self._lock:
            self._current = test_id
            self._paths.setdefault(test_id, [])

    def end_test(self) -> list[str]:
        with self._lock:
            test_id, self._current = self._current, None
            return list(self._paths.get(test_id or OUTSIDE_TEST, []))

    def evidence_of(self, test_id: str) -> list[str]:
        with self._lock:
            return list(self._paths.get(test_id, []))

    def attach(self, test_id: str, name: str, data: bytes | str, media_type: str) -> str:
        """Writes an attachment (cleaned like exchanges) under the test's folder; returns its relative path."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        with self._lock:
            if _is_text(media_type, raw):
                self.privacy.learn(body=raw)
            cleaned = self._clean_body(raw, media_type)
            return self._write(test_id, self._attachment_name(test_id, name), cleaned)

    def _attachment_name(self, test_id: str, name: str) -> str:
        """A file name from a name the system may have chosen: safe characters, at most 100 of them (a
        255-byte name plus the temporary file's marks failed to write), never one this test already wrote."""
        safe = _SLUG_UNSAFE.sub("-", name).strip("-.") or "attachment"
        if len(safe) > MAX_ATTACHMENT_NAME:
            stem, dot, extension = safe.rpartition(".")
            extension = f".{extension}" if dot and len(extension) <= 10 else ""
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
            safe = f"{safe[: MAX_ATTACHMENT_NAME - len(extension) - 9]}-{digest}{extension}"
        folder = f"{EVIDENCE_DIR}/{slugify_test_id(test_id)}/"
        taken = set(self._paths.get(test_id, ()))
        candidate, number = safe, 1
        while f"{folder}{candidate}" in taken or (self.run_dir / folder / candidate).exists():
            number += 1
            stem, dot, extension = safe.rpartition(".")
            candidate = f"{stem}-{number}.{extension}" if dot and stem else f"{safe}-{number}"
        return candidate

    def learn_patient(
        self,
        family: str | None = None,
        given: Iterable[str] = (),
        birth_date: str | None = None,
        identifiers: Iterable[str] = (),
        **_ignored: Any,
    ) -> None:
        """Tells the pseudonymiser about a test patient before any exchange mentions it."""
        if self.privacy.pseudonymizer is not None:
            self.privacy.pseudonymizer.learn_identity(family, given, birth_date, identifiers)

    def add_secrets(self, *secrets: str) -> None:
        self.privacy.redactor.add(*secrets)

    # -- writers --------------------------------------------------------------------------------
    def _record_http(self, test_id: str, number: int, exchange: HttpExchange) -> None:
        request, response = exchange.request, exchange.response
        # Learn from both sides first: a response may name a patient that the request URL searched for.
        self.privacy.learn(request.headers, request.body, request.url)
        if response is not None:
            self.privacy.learn(response.headers, response.body)
        stem = f"{number:03d}-http"
        record: dict[str, Any] = {
            "kind": "http",
            "test": test_id,
            "started": exchange.started.isoformat(),
            "finished": exchange.finished.isoformat(),
            "elapsed_ms": round(exchange.elapsed_ms, 3),
            "error": self.privacy.text(exchange.error) if exchange.error else None,
            "request": {
                "method": request.method,
                "url": self.privacy.text(request.url),
                "headers": self.privacy.headers(request.headers),
                **self._body_fields(test_id, f"{stem}.request", request.body, request.headers),
            },
            "response": None,
        }
        if response is not None:
            record["response"] = {
                "status": response.status,
                "reason": self.privacy.text(response.reason),
                "headers": self.privacy.headers(response.headers),
                "truncated": response.truncated,
                **self._body_fields(test_id, f"{stem}.response", response.body, response.headers),
            }
        self._write_json(test_id, f"{stem}.json", record)

    def _record_mllp(self, test_id: str, number: int, frame: MllpFrame) -> None:
        self.privacy.learn(body=frame.payload)
        direction = frame.direction if frame.direction in ("sent", "received") else "frame"
        stem = f"{number:03d}-mllp-{direction}"
        record = {
            "kind": "mllp",
            "test": test_id,
            "direction": frame.direction,
            "timestamp": frame.timestamp.isoformat(),
            "local": frame.local,
            "peer": frame.peer,
            "error": self.privacy.text(frame.error) if frame.error else None,
            **({"note": self.privacy.text(frame.note)} if frame.note else {}),
            **self._body_fields(
                test_id, f"{stem}.payload", frame.payload, {"content-type": "x-application/hl7-v2+er7"}
            ),
        }
        self._write_json(test_id, f"{stem}.json", record)

    def _body_fields(self, test_id: str, stem: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """A body is kept as the bytes exchanged (redacted, pseudonymised when asked) in a file of its own,
        named after the record with the extension of its media type: readable as is, not a JSON string."""
        if not body:
            return {"body_file": None, "body_size": 0}
        media_type = _content_type(headers)
        # No hash of the raw body is kept: it would fingerprint the secrets it may contain.
        fields: dict[str, Any] = {"body_size": len(body), "media_type": media_type or None}
        cleaned = self._clean_body(body, media_type)
        extension = _extension(media_type, cleaned) if _is_text(media_type, body) else ".bin"
        fields["body_file"] = self._write(test_id, f"{stem}{extension}", cleaned)
        return fields

    def _clean_body(self, body: bytes, media_type: str) -> bytes:
        if self.privacy.pseudonymize and not _is_text(media_type, body):
            # Binary bodies (zip, PDF, images) cannot be pseudonymised value by value: withhold them.
            return f"[binary body withheld: pseudonymisation is on; {len(body)} bytes]".encode()
        return self.privacy.bytes(body)

    def _write_json(self, test_id: str, name: str, record: Mapping[str, Any]) -> str:
        return self._write(test_id, name, orjson.dumps(record, option=orjson.OPT_INDENT_2))

    def _write(self, test_id: str, name: str, data: bytes) -> str:
        relative = f"{EVIDENCE_DIR}/{slugify_test_id(test_id)}/{name}"
        write_atomic(self.run_dir / relative, data)
        with self._lock:
            self._paths.setdefault(test_id, []).append(relative)
        return relative

    def _next_number(self, test_id: str) -> int:
        self._counters[test_id] = self._counters.get(test_id, 0) + 1
        return self._counters[test_id]


def _content_type(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value.lower()
    return ""


def _is_text(media_type: str, body: bytes) -> bool:
    if any(marker in media_type for marker in _TEXT_MEDIA):
        return True
    if media_type and not media_type.startswith("text"):
        return False
    try:
        body[:4096].decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start > 4090  # a multi-byte character cut at the probe's end
    return b"\x00" not in body[:4096]


def _extension(media_type: str, body: bytes = b"") -> str:
    for marker, extension in _EXTENSIONS.items():
        if marker in media_type:
            return extension
    head = body.lstrip()[:1]  # no or a vague media type: the content says what it is
    return {b"{": ".json", b"[": ".json", b"<": ".xml"}.get(head, ".hl7" if body.startswith(b"MSH|") else ".txt")
