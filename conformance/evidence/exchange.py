"""The records transports emit. Transports never write files: they hand records to an ExchangeSink.

HTTP: one HttpExchange per request/response pair (response may be None when the exchange failed;
`error` then says why). MLLP: one MllpFrame per frame sent or received (or per framing fault).
Bodies are raw bytes, as on the wire; redaction happens in the sink, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class HttpRequestRecord:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(slots=True)
class HttpResponseRecord:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""
    truncated: bool = False  # body cut at the configured maximum size


@dataclass(slots=True)
class HttpExchange:
    request: HttpRequestRecord
    response: HttpResponseRecord | None
    started: datetime
    finished: datetime
    error: str | None = None  # timeout, connection refused, TLS failure, too large...
    kind: str = field(default="http", init=False)

    @property
    def elapsed_ms(self) -> float:
        return (self.finished - self.started).total_seconds() * 1000


@dataclass(slots=True)
class MllpFrame:
    direction: str  # "sent" or "received"
    local: str  # "127.0.0.1:5000"
    peer: str
    payload: bytes  # the HL7 message bytes, without the MLLP envelope
    timestamp: datetime
    error: str | None = None  # framing fault, timeout, charset mismatch...
    note: str | None = None  # e.g. a peer outside the listener's allow-list: recorded, not counted
    kind: str = field(default="mllp", init=False)


Exchange = HttpExchange | MllpFrame


class ExchangeSink(Protocol):
    def record(self, exchange: Exchange) -> None: ...


class MemorySink:
    """Keeps records in memory: for tests and for library users who want the exchanges back."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
