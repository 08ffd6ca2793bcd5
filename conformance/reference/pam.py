"""PAM France 2.11 messages and acknowledgements for the reference MLLP peers.

`PamMessageFactory` writes the scripted sequence the reference sender emits (A28, A01, A02, A03, A31, A40,
then MDM^T02 and ORU^R01 carrying the CI-SIS example CDA) with the package's message factory
(`validation.hl7v2.build`), for the test patient of `test_data`, with seeded faults applied.
`check_pam_message` is the receiver's judgement of an incoming message: what it accepts to process (HL7 v2.5
§2.9.2: message type, event, processing id, version, else AR), then the product's HL7 v2 validator (without
the CDA schematrons): an error is an AE, and an INS received without a qualified identity is dropped with a
warning (PAM FR §6.6.15). `build_ack` writes its original-mode ACK (`validation.hl7v2.ack`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from conformance.config import PatientData
from conformance.findings import Finding, Outcome, Severity, finding
from conformance.identifiers import PAM_VERSION
from conformance.reference.faults import mllp_hooks
from conformance.reference.mllp_faults import AckParts
from conformance.reference.test_data import TestData
from conformance.validation.hl7v2 import build as pam
from conformance.validation.hl7v2 import validate_message
from conformance.validation.hl7v2.ack import make_ack
from conformance.validation.hl7v2.er7 import Er7Error, parse
from conformance.validation.hl7v2.rules import MOVEMENT_EVENTS

IDENTITY_EVENTS = frozenset({"A28", "A31", "A40", "A47"})
DOCUMENT_TYPES = {("MDM", "T02"), ("MDM", "T04"), ("MDM", "T10"), ("ORU", "R01")}
DOCUMENT_VERSIONS = frozenset({"2.5", "2.6"})


def next_control_id(prefix: str = "REF") -> str:
    return pam.control_id(prefix)


# ----------------------------------------------------------------------------------------------- checks

# What the receiver refuses to process (AR), by HL7 table 0357 condition (ERR-3); `ack.make_ack` writes the
# code from the rule id. Everything else is the HL7 v2 validator's findings, under its own rule ids.
RULE_SEGMENT = "pam-receiver-segment"  # 100 segment sequence error (the message cannot be read)
RULE_REQUIRED = "pam-receiver-required"  # 101 required field missing
RULE_MESSAGE_TYPE = "pam-receiver-message-type"  # 200 unsupported message type
RULE_EVENT = "pam-receiver-event"  # 201 unsupported event code
RULE_PROCESSING_ID = "pam-receiver-processing-id"  # 202 unsupported processing id
RULE_VERSION = "pam-receiver-version"  # 203 unsupported version id
INS_DROPPED = "pam-fr-ins-qualified"  # an INS without PID-32 = VALI: integrated, INS dropped (PAM FR §6.6.15)


@dataclass
class Judgement:
    ack_code: str  # AA, AE, AR
    issues: list[Finding] = field(default_factory=list)
    control_id: str = ""
    event: str = ""


def _issue(rule: str, where: str, fr: str, en: str, severity: str = "error") -> Finding:
    return finding(severity, "processing", rule, where, fr, en, source="reference")


def _reject(issues: list[Finding], control_id: str = "", event: str = "") -> Judgement:
    return Judgement("AR", issues, control_id, event)


def check_pam_message(message: str) -> Judgement:
    """How a conformant PAM FR 2.11 receiver acknowledges `message` (original mode, HL7 v2.5 §2.9.2)."""
    try:
        msg = parse(message)
    except Er7Error as exc:
        return _reject([_issue(RULE_SEGMENT, "MSH", f"message illisible : {exc}", f"unreadable message: {exc}")])
    control_id = msg.control_id
    kind, event, _ = msg.message_type
    if not control_id:
        return _reject(
            [_issue(RULE_REQUIRED, "MSH-10", "MSH-10 (identifiant du message) absent", "MSH-10 (message id) missing")],
            "",
            event,
        )
    processing = msg.get("MSH-11")
    if processing[:1] not in ("P", "T", "D"):
        text = f"MSH-11 « {processing} » non supporté (P, T ou D)", f"MSH-11 '{processing}' not supported (P, T or D)"
        return _reject([_issue(RULE_PROCESSING_ID, "MSH-11", *text)], control_id, event)
    document = (kind, event) in DOCUMENT_TYPES
    if not document and (kind != "ADT" or not (event in MOVEMENT_EVENTS or event in IDENTITY_EVENTS or event == "A44")):
        rule = RULE_MESSAGE_TYPE if kind != "ADT" else RULE_EVENT
        text = f"type de message {kind}^{event} non supporté", f"message type {kind}^{event} not supported"
        return _reject([_issue(rule, "MSH-9", *text)], control_id, event)
    version = msg.get("MSH-12")
    expected = DOCUMENT_VERSIONS if document else {PAM_VERSION}
    if (version.split(msg.delimiters.component)[0] if document else version) not in expected:
        shown = " / ".join(sorted(expected))
        text = f"MSH-12 « {version} » : attendu {shown}", f"MSH-12 '{version}': expected {shown}"
        return _reject([_issue(RULE_VERSION, "MSH-12", *text)], control_id, event)
    issues = _receiver_view(validate_message(message, check_cda=False))
    code = "AE" if any(issue.severity.is_failure for issue in issues) else "AA"
    return Judgement(code, issues, control_id, event)


def _receiver_view(outcome: Outcome) -> list[Finding]:
    """The validator's errors and warnings, with an INS sent for an unqualified identity dropped, not refused."""
    issues = []
    for item in outcome.findings:
        if item.rule == INS_DROPPED and item.severity.is_failure:
            item = _issue(
                INS_DROPPED,
                item.location,
                f"INS reçu sans identité qualifiée : INS ignoré ({item.message_fr})",
                f"INS received without a qualified identity: INS ignored ({item.message_en})",
                "warning",
            )
        if item.severity.is_failure or item.severity is Severity.WARNING:
            issues.append(item)
    return issues


# ----------------------------------------------------------------------------------------------- ACK


def build_ack(message: str, judgement: Judgement, *, faults: frozenset[str] = frozenset()) -> str:
    """The original-mode ACK of `judgement` (one ERR per issue), with the ACK faults applied."""
    parts = mllp_hooks(faults).ack(AckParts(judgement.ack_code, tuple(judgement.issues), judgement.control_id))
    version = _ack_version(message)
    return make_ack(
        message,
        parts.code,
        list(parts.issues),
        acknowledges=parts.acknowledges,
        version=version,
        control_id=next_control_id("ACK"),
    )


def _ack_version(message: str) -> str:
    """The ACK speaks a version this receiver supports: the message's own when supported, PAM FR's otherwise."""
    try:
        version = parse(message).msh.field(12)
    except Er7Error:
        return PAM_VERSION
    return version if version in (PAM_VERSION, "2.5", "2.6") else PAM_VERSION


def acknowledge(message: str, faults: frozenset[str] = frozenset()) -> str:
    """Judge `message` and return the reference receiver's ACK for it."""
    return build_ack(message, check_pam_message(message), faults=faults)


def parse_ack(ack: str) -> tuple[str, str]:
    """(MSA-1, MSA-2) of an ACK; ("", "") when it has no MSA."""
    try:
        msa = parse(ack).first("MSA")
    except Er7Error:
        return "", ""
    return (msa.field(1), msa.field(2)) if msa else ("", "")


# ----------------------------------------------------------------------------------------------- messages

FACILITY = "HOPEN-TEST"
FINESS = "000897406"


class PamMessageFactory(pam.PamMessageFactory):
    """The reference sender's messages, for one test patient, with seeded faults applied where they act."""

    def __init__(
        self,
        test_data: TestData,
        faults: frozenset[str] = frozenset(),
        *,
        sending_app: str = "REF-GAM",
        facility: str = FACILITY,
    ) -> None:
        self.test_data = test_data
        self.faults = faults
        self.hooks = mllp_hooks(faults)
        patient = self.hooks.patient(test_data.qualified_patient, test_data)
        practitioner = test_data.resources.get(f"Practitioner/{test_data.practitioner_id}", {})
        name = (practitioner.get("name") or [{}])[0]
        sender = pam.DocumentSender(
            test_data.practitioner_idnps, name.get("family", ""), (name.get("given") or [""])[0]
        )
        super().__init__(
            pam.PamContext(sending_app, facility, "RECEPTEUR", facility, FINESS, control_prefix="REF"),
            patient,
            account="24000006",
            visit="000897406",
            sender=sender,
        )
        self.version = self.hooks.version(self.version)

    # -- where the faults act
    def ins_cx(self, patient: PatientData) -> str:
        sent = self.hooks.ins(patient if patient.qualified and patient.ins else None, patient)
        return super().ins_cx(replace(sent, qualified=True)) if sent is not None and sent.ins else ""

    def movement_segments(self, movement_id: str, **zbe: str) -> list[str]:
        return self.hooks.movement_segments(super().movement_segments(movement_id, **zbe))

    def document_obx(self, document: pam.CdaDocument) -> str:
        return self.hooks.document_obx(super().document_obx(document), document)

    # -- the scripted sequence
    def a28(self) -> str:
        return self.create_patient()

    def a31(self) -> str:
        return self.update_patient()

    def a01(self) -> str:
        return self.admit()

    def a02(self) -> str:
        return self.transfer()

    def a03(self) -> str:
        return self.discharge()

    def a40(self) -> str:
        return self.merge_into(f"{self.patient.ipp}9")

    def sequence(self) -> list[tuple[str, str]]:
        """(label, message) of the scripted PAM FR 2.11 sequence."""
        return [("A28", self.a28()), ("A01", self.a01()), ("A02", self.a02()), ("A03", self.a03()),
                ("A31", self.a31()), ("A40", self.a40())]  # fmt: skip

    def document(self) -> pam.CdaDocument:
        document = self.test_data.documents[0]
        unique_id = document.master_identifier.removeprefix("urn:oid:")
        return self.hooks.document(
            pam.CdaDocument(self.test_data.cda_bytes, unique_id, document.type_code, "Lettre de liaison")
        )

    def document_sequence(self) -> list[tuple[str, str]]:
        return [("MDM^T02", self.mdm_t02(self.document())), ("ORU^R01", self.oru_r01(self.document()))]

    def defective(self) -> dict[str, tuple[str, str]]:
        """name -> (message, expected MSA-1) for the typical defects a receiver must reject."""
        good = PamMessageFactory(self.test_data)
        return {
            "missing-zbe": (good.admit_without_zbe(), "AE"),
            "missing-pid18": (good.admit_without_account(), "AE"),
            "wrong-version": (good.admit_with_unsupported_version("2.3"), "AR"),
            "unsupported-event-a08": (good.admit_as_event("A08"), "AR"),
        }
