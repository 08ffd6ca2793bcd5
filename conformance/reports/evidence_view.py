"""A readable view of each evidence file for the HTML report: JSON and XML pretty-printed, HL7 v2 one segment
per line, an e-mail (MSSanté message, receipt) as its headers, its MIME parts and its text, a binary body as
its size and media type, an exchange record as its request line and status.

Presentation only: the evidence files stay the sealed bytes exchanged; this reads them (bounded, never
following a link out of the run folder, never opening what is not a regular file) and renders text for the
report. A file that cannot be read is said so; it never stops the report.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

MAX_READ = 2 * 1024 * 1024  # bytes read of one file for its view
MAX_SHOWN = 100_000  # characters of one view in the report
MAX_REPORT = 8 * 1024 * 1024  # characters of views in one report; past it, files are listed as links only
_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
_MLLP_FRAMING = "\x0b\x1c"
# The headers an MSSanté reader checks first (sender, recipients, subject, receipt requests), in this order.
EMAIL_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "Disposition-Notification-To",
    "Return-Receipt-To",
    "Content-Type",
)
MAX_PARTS = 200  # MIME parts listed for one message; a hostile message may nest thousands
MAX_HEADER_SHOWN = 500  # characters of one header value
_IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})  # a text part stored as it reads


@dataclass
class MimePart:
    number: str  # "1", "1.2", ... as IMAP numbers them
    content_type: str
    size: int | None  # decoded bytes; None for a container (multipart, an enclosed message)
    filename: str | None = None  # as the sender named it: untrusted text, shown escaped, never used as a path


@dataclass
class EvidenceView:
    path: str
    kind: str  # "json", "xml", "hl7v2", "email", "text", "binary", "http", "mllp", "unreadable", "omitted"
    size: int = 0
    media_type: str | None = None
    text: str | None = None  # the readable view (or the exchange's summary line; an e-mail's text parts)
    truncated: bool = False
    direction: str | None = None  # an MLLP frame: "sent" or "received"
    headers: list[tuple[str, str]] = field(default_factory=list)  # an e-mail: EMAIL_HEADERS present
    parts: list[MimePart] = field(default_factory=list)  # an e-mail: its MIME parts, depth first


def evidence_views(
    run_dir: Path | None, tests: Iterable[Mapping[str, Any]], max_files: int, *, pseudonymized: bool = True
) -> dict[str, list]:
    """Test id -> the views of its first `max_files` evidence files, in the order results.json lists them.
    `pseudonymized`: the run's evidence is (results.json privacy): an e-mail's encoded text parts are then
    shown as stored, never decoded past what the pseudonymiser rewrote."""
    views: dict[str, list[EvidenceView]] = {}
    if run_dir is None:
        return views
    root = Path(run_dir).resolve()
    budget = MAX_REPORT
    for test in tests:
        paths = [p for p in test.get("evidence") or [] if isinstance(p, str)][:max_files]
        raw = {p: _read(root, p) for p in paths}
        media = _media_types(raw)
        shown = []
        for path in paths:
            view = (
                _view(path, raw[path], media.get(path), pseudonymized) if budget > 0 else EvidenceView(path, "omitted")
            )
            budget -= len(view.text or "")
            shown.append(view)
        views[str(test.get("id"))] = shown
    return views


def _read(root: Path, relative: str) -> tuple[int, bytes] | None:
    """(size, first MAX_READ bytes) of a regular file inside the run folder, else None."""
    if relative.startswith(("/", "\\")) or ".." in Path(relative).parts:
        return None
    path = root / relative
    try:
        if not path.resolve().is_relative_to(root):
            return None
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            return info.st_size, handle.read(MAX_READ)
    except (OSError, ValueError):
        return None


def _media_types(raw: Mapping[str, tuple[int, bytes] | None]) -> dict[str, str]:
    """Body file -> media type, as the exchange records that point to the bodies say."""
    media: dict[str, str] = {}
    for path, content in raw.items():
        record = _record(path, content)
        if record is None:
            continue
        parts = [record, record.get("request"), record.get("response")]
        for part in parts:
            if isinstance(part, dict) and isinstance(part.get("body_file"), str):
                media[part["body_file"]] = str(part.get("media_type") or "")
    return media


def _record(path: str, content: tuple[int, bytes] | None) -> dict[str, Any] | None:
    if content is None or not re.search(r"/\d{3}-(http|mllp-\w+)\.json$", path):
        return None
    try:
        record = json.loads(content[1])
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("kind") in ("http", "mllp") else None


def _view(
    path: str, content: tuple[int, bytes] | None, media_type: str | None, pseudonymized: bool = True
) -> EvidenceView:
    if content is None:
        return EvidenceView(path, "unreadable")
    size, data = content
    complete = size <= len(data)
    record = _record(path, content)
    if record is not None:
        return _exchange(path, size, record)
    media = (media_type or "").lower()
    suffix = Path(path).suffix.lower()
    withheld = data.startswith(b"[binary body withheld")  # the recorder's placeholder under pseudonymisation
    if not withheld and (suffix == ".bin" or (media and not _texty(media)) or _binary(data)):
        return EvidenceView(path, "binary", size, media_type or None)
    text = data.decode("utf-8", errors="replace")
    kind, pretty = "text", None
    if "json" in media or suffix == ".json":
        kind, pretty = "json", _pretty_json(data) if complete else None
    elif "xml" in media or suffix == ".xml" or text.lstrip().startswith("<"):
        kind, pretty = "xml", _pretty_xml(data) if complete else None
    elif "hl7" in media or suffix == ".hl7" or text.lstrip(_MLLP_FRAMING).startswith("MSH"):
        kind, pretty = "hl7v2", _segments(text)
    elif "rfc822" in media or suffix == ".eml":
        view = _email(path, size, media_type, data, pseudonymized)
        if view is not None:
            view.truncated = view.truncated or not complete
            return view
    shown = pretty if pretty is not None else text
    truncated = not complete or len(shown) > MAX_SHOWN
    return EvidenceView(path, kind, size, media_type or None, shown[:MAX_SHOWN], truncated)


def _texty(media: str) -> bool:
    return media.startswith("text/") or any(
        m in media for m in ("json", "xml", "hl7", "er7", "x-www-form", "rfc822", "disposition-notification")
    )


def _binary(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start < len(head) - 4  # a character cut at the probe's end is still text
    return False


def _pretty_json(data: bytes) -> str | None:
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None


def _pretty_xml(data: bytes) -> str | None:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=True
    )
    try:
        root = etree.fromstring(data, parser)
        return etree.tostring(root, pretty_print=True, encoding="unicode")
    except (etree.XMLSyntaxError, ValueError):
        return None


def _segments(text: str) -> str:
    return "\n".join(s for s in _SEGMENT_BREAK.split(text.strip(_MLLP_FRAMING + "\r\n")) if s.strip(_MLLP_FRAMING))


def _exchange(path: str, size: int, record: Mapping[str, Any]) -> EvidenceView:
    if record.get("kind") == "mllp":
        direction = record.get("direction") if record.get("direction") in ("sent", "received") else None
        peer = record.get("peer")
        return EvidenceView(path, "mllp", size, "application/json", str(peer or "")[:200], direction=direction)
    raw_request, raw_response = record.get("request"), record.get("response")
    request: Mapping[str, Any] = raw_request if isinstance(raw_request, dict) else {}
    response = raw_response if isinstance(raw_response, dict) else None
    summary = f"{request.get('method', '?')} {request.get('url', '')}"
    if response is not None:
        summary += f" → {response.get('status', '?')} {response.get('reason') or ''}".rstrip()
    elif record.get("error"):
        summary += f" → {record['error']}"
    return EvidenceView(path, "http", size, "application/json", summary[:2000])


def _email(path: str, size: int, media_type: str | None, data: bytes, pseudonymized: bool) -> EvidenceView | None:
    """Headers, MIME outline and text parts of an RFC 5322 message; None when it does not parse as one."""
    parser = email.parser.BytesParser(policy=email.policy.default)
    nested_too_deep = False
    try:
        message = parser.parsebytes(data)
    except RecursionError:  # parts nested deeper than the parser recurses: the headers alone
        message, nested_too_deep = parser.parsebytes(data, headersonly=True), True
    except (ValueError, TypeError, LookupError):
        return None
    if not message.keys():
        return None
    headers = [(name, _header(message, name)) for name in EMAIL_HEADERS if message.get(name) is not None]
    parts: list[MimePart] = []
    texts: list[str] = []
    if nested_too_deep:
        parts.append(MimePart("1", message.get_content_type(), None))
    else:  # a part the parser cannot decode ends the outline; what was read is shown
        with contextlib.suppress(ValueError, TypeError, RecursionError, LookupError, AssertionError):
            _outline(message, "1", parts, texts, depth=0, decodable=_decodable(pseudonymized))
    shown = "\n\n".join(texts)
    truncated = nested_too_deep or len(shown) > MAX_SHOWN or len(parts) >= MAX_PARTS
    return EvidenceView(
        path, "email", size, media_type or None, shown[:MAX_SHOWN], truncated, headers=headers, parts=parts
    )


def _header(message: Message, name: str) -> str:
    try:
        value = str(message.get(name, ""))
    except (ValueError, TypeError, LookupError, IndexError):
        value = str(message.get_all(name, [""])[0])  # undecodable: the raw value
    return _one_line(value, MAX_HEADER_SHOWN)


def _decodable(pseudonymized: bool) -> frozenset[str]:
    """The transfer encodings of a text part shown decoded. What is stored as is went through redaction and
    pseudonymisation; base64 too for secrets (the redactor decodes its runs) but not for patient data, and a
    quoted-printable soft line break can cut a secret the redactor then misses: those are shown as stored."""
    return _IDENTITY_ENCODINGS if pseudonymized else _IDENTITY_ENCODINGS | {"base64"}


def _outline(
    part: Message, number: str, parts: list[MimePart], texts: list[str], depth: int, decodable: frozenset[str]
) -> None:
    if len(parts) >= MAX_PARTS or depth > 20:
        return
    content_type = part.get_content_type()
    filename = part.get_filename()
    if part.is_multipart():
        parts.append(MimePart(number, content_type, None, _clip(filename)))
        children = part.get_payload()
        for index, child in enumerate(children if isinstance(children, list) else [], start=1):
            if isinstance(child, Message):
                _outline(child, f"{number}.{index}", parts, texts, depth + 1, decodable)
        return
    payload = part.get_payload(decode=True)
    body = payload if isinstance(payload, bytes) else b""
    parts.append(MimePart(number, content_type, len(body), _clip(filename)))
    if part.get_content_maintype() == "text" and filename is None and sum(map(len, texts)) < MAX_SHOWN:
        if str(part.get("Content-Transfer-Encoding", "")).strip().lower() not in decodable:
            stored = part.get_payload(decode=False)
            texts.append(stored if isinstance(stored, str) else "")
            return
        charset = part.get_content_charset() or "utf-8"
        try:
            texts.append(body.decode(charset, errors="replace"))
        except LookupError:
            texts.append(body.decode("utf-8", errors="replace"))


def _clip(filename: str | None) -> str | None:
    return None if filename is None else _one_line(str(filename), 200)


def _one_line(value: str, limit: int) -> str:
    """A sender's text on one line (folded headers, a file name with a newline), at most `limit` characters."""
    return " ".join(value.split())[:limit]
