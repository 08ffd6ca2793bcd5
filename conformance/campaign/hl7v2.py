"""HL7 v2 helpers for the suites: PAM FR and CI-SIS messages about the configured test patients (built by
the package's message factory, `validation.hl7v2.build`), MLLP sending, ACKs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from conformance.config import PatientData
from conformance.findings import Finding, Outcome
from conformance.validation.hl7v2 import ack as acknowledgements
from conformance.validation.hl7v2 import er7
from conformance.validation.hl7v2.build import DocumentSender, PamContext, PamMessageFactory

OK_CODES = frozenset({"AA", "CA"})
REJECT_CODES = frozenset({"AE", "AR", "CE", "CR"})

_stays = itertools.count(1)


def stay_factory(ctx: PamContext, patient: PatientData, sender: DocumentSender | None = None) -> PamMessageFactory:
    """Messages about a new stay of `patient`: a fresh IPP, account and visit number each time, so that one
    test's messages never collide with another's at the system under test."""
    suffix = f"{next(_stays):04d}"
    identity = replace(patient, ipp=f"HC{patient.ins[-6:]}{suffix}")
    return PamMessageFactory(
        ctx, identity, account=f"NDA{patient.ins[-5:]}{suffix}", visit=f"VN{patient.ins[-5:]}{suffix}", sender=sender
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


def ins_in_pid3(message: str) -> list[tuple[str, str]]:
    """(value, authority OID) of each PID-3 repetition of identifier type INS."""
    pid = next((s for s in segments(message) if s and s[0] == "PID"), None)
    if pid is None or len(pid) <= 3:
        return []
    found = []
    for repetition in pid[3].split("~"):
        components = repetition.split("^")
        if len(components) > 4 and components[4] == "INS":
            authority = components[3].split("&")
            found.append((components[0], authority[1] if len(authority) > 1 else ""))
    return found


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
        rpps = self.state.config.test_data.practitioners
        sender = DocumentSender(f"8{rpps[0]}") if rpps else None  # the documents' sender: idNatPs = 8 + RPPS
        return stay_factory(self.context, patient, sender)

    def validate(self, message: str | bytes, profile: str = "pam-fr-2.11") -> Outcome:
        from conformance.campaign.validators import validate_hl7v2

        return validate_hl7v2(message, self.state.lang, profile=profile)

    def check_ack(self, sent: str, ack: str, expected: set[str] | frozenset[str] = OK_CODES) -> Outcome:
        return check_ack(sent, ack, expected, self.state.lang)

    def make_ack(self, message: str, code: str = "AA", findings: Iterable[Finding] = ()) -> str:
        return make_ack(message, code, findings, self.state.lang)
