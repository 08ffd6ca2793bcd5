"""The MSSanté channel of a campaign: the harness as the system's operator (SMTP submission with STARTTLS),
TLS probes (operators the system must refuse), and the harness as a correspondent (documents sent to the
system's inbound address, MDNs collected on the operator).

The operator starts with the session when an MSSanté suite is selected, so the system can submit while other
suites run. A "peer" makes the system act: the reference system in-process, or `[mssante] trigger_command`
(run with HOPEN_MSS_HOST, HOPEN_MSS_PORT, HOPEN_MSS_CA; bounded by the configured timeouts). Without one,
the harness waits for what the system sends by itself and the probes that need a new submission are skipped.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from conformance.transport.smtp import ReceivedMail, SmtpOperator, SmtpServerOptions, SmtpSession, tls_server_context

MSS_SUITES = frozenset({"mssante-client", "mssante-receiver"})
DEFAULT_TOKEN = "hopen-conformance-psc-test-token"  # accepted when no [mssante.operator] tokens are configured


class MssPeer(Protocol):
    """What makes the system under test act on the MSSanté channel."""

    def operator_ready(self, host: str, port: int, ca_file: Path, token: str) -> None: ...

    def submit_document(self, host: str, port: int, ca_file: Path, token: str) -> Any: ...

    # optional: `fetch_notifications(host, port, ca_file, user, password)` makes the system poll its IMAP now


class CommandPeer:
    """`[mssante] trigger_command`: a command that makes the system submit one document message now."""

    def __init__(self, command: list[str], timeout: float) -> None:
        self.command = command
        self.timeout = timeout

    def operator_ready(self, host: str, port: int, ca_file: Path, token: str) -> None:
        return None

    def submit_document(self, host: str, port: int, ca_file: Path, token: str) -> Any:
        env = dict(os.environ, HOPEN_MSS_HOST=host, HOPEN_MSS_PORT=str(port), HOPEN_MSS_CA=str(ca_file))
        return subprocess.run(self.command, env=env, timeout=self.timeout, capture_output=True, check=False)


@dataclass
class FetchResult:
    """Whether the system fetched the notification the harness put in its IMAP mailbox, and how it logged in."""

    delivered_to: str
    seen: bool
    logins: list[Any]
    plaintext_attempts: int
    log: str
    peer_error: str = ""


@dataclass
class ProbeResult:
    """What the system did against an operator with one TLS defect."""

    probe: str
    sessions: list[SmtpSession]
    mails: list[ReceivedMail]
    peer_error: str = ""


PROBES = ("legacy-tls", "other-cipher", "expired-certificate", "untrusted-ca")


def is_notification(mail: ReceivedMail, correspondent: str) -> bool:
    """A notification for the harness as correspondent (addressed to it), not a document the system sends."""
    return correspondent.lower() in (r.lower() for r in mail.rcpt_tos)


class MssChannel:
    def __init__(self, state: Any, peer: MssPeer | None = None) -> None:
        from conformance.reference.mssante.pki import generate_mss_pki

        self.state = state
        self.cfg = state.config.mssante
        op = self.cfg.operator
        self.pki = generate_mss_pki()
        cert, key = (op.cert, op.key) if op.cert and op.key else self.pki.server
        self.ca_file = self.pki.ca_cert
        self.tokens = frozenset(t.reveal() for t in op.tokens) or frozenset({DEFAULT_TOKEN})
        self.token = next(iter(sorted(self.tokens)))
        self.peer = peer or (
            CommandPeer(self.cfg.trigger_command, state.config.timeouts.total) if self.cfg.trigger_command else None
        )
        self._context = lambda **kw: tls_server_context(
            kw.get("cert", cert),
            kw.get("key", key),
            minimum=kw.get("minimum", op.tls_min),
            maximum=kw.get("maximum", op.tls_max),
            ciphers=kw.get("ciphers", op.ciphers),
            client_ca=op.client_ca or self.pki.ca_cert,
        )
        self.operator = SmtpOperator(self._options(self._context()))
        self.triggered = False
        self._waited = False
        self.trigger_error = ""
        self.sent: dict[str, str] = {}  # Message-ID sent as correspondent -> case
        self._lock = threading.Lock()
        self._correspondence: Correspondence | None = None
        self._imap: Any = None
        self.imap_password = self.cfg.imap.password.reveal() if self.cfg.imap.password else secrets.token_urlsafe(18)

    def correspondence(self) -> Correspondence:
        with self._lock:
            if self._correspondence is None:
                self._correspondence = Correspondence(self)
            return self._correspondence

    def _options(self, context) -> SmtpServerOptions:
        op = self.cfg.operator
        return SmtpServerOptions(
            host=op.host,
            port=op.port,
            tls_context=context,
            tokens=self.tokens,
            passwords={user: secret.reveal() for user, secret in op.passwords.items()},
            max_message_bytes=op.max_message_bytes,
            max_connections=op.max_connections,
            max_connection_bytes=op.max_connection_bytes,
            max_total_bytes=op.max_total_bytes,
            idle_timeout=op.idle_timeout,
        )

    def start(self) -> MssChannel:
        self.operator.start()
        if self.peer is not None:
            self.peer.operator_ready(self.operator.host, self.operator.port, self.ca_file, self.token)
        return self

    def stop(self) -> None:
        self.operator.stop()
        if self._imap is not None:
            self._imap.stop()
            self._imap = None
        self.pki.cleanup()

    # -- IMAP: the notifications the system must fetch
    def imap(self) -> Any:
        """The harness's Dovecot, started on first use (ImapUnavailable when it cannot run)."""
        from conformance.transport.imap import DovecotImap

        with self._lock:
            if self._imap is None:
                imap_cfg, op = self.cfg.imap, self.cfg.operator
                cert, key = (op.cert, op.key) if op.cert and op.key else self.pki.server
                self._imap = DovecotImap(
                    cert,
                    key,
                    {imap_cfg.user: self.imap_password},
                    host=imap_cfg.host,
                    port=imap_cfg.port,
                    max_connections=imap_cfg.max_connections,
                    idle_timeout=op.idle_timeout,
                ).start()
            return self._imap

    def fetch_notification(self, document: ReceivedMail) -> FetchResult:
        """Deliver the MDN of one document the system sent to its IMAP mailbox; wait until it is fetched."""
        from conformance.validation.mssante import build_mdn

        imap = self.imap()
        user = self.cfg.imap.user
        reporter = next((r for r in document.rcpt_tos if "@" in r), "destinataire@mssante.test")
        name = imap.deliver(user, build_mdn(document.data, reporting_address=reporter))
        error = ""
        fetch = getattr(self.peer, "fetch_notifications", None)
        if fetch is not None:
            try:
                fetch(imap.host, imap.port, self.ca_file, user, self.imap_password)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        seen = imap.wait_seen(user, name, self.cfg.wait_seconds)
        return FetchResult(
            f"{user} ({imap.host}:{imap.port})", seen, imap.logins(), imap.plaintext_attempts(), imap.log(), error
        )

    def _is_mdn(self, mail: ReceivedMail) -> bool:
        return is_notification(mail, self.cfg.correspondent.from_address)

    # -- the system as client
    def documents(self) -> list[ReceivedMail]:
        """The document messages the system submitted (MDNs aside): triggers the peer once, then waits."""
        with self._lock:
            if not self.triggered and self.peer is not None:
                self.triggered = True
                try:
                    self.peer.submit_document(self.operator.host, self.operator.port, self.ca_file, self.token)
                except Exception as exc:
                    self.trigger_error = f"{type(exc).__name__}: {exc}"
        wanted = self.cfg.expect_messages
        # the system gets its waiting time once; later tests judge what came (without waiting again)
        self.operator.wait_for(
            timeout=self.cfg.wait_seconds if not self._waited else 0.0,
            predicate=lambda: sum(1 for m in self.operator.mails if not self._is_mdn(m)) >= wanted,
        )
        self._waited = True
        return [m for m in self.operator.mails if not self._is_mdn(m)]

    def sessions(self) -> list[SmtpSession]:
        return self.operator.sessions_snapshot()

    def probe(self, name: str, wait: float = 5.0) -> ProbeResult:
        """An operator with one TLS defect on a new port; the peer submits to it; what happened."""
        if self.peer is None:
            raise LookupError("no peer")
        kwargs = {
            "legacy-tls": {"minimum": "1.0", "maximum": "1.1", "ciphers": ()},
            "other-cipher": {"minimum": "1.2", "maximum": "1.2", "ciphers": ("ECDHE-RSA-CHACHA20-POLY1305",)},
            "expired-certificate": {"cert": self.pki.expired[0], "key": self.pki.expired[1]},
            "untrusted-ca": {"cert": self.pki.untrusted[0], "key": self.pki.untrusted[1]},
        }[name]
        options = self._options(self._context(**kwargs))
        options.port = 0
        probe_operator = SmtpOperator(options).start()
        error = ""
        try:
            try:
                self.peer.submit_document(probe_operator.host, probe_operator.port, self.ca_file, self.token)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:  # until every session the system opened has ended
                sessions = probe_operator.sessions_snapshot()
                if sessions and all(s.ended is not None for s in sessions):
                    break
                time.sleep(0.05)
            return ProbeResult(name, probe_operator.sessions_snapshot(), list(probe_operator.mails), error)
        finally:
            probe_operator.stop()

    # -- the system as receiver
    def mdns_for(self, message_id: str, timeout: float) -> list[ReceivedMail]:
        def matching() -> list[ReceivedMail]:
            return [m for m in self.operator.mails if self._is_mdn(m) and message_id.encode() in m.data]

        self.operator.wait_for(timeout=timeout, predicate=lambda: bool(matching()), quiet=0.2)
        return matching()


def start_mss_channel(state: Any, force: bool = False) -> MssChannel | None:
    if getattr(state, "mss", None) is not None:
        return state.mss
    if not force and not (MSS_SUITES & set(state.suites or [])):
        return None
    channel = MssChannel(state, peer=getattr(state, "mss_peer", None)).start()
    state.mss = channel
    return channel


# ---------------------------------------------------------------- the harness as correspondent

CASES = ("conformant", "unknown-patient", "ins-mismatch", "ins-incomplete", "two-patients", "broken-hash")
UNKNOWN_NIR13 = "1991299999998"  # a well-formed test NIR that no configured identity carries


@dataclass
class Sent:
    case: str
    message_id: str
    result: Any
    data: bytes


class Correspondence:
    """Sends one conformant and five defective document messages to the system's inbound address at once."""

    def __init__(self, channel: MssChannel) -> None:
        self.channel = channel
        self.cfg = channel.cfg.correspondent
        self.sent: dict[str, Sent] = {}

    def messages(self) -> dict[str, bytes]:
        from conformance import settings
        from conformance.reference.documents import tamper_xdm_hash
        from conformance.validation.cda.xdm_build import build_xdm
        from conformance.validation.mssante.build import (
            MessageSpec,
            build_message,
            cda_facts,
            minimal_pdf,
            pdf_name_for,
            retarget_cda,
            subject_for,
        )

        data = self.channel.state.config.test_data
        qualified = [p for p in data.patients if p.qualified and p.ins]
        if not qualified:
            raise LookupError("no qualified patient")
        path = data.cda_document or settings.cda_pack_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"
        template = Path(path).read_bytes()
        first = qualified[0]

        def cda(ins: str, family: str, given: str, birth: str, oid: str = first.oid) -> bytes:
            return retarget_cda(template, ins=ins, oid=oid, family=family, given=given, birth_date=birth)

        own = cda(first.ins, first.family, first.given, first.birth_date)
        unknown_ins = UNKNOWN_NIR13 + f"{97 - int(UNKNOWN_NIR13) % 97:02d}"
        other = next((p for p in qualified[1:]), None)
        second = (
            cda(other.ins, other.family, other.given, other.birth_date)
            if other
            else cda(unknown_ins, "AUTRE", "PATIENT", "1970-01-01")
        )
        archives = {
            "conformant": [build_xdm([own])],
            "unknown-patient": [build_xdm([cda(unknown_ins, "INCONNU-TEST", "ALEX", "1970-01-01")])],
            "ins-mismatch": [build_xdm([cda(first.ins, "AUTRE-NOM", "CLAUDE", "1960-02-03")])],
            "ins-incomplete": [build_xdm([cda(first.ins[:13], first.family, first.given, first.birth_date)])],
            "two-patients": [build_xdm([own]), build_xdm([second])],
            "broken-hash": [tamper_xdm_hash(build_xdm([own]))],
        }
        facts = cda_facts(own)
        out = {}
        for case, case_archives in archives.items():
            spec = MessageSpec(
                sender=self.cfg.from_address,
                sender_name="Banc hopen-conformance – correspondant",
                recipients=[self.cfg.address],
                archives=case_archives,
                subject=subject_for(facts),
                codecda=facts.code,
                reply_to=self.cfg.from_address,
                mdn_to=self.cfg.from_address,
                pdf=minimal_pdf(facts.title),
                pdf_name=pdf_name_for(facts, "Document"),
                extra_headers={"X-Hopen-Case": case},
            )
            out[case] = build_message(spec)
        return out

    def send_all(self) -> dict[str, Sent]:
        import email
        import email.policy
        import ssl

        from conformance.transport.smtp import submit

        if self.sent:
            return self.sent
        ca = self.cfg.ca_bundle
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        timeout = self.channel.state.config.timeouts.read
        for case, data in self.messages().items():
            message_id = str(
                email.message_from_bytes(data, policy=email.policy.default).get("Message-ID") or ""
            ).strip()
            result = submit(
                str(self.cfg.host),
                int(self.cfg.port or 25),
                data,
                mail_from=self.cfg.from_address,
                rcpt_tos=[self.cfg.address],
                ssl_context=context,
                timeout=timeout,
            )
            self.sent[case] = Sent(case, message_id, result, data)
        return self.sent

    def notification(self, case: str) -> tuple[Sent, list[ReceivedMail]]:
        sent = self.send_all()[case]
        if not sent.result.ok:
            return sent, []
        return sent, self.channel.mdns_for(sent.message_id, self.cfg.wait_seconds)
