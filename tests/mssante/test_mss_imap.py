"""The harness's IMAP side: Debian's Dovecot started on loopback with STARTTLS required, seeded by Maildir
delivery; the reference client fetches over STARTTLS, and a client trying LOGIN in clear is refused and seen."""

from __future__ import annotations

import imaplib

import pytest

from conformance.reference.mssante.system import ReferenceMssSystem
from conformance.transport.imap import DovecotImap

USER, PASSWORD = "bal@hopital.mssante.test", "imap-test-password"
MDN = b"From: dr@cabinet.test\r\nTo: bal@hopital.mssante.test\r\nSubject: Accuse\r\n\r\nlu\r\n"


@pytest.fixture
def imap(mss_pki):
    with DovecotImap(*mss_pki.server, users={USER: PASSWORD}, host="127.0.0.2") as server:
        yield server


def test_login_before_starttls_is_refused_and_recorded(imap):
    client = imaplib.IMAP4(imap.host, imap.port, timeout=5)
    assert "STARTTLS" in client.capabilities
    with pytest.raises(imaplib.IMAP4.error, match=r"PRIVACYREQUIRED|Plaintext"):
        client.login(USER, PASSWORD)
    client.logout()
    assert imap.plaintext_attempts() == 1 and imap.logins() == []


@pytest.mark.parametrize("faults", [frozenset(), frozenset({"mss-imap-plaintext-first"})])
def test_reference_client_fetches_what_was_delivered(imap, mss_pki, reference_data, faults):
    name = imap.deliver(USER, MDN)
    assert not imap.seen(USER, name)
    fetched = ReferenceMssSystem(reference_data, faults).fetch_notifications(
        imap.host, imap.port, mss_pki.ca_cert, USER, PASSWORD
    )
    assert [m.replace(b"\r\n", b"\n") for m in fetched] == [MDN.replace(b"\r\n", b"\n")]
    assert imap.wait_seen(USER, name, timeout=5)
    assert [(login.user, login.tls) for login in imap.logins()] == [(USER, True)]
    assert imap.plaintext_attempts() == (1 if faults else 0)


def test_wrong_password_is_refused(imap, mss_pki):
    client = imaplib.IMAP4(imap.host, imap.port, timeout=5)
    client.starttls(ssl_context=mss_pki.client_context())
    with pytest.raises(imaplib.IMAP4.error):
        client.login(USER, "wrong")
    client.logout()
    assert imap.logins() == []
