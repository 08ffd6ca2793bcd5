"""What the rooms of the reference FHIR server pass each other: the `Request` as routed, the `Response` to send,
an `HttpError` refusal, OperationOutcome, ETag and HTTP dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime

from conformance.reference.fhir_store import Resource


class HttpError(Exception):
    """A refusal: the HTTP status, the OperationOutcome issue type, the diagnostics and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class Request:
    """One request once read: method, path segments under the base, query, headers, body, negotiated format."""

    method: str
    segments: list[str]
    query: list[tuple[str, str]]
    headers: Message
    body: bytes = b""
    format: str = "json"

    def arg(self, name: str, default: str | None = None) -> str | None:
        return dict(self.query).get(name, default)

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""


@dataclass
class Response:
    """A resource to serialise in the negotiated format, or raw bytes (`body`) with their media type."""

    status: int
    resource: Resource | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None


def operation_outcome(code: str, message: str, severity: str = "error") -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def weak_etag(resource: Resource) -> str:
    return f'W/"{resource.get("meta", {}).get("versionId", "1")}"'


def http_date(instant: str) -> str:
    return format_datetime(datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(UTC), usegmt=True)
