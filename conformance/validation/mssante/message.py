"""An MSSanté message read with the standard library's `email` package: headers, body parts, attachments, and
what the IHE_XDM archives say about the patient and the documents. Reading never raises: a broken MIME
structure is kept as `defects` (the parser's own) for the rules to report."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses

from lxml import etree

from conformance.validation.cda.header import INS_OIDS, V3
from conformance.validation.cda.xdm import DOCUMENT_ENTRY, NS, PATIENT_ID, read_archive

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_CX = re.compile(r"^([^^]+)\^\^\^&([0-9.]+)&ISO")


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class TextPart:
    content_type: str
    charset: str | None  # as declared (lower case), None when absent
    decodes_as_utf8: bool


@dataclass
class ArchiveFacts:
    """What one IHE_XDM archive declares: the patientId of each DocumentEntry, each CDA's code."""

    name: str
    patients: list[tuple[str, str]] = field(default_factory=list)  # (id, authority OID)
    cda_codes: list[str] = field(default_factory=list)
    readable: bool = True


@dataclass
class MssMessage:
    raw: bytes
    message: Message | None
    defects: list[str] = field(default_factory=list)
    text_parts: list[TextPart] = field(default_factory=list)
    body_type: str = ""  # the content type of the message body (attachments aside)
    attachments: list[Attachment] = field(default_factory=list)
    archives: list[ArchiveFacts] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        if self.message is None:
            return None
        try:
            value = self.message.get(name)
        except Exception:  # a header the policy cannot parse
            return None
        return None if value is None else str(value).strip()

    def headers(self, name: str) -> list[str]:
        if self.message is None:
            return []
        try:
            return [str(v).strip() for v in self.message.get_all(name, [])]
        except Exception:
            return []

    def addresses(self, name: str) -> list[tuple[str, str]]:
        return getaddresses(self.headers(name))

    @property
    def xdm_archives(self) -> list[Attachment]:
        return [a for a in self.attachments if _is_zip(a)]

    @property
    def pdfs(self) -> list[Attachment]:
        return [
            a for a in self.attachments if a.content_type == "application/pdf" or a.filename.lower().endswith(".pdf")
        ]

    @property
    def patients(self) -> set[tuple[str, str]]:
        return {p for archive in self.archives for p in archive.patients}


def _is_zip(attachment: Attachment) -> bool:
    return attachment.content_type in ("application/zip", "application/x-zip-compressed") or (
        attachment.filename.lower().endswith(".zip")
    )


def read_message(raw: bytes) -> MssMessage:
    if len(raw) > MAX_MESSAGE_BYTES:
        return MssMessage(raw=b"", message=None, defects=[f"message of {len(raw)} bytes over {MAX_MESSAGE_BYTES}"])
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is a last resort
        return MssMessage(raw=raw, message=None, defects=[f"{type(exc).__name__}: {exc}"])
    result = MssMessage(raw=raw, message=message)
    result.body_type = message.get_content_type()
    _walk(message, result)
    for attachment in result.xdm_archives:
        result.archives.append(archive_facts(attachment.filename, attachment.data))
    return result


def _walk(message: Message, result: MssMessage) -> None:
    for part in message.walk():
        result.defects.extend(type(d).__name__ for d in getattr(part, "defects", []))
        if part.is_multipart():
            if part is message and part.get_content_type() == "multipart/mixed":
                body = _first_body(part)
                result.body_type = body.get_content_type() if body is not None else ""
            continue
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename() or ""
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:
            payload = b""
        if disposition == "attachment" or filename or part.get_content_maintype() != "text":
            result.attachments.append(Attachment(filename, part.get_content_type(), payload))
            continue
        charset = part.get_param("charset")
        result.text_parts.append(
            TextPart(part.get_content_type(), str(charset).lower() if charset else None, _utf8(payload))
        )


def _first_body(message: Message) -> Message | None:
    """The body of a multipart/mixed message: its first part that is not an attachment."""
    for part in message.iter_parts() if isinstance(message, EmailMessage) else []:
        if (part.get_content_disposition() or "") != "attachment" and not part.get_filename():
            return part
    return None


def _utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def archive_facts(name: str, data: bytes) -> ArchiveFacts:
    """Patients and CDA codes an archive declares (validation proper is `validate_xdm`'s job)."""
    facts = ArchiveFacts(name=name)
    archive = read_archive(data)
    if any(f.severity.value == "fatal" for f in archive.findings):
        facts.readable = False
        return facts
    for path, content in sorted(archive.files.items()):
        upper = path.upper()
        if upper.endswith("METADATA.XML"):
            facts.patients.extend(_metadata_patients(content))
        elif upper.endswith(".XML") and "/SUBSET" in upper:
            code = _cda_code(content)
            if code:
                facts.cda_codes.append(code)
    return facts


def _metadata_patients(content: bytes) -> list[tuple[str, str]]:
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return []
    found = []
    for entry in root.iter(f"{{{NS['rim']}}}ExtrinsicObject"):
        if entry.get("objectType") not in (None, DOCUMENT_ENTRY):
            continue
        for ident in entry.findall(f"rim:ExternalIdentifier[@identificationScheme='{PATIENT_ID}']", NS):
            match = _CX.match((ident.get("value") or "").strip())
            if match:
                found.append((match.group(1), match.group(2)))
    return found


def _cda_code(content: bytes) -> str | None:
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag != f"{{{V3}}}ClinicalDocument":
        return None
    code = root.find(f"{{{V3}}}code")
    return code.get("code") if code is not None else None


def is_ins_authority(oid: str) -> bool:
    return oid in INS_OIDS
