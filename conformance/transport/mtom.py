"""MTOM/XOP messages (multipart/related, SOAP 1.2 root part), built and read with the standard library's `email`.

`encode_mtom` gives the HTTP Content-Type and body of a message whose root part is the SOAP envelope and whose
other parts are the binary documents that `xop:Include href="cid:..."` elements point at. `decode_mtom` reads
one back; a body that is not multipart is taken as a plain SOAP envelope. Parsing faults (no boundary, a
truncated multipart, a root part that is not `application/xop+xml`, a missing part) raise `MtomError` with a
French and English message; nothing here reads beyond the bytes it is given.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value

from lxml import etree

from conformance.i18n import BilingualError, both

XOP_NS = "http://www.w3.org/2004/08/xop/include"
XOP_MEDIA = "application/xop+xml"
SOAP12_MEDIA = "application/soap+xml"
_FATAL_DEFECTS = ("StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect")


class MtomError(BilingualError):
    """The message cannot be read as MTOM/XOP. `kind`: not-multipart, truncated, root, missing-part, encoding."""

    def __init__(self, kind: str, message_fr: str, message_en: str) -> None:
        super().__init__(message_fr, message_en)
        self.kind = kind

    @classmethod
    def worded(cls, kind: str, key: str, **params: object) -> MtomError:
        """The error told by the catalogue's `transport.mtom.<key>` in both languages."""
        return cls(kind, *both(f"transport.mtom.{key}", **params))


@dataclass(slots=True)
class Part:
    content_id: str  # without angle brackets
    content_type: str
    data: bytes = field(repr=False)


@dataclass(slots=True)
class MtomMessage:
    root: bytes = field(repr=False)
    root_content_type: str  # the root part's media type (application/xop+xml, or application/soap+xml when not MTOM)
    soap_type: str  # the SOAP media type the root declares (`type` parameter), "" when absent
    action: str  # the `action` parameter (SOAP 1.2), "" when absent
    parts: dict[str, Part] = field(default_factory=dict)
    multipart: bool = True


def new_content_id(domain: str = "hopen-conformance") -> str:
    return f"{uuid.uuid4()}@{domain}"


def encode_mtom(
    root_xml: bytes, attachments: Sequence[Part] = (), *, action: str = "", soap_type: str = SOAP12_MEDIA
) -> tuple[str, bytes]:
    """(Content-Type header, body) of an MTOM message. The attachments keep their Content-ID."""
    message: MIMEPart = EmailMessage(policy=policy.HTTP)
    message.make_mixed()  # a multipart container; its subtype is set below
    root_id = new_content_id()
    # The generator rewrites every line ending of a text payload to CRLF, even with cte="binary", which would
    # change a document's bytes (and so its hash and size): each part is generated around a placeholder that
    # is swapped for the exact bytes afterwards.
    payloads: dict[bytes, bytes] = {}

    def placeholder(data: bytes) -> bytes:
        token = f"hopen-mtom-part-{uuid.uuid4().hex}".encode("ascii")
        payloads[token] = data
        return token

    root = MIMEPart(policy=policy.HTTP)
    root.set_content(placeholder(root_xml), "application", "xop+xml", cte="binary", disposition=None)
    root.replace_header("Content-Type", _root_type(soap_type, action))
    root["Content-ID"] = f"<{root_id}>"
    message.attach(root)
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        part = MIMEPart(policy=policy.HTTP)
        data = placeholder(attachment.data)
        part.set_content(data, maintype or "application", subtype or "octet-stream", cte="binary")
        part["Content-ID"] = f"<{attachment.content_id}>"
        message.attach(part)
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    message.set_type("multipart/related")
    message.set_boundary(boundary)
    message.set_param("type", XOP_MEDIA)
    message.set_param("start", f"<{root_id}>")
    message.set_param("start-info", soap_type)
    if action:
        message.set_param("action", action)
    raw = message.as_bytes(policy=policy.HTTP)
    _headers, _, body = raw.partition(b"\r\n\r\n")
    body = re.sub(rb"hopen-mtom-part-[0-9a-f]{32}", lambda match: payloads[match.group(0)], body)
    return str(message["Content-Type"]), body


def _root_type(soap_type: str, action: str) -> str:
    value = f'{XOP_MEDIA}; charset=UTF-8; type="{soap_type}"'
    return value + (f'; action="{action}"' if action else "")


def decode_mtom(content_type: str, body: bytes) -> MtomMessage:
    """The root part and the attachments of an HTTP body (MTOM, or a plain SOAP envelope)."""
    head = f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    media = message.get_content_type()
    if not message.is_multipart():
        if media in (SOAP12_MEDIA, "text/xml", "application/xml"):
            return MtomMessage(body, media, media, _param(message, "action"), multipart=False)
        raise MtomError.worded("not-multipart", "not_multipart", media=media)
    _check_defects(message)
    parts = list(message.iter_parts())
    if not parts:
        raise MtomError.worded("truncated", "no_part")
    start = _param(message, "start").strip().strip("<>")
    root = next((p for p in parts if _content_id(p) == start), None) if start else parts[0]
    if root is None:
        raise MtomError.worded("root", "no_root", start=start)
    root_media = root.get_content_type()
    if root_media not in (XOP_MEDIA, SOAP12_MEDIA, "text/xml"):
        raise MtomError.worded("root", "root_media", media=root_media, expected=XOP_MEDIA)
    soap_type = _param(root, "type") or _param(message, "start-info")
    action = _param(root, "action") or _param(message, "action")
    attachments = {}
    for part in parts:
        if part is root:
            continue
        cid = _content_id(part)
        attachments[cid] = Part(cid, part.get_content_type(), _payload(part))
    return MtomMessage(_payload(root), root_media, soap_type, action, attachments)


def _check_defects(message: EmailMessage) -> None:
    defects = [type(d).__name__ for d in message.defects]
    for part in message.walk():
        defects.extend(type(d).__name__ for d in part.defects)
    fatal = [d for d in defects if d in _FATAL_DEFECTS]
    if fatal:
        raise MtomError.worded("truncated", "truncated", defects=", ".join(sorted(set(fatal))))


def _param(part: MIMEPart, name: str) -> str:
    """A Content-Type parameter ("" when absent), an RFC 2231 encoded value decoded."""
    value = part.get_param(name)
    if not value:
        return ""
    return value if isinstance(value, str) else collapse_rfc2231_value(value)


def _content_id(part: MIMEPart) -> str:
    return str(part.get("Content-ID", "")).strip().strip("<>")


def _payload(part: MIMEPart) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def include_target(element: etree._Element) -> str | None:
    """The Content-ID an element's `xop:Include` points at, or None when the element carries inline data."""
    include = element.find(f"{{{XOP_NS}}}Include")
    if include is None:
        return None
    href = include.get("href", "")
    return href.removeprefix("cid:").strip().strip("<>") if href.startswith("cid:") else href


def element_content(element: etree._Element, parts: dict[str, Part]) -> bytes:
    """The bytes an element carries: the MIME part its xop:Include names, or its base64 text."""
    target = include_target(element)
    if target is not None:
        # Content-ID values may be URL-encoded in the href (RFC 2392)
        from urllib.parse import unquote

        part = parts.get(target) or parts.get(unquote(target))
        if part is None:
            raise MtomError.worded("missing-part", "missing_part", cid=target)
        return part.data
    text = "".join(element.itertext()).strip()
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise MtomError.worded("encoding", "base64") from None
