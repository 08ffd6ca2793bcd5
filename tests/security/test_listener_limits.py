"""The harness's MLLP listener is a bounded service: whoever can reach it cannot exhaust it nor pass their
messages off as the system's (real sockets on loopback, real MLLP server)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import tomllib
from types import SimpleNamespace

import pytest

from conformance.campaign.listener import Listener
from conformance.config import ListenerConfig, parse_config
from conformance.evidence.exchange import MemorySink, MllpFrame
from conformance.transport import mllp
from conformance.transport.limits import DEFAULT_BIND_HOST, ListenerExhausted, ListenerLimits

MESSAGE = (
    "MSH|^~\\&|SUT|SUT|HOPEN|HOPEN|20260101120000||ADT^A01^ADT_A01|MSG0001|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8\r"
    "EVN||20260101120000\rPID|||123^^^HOP^PI||DOE^JOHN\r"
)


def load_config_text(text: str):
    return parse_config(tomllib.loads(text))


def _ack(message: str) -> str:
    return "MSH|^~\\&|HOPEN|HOPEN|SUT|SUT|20260101120000||ACK|A1|P|2.5\rMSA|AA|MSG0001\r"


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def _closed_by_server(sock: socket.socket, within: float = 10.0) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _wait(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_default_bind_is_loopback() -> None:
    assert DEFAULT_BIND_HOST == "127.0.0.1"
    assert ListenerConfig().host == "127.0.0.1"
    config = load_config_text("[mllp.listener]\nport = 0\n")
    assert config.mllp.listener.host == "127.0.0.1"


def test_idle_connections_beyond_the_limit_are_closed_at_once_and_the_limit_is_a_harness_error() -> None:
    limits = ListenerLimits(max_connections=8, idle_timeout=30)
    sink = MemorySink()
    with mllp.ThreadedMllpServer(_ack, sink=sink, limits=limits) as server:
        idle = [_connect(server.port) for _ in range(8)]
        assert _wait(lambda: server.guard.open_connections == 8)
        extra = [_connect(server.port) for _ in range(200)]
        # beyond the limit, the listener closes at once: its descriptors stay bounded
        assert all(_closed_by_server(sock, 5) for sock in extra)
        assert server.guard.open_connections <= 8
        assert server.guard.refused_connections == 200
        assert server.guard.exhaustion and "8" in server.guard.exhaustion[0].en
        assert "connexions simultanées" in server.guard.exhaustion[0].fr
        # one evidence record for the refusals, not one per connection
        assert sum(1 for f in sink.exchanges if f.error and "listener limit" in f.error) == 1
        for sock in idle + extra:
            sock.close()
        assert _wait(lambda: server.guard.open_connections == 0)
        ack = mllp.send_and_receive("127.0.0.1", server.port, MESSAGE, timeout=5)
    assert "MSA|AA" in ack


def test_idle_connection_is_closed_after_the_idle_timeout() -> None:
    with mllp.ThreadedMllpServer(_ack, limits=ListenerLimits(idle_timeout=0.5)) as server:
        sock = _connect(server.port)
        sock.sendall(b"\x0bMSH|^~\\&|")  # a frame started, then nothing
        assert _closed_by_server(sock, 10)
        sock.close()
        assert _wait(lambda: server.guard.open_connections == 0)
        assert not server.guard.exhaustion  # an idle peer is the peer's doing, not the harness's limit


def test_per_connection_budget_closes_the_connection_and_drops_the_bytes() -> None:
    limits = ListenerLimits(max_connection_bytes=300_000, max_total_bytes=10_000_000)
    sink = MemorySink()
    big = MESSAGE + "NTE|1||" + "X" * 100_000 + "\r"
    with mllp.ThreadedMllpServer(_ack, sink=sink, limits=limits, max_frame=200_000) as server:
        with pytest.raises(mllp.MllpError):
            mllp.send_messages("127.0.0.1", server.port, [big] * 10, timeout=5)
        assert len(server.received) <= 3
        assert "per connection" in server.guard.exhaustion[0].en
        # a new connection is still served: only the abusive one was closed
        assert "MSA|AA" in mllp.send_and_receive("127.0.0.1", server.port, MESSAGE, timeout=5)


def test_total_budget_bounds_what_many_connections_can_make_the_harness_keep() -> None:
    limits = ListenerLimits(max_connection_bytes=10_000_000, max_total_bytes=1_000_000)
    sink = MemorySink()
    frame = MESSAGE + "NTE|1||" + "Y" * 150_000 + "\r"
    with mllp.ThreadedMllpServer(_ack, sink=sink, limits=limits, max_frame=400_000) as server:
        for _ in range(20):
            with contextlib.suppress(mllp.MllpError):
                mllp.send_messages("127.0.0.1", server.port, [frame] * 2, timeout=5)
        kept = sum(len(f.payload) for f in sink.exchanges if isinstance(f, MllpFrame))
        assert kept <= 1_000_000 + 2 * len(frame)
        assert "total budget" in server.guard.exhaustion[0].en


def test_peer_outside_the_allow_list_is_recorded_and_flagged_not_counted() -> None:
    sink = MemorySink()
    limits = ListenerLimits(allowed_peers=("10.9.9.0/24",))
    with mllp.ThreadedMllpServer(_ack, sink=sink, limits=limits) as server:
        with pytest.raises(mllp.MllpTimeoutError):
            mllp.send_and_receive("127.0.0.1", server.port, MESSAGE, timeout=1)
        assert _wait(lambda: any(f.direction == "received" for f in sink.exchanges))
        assert server.received == []
        flagged = [f for f in sink.exchanges if f.direction == "received" and f.payload]
        assert flagged and all("allow-list" in (f.note or "") for f in flagged)
        assert server.guard.flagged_peers == {"127.0.0.1"}
    with mllp.ThreadedMllpServer(_ack, limits=ListenerLimits(allowed_peers=("127.0.0.1",))) as server:
        assert "MSA|AA" in mllp.send_and_receive("127.0.0.1", server.port, MESSAGE, timeout=5)
        assert len(server.received) == 1


def test_campaign_listener_exhaustion_makes_its_tests_inconclusive() -> None:
    config = load_config_text("[mllp.listener]\nport = 0\nmax_connections = 2\nwait_seconds = 0.5\n")
    state = SimpleNamespace(config=config, lang="fr")
    listener = Listener(state).start()
    try:
        socks = [_connect(listener.port) for _ in range(3)]
        assert _closed_by_server(socks[2], 5)
        with pytest.raises(ListenerExhausted) as raised:
            listener.wait_for(timeout=0.2, quiet=0.1)
        assert "non concluant" in raised.value.message("fr")
        assert "inconclusive" in raised.value.message("en")
        for sock in socks:
            sock.close()
    finally:
        listener.stop()


def test_listener_configuration_keys_are_read_and_checked() -> None:
    config = load_config_text(
        "[mllp.listener]\nallowed_peers = ['10.0.0.0/8']\nmax_connections = 5\nidle_timeout = 2.5\n"
        "max_connection_bytes = 1000\nmax_total_bytes = 5000\n"
    )
    listener = config.mllp.listener
    assert (listener.allowed_peers, listener.max_connections, listener.idle_timeout) == (["10.0.0.0/8"], 5, 2.5)
    assert (listener.max_connection_bytes, listener.max_total_bytes) == (1000, 5000)
    with pytest.raises(Exception, match="allowed_peers"):
        load_config_text("[mllp.listener]\nallowed_peers = ['not an address']\n")


FRAMES_CHILD = """
import json
from types import SimpleNamespace
from conformance.campaign.listener import Listener
from conformance.config import parse_config
from conformance.transport import mllp
from conformance.transport.limits import ListenerExhausted

config = parse_config({"mllp": {"max_frame_bytes": 10 * 1024 * 1024,
                                "listener": {"port": 0, "max_total_bytes": 64 * 1024 * 1024, "wait_seconds": 0.5}}})
listener = Listener(SimpleNamespace(config=config, lang="en")).start()
frame = ("MSH|^~\\\\&|A|B|C|D|20260101||ADT^A01^ADT_A01|1|P|2.5\\rNTE|1||" + "x" * 9_500_000 + "\\r").encode()
acknowledged = 0
for _ in range(12):  # 114 MB, each frame under max_frame_bytes
    try:
        mllp.send_and_receive("127.0.0.1", listener.port, frame, timeout=30)
        acknowledged += 1
    except mllp.MllpError:
        pass
try:
    listener.wait_for(timeout=0.2, quiet=0.0)
    verdict = "judged"
except ListenerExhausted as exc:
    verdict = exc.en
listener.stop()
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"acknowledged": acknowledged, "verdict": verdict, "peak": peak}))
"""


@pytest.mark.timeout(300)
def test_frames_of_9_5_mb_stay_within_the_total_budget_and_bounded_memory() -> None:
    """SHALL: frames each under max_frame_bytes cannot push the harness past its total budget: past it the
    listener is exhausted (inconclusive), and the process's peak memory stays under 1 GiB."""
    done = subprocess.run([sys.executable, "-c", FRAMES_CHILD], capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["acknowledged"] <= 7  # 64 MB / 9.5 MB
    assert "inconclusive" in figures["verdict"] and "total budget" in figures["verdict"]
    assert figures["peak"] < 1024**3


def _trickle_until_closed(sock: socket.socket, data: bytes, pause: float, give_up: float) -> float | None:
    """Sends `data` a byte every `pause` seconds; the seconds until the server closed, None if it never did."""
    started = time.monotonic()
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            sock.settimeout(pause)
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except OSError:
            return time.monotonic() - started
        if time.monotonic() - started > give_up:
            return None
    return None


def test_mllp_frame_trickled_under_the_idle_timeout_is_closed_at_the_idle_timeout() -> None:
    """SHALL (slowloris): a byte every 0.3 s never trips a 1 s idle timeout; the frame must still be complete
    within it, so the connection is closed and its slot freed."""
    with mllp.ThreadedMllpServer(_ack, limits=ListenerLimits(max_connections=2, idle_timeout=1.0)) as server:
        sock = _connect(server.port)
        closed = _trickle_until_closed(sock, b"\x0b" + MESSAGE.encode() * 4, pause=0.3, give_up=10)
        sock.close()
        assert closed is not None and closed < 4
        assert _wait(lambda: server.guard.open_connections == 0)
        assert "MSA|AA" in mllp.send_and_receive("127.0.0.1", server.port, MESSAGE, timeout=5)


_SOAP_HEAD = b"POST /soap HTTP/1.1\r\nHost: 127.0.0.1\r\n"
_SOAP_TRICKLES = {  # stage: (sent at once, trickled a byte at a time, what the recorded fault says)
    "request-line": (b"", b"POST /soap HTTP/1.1\r\n" + b"a" * 200, "request deadline (2 s)"),
    "headers": (_SOAP_HEAD, b"X-Slow: " + b"a" * 200, "request deadline (2 s)"),
    "body": (_SOAP_HEAD + b"Content-Length: 200\r\n\r\n", b"b" * 200, "beyond 2 s for the whole request"),
}


@pytest.mark.parametrize("stage", list(_SOAP_TRICKLES))
def test_soap_request_trickled_is_cut_at_the_request_deadline(stage: str) -> None:
    """SHALL (slowloris): the SOAP listener's request deadline covers the whole request, request line and
    headers as well as the body: a request trickled a byte every 0.3 s (under the 1 s idle timeout) is cut 2 s
    after its first byte and recorded as stalled; the listener then serves the next client."""
    from conformance.transport.soap import HttpReply, ServerLimits, ThreadedSoapServer

    at_once, trickled, recorded = _SOAP_TRICKLES[stage]
    sink = MemorySink()
    limits = ServerLimits(request_deadline=2.0, listener=ListenerLimits(max_connections=2, idle_timeout=1.0))
    server = ThreadedSoapServer(lambda request: HttpReply(200, "text/plain", b"ok"), limits=limits, sink=sink)
    server.start()
    try:
        sock = _connect(server.port)
        if at_once:
            sock.sendall(at_once)
        closed = _trickle_until_closed(sock, trickled, pause=0.3, give_up=12)
        sock.close()
        assert closed is not None and closed < 5
        assert _wait(lambda: any(e.error and recorded in e.error for e in sink.exchanges), 5)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as again:
            again.sendall(b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
            assert again.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()
