"""The harness's SMTP operator on loopback: STARTTLS, XOAUTH2, limits, and what each session leaves behind."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

from conformance.transport.smtp import SmtpAuth, set_versions, submit

from .conftest import TOKEN

MESSAGE = b"From: a@hopital.test\r\nTo: b@cabinet.test\r\nSubject: essai\r\n\r\nBonjour\r\n"


def _submit(operator, pki, data=MESSAGE, **kwargs):
    kwargs.setdefault("auth", SmtpAuth("XOAUTH2", "a@hopital.test", TOKEN))
    kwargs.setdefault("ssl_context", pki.client_context())
    return submit(operator.host, operator.port, data, mail_from="a@hopital.test", rcpt_tos=["b@cabinet.test"], **kwargs)


def test_xoauth2_submission_is_received_with_its_tls_facts(make_operator, mss_pki):
    operator = make_operator()
    result = _submit(operator, mss_pki)
    assert result.ok, result
    (mail,) = operator.wait_for(1, timeout=5)
    assert mail.data.endswith(b"Bonjour\r\n") and mail.rcpt_tos == ["b@cabinet.test"]
    session = mail.session
    assert session.starttls and session.tls_version == "TLSv1.2"
    assert session.tls_cipher in ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256")
    assert (session.auth_mechanism, session.auth_identity, session.auth_ok) == ("XOAUTH2", "a@hopital.test", True)


def test_wrong_bearer_token_is_refused(make_operator, mss_pki):
    operator = make_operator()
    result = _submit(operator, mss_pki, auth=SmtpAuth("XOAUTH2", "a@hopital.test", "not-the-token"))
    assert not result.ok and result.code == 535
    assert not operator.mails
    assert "auth-refused" in operator.sessions_snapshot()[0].events


def test_no_mail_command_before_starttls(make_operator, mss_pki):
    operator = make_operator()
    result = _submit(operator, mss_pki, starttls=False, auth=None, ssl_context=None)
    assert not result.ok and result.code == 530
    assert not operator.mails
    assert "command-before-starttls" in operator.sessions_snapshot()[0].events


def test_unauthenticated_mail_is_refused(make_operator, mss_pki):
    operator = make_operator()
    result = _submit(operator, mss_pki, auth=None)
    assert not result.ok and result.code == 530
    assert "mail-without-auth" in operator.sessions_snapshot()[0].events


def test_client_that_never_sends_data_is_cut_at_the_idle_timeout(make_operator, mss_pki):
    operator = make_operator(idle_timeout=0.5)
    client = smtplib.SMTP(operator.host, operator.port, timeout=5)
    client.ehlo()
    client.starttls(context=mss_pki.client_context())
    client.ehlo()
    client.auth("XOAUTH2", lambda challenge=None: f"user=a\x01auth=Bearer {TOKEN}\x01\x01")
    client.mail("a@hopital.test")
    client.rcpt("b@cabinet.test")
    operator.wait_for(predicate=lambda: all(s.ended for s in operator.sessions_snapshot()), timeout=5, quiet=0)
    (session,) = operator.sessions_snapshot()
    assert session.end_reason == "timeout"
    assert "rcpt" in session.events and "data" not in session.events
    client.close()


def test_oversized_message_is_refused_and_recorded(make_operator, mss_pki):
    operator = make_operator(max_message_bytes=64 * 1024)
    big = MESSAGE + b"x" * 76 + b"\r\n"
    big += (b"y" * 998 + b"\r\n") * 200  # about 200 kB
    result = _submit(operator, mss_pki, data=big)
    assert not result.ok and result.code == 552
    assert not operator.mails
    assert "message-too-big" in operator.sessions_snapshot()[0].events


def test_connection_flood_is_refused_beyond_the_limit(make_operator):
    operator = make_operator(max_connections=3)
    sockets = [socket.create_connection((operator.host, operator.port), timeout=5) for _ in range(6)]
    try:
        greetings = [s.recv(128) for s in sockets]
    finally:
        for s in sockets:
            s.close()
    assert sum(g.startswith(b"220") for g in greetings) == 3
    assert sum(g.startswith(b"421") for g in greetings) == 3
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(operator.sessions_snapshot()) < 6:
        time.sleep(0.05)
    assert [s.end_reason for s in operator.sessions_snapshot()].count("refused-flood") == 3


def test_tls_1_1_client_cannot_negotiate_with_the_operator(make_operator, mss_pki):
    operator = make_operator()
    context = mss_pki.client_context()
    set_versions(context, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    result = _submit(operator, mss_pki, ssl_context=context)
    assert not result.ok and not operator.mails
    operator.wait_for(predicate=lambda: all(s.ended for s in operator.sessions_snapshot()), timeout=5, quiet=0)
    session = operator.sessions_snapshot()[0]
    assert session.end_reason == "tls-failed" and session.tls_error
