"""PAM France 2.11 messages and acknowledgements for the reference MLLP peers.

`PamMessageFactory` writes the scripted sequence the reference sender emits (A28, A01, A02, A03, A31, A40,
then MDM^T02 and ORU^R01 carrying the CI-SIS example CDA), for the test patient of `test_data`, with seeded
faults applied. `check_pam_message` is the receiver's judgement of an incoming message (the rules of
/work/shared/pam-fr-facts.md: MSH-9/11/12/21, ZBE in ITI-31 movements, PID-18 / PV1-19, INS only with
PID-32 = VALI, MRG in A40, OBX carriage of a CDA), and `build_ack` the HL7 v2.5 original-mode ACK with ERR.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime

from conformance.reference.test_data import TestData, TestPatient
from conformance.validation.hl7v2.rules import MOVEMENT_EVENTS

PAM_VERSION = "2.5^FRA^2.11"
PAM_CONFORMANCE = "2.11^IHE_FRANCE-2.11-PAM"
CISIS_CONFORMANCE = "2.1^CISIS_CDA_HL7_V2"
INS_AUTHORITIES = {
    "1.2.250.1.213.1.4.8": "ASIP-SANTE-INS-NIR",
    "1.2.250.1.213.1.4.9": "ASIP-SANTE-INS-NIA",
    "1.2.250.1.213.1.4.10": "ASIP-SANTE-INS-NIR-TEST",
    "1.2.250.1.213.1.4.11": "ASIP-SANTE-INS-NIR-DEMO",
}
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


# ----------------------------------------------------------------------------------------------- parsing


@dataclass
class Er7:
    """A minimal ER7 view: segments split on CR, fields on the MSH-1 separator."""

    segments: list[list[str]]
    component: str = "^"
    repetition: str = "~"

    @classmethod
    def parse(cls, message: str) -> Er7:
        text = message.replace("\r\n", "\r").replace("\n", "\r")
        if not text.startswith("MSH") or len(text) < 8:
            raise ValueError("the message does not start with an MSH segment")
        sep = text[3]
        encoding = text[4:8]
        segments = [line.split(sep) for line in text.split("\r") if line.strip()]
        # MSH-1 is the separator itself: shift so that field n is index n for every segment
        segments[0] = ["MSH", sep, *segments[0][1:]]
        return cls(
            segments, component=encoding[0] if encoding else "^", repetition=encoding[1] if len(encoding) > 1 else "~"
        )

    def segment(self, name: str) -> list[str] | None:
        return next((s for s in self.segments if s[0] == name), None)

    def all(self, name: str) -> list[list[str]]:
        return [s for s in self.segments if s[0] == name]

    def field(self, name: str, number: int, seg: list[str] | None = None) -> str:
        seg = seg if seg is not None else self.segment(name)
        if seg is None or number >= len(seg):
            return ""
        return seg[number]

    def components(self, value: str) -> list[str]:
        return value.split(self.component)

    def component_at(self, name: str, number: int, comp: int) -> str:
        parts = self.components(self.field(name, number).split(self.repetition)[0])
        return parts[comp - 1] if comp - 1 < len(parts) else ""


# ----------------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class AckIssue:
    code: str  # HL7 table 0357
    text: str
    location: str  # ERL: SEG^seq^field
    severity: str = "E"  # E error, W warning


@dataclass
class Judgement:
    ack_code: str  # AA, AE, AR
    issues: list[AckIssue] = field(default_factory=list)
    control_id: str = ""
    event: str = ""


def _reject(issues: list[AckIssue], control_id: str = "", event: str = "") -> Judgement:
    return Judgement("AR", issues, control_id, event)


def check_pam_message(message: str) -> Judgement:
    """How a conformant PAM FR 2.11 receiver acknowledges `message` (original mode, HL7 v2.5 §2.9.2)."""
    try:
        er7 = Er7.parse(message)
    except ValueError as exc:
        return _reject([AckIssue("100", f"message illisible : {exc}", "MSH^1")])
    control_id = er7.field("MSH", 10)
    msg_type = er7.components(er7.field("MSH", 9))
    kind, event = ([*msg_type, "", ""])[:2]
    if not control_id:
        return _reject([AckIssue("101", "MSH-10 (identifiant du message) absent", "MSH^1^10")], "", event)
    if er7.field("MSH", 11)[:1] not in ("P", "T", "D"):
        return _reject(
            [AckIssue("202", f"MSH-11 '{er7.field('MSH', 11)}' non supporté (P, T ou D)", "MSH^1^11")],
            control_id,
            event,
        )
    if (kind, event) in DOCUMENT_TYPES:
        return _check_document_message(er7, control_id, kind, event)
    if kind != "ADT" or not (event in MOVEMENT_EVENTS or event in IDENTITY_EVENTS or event == "A44"):
        code = "200" if kind != "ADT" else "201"
        return _reject([AckIssue(code, f"type de message {kind}^{event} non supporté", "MSH^1^9")], control_id, event)
    if er7.field("MSH", 12) != PAM_VERSION:
        return _reject(
            [AckIssue("203", f"MSH-12 '{er7.field('MSH', 12)}' : attendu {PAM_VERSION}", "MSH^1^12")], control_id, event
        )
    issues = _check_adt(er7, event)
    code = "AE" if any(i.severity == "E" for i in issues) else "AA"
    return Judgement(code, issues, control_id, event)


def _check_adt(er7: Er7, event: str) -> list[AckIssue]:
    issues: list[AckIssue] = []
    if er7.field("MSH", 21).split(er7.repetition)[0] != PAM_CONFORMANCE:
        issues.append(AckIssue("101", f"MSH-21 doit valoir {PAM_CONFORMANCE}", "MSH^1^21"))
    charset = er7.field("MSH", 18)
    if charset and charset not in ("8859/15", "UNICODE UTF-8"):
        issues.append(AckIssue("103", f"MSH-18 '{charset}' : attendu 8859/15 ou UNICODE UTF-8", "MSH^1^18"))
    if er7.segment("EVN") is None:
        issues.append(AckIssue("100", "segment EVN absent", "EVN"))
    pid = er7.segment("PID")
    if pid is None:
        issues.append(AckIssue("100", "segment PID absent", "PID"))
        return issues
    issues += _check_pid(er7, pid, event)
    if event in MOVEMENT_EVENTS:
        issues += _check_movement(er7, event)
    if event in ("A40", "A47") and er7.segment("MRG") is None:
        issues.append(AckIssue("100", f"segment MRG absent dans {event}", "MRG"))
    return issues


def _check_pid(er7: Er7, pid: list[str], event: str) -> list[AckIssue]:
    issues: list[AckIssue] = []
    pid3 = er7.field("PID", 3, pid)
    if not pid3:
        issues.append(AckIssue("101", "PID-3 (identifiants du patient) absent", "PID^1^3"))
    if not er7.field("PID", 5, pid):
        issues.append(AckIssue("101", "PID-5 (nom du patient) absent", "PID^1^5"))
    status = er7.field("PID", 32, pid).split(er7.repetition)[0]
    for rep in pid3.split(er7.repetition) if pid3 else []:
        cx = er7.components(rep) + [""] * 6
        if cx[4] != "INS" or cx[0] in ("", '""'):
            continue
        oid = cx[3].split("&")[1] if "&" in cx[3] else cx[3]
        if oid not in INS_AUTHORITIES:
            issues.append(
                AckIssue("103", f"PID-3 : autorité d'affectation '{oid}' inconnue pour un INS", "PID^1^3^1^4")
            )
        elif status != "VALI":
            # S1 §6.6.15: integrate the message, drop the INS (a warning, not a rejection)
            issues.append(
                AckIssue("103", f"INS reçu sans identité qualifiée (PID-32 = '{status}') : INS ignoré", "PID^1^32", "W")
            )
        elif not er7.field("PID", 7, pid) or not er7.field("PID", 8, pid):
            issues.append(AckIssue("101", "PID-7 et PID-8 sont obligatoires avec un INS qualifié", "PID^1^7"))
    return issues


def _check_movement(er7: Er7, event: str) -> list[AckIssue]:
    issues: list[AckIssue] = []
    if not er7.field("PID", 18):
        issues.append(AckIssue("101", "PID-18 (numéro de dossier administratif) obligatoire en ITI-31", "PID^1^18"))
    if er7.segment("PV1") is None:
        issues.append(AckIssue("100", "segment PV1 absent", "PV1"))
    elif not er7.field("PV1", 19):
        issues.append(AckIssue("101", "PV1-19 (numéro de venue) obligatoire en ITI-31", "PV1^1^19"))
    zbe = er7.segment("ZBE")
    if zbe is None:
        issues.append(AckIssue("100", f"segment ZBE obligatoire dans {event} (mouvement ITI-31)", "ZBE"))
        return issues
    action = er7.field("ZBE", 4, zbe)
    expected = "UPDATE" if event == "Z99" else ("CANCEL" if event in CANCEL_EVENTS else "INSERT")
    if not er7.field("ZBE", 1, zbe):
        issues.append(AckIssue("101", "ZBE-1 (identifiant du mouvement) absent", "ZBE^1^1"))
    if not er7.field("ZBE", 2, zbe):
        issues.append(AckIssue("101", "ZBE-2 (date du mouvement) absente", "ZBE^1^2"))
    if action != expected:
        issues.append(AckIssue("103", f"ZBE-4 '{action}' : attendu {expected} pour {event}", "ZBE^1^4"))
    if er7.field("ZBE", 5, zbe) not in ("Y", "N"):
        issues.append(AckIssue("103", "ZBE-5 doit valoir Y ou N", "ZBE^1^5"))
    if action in ("CANCEL", "UPDATE") and not er7.field("ZBE", 6, zbe):
        issues.append(AckIssue("101", "ZBE-6 (événement d'origine) obligatoire pour CANCEL / UPDATE", "ZBE^1^6"))
    if not er7.field("ZBE", 9, zbe):
        issues.append(AckIssue("101", "ZBE-9 (nature du mouvement) absente", "ZBE^1^9"))
    return issues


def _check_document_message(er7: Er7, control_id: str, kind: str, event: str) -> Judgement:
    issues: list[AckIssue] = []
    if er7.segment("PID") is None:
        issues.append(AckIssue("100", "segment PID absent", "PID"))
    documents = [s for s in er7.all("OBX") if len(s) > 2 and s[2] == "ED"]
    document = (
        next((s for s in documents if not er7.components(s[3])[0].startswith("CORPSMAIL")), None) if documents else None
    )
    if document is None:
        issues.append(AckIssue("100", "aucun OBX de type ED portant le document", "OBX"))
    else:
        value = er7.components(document[5] if len(document) > 5 else "") + [""] * 5
        if value[3] != "Base64":
            issues.append(
                AckIssue("102", f"OBX-5.4 '{value[3]}' : le document CDA doit être encodé en Base64", "OBX^1^5^1^4")
            )
        else:
            try:
                data = base64.b64decode(value[4], validate=True)
                if b"ClinicalDocument" not in data[:4000]:
                    issues.append(AckIssue("102", "OBX-5.5 ne contient pas de document CDA", "OBX^1^5^1^5"))
            except ValueError:
                issues.append(AckIssue("102", "OBX-5.5 n'est pas du Base64 valide", "OBX^1^5^1^5"))
    code = "AE" if any(i.severity == "E" for i in issues) else "AA"
    return Judgement(code, issues, control_id, event)


# ----------------------------------------------------------------------------------------------- ACK


def build_ack(message: str, judgement: Judgement, *, faults: frozenset[str] = frozenset()) -> str:
    """An original-mode ACK: MSH (sender/receiver swapped), MSA, one ERR per issue."""
    try:
        er7 = Er7.parse(message)
        msh = er7.segment("MSH") or []
    except ValueError:
        er7, msh = None, []

    def f(n: int) -> str:
        return msh[n] if n < len(msh) else ""

    code = judgement.ack_code
    issues = judgement.issues
    if "ack-aa-for-defective" in faults:
        code, issues = "AA", []
    if "ack-no-err" in faults and code != "AA":
        issues = []
    acked_id = judgement.control_id
    if "ack-wrong-msa2" in faults:
        acked_id = f"{acked_id}0" if acked_id else "0"
    # The ACK speaks a version this receiver supports: the message's own when supported, PAM FR's otherwise.
    version = f(12) if f(12) in (PAM_VERSION, "2.5", "2.6") else PAM_VERSION
    charset = f(18) or "UNICODE UTF-8"
    event = judgement.event or "A01"
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                f(5) or "REFERENCE",
                f(6) or "HOPEN",
                f(3),
                f(4),
                hl7_now(),
                "",
                f"ACK^{event}^ACK",
                next_control_id("ACK"),
                f(11) or "P",
                version,
                "",
                "",
                "",
                "",
                "FRA",
                charset,
            ]
        ),
        f"MSA|{code}|{acked_id}",
    ]
    for issue in issues:
        severity = issue.severity if code != "AA" or issue.severity == "W" else "W"
        text = issue.text.replace("|", "/").replace("^", " ").replace("~", " ").replace("&", "et")
        segments.append(f"ERR||{issue.location}|{issue.code}^{_table_0357(issue.code)}^HL70357|{severity}||||{text}")
    return "\r".join(segments) + "\r"


def _table_0357(code: str) -> str:
    return {
        "100": "Segment sequence error",
        "101": "Required field missing",
        "102": "Data type error",
        "103": "Table value not found",
        "200": "Unsupported message type",
        "201": "Unsupported event code",
        "202": "Unsupported processing id",
        "203": "Unsupported version id",
        "207": "Application internal error",
    }.get(code, "Application error")


def parse_ack(ack: str) -> tuple[str, str]:
    """(MSA-1, MSA-2) of an ACK; ("", "") when it has no MSA."""
    try:
        er7 = Er7.parse(ack)
    except ValueError:
        return "", ""
    return er7.field("MSA", 1), er7.field("MSA", 2)


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
            oid = p.ins_system.removeprefix("urn:oid:")
            if "ins-wrong-oid" in self.faults:
                oid = "1.2.250.1.213.1.4.2"  # the legacy INS-C authority
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
        oid = p.ins_system.removeprefix("urn:oid:")
        if "ins-wrong-oid" in self.faults:
            oid = "1.2.250.1.213.1.4.2"
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
        """PRT sender (SB) after the document OBX, then the required MetaDMPMSS OBX groups in order (S4 §6e-f)."""
        data = self.test_data
        practitioner = data.resources.get(f"Practitioner/{data.practitioner_id}", {})
        name = (practitioner.get("name") or [{}])[0]
        given = (name.get("given") or [""])[0]
        sender = (
            f"PRT||UC||SB^Send by^participation|{data.practitioner_idnps}^{name.get('family', '')}^{given}"
            "^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
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
