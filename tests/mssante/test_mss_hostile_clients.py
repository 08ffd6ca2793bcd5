"""Transport faults of an MSSanté client, through the real campaign: each gives a clear, recorded verdict on the
test of its requirement, within the configured timeouts, and the tests that had nothing to judge say why."""

from __future__ import annotations

import io
import smtplib
import socket
from pathlib import Path

import pytest

from conformance.campaign import run_campaign
from conformance.config import PatientData, RunConfig, Secret
from conformance.reference.mssante.system import SENDER
from conformance.transport.smtp import SmtpAuth, submit, xoauth2_response

TOKEN = "hostile-client-token"


class HostileClient:
    """A peer that makes the 'system' misbehave on the SMTP session in one way."""

    def __init__(self, mode: str, size: int = 0) -> None:
        self.mode = mode
        self.size = size

    def operator_ready(self, host, port, ca_file, token) -> None:
        return None

    def _context(self, ca_file):
        import ssl

        return ssl.create_default_context(cafile=str(ca_file))

    def submit_document(self, host, port, ca_file, token):
        auth = SmtpAuth("XOAUTH2", SENDER, token)
        if self.mode == "no-data":
            client = smtplib.SMTP(host, port, timeout=10)
            client.ehlo()
            client.starttls(context=self._context(ca_file))
            client.ehlo()
            client.auth("XOAUTH2", lambda challenge=None: xoauth2_response(SENDER, token))
            client.mail(SENDER)
            client.rcpt("dr@cabinet.mssante.test")
            self.kept = client  # then silence: the operator's idle timeout must end it
            return None
        if self.mode == "flood":
            self.kept = [socket.create_connection((host, port), timeout=5) for _ in range(40)]
            for sock in self.kept:
                sock.settimeout(5)
                sock.recv(64)
            return None
        if self.mode == "no-starttls":
            return submit(host, port, b"Subject: x\r\n\r\nx\r\n", mail_from=SENDER, rcpt_tos=["dr@c.test"],
                          ssl_context=None, starttls=False)  # fmt: skip
        if self.mode == "huge":
            data = b"Subject: gros\r\n\r\n" + (b"A" * 998 + b"\r\n") * (self.size // 1000)
        else:  # broken MIME: a multipart without its closing boundary and a part that is not base64
            data = (
                b"From: App <app@h.test>\r\nMessage-ID: <1@h.test>\r\nSubject: XDM/1.0/DDM+CR A B\r\n"
                b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
                b"Content-Type: text/plain; charset=utf-8\r\n\r\nbonjour\r\n--B\r\nContent-Type: application/zip\r\n"
                b'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="IHE_XDM.zip"\r\n'
                b"\r\n%%% not base64 %%%\r\n"
            )
        return submit(host, port, data, mail_from=SENDER, rcpt_tos=["dr@c.test"], ssl_context=self._context(ca_file),
                      auth=auth, timeout=60)  # fmt: skip


def campaign(tmp_path: Path, client: HostileClient, **operator) -> dict[str, tuple[str, list[str]]]:
    config = RunConfig(source="<hostile clients>")
    config.mssante.wait_seconds = 3.0
    config.mssante.tls_probes = False
    config.mssante.imap.enabled = False
    config.mssante.operator.tokens = [Secret(TOKEN)]
    config.mssante.operator.idle_timeout = 1.0
    config.mssante.operator.max_connections = 8
    for key, value in operator.items():
        setattr(config.mssante.operator, key, value)
    config.test_data.patients = [PatientData(ins="279035121518989", family="PAT-TROIS", given="DOMINIQUE")]
    result = run_campaign(
        config, suites=["mssante-client"], output=tmp_path / "run", lang="en", mss_peer=client, progress=io.StringIO()
    )
    assert result.run.complete
    return {t.id.split("/", 1)[1]: (t.outcome.value, t.messages) for t in result.run.tests}


def test_client_that_never_sends_data(tmp_path):
    verdicts = campaign(tmp_path, HostileClient("no-data"))
    assert verdicts["transport/transactions-complete"][0] == "failed"
    assert "without DATA" in verdicts["transport/transactions-complete"][1][0]
    assert verdicts["transport/starttls"][0] == "passed"
    assert verdicts["message/subject"][0] == "error" and "no message" in verdicts["message/subject"][1][0]


def test_client_that_skips_starttls(tmp_path):
    verdicts = campaign(tmp_path, HostileClient("no-starttls"))
    assert verdicts["transport/starttls"][0] == "failed"
    assert "before STARTTLS" in verdicts["transport/starttls"][1][0]


def test_connection_flood(tmp_path):
    verdicts = campaign(tmp_path, HostileClient("flood"))
    assert (
        verdicts["transport/connection-limit"][0] == "warning"
    )  # mssante.client.connections is a SHOULD (RFC 5321 §4.5.3.1)
    assert "beyond 8 concurrent" in verdicts["transport/connection-limit"][1][0]


def test_oversized_message(tmp_path):
    verdicts = campaign(tmp_path, HostileClient("huge", size=3_000_000), max_message_bytes=1_000_000)
    assert verdicts["transport/size-limit"][0] == "failed"
    assert "1000000 bytes" in verdicts["transport/size-limit"][1][0]


@pytest.mark.slow
def test_200_mb_message(tmp_path):
    verdicts = campaign(tmp_path, HostileClient("huge", size=200_000_000))
    assert verdicts["transport/size-limit"][0] == "failed"


def test_broken_mime(tmp_path):
    verdicts = campaign(tmp_path, HostileClient("broken-mime"))
    assert verdicts["message/mime"][0] == "failed"
    assert "Broken MIME" in verdicts["message/mime"][1][0]
