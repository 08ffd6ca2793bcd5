"""HL7 v2 message validation against a profile set (see the package's docstring): the message profile picked
by MSH-9, the profile engine, the PAM FR / CI-SIS rules, and the CDA documents carried in OBX."""

from __future__ import annotations

from typing import Any

from conformance.findings import Finding, Outcome, Severity, finding
from conformance.validation.hl7v2.conditions import ConditionError, Context, evaluate
from conformance.validation.hl7v2.engine import ProfileChecker
from conformance.validation.hl7v2.er7 import CharsetError, Er7Error, Message, decode, parse
from conformance.validation.hl7v2.profile import (
    MessageProfile,
    ProfileError,
    ProfileSet,
    builtin_profile_ids,
    load_profile_set,
)
from conformance.validation.hl7v2.rules import Document, RuleContext, run_rules
from conformance.validation.options import ValidateOptions

DEFAULT_PROFILE = "pam-fr-2.11"
_MLLP_START, _MLLP_END = b"\x0b", b"\x1c"


def profile_versions() -> list[str]:
    """One line per built-in profile set, for `conformance --version`."""
    lines = []
    for profile_id in builtin_profile_ids():
        try:
            profile_set = load_profile_set(profile_id)
        except ProfileError as exc:
            lines.append(f"HL7 v2 profile {profile_id}: unreadable ({exc})")
            continue
        lines.append(f"HL7 v2 profile {profile_set.id} ({profile_set.title}), {len(profile_set.messages)} messages")
    return lines


def _finding(severity: str, rule: str, where: str, fr: str, en: str, code: str = "processing", **extra: Any) -> Finding:
    return finding(severity, code, rule, where, fr, en, source="hl7v2", **extra)


def _resolve(profile_name: str, message: Message) -> tuple[MessageProfile | None, ProfileSet]:
    """The event profile for a message. Built-in sets hand over to each other: an ORU goes to the CI-SIS set,
    and an ACK goes to the set that defines the acknowledged event (ACK^T02 -> CI-SIS, ACK^A01 -> PAM FR)."""
    code, event, structure = message.message_type

    def matches(condition: str) -> bool:
        try:
            return evaluate(condition, Context(message, None, event))
        except (ConditionError, ValueError):
            return False

    profile_set = load_profile_set(profile_name)
    if profile_set.id not in builtin_profile_ids():
        return profile_set.for_message(code, event, structure, matches), profile_set
    if not (code == "ACK" and event):  # the set asked for first: the others are loaded only when it has no profile
        found = profile_set.for_message(code, event, structure, matches)
        if found is not None:
            return found, profile_set
    candidates = [profile_set] + [load_profile_set(other) for other in builtin_profile_ids() if other != profile_set.id]
    if code == "ACK" and event:
        owners = [candidate for candidate in candidates if event in candidate.events()]
        candidates = owners + [candidate for candidate in candidates if candidate not in owners]
    for candidate in candidates:
        found = candidate.for_message(code, event, structure, matches)
        if found is not None:
            return found, candidate
    return None, profile_set


def _decode(message: str | bytes, outcome: Outcome) -> str:
    if isinstance(message, str):
        return message
    try:
        return decode(message)
    except CharsetError as exc:
        outcome.add(
            _finding(
                "error",
                "hl7v2-charset",
                "MSH-18",
                f"Jeu de caractères : {exc}",
                f"Character set: {exc}",
                code="value",
            )
        )
        return message.decode("utf-8", "replace")


def validate_message(
    message: str | bytes,
    profile: str | None = DEFAULT_PROFILE,
    lang: str = "fr",
    *,
    options: ValidateOptions | None = None,
    check_cda: bool = True,
    name: str | None = None,
) -> Outcome:
    """Validate one ER7 message against a profile set (id, profile.yaml or XML conformance profile path); the
    findings carry their line and column in the message."""
    from conformance.sourcemap import locate

    outcome = _validate(message, profile or DEFAULT_PROFILE, options, check_cda=check_cda, name=name)[0]
    return locate(outcome, message, "hl7v2")


def _validate(
    message: str | bytes, profile_name: str, options: ValidateOptions | None, *, check_cda: bool, name: str | None
) -> tuple[Outcome, list[Outcome]]:
    outcome = Outcome(subject=name or "message", kind="hl7v2")
    text = _decode(message, outcome)
    try:
        parsed = parse(text)
    except Er7Error as exc:
        outcome.add(
            _finding(
                "fatal",
                "hl7v2-parse",
                "",
                f"Message HL7 v2 illisible : {exc}",
                f"Unreadable HL7 v2 message: {exc}",
                code="structure",
            )
        )
        return outcome, []
    code, event, structure = parsed.message_type
    outcome.subject = name or f"{code}^{event} {parsed.control_id}".strip()
    outcome.details.update(
        {"message_type": "^".join(p for p in (code, event, structure) if p), "control_id": parsed.control_id}
    )
    try:
        message_profile, profile_set = _resolve(profile_name, parsed)
    except ProfileError as exc:
        outcome.add(
            _finding(
                "fatal",
                "hl7v2-profile-error",
                "",
                f"Profil HL7 v2 inutilisable : {exc}",
                f"Unusable HL7 v2 profile: {exc}",
                code="not-found",
            )
        )
        return outcome, []
    if message_profile is None:
        outcome.add(
            _finding(
                "warning",
                "hl7v2-no-profile",
                "MSH-9",
                f"Aucun profil pour {code}^{event} dans {profile_set.id} : seule la lecture du message a été vérifiée",
                f"No profile for {code}^{event} in {profile_set.id}: only the message syntax was checked",
                code="not-supported",
            )
        )
        return outcome, []
    requested = options.hl7v2_profile if options is not None else None
    if requested and profile_set.id != load_profile_set(requested).id:
        # the set asked for does not define this message: say so, and judge it by the set that does
        outcome.add(
            _finding(
                "warning",
                "hl7v2-profile-not-applicable",
                "MSH-9",
                f"Le profil demandé {requested} ne définit pas le message {code}^{event} : message jugé selon"
                f" {profile_set.id} ({profile_set.title})",
                f"The requested profile {requested} does not define the message {code}^{event}: judged by"
                f" {profile_set.id} ({profile_set.title})",
                code="not-supported",
            )
        )
    outcome.details["profile"] = message_profile.id
    outcome.details["profile_set"] = f"{profile_set.id} ({profile_set.title})"
    checker = ProfileChecker(parsed, message_profile)
    outcome.extend(checker.run())
    ctx = RuleContext(parsed, message_profile, message_profile.id)
    run_rules(ctx)
    outcome.extend(ctx.findings)
    outcome.details.update(ctx.details)
    if "legacy_volet" in ctx.details:
        outcome.findings = [_downgrade(item) for item in outcome.findings]
    documents: list[Outcome] = []
    if ctx.documents:
        documents = _check_documents(ctx.documents, outcome, options, check_cda)
    return outcome, documents


_KEPT_FOR_LEGACY = ("pam-fr-ins", "hl7v2-parse", "hl7v2-charset", "hl7v2-segment-id")


def _downgrade(item: Finding) -> Finding:
    """Older volet versions (the message claims e.g. CI-SIS 2.0 or 1.2): the current version's constraints become
    warnings; identity (INS) errors stay errors, since they do not depend on the volet version."""
    if item.severity.is_failure and not item.rule.startswith(_KEPT_FOR_LEGACY):
        return Finding(Severity.WARNING, item.code, item.rule, item.location, item.message_fr, item.message_en,
                       item.source, item.profile, item.line, item.column)  # fmt: skip
    return item


def _check_documents(
    documents: list[Document], outcome: Outcome, options: ValidateOptions | None, check_cda: bool
) -> list[Outcome]:
    summaries: list[dict[str, Any]] = []
    results: list[Outcome] = []
    validate_document = _cda_validator() if check_cda else None
    for document in documents:
        summary: dict[str, Any] = {"location": document.location, "bytes": len(document.data)}
        summaries.append(summary)
        if validate_document is None:
            continue
        try:
            result = validate_document(
                document.data, options, name=f"{outcome.subject} {document.location}", source_lines=False
            )
        except Exception as exc:  # another area's validator must not break ours
            outcome.add(_finding("warning", "cisis-cda-not-checked", document.location,
                                 f"Le validateur CDA a échoué : {type(exc).__name__}: {exc}",
                                 f"The CDA validator failed: {type(exc).__name__}: {exc}", code="exception"))  # fmt: skip
            continue
        results.append(result)
        summary.update({"subject": result.subject, "valid": result.is_valid, "errors": len(result.errors)})
        if not result.is_valid:
            outcome.add(
                _finding(
                    "warning",
                    "cisis-document-invalid",
                    document.location,
                    f"Le document CDA porté par {document.location} comporte {len(result.errors)} erreur(s) (voir son résultat)",
                    f"The CDA document in {document.location} has {len(result.errors)} error(s) (see its outcome)",
                    code="business-rule",
                )
            )
    outcome.details["documents"] = summaries
    return results


def _cda_validator():
    from conformance.validation.cda import validate_document  # late: the CDA engine is heavy to import

    return validate_document


# ----------------------------------------------------------------------------------------------- input


def split_messages(data: bytes) -> list[bytes]:
    """Messages in a file: MLLP frames, or ER7 text with one or more MSH (batch FHS/BHS/BTS/FTS dropped)."""
    if _MLLP_START in data:
        frames = [chunk.split(_MLLP_END, 1)[0] for chunk in data.split(_MLLP_START)[1:]]
        return [frame for frame in frames if frame.strip()]
    text = data.lstrip(b"\xef\xbb\xbf")
    lines = text.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
    messages: list[list[bytes]] = []
    for line in lines:
        if line[:3] in (b"FHS", b"BHS", b"BTS", b"FTS"):
            continue
        if line.startswith(b"MSH") or not messages:
            messages.append([line])
        else:
            messages[-1].append(line)
    return [b"\r".join(parts) + b"\r" for parts in messages if any(part.strip() for part in parts)]


def validate_input(data: bytes, *, name: str, options: ValidateOptions) -> list[Outcome]:
    """`conformance validate` entry: every message in `data` against options.hl7v2_profile (default pam-fr-2.11),
    plus one outcome per CDA document carried in OBX (when the CDA validator is available)."""
    profile = options.hl7v2_profile or DEFAULT_PROFILE
    messages = split_messages(data)
    if not messages:
        outcome = Outcome(subject=name, kind="hl7v2")
        outcome.add(
            _finding(
                "fatal", "hl7v2-parse", "", "Aucun message HL7 v2 trouvé", "No HL7 v2 message found", code="structure"
            )
        )
        return [outcome]
    results: list[Outcome] = []
    for index, payload in enumerate(messages, start=1):
        subject = name if len(messages) == 1 else f"{name}#{index}"
        outcome, documents = _validate(payload, profile, options, check_cda=True, name=subject)
        results.append(outcome)
        results.extend(documents)
    return results
