"""PAM France 2.11 messages and acknowledgements for the reference MLLP peers.

`PamMessageFactory` writes the scripted sequence the reference sender emits (A28, A01, A02, A03, A31, A40,
then MDM^T02 and ORU^R01 carrying the CI-SIS example CDA), for the test patient of `test_data`, with seeded
faults applied. `check_pam_message` is the receiver's judgement of an incoming message (PAM FR 2.11:
MSH-9/11/12/21, ZBE in ITI-31 movements, PID-18 / PV1-19, INS only with PID-32 = VALI, MRG in A40, OBX
carriage of a CDA), and `build_ack` its HL7 v2.5 original-mode ACK (written by `validation.hl7v2.ack`).
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime

from conformance.findings import Finding, finding
from conformance.identifiers import (
    CISIS_CONFORMANCE,
    IDNPS_AUTHORITY,
    INS_AUTHORITY_NAMES,
    INS_C_OID,
    PAM_CONFORMANCE,
    PAM_VERSION,
    bare_oid,
)
from conformance.reference.test_data import TestData, TestPatient
from conformance.validation.hl7v2.ack import make_ack
from conformance.validation.hl7v2.er7 import Er7Error, Message, Segment, parse
from conformance.validation.hl7v2.rules import MOVEMENT_EVENTS

INS_AUTHORITIES = INS_AUTHORITY_NAMES
IDENTITY_EVENTS = frozenset({"A28", "A31", "A40", "A47"})
CANCEL_EVENTS = frozenset(["A11", "A12", "A13", "A25", "A26", "A27", "A38", "A52", "A53", "A55"])
DOCUMENT_TYPES = {("MDM", "T02"), ("MDM", "T04"), ("MDM", "T10"), ("ORU", "R01")}
STRUCTURES = {
    "A01": "ADT_A01",
    "A04": "ADT_A01",
    "A13": "ADT_A01",
    "Z99": "ADT_A01",
    "A02": "ADT_A02",
    "A03": "ADT_A03",
    "A05": "ADT_A05",
    "A14": "ADT_A05",
    "A28": "ADT_A05",
    "A31": "ADT_A05",
    "A40": "ADT_A39",
    "A47": "ADT_A30",
}

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def next_control_id(prefix: str = "REF") -> str:
    with _counter_lock:
        return f"{prefix}{datetime.now():%H%M%S}{next(_counter):06d}"


def hl7_now() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S")


# ----------------------------------------------------------------------------------------------- checks

# The receiver's reasons, by HL7 table 0357 condition (ERR-3); `ack.make_ack` writes the code from the rule id.
RULE_SEGMENT = "pam-receiver-segment"  # 100 segment sequence error (a required segment is missing)
RULE_REQUIRED = "pam-receiver-required"  # 101 required field missing
RULE_DATATYPE = "pam-receiver-datatype"  # 102 data type error
RULE_VALUE = "pam-receiver-value"  # 103 table value not found
RULE_MESSAGE_TYPE = "pam-receiver-message-type"  # 200 unsupported message type
RULE_EVENT = "pam-receiver-event"  # 201 unsupported event code
RULE_PROCESSING_ID = "pam-receiver-processing-id"  # 202 unsupported processing id
RULE_VERSION = "pam-receiver-version"  # 203 unsupported version id


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


def _judged(issues: list[Finding], control_id: str, event: str) -> Judgement:
    code = "AE" if any(issue.severity.is_failure for issue in issues) else "AA"
    return Judgement(code, issues, control_id, event)


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
    if (kind, event) in DOCUMENT_TYPES:
        return _judged(_check_document_message(msg), control_id, event)
    if kind != "ADT" or not (event in MOVEMENT_EVENTS or event in IDENTITY_EVENTS or event == "A44"):
        rule = RULE_MESSAGE_TYPE if kind != "ADT" else RULE_EVENT
        text = f"type de message {kind}^{event} non supporté", f"message type {kind}^{event} not supported"
        return _reject([_issue(rule, "MSH-9", *text)], control_id, event)
    version = msg.get("MSH-12")
    if version != PAM_VERSION:
        text = f"MSH-12 « {version} » : attendu {PAM_VERSION}", f"MSH-12 '{version}': expected {PAM_VERSION}"
        return _reject([_issue(RULE_VERSION, "MSH-12", *text)], control_id, event)
    return _judged(_check_adt(msg, event), control_id, event)


def _missing_segment(name: str, fr_context: str = "", en_context: str = "") -> Finding:
    return _issue(RULE_SEGMENT, name, f"segment {name} absent{fr_context}", f"segment {name} missing{en_context}")


def _check_adt(msg: Message, event: str) -> list[Finding]:
    issues: list[Finding] = []
    if msg.get("MSH-21") != PAM_CONFORMANCE:
        issues.append(
            _issue(
                RULE_REQUIRED, "MSH-21", f"MSH-21 doit valoir {PAM_CONFORMANCE}", f"MSH-21 must be {PAM_CONFORMANCE}"
            )
        )
    charset = msg.msh.field(18)
    if charset and charset not in ("8859/15", "UNICODE UTF-8"):
        issues.append(
            _issue(
                RULE_VALUE,
                "MSH-18",
                f"MSH-18 « {charset} » : attendu 8859/15 ou UNICODE UTF-8",
                f"MSH-18 '{charset}': expected 8859/15 or UNICODE UTF-8",
            )
        )
    if msg.first("EVN") is None:
        issues.append(_missing_segment("EVN"))
    pid = msg.first("PID")
    if pid is None:
        issues.append(_missing_segment("PID"))
        return issues
    issues += _check_pid(msg, pid)
    if event in MOVEMENT_EVENTS:
        issues += _check_movement(msg, event)
    if event in ("A40", "A47") and msg.first("MRG") is None:
        issues.append(_missing_segment("MRG", f" dans {event}", f" in {event}"))
    return issues


def _check_pid(msg: Message, pid: Segment) -> list[Finding]:
    issues: list[Finding] = []
    d = msg.delimiters
    pid3 = pid.field(3)
    if not pid3:
        issues.append(
            _issue(
                RULE_REQUIRED, "PID-3", "PID-3 (identifiants du patient) absent", "PID-3 (patient identifiers) missing"
            )
        )
    if not pid.field(5):
        issues.append(_issue(RULE_REQUIRED, "PID-5", "PID-5 (nom du patient) absent", "PID-5 (patient name) missing"))
    status = pid.field(32).split(d.repetition)[0]
    for index, rep in enumerate(pid3.split(d.repetition) if pid3 else [], start=1):
        cx = rep.split(d.component) + [""] * 6
        if cx[4] != "INS" or cx[0] in ("", '""'):
            continue
        oid = cx[3].split(d.subcomponent)[1] if d.subcomponent in cx[3] else cx[3]
        if oid not in INS_AUTHORITIES:
            issues.append(
                _issue(
                    RULE_VALUE,
                    f"PID-3[{index}].4",
                    f"PID-3 : autorité d'affectation « {oid} » inconnue pour un INS",
                    f"PID-3: unknown assigning authority '{oid}' for an INS",
                )
            )
        elif status != "VALI":
            # PAM FR: integrate the message, drop the INS (a warning, not a rejection)
            issues.append(
                _issue(
                    RULE_VALUE,
                    "PID-32",
                    f"INS reçu sans identité qualifiée (PID-32 = « {status} ») : INS ignoré",
                    f"INS received without a qualified identity (PID-32 = '{status}'): INS ignored",
                    "warning",
                )
            )
        elif not pid.field(7) or not pid.field(8):
            issues.append(
                _issue(
                    RULE_REQUIRED,
                    "PID-7",
                    "PID-7 et PID-8 sont obligatoires avec un INS qualifié",
                    "PID-7 and PID-8 are required with a qualified INS",
                )
            )
    return issues


def _check_movement(msg: Message, event: str) -> list[Finding]:
    issues: list[Finding] = []
    if not msg.get("PID-18"):
        issues.append(
            _issue(
                RULE_REQUIRED,
                "PID-18",
                "PID-18 (numéro de dossier administratif) obligatoire en ITI-31",
                "PID-18 (patient account number) is required in ITI-31",
            )
        )
    pv1 = msg.first("PV1")
    if pv1 is None:
        issues.append(_missing_segment("PV1"))
    elif not pv1.field(19):
        issues.append(
            _issue(
                RULE_REQUIRED,
                "PV1-19",
                "PV1-19 (numéro de venue) obligatoire en ITI-31",
                "PV1-19 (visit number) is required in ITI-31",
            )
        )
    zbe = msg.first("ZBE")
    if zbe is None:
        issues.append(
            _missing_segment(
                "ZBE", f" : obligatoire dans {event} (mouvement ITI-31)", f": required in {event} (ITI-31 movement)"
            )
        )
        return issues
    action = zbe.field(4)
    expected = "UPDATE" if event == "Z99" else ("CANCEL" if event in CANCEL_EVENTS else "INSERT")
    required = [(1, "identifiant du mouvement", "movement id"), (2, "date du mouvement", "movement date")]
    for number, fr, en in required:
        if not zbe.field(number):
            issues.append(
                _issue(RULE_REQUIRED, f"ZBE-{number}", f"ZBE-{number} ({fr}) absent", f"ZBE-{number} ({en}) missing")
            )
    if action != expected:
        issues.append(
            _issue(
                RULE_VALUE,
                "ZBE-4",
                f"ZBE-4 « {action} » : attendu {expected} pour {event}",
                f"ZBE-4 '{action}': expected {expected} for {event}",
            )
        )
    if zbe.field(5) not in ("Y", "N"):
        issues.append(_issue(RULE_VALUE, "ZBE-5", "ZBE-5 doit valoir Y ou N", "ZBE-5 must be Y or N"))
    if action in ("CANCEL", "UPDATE") and not zbe.field(6):
        issues.append(
            _issue(
                RULE_REQUIRED,
                "ZBE-6",
                "ZBE-6 (événement d'origine) obligatoire pour CANCEL / UPDATE",
                "ZBE-6 (original trigger) is required for CANCEL / UPDATE",
            )
        )
    if not zbe.field(9):
        issues.append(
            _issue(RULE_REQUIRED, "ZBE-9", "ZBE-9 (nature du mouvement) absente", "ZBE-9 (movement nature) missing")
        )
    return issues


def _document_obx(msg: Message) -> Segment | None:
    """The OBX of type ED carrying the document (not a mail body)."""
    component = msg.delimiters.component
    documents = [s for s in msg.all("OBX") if s.field(2) == "ED"]
    return next((s for s in documents if not s.field(3).split(component)[0].startswith("CORPSMAIL")), None)


def _check_document_message(msg: Message) -> list[Finding]:
    issues: list[Finding] = []
    if msg.first("PID") is None:
        issues.append(_missing_segment("PID"))
    document = _document_obx(msg)
    if document is None:
        issues.append(
            _issue(
                RULE_SEGMENT,
                "OBX",
                "aucun OBX de type ED portant le document",
                "no OBX of type ED carrying the document",
            )
        )
        return issues
    value = document.field(5).split(msg.delimiters.component) + [""] * 5
    where = f"{document.label()}-5"
    if value[3] != "Base64":
        issues.append(
            _issue(
                RULE_DATATYPE,
                f"{where}.4",
                f"OBX-5.4 « {value[3]} » : le document CDA doit être encodé en Base64",
                f"OBX-5.4 '{value[3]}': the CDA document must be Base64-encoded",
            )
        )
        return issues
    try:
        data = base64.b64decode(value[4], validate=True)
    except ValueError:
        issues.append(
            _issue(RULE_DATATYPE, f"{where}.5", "OBX-5.5 n'est pas du Base64 valide", "OBX-5.5 is not valid Base64")
        )
        return issues
    if b"ClinicalDocument" not in data[:4000]:
        issues.append(
            _issue(
                RULE_DATATYPE,
                f"{where}.5",
                "OBX-5.5 ne contient pas de document CDA",
                "OBX-5.5 does not contain a CDA document",
            )
        )
    return issues


# ----------------------------------------------------------------------------------------------- ACK


def build_ack(message: str, judgement: Judgement, *, faults: frozenset[str] = frozenset()) -> str:
    """The original-mode ACK of `judgement` (one ERR per issue), with the ACK faults applied."""
    code = judgement.ack_code
    issues = judgement.issues
    if "ack-aa-for-defective" in faults:
        code, issues = "AA", []
    if "ack-no-err" in faults and code != "AA":
        issues = []
    acked_id = judgement.control_id
    if "ack-wrong-msa2" in faults:
        acked_id = f"{acked_id}0" if acked_id else "0"
    version = _ack_version(message)
    return make_ack(message, code, issues, acknowledges=acked_id, version=version, control_id=next_control_id("ACK"))


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


class PamMessageFactory:
    """The reference sender's messages, for one test patient, with seeded faults applied."""

    def __init__(
        self,
        test_data: TestData,
        faults: frozenset[str] = frozenset(),
        *,
        sending_app: str = "REF-GAM",
        facility: str = "HOPEN-TEST",
    ) -> None:
        self.test_data = test_data
        self.faults = faults
        # with ins-unqualified the messages are about the provisional identity, INS included (PID-32 = PROV)
        self.patient: TestPatient = (
            test_data.unqualified_patient if "ins-unqualified" in faults else test_data.qualified_patient
        )
        self.sending_app = sending_app
        self.facility = facility
        self.finess = "000897406"
        self.nda = "24000006"
        self.visit = "000897406"

    # -- segments
    def msh(
        self,
        event: str,
        structure: str,
        *,
        kind: str = "ADT",
        version: str = PAM_VERSION,
        conformance: str = PAM_CONFORMANCE,
    ) -> str:
        if "msh12-wrong" in self.faults and kind == "ADT":
            version = "2.5"
        fields = [
            "MSH",
            "^~\\&",
            self.sending_app,
            self.facility,
            "RECEPTEUR",
            self.facility,
            hl7_now(),
            "",
            f"{kind}^{event}^{structure}",
            next_control_id(),
            "T",
            version,
            "",
            "",
            "",
            "",
            "FRA",
            "UNICODE UTF-8",
            "FR",
            "",
            conformance,
        ]
        return "|".join(fields)

    def pid(self, patient: TestPatient | None = None, *, with_account: bool = True) -> str:
        p = patient or self.patient
        ids = [f"{p.ipp_value}^^^{self.facility}&{self.finess}&M^PI"]
        status = "VALI" if p.qualified else "PROV"
        send_ins = p.qualified or "ins-unqualified" in self.faults
        if send_ins and p.ins_value:
            oid = bare_oid(p.ins_system)
            if "ins-wrong-oid" in self.faults:
                oid = INS_C_OID
            ids.append(f"{p.ins_value}^^^{INS_AUTHORITIES.get(oid, 'INS-C')}&{oid}&ISO^INS")
        gender = {"female": "F", "male": "M"}.get(p.gender, "U")
        account = f"{self.nda}^^^{self.facility}&{self.finess}&M^AN" if with_account else ""
        fields = [
            "PID",
            "1",
            "",
            "~".join(ids),
            "",
            f"{p.family}^{p.given}^{p.given}^^^^L",
            "",
            p.birth_date.replace("-", ""),
            gender,
        ]
        fields += ["", "", self._birth_place(p)]  # PID-11: birth place (XAD-7 BDL, XAD-9 INSEE code), §6.6.6
        fields += [""] * (18 - len(fields)) + [account] + [""] * 13 + [status]
        return "|".join(fields)

    def _birth_place(self, p: TestPatient) -> str:
        resource = self.test_data.resources.get(f"Patient/{p.id}", {})
        for ext in resource.get("extension", []):
            if ext.get("url", "").endswith("patient-birthPlace"):
                address = ext.get("valueAddress", {})
                code = next((e["valueCoding"]["code"] for e in address.get("extension", []) if "valueCoding" in e), "")
                return f"^^{address.get('city', '')}^^^^BDL^^{code}"
        return ""

    def pv1(self, patient_class: str = "I", location: str = "4420^^^HOPEN-TEST&000897406&M^O^^") -> str:
        fields = (
            ["PV1", "1", patient_class, location, "R"]
            + [""] * 14
            + [f"{self.visit}^^^{self.facility}&{self.finess}&M^VN"]
        )
        return "|".join(fields)

    def zbe(self, movement_id: str, action: str, nature: str, *, original: str = "") -> str:
        uf = f"Médecine^^^^^{self.facility}&{self.finess}&M^UF^^^4420"
        return f"ZBE|{movement_id}^{self.facility}^{self.finess}|{hl7_now()}||{action}|N|{original}|{uf}|{uf}|{nature}"

    def _movement(self, event: str, structure: str, movement_id: str, nature: str) -> str:
        segments = [self.msh(event, structure), f"EVN||{hl7_now()}||||{hl7_now()}", self.pid(), self.pv1()]
        if "zbe-missing" not in self.faults:
            segments.append(self.zbe(movement_id, "INSERT", nature))
        return "\r".join(segments) + "\r"

    # -- messages
    def a28(self) -> str:
        return (
            "\r".join([self.msh("A28", "ADT_A05"), f"EVN||{hl7_now()}", self.pid(with_account=False), "PV1|1|N"]) + "\r"
        )

    def a31(self) -> str:
        return (
            "\r".join([self.msh("A31", "ADT_A05"), f"EVN||{hl7_now()}", self.pid(with_account=False), "PV1|1|N"]) + "\r"
        )

    def a01(self) -> str:
        return self._movement("A01", "ADT_A01", "MVT001", "HMS")

    def a02(self) -> str:
        return self._movement("A02", "ADT_A02", "MVT002", "H")

    def a03(self) -> str:
        return self._movement("A03", "ADT_A03", "MVT003", "HMS")

    def a40(self) -> str:
        duplicate = f"{self.patient.ipp_value}9^^^{self.facility}&{self.finess}&M^PI"
        return (
            "\r".join(
                [self.msh("A40", "ADT_A39"), f"EVN||{hl7_now()}", self.pid(with_account=False), f"MRG|{duplicate}"]
            )
            + "\r"
        )

    def sequence(self) -> list[tuple[str, str]]:
        """(label, message) of the scripted PAM FR 2.11 sequence."""
        return [
            ("A28", self.a28()),
            ("A01", self.a01()),
            ("A02", self.a02()),
            ("A03", self.a03()),
            ("A31", self.a31()),
            ("A40", self.a40()),
        ]

    def _obx_document(self, type_code: str, label: str) -> str:
        cda = self.test_data.cda_bytes
        if "oru-obx-not-base64" in self.faults:
            text = cda.decode("utf-8", "replace").replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
            text = text.replace("&", "\\T\\").replace("~", "\\R\\").replace("\r", "").replace("\n", "\\X0A\\")
            return f"OBX|1|ED|{type_code}^{label}^LN||^TEXT^XML^A^{text}||||||F"
        return f"OBX|1|ED|{type_code}^{label}^LN||^TEXT^XML^Base64^{base64.b64encode(cda).decode('ascii')}||||||F"

    def _pid_document(self) -> str:
        p = self.patient
        gender = {"female": "F", "male": "M"}.get(p.gender, "U")
        oid = bare_oid(p.ins_system)
        if "ins-wrong-oid" in self.faults:
            oid = INS_C_OID
        ins = f"{p.ins_value}^^^{INS_AUTHORITIES.get(oid, 'INS-C')}&{oid}&ISO^INS"
        fields = [
            "PID",
            "1",
            "",
            ins,
            "",
            f"{p.family}^{p.given}^{p.given}^^^^L",
            "",
            p.birth_date.replace("-", ""),
            gender,
        ]
        fields += ["", "", self._birth_place(p)]
        fields += (
            [""] * (18 - len(fields))
            + [f"{self.nda}^^^{self.facility}&{self.finess}&M^AN"]
            + [""] * 13
            + ["VALI" if p.qualified else "PROV"]
        )
        return "|".join(fields)

    def _document_participants_and_metadata(self, value_type: str) -> list[str]:
        """PRT sender (SB) after the document OBX, then the required MetaDMPMSS OBX groups in order (CI-SIS document transmission)."""
        data = self.test_data
        practitioner = data.resources.get(f"Practitioner/{data.practitioner_id}", {})
        name = (practitioner.get("name") or [{}])[0]
        given = (name.get("given") or [""])[0]
        sender = (
            f"PRT||UC||SB^Send by^participation|{data.practitioner_idnps}^{name.get('family', '')}^{given}"
            f"^^^^^^{IDNPS_AUTHORITY}^D^^^IDNPS"
        )
        flags = [
            ("MASQUE_PS", "Masqué aux professionnels de Santé", "N"),
            ("INVISIBLE_PATIENT", "Document Non Visible par le patient", "N"),
            ("INVISIBLE_REP_LEGAUX", "Non visible par les représentants Légaux du patient", "N"),
            ("CONNEXION_SECRETE", "Connexion Secrete", "N"),
            ("MODIF_CONF_CODE", "Modification Confidentiality Code", "N"),
            ("DESTDMP", "Destinataire DMP", "Y"),
            ("DESTMSSANTEPS", "Destinataire (Professionnel de Santé, organisation ou BAL applicative)", "N"),
            ("DESTMSSANTEPAT", "Destinataire Patient", "N"),
        ]
        obx = [
            f"OBX|{index}|{value_type}|{code}^{label}^MetaDMPMSS||{flag}^^expandedYes-NoIndicator||||||F"
            for index, (code, label, flag) in enumerate(flags, start=2)
        ]
        return [sender, *obx]

    def mdm_t02(self) -> str:
        document = self.test_data.documents[0]
        segments = [
            self.msh("T02", "MDM_T02", kind="MDM", version="2.6", conformance=CISIS_CONFORMANCE),
            f"EVN||{hl7_now()}",
            self._pid_document(),
            "PV1|1|I|UF4420" + "|" * 16 + f"{self.visit}^^^{self.facility}&{self.finess}&M^VN",
            "ORC|NW",
            f"OBR|1|||{document.type_code}^Lettre de liaison^LN",
            f"TXA|1|{document.type_code}|TEXT|{hl7_now()}||||||||{document.master_identifier.removeprefix('urn:oid:')}|||||AU",
            self._obx_document(document.type_code, "Lettre de liaison"),
            *self._document_participants_and_metadata("CWE"),
        ]
        return "\r".join(segments) + "\r"

    def oru_r01(self) -> str:
        document = self.test_data.documents[0]
        segments = [
            self.msh("R01", "ORU_R01", kind="ORU", version="2.5", conformance=CISIS_CONFORMANCE),
            self._pid_document(),
            "PV1|1|I|UF4420" + "|" * 16 + f"{self.visit}^^^{self.facility}&{self.finess}&M^VN",
            "ORC|NW",
            f"OBR|1|||{document.type_code}^Lettre de liaison^LN",
            self._obx_document(document.type_code, "Lettre de liaison"),
            *self._document_participants_and_metadata("CE"),
        ]
        return "\r".join(segments) + "\r"

    def document_sequence(self) -> list[tuple[str, str]]:
        return [("MDM^T02", self.mdm_t02()), ("ORU^R01", self.oru_r01())]

    # -- defective messages (to check a receiver answers AE/AR)
    def defective(self) -> dict[str, tuple[str, str]]:
        """name -> (message, expected MSA-1) for the typical defects a receiver must reject."""
        good = PamMessageFactory(self.test_data)
        a01 = good.a01()
        no_zbe = "\r".join(s for s in a01.split("\r") if not s.startswith("ZBE")) + "\r"
        wrong_version = a01.replace(f"|{PAM_VERSION}|", "|2.3|", 1)
        bad_type = a01.replace("|ADT^A01^ADT_A01|", "|ADT^A08^ADT_A01|", 1)
        no_account = a01.replace(f"{good.nda}^^^{good.facility}&{good.finess}&M^AN", "", 1)
        return {
            "missing-zbe": (no_zbe, "AE"),
            "missing-pid18": (no_account, "AE"),
            "wrong-version": (wrong_version, "AR"),
            "unsupported-event-a08": (bad_type, "AR"),
        }
