"""The harness's MSSanté SMTP operator is a bounded service on the shared ListenerGuard: connection limit, byte
budgets per connection and in total, idle timeout, loopback by default; a spent budget makes what it judges
inconclusive, never failed (real aiosmtpd server, real sockets on loopback)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from conformance.config import MssOperatorConfig
from conformance.transport.limits import ListenerExhausted
from conformance.transport.smtp import SmtpOperator, SmtpServerOptions, submit

MAIL = b"From: a@hopen.test\r\nTo: b@hopen.test\r\nSubject: t\r\n\r\nbody\r\n"


@pytest.fixture
def operator() -> Iterator:
    started: list[SmtpOperator] = []

    def start(**limits) -> SmtpOperator:
        options = SmtpServerOptions(tls_context=None, require_auth=False, **limits)
        started.append(SmtpOperator(options).start())
        return started[-1]

    yield start
    for each in started:
        each.stop()


def _greeted(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert sock.recv(512).startswith(b"220")
    return sock


def _closed_by_server(sock: socket.socket, within: float = 10.0) -> bytes | None:
    """What the server said before closing (None if it kept the connection open for `within` seconds)."""
    sock.settimeout(within)
    said = b""
    try:
        while chunk := sock.recv(4096):
            said += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        return None
    return said


def _mail(operator: SmtpOperator, content: bytes = MAIL) -> bool:
    result = submit(
        operator.host,
        operator.port,
        content,
        mail_from="a@hopen.test",
        rcpt_tos=["b@hopen.test"],
        ssl_context=None,
        starttls=False,
    )
    return result.ok


def test_operator_binds_loopback_unless_configured(operator) -> None:
    """SHALL: the operator listens on 127.0.0.1 by default (configuration and server options)."""
    assert MssOperatorConfig().host == "127.0.0.1" and SmtpServerOptions().host == "127.0.0.1"
    started = operator()
    assert started._controller.server.sockets[0].getsockname()[0] == "127.0.0.1"


def test_connections_past_the_limit_are_refused_and_recorded_for_the_suites(operator) -> None:
    """SHALL: past `max_connections` a connection gets 421 and is closed, recorded as `refused-flood`: the
    operator's announced cap, which the client must respect (judged), not a harness exhaustion."""
    started = operator(max_connections=3)
    held = [_greeted(started.port) for _ in range(3)]
    try:
        extra = socket.create_connection(("127.0.0.1", started.port), timeout=10)
        said = _closed_by_server(extra)
        assert said is not None and said.startswith(b"421")
    finally:
        for sock in held:
            sock.close()
    assert any(s.end_reason == "refused-flood" for s in started.sessions_snapshot())
    assert "connections" in str(started.guard.exhaustion[0])
    started.wait_for(count=0, timeout=0.2, quiet=0.0)  # judged by the suites: no harness error
    deadline = time.monotonic() + 5
    while started.guard.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _mail(started)  # the slots are given back when the held connections close


def test_a_connection_past_its_byte_budget_is_closed_and_others_still_served(operator) -> None:
    """SHALL: a peer sending more than `max_connection_bytes` is cut (421); the listener keeps serving."""
    started = operator(max_connection_bytes=4096)
    flooder = _greeted(started.port)
    with contextlib.suppress(OSError):  # closed while sending: the bound held
        flooder.sendall(b"NOOP\r\n" * 1000)  # 6,000 bytes
    said = _closed_by_server(flooder)
    flooder.close()
    assert said is not None and b"421" in said
    assert _mail(started)  # a correct client after the flood is still accepted
    assert any(s.end_reason == "budget" and "budget-exceeded" in s.events for s in started.sessions_snapshot())
    assert started.guard.exhaustion and "per connection" in str(started.guard.exhaustion[0])
    with pytest.raises(ListenerExhausted) as caught:
        started.wait_for(count=1, timeout=0.2, quiet=0.0)
    assert not isinstance(caught.value, AssertionError)  # a harness error (inconclusive), not a failure
    assert "inconclusive" in caught.value.message("en") and "non concluant" in caught.value.message("fr")


def test_the_total_byte_budget_bounds_what_the_operator_keeps(operator) -> None:
    """SHALL: over its life the operator takes at most `max_total_bytes`; past it, connections are cut."""
    started = operator(max_total_bytes=16 * 1024)
    big = MAIL + (b"x" * 98 + b"\r\n") * 50  # 5,000 bytes in lines under the SMTP line limit
    outcomes = [_mail(started, big) for _ in range(5)]
    assert outcomes[:2] == [True, True] and not all(outcomes)
    assert sum(m.size for m in started.mails) <= 16 * 1024
    assert started.guard.total_received > 16 * 1024 and "total budget" in str(started.guard.exhaustion[0])
    with pytest.raises(ListenerExhausted):
        started.wait_for(count=1, timeout=0.2, quiet=0.0)


def test_an_idle_connection_is_closed_after_the_idle_timeout_without_exhaustion(operator) -> None:
    """SHALL: a peer silent for `idle_timeout` is disconnected; that is the peer's doing, not an exhaustion."""
    started = operator(idle_timeout=0.5)
    silent = _greeted(started.port)
    opened = time.monotonic()
    said = _closed_by_server(silent, within=10)
    silent.close()
    assert said is not None and time.monotonic() - opened < 10
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(s.end_reason == "timeout" for s in started.sessions_snapshot()):
        time.sleep(0.05)
    assert any(s.end_reason == "timeout" for s in started.sessions_snapshot())
    assert _mail(started)
    assert not started.guard.exhaustion and len(started.wait_for(count=1, timeout=2, quiet=0.1)) == 1
