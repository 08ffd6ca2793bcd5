"""The MSSanté message rules: one function per requirement, each returning the findings that break it.

Requirement ids of the ANS "Référentiel socle MSSanté #2 – Clients de messageries" (ECO.x.y.z) are known only
from secondary sources: `Rule.confirmed` is False for them, reports show them "à confirmer", and every rule can
be switched off in the campaign configuration ([mssante] rules_disabled). What a rule needs beyond the message
(the session's TLS and authentication facts, the mailbox type, the expected product reference) comes in a
`MessageContext`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr

from conformance.findings import Finding, finding

from .message import MssMessage, is_ins_authority

PATIENT_DOMAIN = "patient.mssante.fr"
SUBJECT_PREFIX = "XDM/1.0/DDM+"
# <date de l'acte>_<type document>_<NOM>_<prénom>[_<numéro de dossier>].pdf (ECO.2.1.6, secondary source)
PDF_NAME = re.compile(r"^\d{8}_[^_/\\]+_[^_/\\]+_[^_/\\]+(_[^_/\\]+)?\.pdf$", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_INS = re.compile(r"^\d{15}$|^[12]\d{12}\d{2}$")


@dataclass
class MessageContext:
    mailbox_type: str = "APP"  # the sender's mailbox: APP (application), ORG or PER
    expected_nil: str | None = None  # the product's référence NIL when configured
    require_mdn_request: bool = True
    require_pdf: bool = True
    from_display_pattern: str | None = None  # a regex for the From display name, when the programme fixes one
    auth_mechanisms: tuple[str, ...] = ("XOAUTH2", "client-certificate")
    starttls: bool = True
    session_events: list[str] = field(default_factory=list)
    auth_mechanism: str | None = None
    rcpt_tos: list[str] = field(default_factory=list)
    qualified_ins: frozenset[str] = frozenset()  # INS of the configured qualified test identities


@dataclass(frozen=True)
class Rule:
    id: str
    requirement: str
    confirmed: bool
    strength: str  # SHALL | SHOULD | MAY
    title_fr: str
    title_en: str
    check: Callable[[MssMessage, MessageContext], list[Finding]]

    @property
    def requirement_label_fr(self) -> str:
        return self.requirement if self.confirmed else f"{self.requirement} (à confirmer)"

    @property
    def requirement_label_en(self) -> str:
        return self.requirement if self.confirmed else f"{self.requirement} (to be confirmed)"


def _error(rule: str, location: str, fr: str, en: str, code: str = "invalid") -> Finding:
    return finding("error", code, rule, location, fr, en, source="mssante")


# ---------------------------------------------------------------- session


def check_starttls(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    if not ctx.starttls:
        return [_error("mss-starttls", "SMTP", "Message soumis sans STARTTLS.", "Message submitted without STARTTLS.")]
    if "command-before-starttls" in ctx.session_events or "auth-before-starttls" in ctx.session_events:
        return [
            _error(
                "mss-starttls",
                "SMTP",
                "Le client a envoyé des commandes de messagerie en clair avant STARTTLS (refusées par l'opérateur).",
                "The client sent mail commands in clear before STARTTLS (refused by the operator).",
            )
        ]
    return []


def check_auth(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    used = ctx.auth_mechanism or "aucune"
    if used in ctx.auth_mechanisms:
        return []
    return [
        _error(
            "mss-auth",
            "SMTP AUTH",
            f"Authentification « {used} » ; attendu : {' ou '.join(ctx.auth_mechanisms)} (jeton Pro Santé Connect "
            "en SASL XOAUTH2, ou certificat client pour une BAL applicative).",
            f"Authentication '{used}'; expected: {' or '.join(ctx.auth_mechanisms)} (Pro Santé Connect token over "
            "SASL XOAUTH2, or a client certificate for an application mailbox).",
            code="security",
        )
    ]


# ---------------------------------------------------------------- structure and headers


def check_mime(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    if msg.message is None or msg.defects:
        detail = ", ".join(sorted(set(msg.defects))[:5]) or "illisible"
        return [
            _error(
                "mss-mime",
                "MIME",
                f"Structure MIME défectueuse : {detail}.",
                f"Broken MIME structure: {detail}.",
                code="structure",
            )
        ]
    return []


def check_message_id(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    values = msg.headers("Message-ID")
    if len(values) != 1 or not _MESSAGE_ID.match(values[0].strip()):
        shown = values[0] if values else "absent"
        return [
            _error(
                "mss-message-id",
                "Message-ID",
                f"Message-ID unique au format RFC 5322 attendu (<id@domaine>), trouvé : {shown}.",
                f"One RFC 5322 Message-ID (<id@domain>) expected, found: {shown}.",
            )
        ]
    return []


def check_from_display(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    addresses = msg.addresses("From")
    name = addresses[0][0].strip() if len(addresses) == 1 else ""
    if not name:
        return [
            _error(
                "mss-from-display",
                "From",
                "L'en-tête From n'a pas de nom d'affichage (libellé de la BAL ou Titre_Prénom_NOM_Entité).",
                "The From header has no display name (mailbox label or Title_Given_FAMILY_Unit).",
            )
        ]
    if ctx.from_display_pattern and not re.fullmatch(ctx.from_display_pattern, name):
        return [
            _error(
                "mss-from-display",
                "From",
                f"Nom d'affichage « {name} » hors du motif configuré {ctx.from_display_pattern}.",
                f"Display name '{name}' does not match the configured pattern {ctx.from_display_pattern}.",
            )
        ]
    return []


def check_reply_to(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    if ctx.mailbox_type != "APP":
        return []
    addresses = [a for _, a in msg.addresses("Reply-To") if "@" in a]
    if not addresses:
        return [
            _error(
                "mss-reply-to",
                "Reply-To",
                "Message d'une BAL applicative sans Reply-To : les réponses iraient à l'application.",
                "Message from an application mailbox without Reply-To: replies would go to the application.",
                code="required",
            )
        ]
    return []


def check_utf8(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    problems = []
    for part in msg.text_parts:
        if part.charset != "utf-8" or not part.decodes_as_utf8:
            declared = part.charset or "non déclaré"
            problems.append(
                _error(
                    "mss-utf8",
                    part.content_type,
                    f"Partie {part.content_type} en {declared} : UTF-8 attendu.",
                    f"Part {part.content_type} in {part.charset or 'undeclared charset'}: UTF-8 expected.",
                )
            )
    if not msg.text_parts:
        problems.append(
            _error("mss-utf8", "corps", "Aucune partie texte dans le message.", "No text part in the message.")
        )
    return problems


def check_body_type(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    if msg.body_type in ("text/plain", "multipart/alternative"):
        return []
    return [
        _error(
            "mss-body-type",
            "Content-Type",
            f"Corps du message en {msg.body_type or 'absent'} : text/plain ou multipart/alternative attendu.",
            f"Message body is {msg.body_type or 'missing'}: text/plain or multipart/alternative expected.",
        )
    ]


def check_nil(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    value = (msg.header("X-MSS-NIL") or "").strip()
    if not value:
        return [
            _error(
                "mss-nil",
                "X-MSS-NIL",
                "En-tête X-MSS-NIL absent (référence du produit, présente sur tous les messages).",
                "X-MSS-NIL header missing (product reference, present on every message).",
                code="required",
            )
        ]
    if ctx.expected_nil and value != ctx.expected_nil:
        return [
            _error(
                "mss-nil",
                "X-MSS-NIL",
                f"X-MSS-NIL vaut « {value} », la référence configurée est « {ctx.expected_nil} ».",
                f"X-MSS-NIL is '{value}', the configured reference is '{ctx.expected_nil}'.",
            )
        ]
    return []


def check_ins_header(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    value = (msg.header("X-MSS-INS") or "").strip()
    if not msg.archives:
        return []
    qualified = bool(msg.patients) and all(is_ins_authority(oid) for _, oid in msg.patients)
    expected = "O" if qualified else "N"
    if value != expected:
        return [
            _error(
                "mss-ins",
                "X-MSS-INS",
                f"X-MSS-INS vaut « {value or 'absent'} » ; attendu « {expected} » "
                f"({'INS qualifié' if qualified else 'pas d INS qualifié'} dans METADATA.XML).",
                f"X-MSS-INS is '{value or 'missing'}'; expected '{expected}' "
                f"({'qualified INS' if qualified else 'no qualified INS'} in METADATA.XML).",
            )
        ]
    return []


def check_codecda(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    value = (msg.header("X-MSS-CODECDA") or "").strip()
    codes = sorted({c for archive in msg.archives for c in archive.cda_codes})
    announced = sorted({c.strip() for c in value.split(",") if c.strip()})
    if announced == codes:
        return []
    expected = ",".join(codes) or "absent"
    return [
        _error(
            "mss-codecda",
            "X-MSS-CODECDA",
            f"X-MSS-CODECDA vaut « {value or 'absent'} » ; les documents CDA joints ont le(s) code(s) {expected}.",
            f"X-MSS-CODECDA is '{value or 'missing'}'; the attached CDA documents have code(s) {expected}.",
        )
    ]


def check_mes(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    value = msg.header("X-MSS-MES")
    if value is None:
        return []
    problems = []
    if value.strip() != "FIN":
        problems.append(
            _error(
                "mss-mes",
                "X-MSS-MES",
                f"X-MSS-MES vaut « {value} » : seule la valeur FIN est définie.",
                f"X-MSS-MES is '{value}': only FIN is defined.",
            )
        )
    if not any(r.lower().endswith("@" + PATIENT_DOMAIN) for r in ctx.rcpt_tos + _header_recipients(msg)):
        problems.append(
            _error(
                "mss-mes",
                "X-MSS-MES",
                "X-MSS-MES sur un message sans destinataire patient (@patient.mssante.fr).",
                "X-MSS-MES on a message without a patient recipient (@patient.mssante.fr).",
            )
        )
    return problems


def check_mdn_request(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    values = msg.headers("Disposition-Notification-To")
    address = parseaddr(values[0])[1] if values else ""
    if values and "@" in address:
        return []
    if not values and not ctx.require_mdn_request:
        return []
    return [
        _error(
            "mss-mdn-request",
            "Disposition-Notification-To",
            "Aucun accusé de lecture (MDN, RFC 8098) demandé : Disposition-Notification-To absent ou invalide.",
            "No disposition notification (MDN, RFC 8098) requested: Disposition-Notification-To missing or invalid.",
            code="required",
        )
    ]


def check_subject(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    subject = (msg.header("Subject") or "").strip()
    if not msg.xdm_archives:
        return []
    rest = subject[len(SUBJECT_PREFIX) :] if subject.startswith(SUBJECT_PREFIX) else ""
    if len(rest.split()) >= 3:
        return []
    return [
        _error(
            "mss-subject",
            "Subject",
            f"Objet « {subject} » : « XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date de naissance>] » attendu pour un "
            "message portant une archive IHE_XDM.",
            f"Subject '{subject}': 'XDM/1.0/DDM+<label> <FAMILY> <given> [<birth date>]' expected for a message "
            "carrying an IHE_XDM archive.",
        )
    ]


# ---------------------------------------------------------------- content


def check_one_patient(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    if not msg.xdm_archives:
        return [
            _error(
                "mss-one-patient",
                "pièces jointes",
                "Aucune archive IHE_XDM.zip jointe.",
                "No IHE_XDM.zip archive attached.",
                code="required",
            )
        ]
    patients = sorted({pid for pid, _ in msg.patients})
    if len(patients) == 1:
        return []
    shown = ", ".join(patients) or "aucun"
    return [
        _error(
            "mss-one-patient",
            "METADATA.XML patientId",
            f"Un message doit concerner un seul patient ; patientId trouvés : {shown}.",
            f"A message must concern one patient; patientIds found: {shown}.",
        )
    ]


def check_pdf(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    pdfs = msg.pdfs
    if not pdfs:
        if not ctx.require_pdf or not msg.xdm_archives:
            return []
        return [
            _error(
                "mss-pdf",
                "pièces jointes",
                "Aucun rendu PDF des documents joint à l'archive IHE_XDM.",
                "No PDF rendering of the documents attached beside the IHE_XDM archive.",
                code="required",
            )
        ]
    problems = []
    for pdf in pdfs:
        if not PDF_NAME.match(pdf.filename):
            problems.append(
                _error(
                    "mss-pdf",
                    pdf.filename or "(sans nom)",
                    f"Nom du PDF « {pdf.filename} » : <date de l'acte>_<type de document>_<NOM>_<prénom>"
                    "[_<n° de dossier>].pdf attendu.",
                    f"PDF name '{pdf.filename}': <act date>_<document type>_<FAMILY>_<given>[_<record number>].pdf "
                    "expected.",
                )
            )
        if not pdf.data.startswith(b"%PDF-"):
            problems.append(
                _error(
                    "mss-pdf",
                    pdf.filename,
                    "La pièce jointe PDF n'est pas un PDF.",
                    "The PDF attachment is not a PDF.",
                )
            )
    return problems


def _header_recipients(msg: MssMessage) -> list[str]:
    return [a for header in ("To", "Cc") for _, a in msg.addresses(header) if a]


def check_patient_address(msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    problems = []
    archive_ins = {pid for pid, oid in msg.patients if is_ins_authority(oid)}
    for recipient in sorted(set(ctx.rcpt_tos + _header_recipients(msg))):
        try:
            local, domain = Address(addr_spec=recipient).username, Address(addr_spec=recipient).domain
        except (ValueError, IndexError, TypeError):
            continue
        if domain.lower() != PATIENT_DOMAIN:
            continue
        known = ctx.qualified_ins | archive_ins
        if not _INS.match(local) or local not in known:
            problems.append(
                _error(
                    "mss-patient-address",
                    recipient,
                    f"Adresse patient « {recipient} » : <INS qualifié>@{PATIENT_DOMAIN} attendu (INS du patient "
                    "qualifié, 15 chiffres).",
                    f"Patient address '{recipient}': <qualified INS>@{PATIENT_DOMAIN} expected (the qualified "
                    "patient's INS, 15 digits).",
                )
            )
    return problems


def _rule(rule_id, requirement, strength, fr, en, check, confirmed=False) -> Rule:
    return Rule(rule_id, requirement, confirmed, strength, fr, en, check)


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _rule("mss-starttls", "ECO.1.0.1", "SHALL", "Soumission SMTP sous STARTTLS", "SMTP submission under STARTTLS", check_starttls),
        _rule("mss-auth", "ECO.1.2.1", "SHALL", "Authentification SASL XOAUTH2 (ou certificat applicatif)", "SASL XOAUTH2 authentication (or application certificate)", check_auth),
        _rule("mss-mime", "RFC 5322 / RFC 2045", "SHALL", "Structure MIME bien formée", "Well-formed MIME structure", check_mime, confirmed=True),
        _rule("mss-message-id", "ECO.2.2.1", "SHALL", "Message-ID conforme à la RFC 5322", "RFC 5322 Message-ID", check_message_id),
        _rule("mss-from-display", "ECO.2.2.7", "SHALL", "Nom d'affichage de l'expéditeur (From)", "Sender display name (From)", check_from_display),
        _rule("mss-reply-to", "ECO.2.2.5", "SHALL", "Reply-To pour une BAL applicative", "Reply-To for an application mailbox", check_reply_to),
        _rule("mss-utf8", "ECO.2.2.3", "SHALL", "Parties texte en UTF-8", "Text parts in UTF-8", check_utf8),
        _rule("mss-body-type", "ECO.2.2.4", "SHALL", "Corps text/plain ou multipart/alternative", "text/plain or multipart/alternative body", check_body_type),
        _rule("mss-nil", "ECO.2.4.3", "SHALL", "En-tête X-MSS-NIL (référence produit)", "X-MSS-NIL header (product reference)", check_nil),
        _rule("mss-ins", "ECO.2.4.2", "SHALL", "En-tête X-MSS-INS cohérent avec l'INS de l'archive", "X-MSS-INS header consistent with the archive's INS", check_ins_header),
        _rule("mss-codecda", "ECO.2.4.1", "SHALL", "En-tête X-MSS-CODECDA = codes des documents CDA", "X-MSS-CODECDA header = the CDA documents' codes", check_codecda),
        _rule("mss-mes", "ECO.2.2.8", "MAY", "En-tête X-MSS-MES (FIN) vers un patient", "X-MSS-MES header (FIN) to a patient", check_mes),
        _rule("mss-mdn-request", "ECO.3.1.6", "SHOULD", "Demande d'accusé de lecture (Disposition-Notification-To)", "Disposition notification requested (Disposition-Notification-To)", check_mdn_request),
        _rule("mss-subject", "ECO.2.1.3", "SHALL", "Objet XDM/1.0/DDM+<libellé> <NOM> <prénom>", "Subject XDM/1.0/DDM+<label> <FAMILY> <given>", check_subject),
        _rule("mss-one-patient", "ECO.2.1.1", "SHALL", "Un seul patient par message, archive IHE_XDM jointe", "One patient per message, IHE_XDM archive attached", check_one_patient),
        _rule("mss-pdf", "ECO.2.1.6", "SHOULD", "Rendu PDF joint et nommé selon le motif", "PDF rendering attached and named by the pattern", check_pdf),
        _rule("mss-patient-address", "ECO.2.2.6", "SHALL", "Adresse patient construite sur l'INS qualifié", "Patient address built from the qualified INS", check_patient_address),
    )
}  # fmt: skip


def apply(rule_id: str, msg: MssMessage, ctx: MessageContext) -> list[Finding]:
    return RULES[rule_id].check(msg, ctx)
