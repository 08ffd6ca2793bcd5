"""HL7 v2 helpers for the suites: IHE PAM France 2.11 messages built from the test data, MLLP sending, ACKs.

Message shapes follow IHE PAM France 2.11: MSH-12 `2.5^FRA^2.11`, MSH-21 `2.11^IHE_FRANCE-2.11-PAM`,
MSH-18 `UNICODE UTF-8`; ITI-31 movements (A01, A02, A03, Z99 correction) carry ZBE (ZBE-4 INSERT /
UPDATE with ZBE-6 the original trigger); ITI-30 (A31 update, A40 merge with MRG) carries none; the INS goes
in PID-3 only with PID-32 = VALI. Document transmission (CI-SIS): MDM^T02 (v2.6) and ORU^R01 (v2.5) with
the CDA base64 in OBX-5 (ED), MSH-21 `2.1^CISIS_CDA_HL7_V2`.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.config import PatientData
from conformance.findings import Finding, Outcome
from conformance.identifiers import CISIS_CONFORMANCE, INS_TEST_NIR_OID, PAM_CONFORMANCE, PAM_VERSION
from conformance.validation.hl7v2 import ack as acknowledgements
from conformance.validation.hl7v2 import er7

OK_CODES = frozenset({"AA", "CA"})
REJECT_CODES = frozenset({"AE", "AR", "CE", "CR"})

_counter = itertools.count(1)


def control_id() -> str:
    return f"HC{int(time.time() * 1000) % 10**10:010d}{next(_counter):04d}"


def hl7_now() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S")


def _ins_authority(oid: str) -> str:
    name = "ASIP-SANTE-INS-NIA" if oid.endswith(".9") else "ASIP-SANTE-INS-NIR"
    return f"{name}&{oid}&ISO"


def _gender(value: str) -> str:
    return {"male": "M", "female": "F", "other": "O", "unknown": "U"}.get(value, "U")


@dataclass
class PamContext:
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    facility_id: str = "000000000"


class PamMessageFactory:
    """Builds PAM FR messages for one patient stay. Segments end with CR."""

    def __init__(self, ctx: PamContext, patient: PatientData, *, ipp: str | None = None) -> None:
        self.ctx = ctx
        self.patient = patient
        suffix = f"{next(_counter):04d}"
        self.ipp = ipp or f"HC{patient.ins[-6:]}{suffix}"
        self.nda = f"NDA{patient.ins[-5:]}{suffix}"
        self.visit = f"VN{patient.ins[-5:]}{suffix}"
        self.movements: dict[str, str] = {}

    # ------------------------------------------------------------ segments

    def msh(self, event: str, structure: str, *, version: str = PAM_VERSION, conformance: str = PAM_CONFORMANCE):
        c = self.ctx
        return (
            f"MSH|^~\\&|{c.sending_application}|{c.sending_facility}|{c.receiving_application}|"
            f"{c.receiving_facility}|{hl7_now()}||{event.split('^')[0]}^{event.split('^')[1]}^{structure}|"
            f"{control_id()}|T|{version}|||||FRA|UNICODE UTF-8|FR||{conformance}"
        )

    def evn(self, occurred: str | None = None) -> str:
        return f"EVN||{hl7_now()}||||{occurred or hl7_now()}"

    def pid(self, *, qualified: bool = True, ipp: str | None = None) -> str:
        p = self.patient
        authority = f"{self.ctx.sending_facility}&{self.ctx.facility_id}&M"
        ids = f"{ipp or self.ipp}^^^{authority}^PI"
        if qualified:
            ids += f"~{p.ins}^^^{_ins_authority(p.oid or INS_TEST_NIR_OID)}^INS"
        birth = p.birth_date.replace("-", "")
        status = "VALI" if qualified else "PROV"
        pid = [""] * 33
        pid[0] = "PID"
        pid[1] = "1"
        pid[3] = ids
        pid[5] = f"{p.family}^{p.given}^{p.given}^^^^L"
        pid[7] = birth
        pid[8] = _gender(p.gender)
        pid[18] = f"{self.nda}^^^{authority}^AN"
        pid[32] = status
        return "|".join(pid)

    def pv1(self, *, patient_class: str = "I", location: str = "CHIR", discharge: str = "") -> str:
        authority = f"{self.ctx.sending_facility}&{self.ctx.facility_id}&M"
        pv1 = [""] * 46
        pv1[0] = "PV1"
        pv1[1] = "1"
        pv1[2] = patient_class
        pv1[3] = f"{location}^^^{authority}^O"
        pv1[19] = f"{self.visit}^^^{authority}^VN"
        pv1[44] = self.movements.get("admit_time", hl7_now())
        pv1[45] = discharge
        return "|".join(pv1)

    def zbe(self, movement_id: str, *, action: str = "INSERT", original: str = "", nature: str = "HMS") -> str:
        uf = f"UF {self.ctx.sending_facility}^^^^^{self.ctx.sending_facility}&{self.ctx.facility_id}&M^UF^^^1001"
        return f"ZBE|{movement_id}^{self.ctx.sending_facility}|{hl7_now()}||{action}|N|{original}|{uf}|{uf}|{nature}"

    def _movement(self, event: str) -> str:
        movement = f"MV{next(_counter):06d}"
        self.movements[event] = movement
        return movement

    @staticmethod
    def join(*segments: str) -> str:
        return "\r".join(segments) + "\r"

    # ------------------------------------------------------------ ITI-31 movements (with ZBE)

    def admit(self) -> str:
        self.movements["admit_time"] = hl7_now()
        return self.join(
            self.msh("ADT^A01", "ADT_A01"), self.evn(), self.pid(), self.pv1(), self.zbe(self._movement("A01"))
        )

    def transfer(self, new_location: str = "MED") -> str:
        return self.join(
            self.msh("ADT^A02", "ADT_A02"),
            self.evn(),
            self.pid(),
            self.pv1(location=new_location),
            self.zbe(self._movement("A02"), nature="H"),
        )

    def discharge(self) -> str:
        return self.join(
            self.msh("ADT^A03", "ADT_A03"),
            self.evn(),
            self.pid(),
            self.pv1(location="MED", discharge=hl7_now()),
            self.zbe(self._movement("A03")),
        )

    def correct_admission(self) -> str:
        """Z99 correcting the admission movement: ZBE-4 UPDATE, ZBE-6 = A01 (the movement's trigger)."""
        movement = self.movements.get("A01") or self._movement("A01")
        return self.join(
            self.msh("ADT^Z99", "ADT_A01"),
            self.evn(),
            self.pid(),
            self.pv1(),
            self.zbe(movement, action="UPDATE", original="A01", nature="C"),
        )

    # ------------------------------------------------------------ ITI-30 identity (no ZBE)

    def update_patient(self) -> str:
        pv1 = "PV1|1|N"
        return self.join(self.msh("ADT^A31", "ADT_A05"), self.evn(), self.pid(), pv1)

    def merge_into(self, duplicate_ipp: str) -> str:
        """A40: the duplicate identifier (MRG-1) is merged into this patient (PID-3)."""
        authority = f"{self.ctx.sending_facility}&{self.ctx.facility_id}&M"
        mrg = f"MRG|{duplicate_ipp}^^^{authority}^PI"
        return self.join(self.msh("ADT^A40", "ADT_A39"), self.evn(), self.pid(), mrg)

    # ------------------------------------------------------------ defective messages

    def admit_without_zbe(self) -> str:
        return self.join(self.msh("ADT^A01", "ADT_A01"), self.evn(), self.pid(), self.pv1())

    def admit_with_unsupported_version(self) -> str:
        msh = self.msh("ADT^A01", "ADT_A01", version="2.1")
        return self.join(msh, self.evn(), self.pid(), self.pv1(), self.zbe(self._movement("A01")))

    def admit_without_pid(self) -> str:
        return self.join(self.msh("ADT^A01", "ADT_A01"), self.evn(), self.pv1(), self.zbe(self._movement("A01")))

    # ------------------------------------------------------------ CI-SIS document transmission

    def mdm_t02(self, cda: bytes, document_id: str) -> str:
        content = base64.b64encode(cda).decode("ascii")
        msh = self.msh("MDM^T02", "MDM_T02", version="2.6", conformance=CISIS_CONFORMANCE)
        return self.join(
            msh,
            self.evn(),
            self.pid(),
            self.pv1(),
            f"ORC|NW|{document_id}",
            f"OBR|1|{document_id}||11488-4^Compte rendu de consultation^LN",
            f"TXA|1|11488-4^Compte rendu de consultation^LN|TX|{hl7_now()}|||||||{document_id}||||||AU",
            f"OBX|1|ED|11488-4^Compte rendu de consultation^LN||^TEXT^XML^Base64^{content}||||||F",
        )

    def oru_r01(self, cda: bytes, document_id: str) -> str:
        content = base64.b64encode(cda).decode("ascii")
        msh = self.msh("ORU^R01", "ORU_R01", version="2.5", conformance=CISIS_CONFORMANCE)
        return self.join(
            msh,
            self.pid(),
            self.pv1(),
            f"ORC|NW|{document_id}",
            f"OBR|1|{document_id}|{document_id}|11488-4^Compte rendu de consultation^LN|||{hl7_now()}",
            f"OBX|1|ED|11488-4^Compte rendu de consultation^LN||^TEXT^XML^Base64^{content}||||||F",
        )


# ---------------------------------------------------------------- reading and acknowledgements


def segments(message: str) -> list[list[str]]:
    """The fields of each segment (fields[n] is SEG-n, MSH-1 included); [] when `message` is not ER7."""
    try:
        return [segment.fields for segment in er7.parse(message).segments]
    except er7.Er7Error:
        return []


def field(message: str, segment: str, index: int) -> str:
    """Field `index` of the first `segment` (MSH-10 is index 10); '' when absent or unreadable."""
    try:
        found = er7.parse(message).first(segment)
    except er7.Er7Error:
        return ""
    return found.field(index) if found else ""


def check_ack(sent: str, ack: str, expected: set[str] | frozenset[str], lang: str = "fr") -> Outcome:
    """Judge `ack` as the system's response to `sent` (messages in `lang`)."""
    return acknowledgements.check_ack(sent, ack, expected=set(expected), lang=lang)


def make_ack(message: str, code: str = "AA", findings: Iterable[Finding] = (), lang: str = "fr") -> str:
    return acknowledgements.make_ack(message, code, findings, lang=lang)


# ---------------------------------------------------------------- sending


class MllpSender:
    """The `mllp_client` fixture: sends to the system's receiver with the configured timeouts and TLS."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.host = state.config.mllp.host
        self.port = state.config.mllp.port

    def _ssl_context(self):
        if not self.state.config.mllp.tls:
            return None
        from conformance.transport.http import build_ssl_context

        return build_ssl_context(self.state.config.tls)

    def send(self, message: str) -> str:
        """Send one message, return the ACK. MllpError subclasses on faults (the test is then an ERROR)."""
        from conformance.campaign.session import CurrentTestSink
        from conformance.transport.mllp import send_and_receive

        t = self.state.config.timeouts
        return send_and_receive(
            self.host,
            self.port,
            message,
            timeout=t.read,
            connect_timeout=t.connect,
            ssl_context=self._ssl_context(),
            max_frame=self.state.config.mllp.max_frame_bytes,
            sink=CurrentTestSink(self.state),
        )


class Hl7v2Helpers:
    """The `hl7v2` fixture."""

    def __init__(self, state: Any) -> None:
        self.state = state
        h = state.config.hl7v2
        self.context = PamContext(
            h.sending_application, h.sending_facility, h.receiving_application, h.receiving_facility
        )

    def factory(self, patient: PatientData) -> PamMessageFactory:
        return PamMessageFactory(self.context, patient)

    def validate(self, message: str | bytes, profile: str = "pam-fr-2.11") -> Outcome:
        from conformance.campaign.validators import validate_hl7v2

        return validate_hl7v2(message, self.state.lang, profile=profile)

    def check_ack(self, sent: str, ack: str, expected: set[str] | frozenset[str] = OK_CODES) -> Outcome:
        return check_ack(sent, ack, expected, self.state.lang)

    def make_ack(self, message: str, code: str = "AA", findings: Iterable[Finding] = ()) -> str:
        return make_ack(message, code, findings, self.state.lang)
