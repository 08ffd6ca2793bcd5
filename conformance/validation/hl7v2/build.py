"""PAM France 2.11 and CI-SIS document messages: the one message factory (the campaign's sender and the
reference peers build their messages here).

Shapes: MSH-12 `2.5^FRA^2.11`, MSH-21 `2.11^IHE_FRANCE-2.11-PAM`, MSH-18 `UNICODE UTF-8`; ITI-31 movements
(A01, A02, A03, Z99 correction) carry ZBE (ZBE-4 INSERT / UPDATE with ZBE-6 the original trigger); ITI-30
(A28 create, A31 update, A40 merge with MRG) carries none. The INS goes in PID-3 only with PID-32 = VALI,
with the birth place (PID-11, XAD-7 = BDL, XAD-9 = INSEE code) that a qualified INS requires (PAM FR §6.6.6).
Document transmission (CI-SIS): MDM^T02 (v2.6) and ORU^R01 (v2.5) with the CDA in Base64 in OBX-5 (ED),
TXA-12 the unique document number, the sender in PRT (SB) and the MetaDMPMSS OBX groups in the volet's order,
MSH-21 `2.1^CISIS_CDA_HL7_V2`. Segments end with CR.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from conformance.config import PatientData
from conformance.identifiers import (
    CISIS_CONFORMANCE,
    IDNPS_AUTHORITY,
    INS_AUTHORITY_NAMES,
    PAM_CONFORMANCE,
    PAM_VERSION,
)

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def control_id(prefix: str = "HC") -> str:
    """A message control id (MSH-10, at most 20 characters): prefix, milliseconds, a process-wide counter."""
    with _counter_lock:
        number = next(_counter)
    return f"{prefix[:4]}{int(time.time() * 1000) % 10**10:010d}{number % 10**6:06d}"


def hl7_now() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S")


def hl7_gender(value: str) -> str:
    """FHIR administrative gender -> HL7 table 0001."""
    return {"male": "M", "female": "F", "other": "O", "unknown": "U"}.get(value, "U")


def birth_place_of_ins(ins: str) -> str:
    """The INSEE code of the birth place a NIR or NIA encodes (characters 6-10: the commune, or 99 + the
    country for a birth abroad); '' when `ins` is not one."""
    return ins[5:10] if len(ins) == 15 and ins[:1] in "1278" else ""


@dataclass(frozen=True, slots=True)
class PamContext:
    """Who sends to whom."""

    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    facility_id: str = "000000000"  # FINESS of the sending facility (HD universal id of the identifiers)
    control_prefix: str = "HC"


@dataclass(frozen=True, slots=True)
class DocumentSender:
    """The health professional named as the document's sender (PRT-4 = SB)."""

    idnps: str  # idNatPs (8 + RPPS)
    family: str = ""
    given: str = ""


@dataclass(frozen=True, slots=True)
class CdaDocument:
    content: bytes
    unique_id: str  # TXA-12: the document's unique number
    type_code: str = "11488-4"  # LOINC
    label: str = "Compte rendu de consultation"


METADATA_FLAGS = (  # the MetaDMPMSS OBX groups, in the volet's order, with the values sent
    ("MASQUE_PS", "Masqué aux professionnels de Santé", "N"),
    ("INVISIBLE_PATIENT", "Document Non Visible par le patient", "N"),
    ("INVISIBLE_REP_LEGAUX", "Non visible par les représentants Légaux du patient", "N"),
    ("CONNEXION_SECRETE", "Connexion Secrete", "N"),
    ("MODIF_CONF_CODE", "Modification Confidentiality Code", "N"),
    ("DESTDMP", "Destinataire DMP", "Y"),  # N when no sender is known: DESTDMP = Y requires the PRT (SB)
    ("DESTMSSANTEPS", "Destinataire (Professionnel de Santé, organisation ou BAL applicative)", "N"),
    ("DESTMSSANTEPAT", "Destinataire Patient", "N"),
)


def join(*segments: str) -> str:
    return "\r".join(segments) + "\r"


class PamMessageFactory:
    """Messages about one patient's stay (one account number, one visit number)."""

    version = PAM_VERSION  # MSH-12 of the ADT messages

    def __init__(
        self,
        ctx: PamContext,
        patient: PatientData,
        *,
        account: str,
        visit: str,
        sender: DocumentSender | None = None,
    ) -> None:
        self.ctx = ctx
        self.patient = patient
        self.account = account
        self.visit = visit
        self.sender = sender
        self.movements: dict[str, str] = {}

    @property
    def ipp(self) -> str:
        return self.patient.ipp or ""

    @property
    def authority(self) -> str:
        """The facility as assigning authority (HD: namespace & FINESS & M)."""
        return f"{self.ctx.sending_facility}&{self.ctx.facility_id}&M"

    # ------------------------------------------------------------ segments

    def msh(
        self, kind: str, event: str, structure: str, *, version: str = "", conformance: str = PAM_CONFORMANCE
    ) -> str:
        c = self.ctx
        fields = [
            "MSH",
            "^~\\&",
            c.sending_application,
            c.sending_facility,
            c.receiving_application,
            c.receiving_facility,
            hl7_now(),
            "",
            f"{kind}^{event}^{structure}",
            control_id(c.control_prefix),
            "T",
            version or self.version,
            *[""] * 4,
            "FRA",
            "UNICODE UTF-8",
            "FR",
            "",
            conformance,
        ]
        return "|".join(fields)

    def evn(self) -> str:
        now = hl7_now()
        return f"EVN||{now}||||{now}"

    def ins_cx(self, patient: PatientData) -> str:
        """The INS repetition of PID-3, '' when the INS must not travel (identity not qualified)."""
        if not (patient.qualified and patient.ins):
            return ""
        oid = patient.oid
        return f"{patient.ins}^^^{INS_AUTHORITY_NAMES.get(oid, 'INS-C')}&{oid}&ISO^INS"

    def pid(self, *, with_account: bool = True, ipp: str = "") -> str:
        p = self.patient
        ids = [f"{ipp or p.ipp or ''}^^^{self.authority}^PI"]
        ins = self.ins_cx(p)
        if ins:
            ids.append(ins)
        fields = [""] * 33
        fields[0] = "PID"
        fields[1] = "1"
        fields[3] = "~".join(ids)
        fields[5] = f"{p.family}^{p.given}^{p.given}^^^^L"
        fields[7] = p.birth_date.replace("-", "")
        fields[8] = hl7_gender(p.gender)
        place = p.birth_place or birth_place_of_ins(p.ins)
        if ins and place:
            fields[11] = f"^^{p.birth_city}^^^^BDL^^{place}"
        fields[18] = f"{self.account}^^^{self.authority}^AN" if with_account else ""
        fields[32] = "VALI" if p.qualified else "PROV"
        return "|".join(fields)

    def pv1(self, *, patient_class: str = "I", unit: str = "4420", discharge: str = "") -> str:
        fields = [""] * 46
        fields[0] = "PV1"
        fields[1] = "1"
        fields[2] = patient_class
        fields[3] = f"{unit}^^^{self.authority}^O"
        fields[4] = "R"
        fields[19] = f"{self.visit}^^^{self.authority}^VN"
        fields[44] = self.movements.get("admit_time", "")
        fields[45] = discharge
        return "|".join(fields).rstrip("|")

    def zbe(self, movement_id: str, *, action: str = "INSERT", original: str = "", nature: str = "HMS") -> str:
        uf = f"Médecine^^^^^{self.authority}^UF^^^4420"
        facility = f"{self.ctx.sending_facility}^{self.ctx.facility_id}"
        return f"ZBE|{movement_id}^{facility}|{hl7_now()}||{action}|N|{original}|{uf}|{uf}|{nature}"

    def movement_segments(self, movement_id: str, **zbe: str) -> list[str]:
        """The ZBE of a movement message (a list: a message without it is built by leaving it out)."""
        return [self.zbe(movement_id, **zbe)]

    def _new_movement(self, event: str) -> str:
        movement = f"MV{control_id('')[-8:]}"
        self.movements[event] = movement
        return movement

    def _adt_movement(self, event: str, structure: str, pv1: str, **zbe: str) -> str:
        movement = self.movements.get("A01", "") if event == "Z99" else self._new_movement(event)
        return join(self.msh("ADT", event, structure), self.evn(), self.pid(), pv1,
                    *self.movement_segments(movement or self._new_movement("A01"), **zbe))  # fmt: skip

    # ------------------------------------------------------------ ITI-31 movements (with ZBE)

    def admit(self) -> str:
        self.movements["admit_time"] = hl7_now()
        return self._adt_movement("A01", "ADT_A01", self.pv1())

    def transfer(self, unit: str = "4421") -> str:
        return self._adt_movement("A02", "ADT_A02", self.pv1(unit=unit), nature="H")

    def discharge(self) -> str:
        return self._adt_movement("A03", "ADT_A03", self.pv1(unit="4421", discharge=hl7_now()))

    def correct_admission(self) -> str:
        """Z99 correcting the admission movement: ZBE-4 UPDATE, ZBE-6 = A01 (the movement's trigger)."""
        return self._adt_movement("Z99", "ADT_A01", self.pv1(), action="UPDATE", original="A01", nature="C")

    # ------------------------------------------------------------ ITI-30 identity (no ZBE)

    def create_patient(self) -> str:
        return join(self.msh("ADT", "A28", "ADT_A05"), self.evn(), self.pid(with_account=False), "PV1|1|N")

    def update_patient(self) -> str:
        return join(self.msh("ADT", "A31", "ADT_A05"), self.evn(), self.pid(with_account=False), "PV1|1|N")

    def merge_into(self, duplicate_ipp: str) -> str:
        """A40: the duplicate identifier (MRG-1) is merged into this patient (PID-3)."""
        mrg = f"MRG|{duplicate_ipp}^^^{self.authority}^PI"
        return join(self.msh("ADT", "A40", "ADT_A39"), self.evn(), self.pid(with_account=False), mrg)

    # ------------------------------------------------------------ defective messages (a receiver answers AE/AR)

    def admit_without_zbe(self) -> str:
        return join(self.msh("ADT", "A01", "ADT_A01"), self.evn(), self.pid(), self.pv1())

    def admit_without_account(self) -> str:
        return join(self.msh("ADT", "A01", "ADT_A01"), self.evn(), self.pid(with_account=False), self.pv1(),
                    self.zbe(self._new_movement("A01")))  # fmt: skip

    def admit_without_pid(self) -> str:
        return join(self.msh("ADT", "A01", "ADT_A01"), self.evn(), self.pv1(), self.zbe(self._new_movement("A01")))

    def admit_with_unsupported_version(self, version: str = "2.1") -> str:
        msh = self.msh("ADT", "A01", "ADT_A01", version=version)
        return join(msh, self.evn(), self.pid(), self.pv1(), self.zbe(self._new_movement("A01")))

    def admit_as_event(self, event: str = "A08") -> str:
        """An admission under another trigger event (A08 is excluded from PAM FR)."""
        msh = self.msh("ADT", event, "ADT_A01")
        return join(msh, self.evn(), self.pid(), self.pv1(), self.zbe(self._new_movement("A01")))

    # ------------------------------------------------------------ CI-SIS document transmission

    def document_obx(self, document: CdaDocument) -> str:
        content = base64.b64encode(document.content).decode("ascii")
        return f"OBX|1|ED|{document.type_code}^{document.label}^LN||^TEXT^XML^Base64^{content}||||||F"

    def _document_tail(self, document: CdaDocument, coded_type: str) -> list[str]:
        """The document OBX, the sender PRT (SB) and the MetaDMPMSS OBX groups."""
        segments = [self.document_obx(document)]
        if self.sender is not None:
            s = self.sender
            segments.append(
                f"PRT||UC||SB^Send by^participation|{s.idnps}^{s.family}^{s.given}^^^^^^{IDNPS_AUTHORITY}^D^^^IDNPS"
            )
        flags = [(code, label, "N" if code == "DESTDMP" and self.sender is None else flag)
                 for code, label, flag in METADATA_FLAGS]  # fmt: skip
        segments += [
            f"OBX|{index}|{coded_type}|{code}^{label}^MetaDMPMSS||{flag}^^expandedYes-NoIndicator||||||F"
            for index, (code, label, flag) in enumerate(flags, start=2)
        ]
        return segments

    def _document_pv1(self) -> str:
        return f"PV1|1|I|4420^^^{self.authority}^O" + "|" * 16 + f"{self.visit}^^^{self.authority}^VN"

    def mdm_t02(self, document: CdaDocument) -> str:
        return join(
            self.msh("MDM", "T02", "MDM_T02", version="2.6", conformance=CISIS_CONFORMANCE),
            self.evn(),
            self.pid(),
            self._document_pv1(),
            "ORC|NW",
            f"OBR|1|||{document.type_code}^{document.label}^LN",
            f"TXA|1|{document.type_code}|TEXT|{hl7_now()}||||||||{document.unique_id}|||||AU",
            *self._document_tail(document, "CWE"),
        )

    def oru_r01(self, document: CdaDocument) -> str:
        return join(
            self.msh("ORU", "R01", "ORU_R01", version="2.5", conformance=CISIS_CONFORMANCE),
            self.pid(),
            self._document_pv1(),
            "ORC|NW",
            f"OBR|1|||{document.type_code}^{document.label}^LN",
            *self._document_tail(document, "CE"),
        )
