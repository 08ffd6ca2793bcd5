"""Acknowledgements: build them (make_ack) and judge them (check_ack), original and enhanced mode.

HL7 v2.5 §2.9: original mode when MSH-15 and MSH-16 are both empty (MSA-1 = AA / AE / AR); enhanced mode
when either is valued (accept acknowledgement CA / CE / CR, then application acknowledgement AA / AE / AR).
The response swaps sender and receiver (MSH-3/4 <-> MSH-5/6), echoes MSH-10 in MSA-2 and, for AE/AR (CE/CR),
locates each fault in an ERR segment (ERR-2 location, ERR-3 HL7 error code, ERR-4 severity, ERR-8 text).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable

from conformance.findings import Finding, Outcome, Severity, finding
from conformance.validation.hl7v2.er7 import Er7Error, Message, parse, parse_location, repetitions

ORIGINAL_CODES = frozenset({"AA", "AE", "AR"})
ENHANCED_CODES = frozenset({"CA", "CE", "CR"})
ALL_CODES = ORIGINAL_CODES | ENHANCED_CODES
_counter = itertools.count(1)

# HL7 table 0357 (message error condition codes) for our rule ids.
_ERROR_CODES = {
    "hl7v2-segment-order": ("100", "Segment sequence error"),
    "hl7v2-segment-unexpected": ("100", "Segment sequence error"),
    "hl7v2-segment-id": ("100", "Segment sequence error"),
    "hl7v2-usage-R": ("101", "Required field missing"),
    "hl7v2-cardinality-min": ("101", "Required field missing"),
    "hl7v2-datatype": ("102", "Data type error"),
    "hl7v2-table-value": ("103", "Table value not found"),
    "hl7v2-msh9-structure": ("200", "Unsupported message type"),
    "hl7v2-no-profile": ("200", "Unsupported message type"),
    "hl7v2-charset": ("207", "Application internal error"),
    # the reference receiver's reasons (conformance.reference.pam)
    "pam-receiver-segment": ("100", "Segment sequence error"),
    "pam-receiver-required": ("101", "Required field missing"),
    "pam-receiver-message-type": ("200", "Unsupported message type"),
    "pam-receiver-event": ("201", "Unsupported event code"),
    "pam-receiver-processing-id": ("202", "Unsupported processing id"),
    "pam-receiver-version": ("203", "Unsupported version id"),
}
_SEVERITY_CODES = {Severity.FATAL: "F", Severity.ERROR: "E", Severity.WARNING: "W", Severity.INFORMATION: "I"}


def ack_mode(message: Message) -> str:
    """'enhanced' when MSH-15 or MSH-16 is valued, else 'original'."""
    return "enhanced" if message.msh.field(15) or message.msh.field(16) else "original"


def _escape(text: str, message: Message) -> str:
    d = message.delimiters
    replacements = [(d.escape, f"{d.escape}E{d.escape}"), (d.field, f"{d.escape}F{d.escape}"),
                    (d.component, f"{d.escape}S{d.escape}"), (d.subcomponent, f"{d.escape}T{d.escape}"),
                    (d.repetition, f"{d.escape}R{d.escape}")]  # fmt: skip
    for raw, escaped in replacements:
        text = text.replace(raw, escaped)
    return re.sub(r"[\r\n]+", " ", text)


def _error_location(location: str, component_separator: str) -> str:
    """`PID-3[2].4.2` -> ERL `PID^1^3^2^4^2` (segment, occurrence, field, repetition, component, subcomponent)."""
    try:
        loc = parse_location(location)
    except ValueError:
        return ""
    parts = [loc.segment, str(loc.occurrence)]
    if loc.field is not None:
        parts += [str(loc.field), str(loc.repetition)]
        if loc.component is not None:
            parts.append(str(loc.component))
            if loc.subcomponent is not None:
                parts.append(str(loc.subcomponent))
    return component_separator.join(parts)


def _err_segment(item: Finding, message: Message, lang: str) -> str:
    d = message.delimiters
    code, text = _ERROR_CODES.get(item.rule, ("207", "Application internal error"))
    fields = [
        "ERR",
        "",
        _error_location(item.location, d.component),
        d.component.join([code, text, "HL70357"]),
        _SEVERITY_CODES[item.severity],
        "",
        "",
        "",
        _escape(f"[{item.rule}] {item.message(lang)}", message)[:250],
    ]
    return d.field.join(fields)


def make_ack(
    message: str,
    code: str = "AA",
    findings: Iterable[Finding] = (),
    *,
    text: str = "",
    control_id: str | None = None,
    acknowledges: str | None = None,
    version: str | None = None,
    lang: str = "fr",
) -> str:
    """An ACK for `message`: MSA-1 = code, MSA-2 = its MSH-10, sender/receiver swapped, one ERR per finding
    that is an error or warning (warnings only for AA/CA). Segments end with CR.

    `acknowledges` replaces MSA-2 and `version` MSH-12 (default: the message's own, else 2.5)."""
    if code not in ALL_CODES:
        raise ValueError(f"unknown acknowledgement code {code!r}")
    try:
        original = parse(message)
    except Er7Error:
        original = parse("MSH|^~\\&|||||||||2.5")
    d = original.delimiters
    msh = original.msh
    event = original.message_type[1]
    control = control_id or f"ACK{int(time.time() * 1000) % 10**10}{next(_counter)}"
    msh_fields = ["MSH", d.encoding_characters, msh.field(5), msh.field(6), msh.field(3), msh.field(4),
                  time.strftime("%Y%m%d%H%M%S"), "", d.component.join(["ACK", event, "ACK"]) if event else "ACK",
                  control, msh.field(11) or "P", version or msh.field(12) or "2.5", "", "", "", "", msh.field(17),
                  msh.field(18), msh.field(19)]  # fmt: skip
    while msh_fields and msh_fields[-1] == "":
        msh_fields.pop()
    segments = [d.field.join(msh_fields)]
    msa = ["MSA", code, msh.field(10) if acknowledges is None else acknowledges]
    if text:
        msa.append(_escape(text, original)[:80])
    segments.append(d.field.join(msa))
    accepted = code in ("AA", "CA")
    for item in findings:
        if item.severity is Severity.WARNING or (item.severity.is_failure and not accepted):
            segments.append(_err_segment(item, original, lang))
    return "\r".join(segments) + "\r"


def make_ack_for_undecodable(payload: bytes, reason: str) -> str:
    """An AR acknowledgement for bytes that do not match their MSH-18 (used by the MLLP server by default)."""
    text = payload.decode("latin-1")
    problem = finding("error", "processing", "hl7v2-charset", "MSH-18", reason, reason, source="hl7v2")
    return make_ack(text, "AR", [problem], text="Character set error")


# ----------------------------------------------------------------------------------------------- check


def _add(outcome: Outcome, severity: str, rule: str, where: str, fr: str, en: str, code: str = "business-rule") -> None:
    outcome.add(finding(severity, code, rule, where, fr, en, source="hl7v2"))


def check_ack(
    sent: str, ack: str, expected: set[str] | frozenset[str] = frozenset({"AA", "CA"}), *, lang: str = "fr",
    profile: str | None = None,
) -> Outcome:  # fmt: skip
    """Judge `ack` as the response to `sent`. Errors when MSA-1 is not in `expected`, MSA-2 does not echo
    MSH-10, sender/receiver are not swapped, the code does not fit the acknowledgement mode, or the ACK does
    not conform to the ACK profile of the sent message's profile set."""
    outcome = Outcome(subject="ACK", kind="hl7v2", details={"expected": sorted(expected)})
    try:
        original = parse(sent)
    except Er7Error as exc:
        _add(
            outcome, "error", "hl7v2-parse", "", f"Message envoyé illisible : {exc}", f"Sent message unreadable: {exc}"
        )
        return outcome
    try:
        response = parse(ack)
    except Er7Error as exc:
        _add(outcome, "error", "hl7v2-ack-parse", "", f"Accusé de réception illisible : {exc}",
             f"Acknowledgement unreadable: {exc}", code="structure")  # fmt: skip
        return outcome
    outcome.subject = f"ACK {response.control_id}"
    mode = ack_mode(original)
    outcome.details["mode"] = mode
    _check_type(outcome, response)
    msa = response.first("MSA")
    if msa is None:
        _add(outcome, "error", "hl7v2-ack-msa", "MSA", "Segment MSA absent de l'accusé de réception",
             "The acknowledgement has no MSA segment", code="required")  # fmt: skip
        return outcome
    code = msa.field(1)
    outcome.details["code"] = code
    _check_code(outcome, code, mode, expected, response)
    if msa.field(2) != original.control_id:
        _add(outcome, "error", "hl7v2-ack-control-id", "MSA-2",
             f"MSA-2 = « {msa.field(2)} » ne reprend pas MSH-10 du message ({original.control_id})",
             f"MSA-2 = '{msa.field(2)}' does not echo the message's MSH-10 ({original.control_id})", code="value")  # fmt: skip
    _check_swap(outcome, original, response)
    _check_errors(outcome, code, response)
    _check_profile(outcome, response, profile or _profile_for(original), lang)
    return outcome


def _check_type(outcome: Outcome, response: Message) -> None:
    kind = response.message_type[0]
    if kind != "ACK":
        _add(outcome, "error", "hl7v2-ack-type", "MSH-9.1",
             f"MSH-9.1 de l'accusé de réception doit valoir ACK (trouvé « {kind} »)",
             f"MSH-9.1 of the acknowledgement must be ACK (found '{kind}')", code="value")  # fmt: skip


def _check_code(outcome: Outcome, code: str, mode: str, expected: set[str] | frozenset[str], response: Message) -> None:
    if code not in ALL_CODES:
        _add(outcome, "error", "hl7v2-ack-code", "MSA-1",
             f"MSA-1 = « {code} » : code d'accusé inconnu (AA, AE, AR, CA, CE, CR)",
             f"MSA-1 = '{code}': unknown acknowledgement code (AA, AE, AR, CA, CE, CR)", code="code-invalid")  # fmt: skip
        return
    if mode == "original" and code in ENHANCED_CODES:
        _add(outcome, "error", "hl7v2-ack-mode", "MSA-1",
             f"MSA-1 = {code} est un code du mode étendu, alors que le message (MSH-15/16 vides) demande le mode "
             "original (AA, AE, AR)",
             f"MSA-1 = {code} is an enhanced-mode code, but the message (MSH-15/16 empty) asks for original mode "
             "(AA, AE, AR)", code="value")  # fmt: skip
    if code not in expected:
        reasons = [response_err_text(segment, response) for segment in response.all("ERR")]
        detail = "; ".join(reason for reason in reasons if reason)
        _add(outcome, "error", "hl7v2-ack-rejected", "MSA-1",
             f"Accusé {code} alors que {'/'.join(sorted(expected))} était attendu" + (f" : {detail}" if detail else ""),
             f"Acknowledgement {code} while {'/'.join(sorted(expected))} was expected" + (f": {detail}" if detail else ""),
             code="processing")  # fmt: skip


def response_err_text(segment, response: Message) -> str:
    d = response.delimiters
    parts = [segment.field(2), segment.field(3).split(d.component)[1] if d.component in segment.field(3) else "",
             segment.field(8)]  # fmt: skip
    return " ".join(part for part in parts if part)


def _check_swap(outcome: Outcome, original: Message, response: Message) -> None:
    pairs = [(3, 5), (4, 6), (5, 3), (6, 4)]
    d = original.delimiters
    for ack_field, sent_field in pairs:
        ours = response.msh.field(ack_field).split(d.component)[0]
        theirs = original.msh.field(sent_field).split(d.component)[0]
        if ours != theirs:
            _add(outcome, "error", "hl7v2-ack-swap", f"MSH-{ack_field}",
                 f"MSH-{ack_field} de l'accusé (« {ours} ») doit reprendre MSH-{sent_field} du message (« {theirs} ») : "
                 "émetteur et destinataire inversés",
                 f"MSH-{ack_field} of the acknowledgement ('{ours}') must repeat MSH-{sent_field} of the message "
                 f"('{theirs}'): sender and receiver swapped", code="value")  # fmt: skip


def _check_errors(outcome: Outcome, code: str, response: Message) -> None:
    errors = response.all("ERR")
    if code in ("AE", "AR", "CE", "CR") and not errors:
        _add(outcome, "warning", "hl7v2-ack-err", "ERR",
             f"Accusé {code} sans segment ERR : la cause du refus n'est pas localisée",
             f"Acknowledgement {code} without an ERR segment: the fault is not located")  # fmt: skip
    for segment in errors:
        if not segment.field(2) and not segment.field(1):
            _add(outcome, "warning", "hl7v2-ack-err-location", segment.label() + "-2",
                 "ERR-2 (localisation de l'erreur) non renseigné", "ERR-2 (error location) is not valued")  # fmt: skip
        for repetition in repetitions(segment, 2, response.delimiters):
            if repetition and not re.match(r"^[A-Z][A-Z0-9]{2}(\^|$)", repetition):
                _add(outcome, "warning", "hl7v2-ack-err-location", segment.label() + "-2",
                     f"ERR-2 « {repetition} » n'est pas une localisation ERL (SEG^occurrence^champ...)",
                     f"ERR-2 '{repetition}' is not an ERL location (SEG^occurrence^field...)")  # fmt: skip


def _profile_for(original: Message) -> str:
    return "cisis-cda-hl7v2-2.1" if original.message_type[0] in ("ORU", "MDM", "ZAM") else "pam-fr-2.11"


def _check_profile(outcome: Outcome, response: Message, profile: str, lang: str) -> None:
    from conformance.validation.hl7v2.validator import validate_message  # late: a heavy import

    structural = validate_message(response.text, profile, lang=lang, check_cda=False)
    outcome.details["profile"] = structural.details.get("profile")
    outcome.extend(structural.findings)
