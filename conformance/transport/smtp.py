"""SMTP for the MSSanté channel: a bounded submission server (the harness as operator) and a submission client.

The server is aiosmtpd on its own event loop thread. It requires STARTTLS before any mail command (when a TLS
context is given), offers SASL XOAUTH2 (bearer token) and PLAIN, can ask for a client certificate, and bounds
everything through the shared `ListenerGuard` (transport/limits.py): concurrent connections, bytes per connection
and over the listener's life (what it received is kept in memory), message bytes, idle time per command; it binds
127.0.0.1 unless configured. A spent byte budget is the harness's limit: `guard.exhaustion` names it and
`wait_for` raises `ListenerExhausted`, so whatever judges the traffic is inconclusive, never failed. The connection
cap is the operator's announced limit: refused sessions are recorded (`refused-flood`) for the suites to judge. Each connection leaves a
`SmtpSession` record (TLS facts, authentication, commands refused, why it ended) and each accepted message a
`ReceivedMail` (envelope, raw bytes, the session's TLS and authentication facts), so a test can judge what the
system did, including what it tried and was refused.

    operator = SmtpOperator(SmtpServerOptions(tls_context=ctx, tokens={"abc"})).start()
    ... the system submits to operator.host:operator.port ...
    mails = operator.wait_for(count=1, timeout=10)
    operator.stop()

`submit(...)` is the client side (reference systems, the harness as correspondent): smtplib with STARTTLS and
XOAUTH2 or PLAIN; it returns what happened instead of raising.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import smtplib
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from conformance.transport.limits import (
    DEFAULT_BIND_HOST,
    DEFAULT_MAX_CONNECTION_BYTES,
    DEFAULT_MAX_TOTAL_BYTES,
    Admission,
    ConnectionLimitReached,
    ListenerExhausted,
    ListenerGuard,
    ListenerLimits,
    peer_host,
)

# aiosmtpd logs a traceback for every failed TLS handshake; the session record says it instead
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

# ECO.1.1.3 (secondary source): the four ECDHE-RSA suites an MSSanté client may negotiate
MSSANTE_CIPHERS = (
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-RSA-AES128-SHA256",
)
TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def set_versions(ctx: ssl.SSLContext, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion | None = None) -> None:
    """Set the version range; TLS 1.0/1.1 are deprecated in Python, and offered here on purpose (probes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum


def tls_server_context(
    cert: Any,
    key: Any,
    *,
    minimum: str = "1.2",
    maximum: str = "1.2",
    ciphers: Iterable[str] = MSSANTE_CIPHERS,
    client_ca: Any = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """A server context offering exactly the given TLS versions and (TLS <= 1.2) cipher suites.

    Versions below 1.2 need OpenSSL's security level 0: the harness offers them on purpose, to see a client
    refuse them. With `client_ca`, a client certificate from that CA is asked for (optional: the session
    record says whether one came, and the tests judge)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    low = TLS_VERSIONS[minimum]
    set_versions(ctx, low, TLS_VERSIONS[maximum])
    suites = ":".join(ciphers)
    if low < ssl.TLSVersion.TLSv1_2:
        suites = (suites or "DEFAULT") + ":@SECLEVEL=0"
    if suites:
        ctx.set_ciphers(suites)
    ctx.load_cert_chain(str(cert), str(key), password=password)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(str(client_ca))
    return ctx


@dataclass
class SmtpSession:
    """What one connection did. `events` are short codes in order (e.g. 'mail-before-starttls')."""

    id: int
    peer: str
    started: float
    ended: float | None = None
    starttls: bool = False
    tls_version: str | None = None
    tls_cipher: str | None = None
    tls_error: str | None = None
    client_cert_subject: str | None = None
    auth_mechanism: str | None = None
    auth_identity: str | None = None
    auth_ok: bool = False
    events: list[str] = field(default_factory=list)
    end_reason: str = ""  # quit | timeout | closed | refused-flood | tls-failed | budget
    messages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class ReceivedMail:
    session: SmtpSession
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    data: bytes
    received_at: float

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class SmtpServerOptions:
    host: str = DEFAULT_BIND_HOST
    port: int = 0
    hostname: str = "operateur.mssante.test"
    tls_context: ssl.SSLContext | None = None
    require_starttls: bool = True
    require_auth: bool = True
    mechanisms: tuple[str, ...] = ("XOAUTH2", "PLAIN")
    tokens: frozenset[str] = frozenset()  # accepted XOAUTH2 bearer tokens
    passwords: dict[str, str] = field(default_factory=dict)  # accepted PLAIN/LOGIN credentials
    token_check: Callable[[str, str], bool] | None = None  # (user, token) -> accepted; overrides `tokens`
    accept_client_cert: bool = True  # a verified client certificate authenticates the session (APP mailboxes)
    max_message_bytes: int = 30 * 1024 * 1024
    max_connections: int = 16
    max_connection_bytes: int = DEFAULT_MAX_CONNECTION_BYTES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    idle_timeout: float = 30.0
    on_mail: Callable[[ReceivedMail], None] | None = None  # called in the server thread: must not block


def _xoauth2_parts(text: bytes) -> tuple[str, str] | None:
    """(user, token) from a decoded XOAUTH2 response (`user=U^Aauth=Bearer T^A^A`), None if malformed."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields_: dict[str, str] = {}
    for part in decoded.split("\x01"):
        if "=" in part:
            name, _, value = part.partition("=")
            fields_[name] = value
    auth = fields_.get("auth", "")
    if "user" not in fields_ or not auth.lower().startswith("bearer "):
        return None
    return fields_["user"], auth[7:].strip()


def _initial_response(arg: str) -> bytes | None:
    try:
        return base64.b64decode(arg, validate=True)
    except ValueError:
        return None


class _Handler:
    def __init__(self, operator: SmtpOperator) -> None:
        self.operator = operator

    async def auth_XOAUTH2(self, server: _BoundedSMTP, args: list[str]) -> AuthResult:
        record = server.mss_record
        record.auth_mechanism = "XOAUTH2"
        # the initial response (SASL-IR) comes base64-encoded; challenge_auth decodes what follows a 334
        blob: Any = (
            _initial_response(args[1]) if len(args) > 1 else await server.challenge_auth("", encode_to_b64=False)
        )
        if not isinstance(blob, bytes):
            return AuthResult(success=False, handled=False)
        parts = _xoauth2_parts(blob)
        if parts is None:
            record.events.append("auth-malformed")
            return AuthResult(success=False, handled=False, message="501 5.5.2 Malformed XOAUTH2 response")
        user, token = parts
        record.auth_identity = user
        options = self.operator.options
        ok = options.token_check(user, token) if options.token_check else token in options.tokens
        record.auth_ok = ok
        if not ok:
            record.events.append("auth-refused")
        return AuthResult(success=ok, handled=False, auth_data=user)

    async def handle_MAIL(
        self, server: _BoundedSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        record = server.mss_record
        if self.operator.options.require_auth and not session.authenticated and not self._cert_authenticated(record):
            record.events.append("mail-without-auth")
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    def _cert_authenticated(self, record: SmtpSession) -> bool:
        if self.operator.options.accept_client_cert and record.client_cert_subject:
            record.auth_mechanism = record.auth_mechanism or "client-certificate"
            record.auth_identity = record.auth_identity or record.client_cert_subject
            return True
        return False

    async def handle_DATA(self, server: _BoundedSMTP, session: Session, envelope: Envelope) -> str:
        record = server.mss_record
        record.messages += 1
        mail = ReceivedMail(
            session=record,
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            mail_options=list(envelope.mail_options),
            data=bytes(envelope.original_content or b""),
            received_at=time.time(),
        )
        self.operator._received(mail)
        return "250 2.0.0 Message accepted"


def _subject_text(cert: dict[str, Any] | None) -> str | None:
    if not cert:
        return None
    parts = [f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn]
    return ", ".join(parts) or "(sans sujet)"


class _BoundedSMTP(SMTP):
    """aiosmtpd's SMTP with a record per connection, admitted and charged by the operator's ListenerGuard."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._operator = handler.operator
        self._mss_record: SmtpSession | None = None
        self._admission: Admission | None = None
        self._spent = False

    @property
    def mss_record(self) -> SmtpSession:
        """This connection's record, opened when the connection was made (before any command)."""
        if self._mss_record is None:
            raise RuntimeError("SMTP command before the connection's record was opened")
        return self._mss_record

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._mss_record is None
        if first:
            peer = transport.get_extra_info("peername")
            self._mss_record = self._operator._open_session(f"{peer[0]}:{peer[1]}" if peer else "?")
            self._admission = self._operator.guard.admit(peer_host(peer))
            if self._admission is None:
                self._mss_record.end_reason = "refused-flood"
                self._mss_record.ended = time.time()
                if isinstance(transport, asyncio.WriteTransport):
                    with contextlib.suppress(Exception):
                        transport.write(b"421 4.7.0 Too many connections, try later\r\n")
                transport.close()
                return
        super().connection_made(transport)
        if not first and self.session is not None and self.session.ssl is not None:
            self._note_tls()

    def _note_tls(self) -> None:
        record = self._mss_record
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport else None
        if record is None or ssl_object is None:
            return
        record.starttls = True
        record.tls_version = ssl_object.version()
        cipher = ssl_object.cipher()
        record.tls_cipher = cipher[0] if cipher else None
        with contextlib.suppress(ValueError):
            record.client_cert_subject = _subject_text(ssl_object.getpeercert())

    def data_received(self, data: bytes) -> None:
        """Every byte the peer sends (after STARTTLS: decrypted) is charged; past a budget the connection ends."""
        if self._spent:
            return
        if self._admission is not None:
            try:
                self._operator.guard.charge(self._admission, len(data))
            except ListenerExhausted as exc:
                self._spent = True
                if self._mss_record is not None:
                    self._mss_record.end_reason = "budget"
                    self._mss_record.events.append("budget-exceeded")
                if self.transport is not None:
                    if isinstance(self.transport, asyncio.WriteTransport):
                        with contextlib.suppress(Exception):
                            self.transport.write(f"421 4.3.0 {exc.en}\r\n".encode())
                    self.transport.close()
                return
        super().data_received(data)

    def connection_lost(self, error: Exception | None) -> None:
        record = self._mss_record
        if self._admission is not None:
            self._operator.guard.release(self._admission)
            self._admission = None
            if record is not None and not record.end_reason:
                record.end_reason = "closed"
        if record is not None and record.ended is None:
            record.ended = time.time()
            self._operator._changed_notify()
        if self.session is not None and self._handler_coroutine is not None:
            super().connection_lost(error)

    def _timeout_cb(self) -> None:
        if self._mss_record is not None:
            self._mss_record.end_reason = "timeout"
        super()._timeout_cb()

    async def smtp_STARTTLS(self, arg: str) -> None:
        try:
            await super().smtp_STARTTLS(arg)
        except Exception as exc:
            if self._mss_record is not None:
                self._mss_record.tls_error = str(exc.__cause__ or exc)[:300]
                self._mss_record.end_reason = "tls-failed"
            raise

    async def push(self, status: Any) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if self._mss_record is not None:
            if text.startswith("530 Must issue a STARTTLS"):
                self._mss_record.events.append("command-before-starttls")
            elif text.startswith("552"):
                self._mss_record.events.append("message-too-big")
        await super().push(status)

    async def smtp_MAIL(self, arg: str) -> None:
        self._note("mail")
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str) -> None:
        self._note("rcpt")
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        self._note("data")
        await super().smtp_DATA(arg)
        if self._mss_record is not None and "data" in self._mss_record.events:
            self._mss_record.events.append("data-end")

    def _note(self, event: str) -> None:
        # commands refused before STARTTLS never reach these methods: they are noted by push()
        if self._mss_record is not None:
            self._mss_record.events.append(event)

    async def smtp_AUTH(self, arg: str) -> None:
        record = self._mss_record
        if record is not None:
            mechanism = (arg.split() or [""])[0].upper()
            if not self._tls_protocol:
                record.events.append("auth-before-starttls")
            if mechanism and mechanism != "XOAUTH2":
                record.auth_mechanism = mechanism
        await super().smtp_AUTH(arg)

    async def smtp_QUIT(self, arg: str) -> None:
        if self._mss_record is not None:
            self._mss_record.end_reason = "quit"
        await super().smtp_QUIT(arg)


def _bound_port(server: asyncio.AbstractServer | None) -> int | None:
    """The port a started asyncio server listens on (None before it is started)."""
    if not isinstance(server, asyncio.Server) or not server.sockets:
        return None
    return int(server.sockets[0].getsockname()[1])


class _Controller(Controller):
    def __init__(self, operator: SmtpOperator) -> None:
        options = operator.options
        self._operator = operator
        super().__init__(
            _Handler(operator),
            hostname=options.host,
            port=options.port,
            server_hostname=options.hostname,
            ready_timeout=10.0,
        )

    def factory(self) -> SMTP:
        options = self._operator.options
        excluded = [m for m in ("PLAIN", "LOGIN", "XOAUTH2") if m not in options.mechanisms]
        return _BoundedSMTP(
            self.handler,
            hostname=options.hostname,
            tls_context=options.tls_context,
            require_starttls=options.require_starttls and options.tls_context is not None,
            data_size_limit=options.max_message_bytes,
            timeout=options.idle_timeout,
            auth_require_tls=options.tls_context is not None,
            auth_exclude_mechanism=excluded,
            authenticator=self._operator._authenticate,
            enable_SMTPUTF8=True,
        )

    def _trigger_server(self) -> None:
        # the base class connects (and for implicit TLS, wraps) to check the server is up; a plain connect
        # that reads the greeting is enough and counts as one short session
        port = _bound_port(self.server) or self.port
        with contextlib.closing(socket.create_connection((self.hostname, port), 1.0)) as sock:
            sock.settimeout(1.0)
            with contextlib.suppress(OSError):
                sock.recv(512)


class SmtpOperator:
    """The harness's SMTP submission server, in a thread. Thread-safe readers: `mails`, `sessions`, `wait_for`."""

    def __init__(self, options: SmtpServerOptions | None = None) -> None:
        self.options = options or SmtpServerOptions()
        self.mails: list[ReceivedMail] = []
        self.sessions: list[SmtpSession] = []
        self._lock = threading.Condition()
        self.guard = self._new_guard()
        self._last = 0.0
        self._controller: _Controller | None = None

    # -- lifecycle
    def _new_guard(self) -> ListenerGuard:
        options = self.options
        return ListenerGuard(
            ListenerLimits(
                max_connections=options.max_connections,
                max_connection_bytes=options.max_connection_bytes,
                max_total_bytes=options.max_total_bytes,
                idle_timeout=options.idle_timeout,
            )
        )

    def start(self) -> SmtpOperator:
        self._controller = _Controller(self)
        self._controller.start()
        with self._lock:
            self.sessions.clear()  # the controller's own start-up probe is not the system's (it sends nothing)
        return self

    def stop(self) -> None:
        if self._controller is not None:
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpOperator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return self.options.host

    @property
    def port(self) -> int:
        port = _bound_port(self._controller.server) if self._controller is not None else None
        if port is None:
            raise RuntimeError("the SMTP operator is not started")
        return port

    # -- called from the server thread
    def _open_session(self, peer: str) -> SmtpSession:
        with self._lock:
            record = SmtpSession(id=len(self.sessions) + 1, peer=peer, started=time.time())
            self.sessions.append(record)
            return record

    def _changed_notify(self) -> None:
        with self._lock:
            self._last = time.monotonic()
            self._lock.notify_all()

    def _received(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.mails.append(mail)
            self._last = time.monotonic()
            self._lock.notify_all()
        if self.options.on_mail is not None:
            self.options.on_mail(mail)

    def _authenticate(
        self, server: _BoundedSMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        record = server.mss_record
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        record.auth_mechanism = mechanism
        record.auth_identity = user
        expected = self.options.passwords.get(user)
        ok = expected is not None and expected.encode("utf-8") == auth_data.password
        record.auth_ok = ok
        if not ok:
            record.events.append("auth-refused")
        return AuthResult(success=ok, handled=False, auth_data=user)

    # -- readers
    def wait_for(
        self, count: int = 1, timeout: float = 10.0, quiet: float = 0.5, predicate: Callable[[], bool] | None = None
    ) -> list[ReceivedMail]:
        """Wait until `count` messages arrived (or `predicate()` holds) and nothing moved for `quiet` seconds.

        ListenerExhausted when a budget of the harness was spent: messages may have been lost, nothing here can
        be judged."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                now = time.monotonic()
                done = predicate() if predicate else len(self.mails) >= count
                if (done and now - self._last >= quiet) or now >= deadline:
                    mails = list(self.mails)
                    break
                self._lock.wait(min(quiet, max(deadline - now, 0.01)))
        self.raise_if_exhausted()
        return mails

    def raise_if_exhausted(self) -> None:
        """A byte budget spent is the harness's limit. The connection cap is not: it is the operator's announced
        limit, which the client must respect (sessions `refused-flood`, judged by the MSSanté suites)."""
        spent = [e for e in self.guard.exhaustion if not isinstance(e, ConnectionLimitReached)]
        if spent:
            first = spent[0]
            raise ListenerExhausted(
                f"opérateur SMTP MSSanté du banc saturé, résultat non concluant : {first.fr}",
                f"the harness's MSSanté SMTP operator was exhausted, result inconclusive: {first.en}",
            )

    def sessions_snapshot(self) -> list[SmtpSession]:
        with self._lock:
            return list(self.sessions)


# ---------------------------------------------------------------- client


@dataclass
class SubmitResult:
    """What a submission did: accepted recipients, the server's last reply, the TLS facts, or the error."""

    ok: bool
    code: int | None = None
    reply: str = ""
    tls_version: str | None = None
    tls_cipher: str | None = None
    error: str = ""
    refused: dict[str, Any] = field(default_factory=dict)


@dataclass
class SmtpAuth:
    mechanism: str  # XOAUTH2 | PLAIN | none
    user: str = ""
    secret: str = ""  # bearer token (XOAUTH2) or password (PLAIN)


def xoauth2_response(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def submit(
    host: str,
    port: int,
    data: bytes,
    *,
    mail_from: str,
    rcpt_tos: list[str],
    ssl_context: ssl.SSLContext | None,
    auth: SmtpAuth | None = None,
    starttls: bool = True,
    timeout: float = 10.0,
    local_hostname: str = "client.hopen.test",
    plaintext_first: bool = False,
    after_tls: Callable[[ssl.SSLSocket], None] | None = None,
) -> SubmitResult:
    """Submit one message. `after_tls(sock)` may inspect the negotiated session and raise to abort before any
    mail command (clients that check something the ssl module cannot, e.g. the cipher suite list)."""
    result = SubmitResult(ok=False)
    try:
        with smtplib.SMTP(host, port, local_hostname=local_hostname, timeout=timeout) as client:
            client.ehlo()
            if plaintext_first:  # a defective client: one MAIL in clear before upgrading
                client.docmd("MAIL", f"FROM:<{mail_from}>")
            if starttls:
                client.starttls(context=ssl_context)
                client.ehlo()
                sock = client.sock
                if isinstance(sock, ssl.SSLSocket):
                    result.tls_version = sock.version()
                    cipher = sock.cipher()
                    result.tls_cipher = cipher[0] if cipher else None
                    if after_tls is not None:
                        after_tls(sock)
            if auth is not None and auth.mechanism == "XOAUTH2":
                client.auth("XOAUTH2", lambda challenge=None: xoauth2_response(auth.user, auth.secret))
            elif auth is not None and auth.mechanism in ("PLAIN", "LOGIN"):
                client.user, client.password = auth.user, auth.secret
                client.auth(auth.mechanism, getattr(client, f"auth_{auth.mechanism.lower()}"))
            result.refused = client.sendmail(mail_from, rcpt_tos, data)
            result.ok, result.code, result.reply = True, 250, "accepted"
    except smtplib.SMTPResponseException as exc:
        result.code = exc.smtp_code
        result.reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc)
        result.error = f"{exc.smtp_code} {result.reply}"
    except smtplib.SMTPRecipientsRefused as exc:
        result.refused = {k: list(v) for k, v in exc.recipients.items()}
        result.error = "recipients refused"
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    return result
