"""The reference MSSanté system: a conformant client that submits a real CI-SIS document in an IHE_XDM archive
to its operator (the harness), and a conformant receiving system that integrates inbound documents and sends
back disposition notifications (MDN) with the 900-906 integration codes. Seeded faults (reference.faults,
`mss-*`) each break one behaviour.

    system = ReferenceMssSystem(test_data, faults).start()        # the inbound SMTP server is up
    system.operator_ready(host, port, ca_file, token)            # where to submit (documents and MDNs)
    result = system.submit_document(host, port, ca_file, token)  # one document message, now
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from conformance.reference.faults import mss_hooks
from conformance.reference.mssante.faults import ClientTls
from conformance.reference.test_data import TestData
from conformance.transport.smtp import (
    MSSANTE_CIPHERS,
    ReceivedMail,
    SmtpAuth,
    SmtpOperator,
    SmtpServerOptions,
    SubmitResult,
    set_versions,
    submit,
    tls_server_context,
)
from conformance.validation.cda.header import INS_OIDS
from conformance.validation.cda.xdm import read_archive
from conformance.validation.mssante.build import (
    MessageSpec,
    build_message,
    cda_facts,
    minimal_pdf,
    pdf_name_for,
    subject_for,
)
from conformance.validation.mssante.mdn import build_mdn
from conformance.validation.mssante.message import read_message

log = logging.getLogger(__name__)

SENDER = "plateforme-documents@hopital-reference.mssante.test"
SENDER_NAME = "Hôpital de référence – Plateforme documentaire"
REPLY_TO = "secretariat-cardiologie@hopital-reference.mssante.test"
PROFESSIONAL = "dr.correspondant@cabinet-reference.mssante.test"
INBOUND = "integration@hopital-reference.mssante.test"
NIL = "DEV000000"
USER = SENDER
PASSWORD = "reference-password"  # the PLAIN credentials of the mss-auth-plain fault (a test fixture)


@dataclass
class Operator:
    host: str
    port: int
    ca_file: Path
    token: str


CONFORMANT_TLS = ClientTls()


def client_context(ca_file: Path, tls: ClientTls = CONFORMANT_TLS) -> tuple[ssl.SSLContext, object]:
    """The client's TLS context and a post-handshake check (None or a callable raising to abort)."""
    ca_pem = Path(ca_file).read_bytes()
    if not (tls.check_dates and tls.check_issuer):  # the certificate is checked by hand, in part
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(":".join(MSSANTE_CIPHERS))
        return ctx, lambda sock: _manual_check(sock, ca_pem, check_issuer=tls.check_issuer, check_dates=tls.check_dates)
    ctx = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    if tls.legacy_versions:
        set_versions(ctx, ssl.TLSVersion.TLSv1)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        return ctx, _listed_cipher_on_tls12
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.listed_ciphers_only:
        ctx.set_ciphers(":".join(MSSANTE_CIPHERS))
    return ctx, None


def _listed_cipher_on_tls12(sock: ssl.SSLSocket) -> None:
    cipher = sock.cipher()
    if sock.version() == "TLSv1.2" and cipher and cipher[0] not in MSSANTE_CIPHERS:
        raise ssl.SSLError(f"cipher {cipher[0]} not allowed")


def _manual_check(sock: ssl.SSLSocket, ca_pem: bytes, *, check_issuer: bool, check_dates: bool) -> None:
    der = sock.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("no server certificate")
    cert = x509.load_der_x509_certificate(der)
    if check_issuer:
        try:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
        except Exception as exc:
            raise ssl.SSLError(f"untrusted issuer: {exc}") from None
    if check_dates:
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ssl.SSLError("certificate outside its validity period")


class ReferenceMssSystem:
    def __init__(self, data: TestData, faults: frozenset[str] = frozenset(), *, host: str = "127.0.0.1") -> None:
        self.data = data
        self.faults = faults
        self.hooks = mss_hooks(faults)
        self.host = host
        self.operator: Operator | None = None
        self.inbound: SmtpOperator | None = None
        self.submissions: list[SubmitResult] = []
        self.mdns_sent: list[tuple[str, str | None]] = []  # (original Message-ID, error code)
        self.notifications: list[bytes] = []  # fetched over IMAP
        self._pki = None
        self._lock = threading.Lock()

    # -- lifecycle
    def start(self, pki=None) -> ReferenceMssSystem:
        from conformance.reference.mssante.pki import generate_mss_pki

        self._pki = pki or generate_mss_pki()
        context = tls_server_context(*self._pki.server)
        self.inbound = SmtpOperator(
            SmtpServerOptions(
                host=self.host,
                hostname="mx.hopital-reference.mssante.test",
                tls_context=context,
                require_auth=False,
                mechanisms=(),
                idle_timeout=15.0,
                on_mail=self._integrate_async,
            )
        ).start()
        return self

    def stop(self) -> None:
        if self.inbound is not None:
            self.inbound.stop()
            self.inbound = None
        if self._pki is not None:
            self._pki.cleanup()
            self._pki = None

    @property
    def inbound_address(self) -> tuple[str, int]:
        if self.inbound is None:
            raise RuntimeError("the reference MSSanté system is not started")
        return self.inbound.host, self.inbound.port

    @property
    def inbound_ca(self) -> Path:
        if self._pki is None:
            raise RuntimeError("the reference MSSanté system is not started")
        return self._pki.ca_cert

    def operator_ready(self, host: str, port: int, ca_file: Path, token: str) -> None:
        self.operator = Operator(host, port, Path(ca_file), token)

    # -- the client
    def document_message(self) -> tuple[bytes, list[str]]:
        """The message this client sends (bytes) and its envelope recipients."""
        hooks = self.hooks
        cda = self.data.cda_bytes
        facts = cda_facts(cda)
        from conformance.validation.cda.xdm_build import build_xdm

        archives = hooks.archives([build_xdm([cda])], cda, facts, self.data)
        patient_address = hooks.patient_address(f"{facts.ins}@patient.mssante.fr", facts, self.data)
        spec = MessageSpec(
            sender=SENDER,
            sender_name=SENDER_NAME,
            recipients=[PROFESSIONAL, patient_address],
            archives=archives,
            subject=subject_for(facts),
            nil=NIL,
            ins_header="O",
            codecda=facts.code,
            reply_to=REPLY_TO,
            mdn_to=SENDER,
            pdf=minimal_pdf(f"{facts.title} - {facts.family} {facts.given}"),
            pdf_name=pdf_name_for(facts, "Lettre de liaison"),
        )
        spec = hooks.message(spec)
        return hooks.raw_message(build_message(spec)), spec.recipients

    def submit_document(self, host: str, port: int, ca_file: Path, token: str) -> SubmitResult:
        data, recipients = self.document_message()
        return self._submit(host, port, ca_file, token, data, recipients, mail_from=SENDER)

    def _submit(
        self, host: str, port: int, ca_file: Path, token: str, data: bytes, recipients: list[str], *, mail_from: str
    ) -> SubmitResult:
        context, check = client_context(ca_file, self.hooks.client_tls(CONFORMANT_TLS))
        auth = self.hooks.smtp_auth(SmtpAuth("XOAUTH2", USER, token), PASSWORD)
        result = submit(
            host,
            port,
            data,
            mail_from=mail_from,
            rcpt_tos=recipients,
            ssl_context=context,
            auth=auth,
            plaintext_first=self.hooks.smtp_plaintext_first(False),
            after_tls=check,  # type: ignore[arg-type]
        )
        with self._lock:
            self.submissions.append(result)
        return result

    def fetch_notifications(self, host: str, port: int, ca_file: Path, user: str, password: str) -> list[bytes]:
        """Poll the mailbox over IMAP with STARTTLS: every unseen message (the notifications) is fetched."""
        import imaplib

        context, check = client_context(ca_file, self.hooks.client_tls(CONFORMANT_TLS))
        fetched: list[bytes] = []
        client = imaplib.IMAP4(host, port, timeout=10)
        try:
            if self.hooks.imap_plaintext_first(False):  # a defective client: LOGIN in clear, refused
                with contextlib.suppress(imaplib.IMAP4.error):
                    client.login(user, password)
            client.starttls(ssl_context=context)
            if check is not None:
                check(client.sock)  # type: ignore[operator]
            client.login(user, password)
            client.select("INBOX")
            _, found = client.search(None, "UNSEEN")
            for number in (found[0] or b"").split():
                _, parts = client.fetch(number, "(RFC822)")
                fetched.extend(p[1] for p in parts if isinstance(p, tuple))
            client.logout()
        finally:
            with contextlib.suppress(Exception):
                client.shutdown()
        with self._lock:
            self.notifications.extend(fetched)
        return fetched

    # -- the receiving system
    def _integrate_async(self, mail: ReceivedMail) -> None:
        threading.Thread(target=self._integrate, args=(mail,), daemon=True, name="reference-mss-integrate").start()

    def _integrate(self, mail: ReceivedMail) -> None:
        try:
            code = self.integration_code(mail.data)
            self._send_mdn(mail.data, code)
        except Exception:  # the reference must never die on a hostile message; no MDN then
            log.exception("reference MSSanté receiver: integration failed")

    def integration_code(self, raw: bytes) -> str | None:
        """None when the document is integrated, else the 900-906 code the receiver reports."""
        hooks = self.hooks
        message = read_message(raw)
        if not message.archives or not all(a.readable for a in message.archives):
            return "906"
        if len({pid for pid, _ in message.patients}) != 1:
            code = hooks.integration_code("906", "two-patients")
            if code is not None:
                return code
        if not all(_hashes_match(a.data) for a in message.xdm_archives):
            code = hooks.integration_code("906", "hash")
            if code is not None:
                return code
        (ins, oid), *_ = sorted(message.patients)
        if len(ins) != 15 or oid not in INS_OIDS:
            return hooks.integration_code("905", "ins-incomplete")
        known = next((p for p in self.data.patients if p.qualified and p.ins == ins), None)
        if known is None:
            return hooks.integration_code("902", "unknown-patient")
        facts = _archive_cda_facts(message.xdm_archives[0].data)
        if facts is not None:
            same = (
                facts.family.upper() == known.family.upper()
                and facts.given.upper() == known.given.upper()
                and facts.birth_date == known.birth_date.replace("-", "")
            )
            if not same:
                return hooks.integration_code("904", "ins-mismatch")
        return None

    def _send_mdn(self, original: bytes, code: str | None) -> None:
        message = read_message(original)
        if message.header("Disposition-Notification-To") is None or self.operator is None:
            return
        structured = code is not None or self.hooks.mdn_structured(True)
        mdn = build_mdn(original, reporting_address=INBOUND, error_code=code, structured=structured)
        to = re.findall(r"[^<>\s,]+@[^<>\s,]+", message.header("Disposition-Notification-To") or "")
        op = self.operator
        context, check = client_context(op.ca_file)
        result = submit(
            op.host,
            op.port,
            mdn,
            mail_from=INBOUND,
            rcpt_tos=to[:1],
            ssl_context=context,
            auth=SmtpAuth("XOAUTH2", INBOUND, op.token),
            after_tls=check,  # type: ignore[arg-type]
        )
        with self._lock:
            self.mdns_sent.append((message.header("Message-ID") or "", code))
            self.submissions.append(result)


def _hashes_match(archive: bytes) -> bool:
    """Each DocumentEntry's declared SHA-1 is its document's (the integration refuses a corrupt archive)."""
    from lxml import etree

    from conformance.validation.cda.xdm import NS

    files = read_archive(archive).files
    for path, content in files.items():
        if not path.upper().endswith("METADATA.XML"):
            continue
        root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        folder = path.rpartition("/")[0]
        for entry in root.iter(f"{{{NS['rim']}}}ExtrinsicObject"):
            uri = entry.findtext("rim:Slot[@name='URI']/rim:ValueList/rim:Value", namespaces=NS) or ""
            declared = entry.findtext("rim:Slot[@name='hash']/rim:ValueList/rim:Value", namespaces=NS) or ""
            document = files.get(f"{folder}/{uri}")
            if document is None or hashlib.sha1(document, usedforsecurity=False).hexdigest() != declared.lower():
                return False
    return True


def _archive_cda_facts(archive: bytes):
    for path, content in read_archive(archive).files.items():
        if path.upper().endswith(".XML") and not path.upper().endswith("METADATA.XML"):
            try:
                return cda_facts(content)
            except Exception:
                continue
    return None
