"""Where the seeded faults act in the reference MLLP peers: the sender's PAM FR messages (reference/pam.py's
factory) and the receiver's acknowledgements. One hook class per fault, each overriding the hook points of
`MllpFault` it needs (every default is the conformant behaviour); `MllpFaultHooks` calls the active faults' hooks
in turn. The registry (reference/faults.py) names each fault and points at its class here.

Hook points of the sender: `patient` (whom the messages are about), `version` (MSH-12), `ins` (the identity whose
INS PID-3 carries, None: no INS), `movement_segments` (the ZBE of a movement), `document` (the CDA carried), `document_obx` (its OBX).
Of the receiver: `ack` (the code, the issues reported in ERR and the control id MSA-2 acknowledges).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from conformance.config import PatientData
from conformance.findings import Finding
from conformance.identifiers import INS_C_OID
from conformance.reference.test_data import TestData
from conformance.validation.hl7v2.build import CdaDocument


@dataclass(frozen=True)
class AckParts:
    code: str  # MSA-1
    issues: tuple[Finding, ...]  # one ERR each
    acknowledges: str  # MSA-2


class MllpFault:
    """The conformant behaviour at every hook point; a fault overrides the points where it acts."""

    def patient(self, patient: PatientData, test_data: TestData) -> PatientData:
        return patient

    def version(self, version: str) -> str:
        return version

    def ins(self, sent: PatientData | None, patient: PatientData) -> PatientData | None:
        """`sent`: the identity a conformant sender puts in PID-3 (None when it is not qualified)."""
        return sent

    def movement_segments(self, segments: list[str]) -> list[str]:
        return segments

    def document(self, document: CdaDocument) -> CdaDocument:
        """The CDA document the MDM and ORU messages carry."""
        return document

    def document_obx(self, obx: str, document: CdaDocument) -> str:
        return obx

    def ack(self, parts: AckParts) -> AckParts:
        return parts


class MllpFaultHooks(MllpFault):
    """The active faults' hooks, called in turn (each sees what the previous one returned)."""

    def __init__(self, faults: Iterable[MllpFault] = ()) -> None:
        self.faults = tuple(faults)

    def patient(self, patient: PatientData, test_data: TestData) -> PatientData:
        for fault in self.faults:
            patient = fault.patient(patient, test_data)
        return patient

    def version(self, version: str) -> str:
        for fault in self.faults:
            version = fault.version(version)
        return version

    def ins(self, sent: PatientData | None, patient: PatientData) -> PatientData | None:
        for fault in self.faults:
            sent = fault.ins(sent, patient)
        return sent

    def movement_segments(self, segments: list[str]) -> list[str]:
        for fault in self.faults:
            segments = fault.movement_segments(segments)
        return segments

    def document(self, document: CdaDocument) -> CdaDocument:
        for fault in self.faults:
            document = fault.document(document)
        return document

    def document_obx(self, obx: str, document: CdaDocument) -> str:
        for fault in self.faults:
            obx = fault.document_obx(obx, document)
        return obx

    def ack(self, parts: AckParts) -> AckParts:
        for fault in self.faults:
            parts = fault.ack(parts)
        return parts


# -- the sender


class InsWrongOid(MllpFault):
    def ins(self, sent: PatientData | None, patient: PatientData) -> PatientData | None:
        return replace(sent, oid=INS_C_OID) if sent is not None else None


class InsUnqualified(MllpFault):
    def patient(self, patient: PatientData, test_data: TestData) -> PatientData:
        return test_data.unqualified_patient

    def ins(self, sent: PatientData | None, patient: PatientData) -> PatientData | None:
        # the INS travels although PID-32 says PROV
        return replace(patient, qualified=True) if patient.ins else sent


class ZbeMissing(MllpFault):
    def movement_segments(self, segments: list[str]) -> list[str]:
        return []


class Msh12Wrong(MllpFault):
    def version(self, version: str) -> str:
        return "2.5"


class DocumentCdaInvalid(MllpFault):
    def document(self, document: CdaDocument) -> CdaDocument:
        # the CDA loses its title (required by the CDA schema and the CI-SIS)
        return replace(document, content=re.sub(rb"<title>.*?</title>", b"", document.content, count=1, flags=re.S))


class OruObxNotBase64(MllpFault):
    def document_obx(self, obx: str, document: CdaDocument) -> str:
        text = document.content.decode("utf-8", "replace").replace("\\", "\\E\\").replace("|", "\\F\\")
        text = text.replace("^", "\\S\\").replace("&", "\\T\\").replace("~", "\\R\\")
        text = text.replace("\r", "").replace("\n", "\\X0A\\")
        return f"OBX|1|ED|{document.type_code}^{document.label}^LN||^TEXT^XML^A^{text}||||||F"


# -- the receiver


class AckWrongMsa2(MllpFault):
    def ack(self, parts: AckParts) -> AckParts:
        return replace(parts, acknowledges=f"{parts.acknowledges}0" if parts.acknowledges else "0")


class AckAaForDefective(MllpFault):
    def ack(self, parts: AckParts) -> AckParts:
        return replace(parts, code="AA", issues=())


class AckNoErr(MllpFault):
    def ack(self, parts: AckParts) -> AckParts:
        return replace(parts, issues=()) if parts.code != "AA" else parts
