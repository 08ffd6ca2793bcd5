"""Where the seeded faults act in the reference MSSanté system (reference/mssante/system.py): one hook class per
fault, each overriding the hook points of `MssFault` it needs (every default is the conformant behaviour);
`MssFaultHooks` calls the active faults' hooks in turn. The registry (reference/faults.py) names each fault.

Hook points of the client: `client_tls` (how it verifies the operator and what it offers), `smtp_auth`,
`smtp_plaintext_first` / `imap_plaintext_first` (a command tried in clear before STARTTLS), `archives` (the
IHE_XDM archives attached), `patient_address`, `message` (the headers and parts), `raw_message` (the bytes built). Of the receiving system:
`integration_code` (the 900-906 code reported for a defect found, None: integrated all the same) and
`mdn_structured` (an RFC 8098 report, or a plain e-mail).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import ClassVar

from conformance.reference.document_faults import tamper_xdm_hash
from conformance.reference.test_data import TestData
from conformance.transport.smtp import SmtpAuth
from conformance.validation.cda.xdm_build import build_xdm
from conformance.validation.mssante.build import CdaFacts, MessageSpec, retarget_cda


@dataclass(frozen=True)
class ClientTls:
    """What the client's TLS checks and offers."""

    check_issuer: bool = True  # the operator certificate chains to the MSSanté CA
    check_dates: bool = True  # and is within its validity period
    legacy_versions: bool = False  # TLS 1.0/1.1 accepted
    listed_ciphers_only: bool = True  # only the ECDHE-RSA suites MSSanté allows on TLS 1.2


class MssFault:
    """The conformant behaviour at every hook point; a fault overrides the points where it acts."""

    def client_tls(self, tls: ClientTls) -> ClientTls:
        return tls

    def smtp_auth(self, auth: SmtpAuth, password: str) -> SmtpAuth:
        return auth

    def smtp_plaintext_first(self, plaintext_first: bool) -> bool:
        return plaintext_first

    def imap_plaintext_first(self, plaintext_first: bool) -> bool:
        return plaintext_first

    def archives(self, archives: list[bytes], cda: bytes, facts: CdaFacts, data: TestData) -> list[bytes]:
        return archives

    def patient_address(self, address: str, facts: CdaFacts, data: TestData) -> str:
        return address

    def message(self, spec: MessageSpec) -> MessageSpec:
        return spec

    def raw_message(self, data: bytes) -> bytes:
        """The message as built, before it is sent."""
        return data

    def integration_code(self, code: str, defect: str) -> str | None:
        """`code`: what a conformant receiver reports for `defect` (two-patients, hash, ins-incomplete,
        unknown-patient, ins-mismatch); None: the document is integrated all the same."""
        return code

    def mdn_structured(self, structured: bool) -> bool:
        """Whether the notification of a successful integration is an RFC 8098 report."""
        return structured


class MssFaultHooks(MssFault):
    """The active faults' hooks, called in turn (each sees what the previous one returned)."""

    def __init__(self, faults: Iterable[MssFault] = ()) -> None:
        self.faults = tuple(faults)

    def client_tls(self, tls: ClientTls) -> ClientTls:
        for fault in self.faults:
            tls = fault.client_tls(tls)
        return tls

    def smtp_auth(self, auth: SmtpAuth, password: str) -> SmtpAuth:
        for fault in self.faults:
            auth = fault.smtp_auth(auth, password)
        return auth

    def smtp_plaintext_first(self, plaintext_first: bool) -> bool:
        for fault in self.faults:
            plaintext_first = fault.smtp_plaintext_first(plaintext_first)
        return plaintext_first

    def imap_plaintext_first(self, plaintext_first: bool) -> bool:
        for fault in self.faults:
            plaintext_first = fault.imap_plaintext_first(plaintext_first)
        return plaintext_first

    def archives(self, archives: list[bytes], cda: bytes, facts: CdaFacts, data: TestData) -> list[bytes]:
        for fault in self.faults:
            archives = fault.archives(archives, cda, facts, data)
        return archives

    def patient_address(self, address: str, facts: CdaFacts, data: TestData) -> str:
        for fault in self.faults:
            address = fault.patient_address(address, facts, data)
        return address

    def message(self, spec: MessageSpec) -> MessageSpec:
        for fault in self.faults:
            spec = fault.message(spec)
        return spec

    def raw_message(self, data: bytes) -> bytes:
        for fault in self.faults:
            data = fault.raw_message(data)
        return data

    def integration_code(self, code: str, defect: str) -> str | None:
        answer: str | None = code
        for fault in self.faults:
            if answer is None:
                break
            answer = fault.integration_code(answer, defect)
        return answer

    def mdn_structured(self, structured: bool) -> bool:
        for fault in self.faults:
            structured = fault.mdn_structured(structured)
        return structured


# -- the client: transport and TLS


class PlaintextFirst(MssFault):
    def smtp_plaintext_first(self, plaintext_first: bool) -> bool:
        return True


class ImapPlaintextFirst(MssFault):
    def imap_plaintext_first(self, plaintext_first: bool) -> bool:
        return True


class AuthPlain(MssFault):
    def smtp_auth(self, auth: SmtpAuth, password: str) -> SmtpAuth:
        return SmtpAuth("PLAIN", auth.user, password)


class TlsLegacyAccepted(MssFault):
    def client_tls(self, tls: ClientTls) -> ClientTls:
        return replace(tls, legacy_versions=True)


class TlsAnyCipher(MssFault):
    def client_tls(self, tls: ClientTls) -> ClientTls:
        return replace(tls, listed_ciphers_only=False)


class TlsExpiredAccepted(MssFault):
    def client_tls(self, tls: ClientTls) -> ClientTls:
        return replace(tls, check_dates=False)


class TlsAnyCa(MssFault):
    def client_tls(self, tls: ClientTls) -> ClientTls:
        return replace(tls, check_issuer=False)


# -- the client: the message


class _Changed(MssFault):
    """A message whose spec differs from the conformant one by `changes`."""

    changes: ClassVar[dict[str, object]] = {}

    def message(self, spec: MessageSpec) -> MessageSpec:
        return replace(spec, **self.changes)  # type: ignore[arg-type]


class MessageIdMissing(_Changed):
    changes: ClassVar[dict[str, object]] = {"message_id": False}


class FromNoDisplay(_Changed):
    changes: ClassVar[dict[str, object]] = {"sender_name": ""}


class ReplyToMissing(_Changed):
    changes: ClassVar[dict[str, object]] = {"reply_to": None}


class NilMissing(_Changed):
    changes: ClassVar[dict[str, object]] = {"nil": None}


class InsHeaderWrong(_Changed):
    changes: ClassVar[dict[str, object]] = {"ins_header": "OUI"}


class CodecdaWrong(_Changed):
    changes: ClassVar[dict[str, object]] = {"codecda": "11488-4"}


class MdnNotRequested(_Changed):
    changes: ClassVar[dict[str, object]] = {"mdn_to": None}


class PdfNameWrong(_Changed):
    changes: ClassVar[dict[str, object]] = {"pdf_name": "compte-rendu.pdf"}


class SubjectWrong(MssFault):
    def message(self, spec: MessageSpec) -> MessageSpec:
        return replace(spec, subject=spec.subject.removeprefix("XDM/1.0/DDM+"))


class Latin1Text(MssFault):
    def message(self, spec: MessageSpec) -> MessageSpec:
        return replace(spec, text_charset="iso-8859-1", text=spec.text + "Réponse attendue à l'hôpital.\n")


class BodyHtml(MssFault):
    def raw_message(self, data: bytes) -> bytes:
        message = email.message_from_bytes(data, policy=email.policy.SMTP)
        body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        body.set_type("text/html")
        return message.as_bytes(policy=email.policy.SMTP)


class XdmHash(MssFault):
    def archives(self, archives: list[bytes], cda: bytes, facts: CdaFacts, data: TestData) -> list[bytes]:
        return [tamper_xdm_hash(a) for a in archives]


class TwoPatients(MssFault):
    def archives(self, archives: list[bytes], cda: bytes, facts: CdaFacts, data: TestData) -> list[bytes]:
        other = next(p for p in data.patients if p.qualified and p.ins != facts.ins)
        second = retarget_cda(
            cda, ins=other.ins, oid=facts.ins_oid, family=other.family, given=other.given, birth_date=other.birth_date
        )
        return [*archives, build_xdm([second])]


class PatientAddressIpp(MssFault):
    def patient_address(self, address: str, facts: CdaFacts, data: TestData) -> str:
        ipp = next(p for p in data.patients if p.ins == facts.ins).ipp
        return f"{ipp}@patient.mssante.fr"


# -- the receiving system


class ReceiverAcceptsUnknown(MssFault):
    def integration_code(self, code: str, defect: str) -> str | None:
        return None if defect == "unknown-patient" else code


class ReceiverIgnoresInsMismatch(MssFault):
    def integration_code(self, code: str, defect: str) -> str | None:
        return None if defect == "ins-mismatch" else code


class ReceiverGenericCode(MssFault):
    def integration_code(self, code: str, defect: str) -> str | None:
        return "906" if defect == "ins-incomplete" else code


class ReceiverIntegratesTwoPatients(MssFault):
    def integration_code(self, code: str, defect: str) -> str | None:
        return None if defect == "two-patients" else code


class ReceiverIgnoresHash(MssFault):
    def integration_code(self, code: str, defect: str) -> str | None:
        return None if defect == "hash" else code


class MdnNotReport(MssFault):
    def mdn_structured(self, structured: bool) -> bool:
        return False
