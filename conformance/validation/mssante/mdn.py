"""Disposition notifications (MDN, RFC 8098) as the ANS volet "transmission de documents CDA par courriel MSSanté"
shapes them: multipart/report; report-type=disposition-notification, a human-readable part, the
message/disposition-notification part (Final-Recipient, Original-Message-ID, Disposition), the original message.
On an integration error the disposition reads `processed/Error: <code>^<libellé>` with an application code
900-906 and the subject starts with `[KO Intégration système !][<code>]`.

`build_mdn(...)` is the receiving side (reference system); `read_mdn(...)` / `check_mdn(...)` judge one.
"""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid

from conformance.findings import Finding, finding

INTEGRATION_ERRORS = {
    "900": ("Version du document erronée pour remplacement ou suppression", "Wrong document version to replace/delete"),
    "901": ("Auteur non autorisé à remplacer ou supprimer", "Author not allowed to replace/delete"),
    "902": ("Identifiant patient inconnu", "Unknown patient identifier"),
    "903": ("INS absent du document", "INS missing from the document"),
    "904": ("INS différent de l'INS connu", "INS does not match the known INS"),
    "905": ("INS incomplet", "Incomplete INS"),
    "906": ("Autre erreur", "Other error"),
}
SUCCESS = "automatic-action/MDN-sent-automatically; processed"
ERROR_SUBJECT_PREFIXES = ("[KO Intégration système !]", "[Erreur d’intégration !]", "[Erreur d'intégration !]")
_ERROR = re.compile(r"processed\s*/\s*error\s*:\s*(\d{3})(?:\^(.*))?$", re.IGNORECASE)


def build_mdn(
    original: bytes,
    *,
    reporting_address: str,
    error_code: str | None = None,
    subject: str | None = None,
    structured: bool = True,
) -> bytes:
    """An MDN for `original` from `reporting_address`; `error_code` (900-906) for an integration failure."""
    source = email.message_from_bytes(original, policy=email.policy.default)
    to = str(source.get("Disposition-Notification-To") or source.get("From") or "").strip()
    original_subject = str(source.get("Subject") or "").strip()
    original_id = str(source.get("Message-ID") or "").strip()
    label_fr = INTEGRATION_ERRORS.get(error_code or "", ("", ""))[0]
    mdn = EmailMessage()
    mdn["From"] = reporting_address
    mdn["To"] = to
    mdn["Date"] = format_datetime(email.utils.localtime())
    mdn["Message-ID"] = make_msgid(domain=reporting_address.rpartition("@")[2] or "mssante.test")
    if original_id:
        mdn["In-Reply-To"] = original_id
        mdn["References"] = original_id
    if subject is None:
        subject = (
            f"[KO Intégration système !][{error_code}] {original_subject}"
            if error_code
            else f"Accusé de lecture : {original_subject}"
        )
    mdn["Subject"] = subject
    text = (
        f"Erreur d'intégration {error_code} : {label_fr}."
        if error_code
        else "Le message a été reçu et intégré dans le dossier du patient."
    )
    if not structured:  # a defective receiver: a plain reply instead of an RFC 8098 report
        mdn.set_content(text + "\n", charset="utf-8")
        return mdn.as_bytes(policy=email.policy.SMTP)
    # the notification fields are 7-bit text (RFC 8098 §3.1): the label loses its accents there only
    ascii_label = unicodedata.normalize("NFKD", label_fr).encode("ascii", "ignore").decode("ascii")
    disposition = f"{SUCCESS}/Error: {error_code}^{ascii_label}" if error_code else SUCCESS
    fields_ = (
        f"Reporting-UA: hopen-conformance reference receiver\r\n"
        f"Original-Recipient: rfc822;{reporting_address}\r\n"
        f"Final-Recipient: rfc822;{reporting_address}\r\n"
        f"Original-Message-ID: {original_id}\r\n"
        f"Disposition: {disposition}\r\n"
    )
    mdn.make_mixed()
    report = EmailMessage()
    report.set_content(text + "\n", charset="utf-8")
    notification = email.message.Message()
    notification.set_type("message/disposition-notification")
    notification.set_payload(fields_)
    mdn.set_payload([report, notification])
    mdn.set_type("multipart/report")
    mdn.set_param("report-type", "disposition-notification")
    mdn.attach(_original_part(original))
    return mdn.as_bytes(policy=email.policy.SMTP)


def _original_part(original: bytes) -> Message:
    part = email.message.Message()
    part.set_type("message/rfc822")
    part.set_payload([email.message_from_bytes(original, policy=email.policy.compat32)])
    return part


@dataclass
class MdnFacts:
    is_report: bool = False
    report_type: str = ""
    parts: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    disposition: str = ""
    error_code: str | None = None
    error_label: str | None = None
    subject: str = ""
    in_reply_to: str = ""

    @property
    def processed(self) -> bool:
        return "processed" in self.disposition.lower()


def read_mdn(raw: bytes) -> MdnFacts:
    facts = MdnFacts()
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:
        return facts
    facts.subject = str(message.get("Subject") or "")
    facts.in_reply_to = str(message.get("In-Reply-To") or "")
    facts.is_report = message.get_content_type() == "multipart/report"
    facts.report_type = str(message.get_param("report-type") or "").lower()
    if not message.is_multipart():
        return facts
    for part in message.get_payload():
        facts.parts.append(part.get_content_type())
        if part.get_content_type() == "message/disposition-notification":
            facts.fields = _fields(part)
    facts.disposition = facts.fields.get("disposition", "")
    match = _ERROR.search(facts.disposition)
    if match:
        facts.error_code, facts.error_label = match.group(1), (match.group(2) or "").strip()
    return facts


def _fields(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser reads the fields as header blocks
        out: dict[str, str] = {}
        for block in payload:
            for name, value in block.items():
                out.setdefault(name.strip().lower(), " ".join(str(value).split()))
        return out
    else:
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
    out = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip() and not name.startswith((" ", "\t")):
            out.setdefault(name.strip().lower(), value.strip())
    return out


def _mdn_error(rule: str, location: str, fr: str, en: str) -> Finding:
    return finding("error", "invalid", rule, location, fr, en, source="mssante")


def check_mdn_structure(facts: MdnFacts, original_message_id: str) -> list[Finding]:
    """RFC 8098 and the volet: the report type, the three parts, the mandatory fields."""
    problems = []
    if not facts.is_report or facts.report_type != "disposition-notification":
        problems.append(
            _mdn_error(
                "mss-mdn-structure",
                "Content-Type",
                "L'accusé n'est pas un multipart/report; report-type=disposition-notification.",
                "The notification is not multipart/report; report-type=disposition-notification.",
            )
        )
        return problems
    if "message/disposition-notification" not in facts.parts:
        problems.append(
            _mdn_error(
                "mss-mdn-structure",
                "MDN",
                "Partie message/disposition-notification absente.",
                "message/disposition-notification part missing.",
            )
        )
    for name in ("final-recipient", "disposition", "original-message-id"):
        if not facts.fields.get(name):
            problems.append(
                _mdn_error(
                    "mss-mdn-structure",
                    name,
                    f"Champ {name} absent de la notification.",
                    f"Field {name} missing from the notification.",
                )
            )
    omid = facts.fields.get("original-message-id", "")
    if omid and original_message_id and omid.strip() != original_message_id.strip():
        problems.append(
            _mdn_error(
                "mss-mdn-structure",
                "original-message-id",
                f"Original-Message-ID {omid} ne désigne pas le message envoyé ({original_message_id}).",
                f"Original-Message-ID {omid} does not name the message sent ({original_message_id}).",
            )
        )
    return problems


def check_mdn_outcome(facts: MdnFacts, expected_code: str | None) -> list[Finding]:
    """The disposition says what the receiver did: processed, or processed/Error with the expected code."""
    if expected_code is None:
        if facts.error_code is not None or not facts.processed:
            return [
                _mdn_error(
                    "mss-mdn-outcome",
                    "Disposition",
                    f"Message conforme non intégré : Disposition « {facts.disposition or 'absente'} ».",
                    f"Conformant message not integrated: Disposition '{facts.disposition or 'missing'}'.",
                )
            ]
        return []
    label_fr, label_en = INTEGRATION_ERRORS[expected_code]
    if facts.error_code != expected_code:
        got = facts.error_code or ("aucune erreur" if facts.processed else facts.disposition or "absente")
        return [
            _mdn_error(
                "mss-mdn-outcome",
                "Disposition",
                f"Code d'erreur d'intégration attendu {expected_code} ({label_fr}), reçu : {got}.",
                f"Integration error code {expected_code} expected ({label_en}), got: {got}.",
            )
        ]
    if not facts.subject.startswith(ERROR_SUBJECT_PREFIXES):
        return [
            _mdn_error(
                "mss-mdn-outcome",
                "Subject",
                f"Objet de l'accusé d'erreur « {facts.subject} » : « [KO Intégration système !][{expected_code}] … » "
                "attendu.",
                f"Error notification subject '{facts.subject}': '[KO Intégration système !][{expected_code}] …' "
                "expected.",
            )
        ]
    return []
