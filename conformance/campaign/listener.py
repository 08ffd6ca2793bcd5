"""The harness as an HL7 v2 receiver: listens on MLLP from the start of the run, acknowledges, collects.

Started at session start when [mllp.listener] is configured and a receiver-side suite is selected, so the
system under test can send while the other suites run. Each message is acknowledged (AA when it validates
against the PAM FR profile, AE with the findings otherwise, AR when it cannot be read); the receiver-side
tests then wait for what they expect and validate what arrived. Frames are kept here and attached to the
test that judges them (not to whichever test happened to be running when they arrived).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from conformance.evidence.exchange import MemorySink, MllpFrame
from conformance.transport.limits import ListenerExhausted, ListenerLimits

RECEIVER_SUITES = frozenset({"pam", "documents-hl7v2"})


@dataclass
class Received:
    message: str
    ack: str
    frames: list[MllpFrame] = field(default_factory=list)


class Listener:
    def __init__(self, state: Any) -> None:
        self.state = state
        cfg = state.config.mllp.listener
        self.sink = MemorySink()
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._last = 0.0
        from conformance.transport.mllp import ThreadedMllpServer

        self.server = ThreadedMllpServer(
            self._handle,
            cfg.host,
            cfg.port,
            ssl_context=self._ssl_context(),
            max_frame=state.config.mllp.max_frame_bytes,
            sink=self.sink,
            limits=ListenerLimits(
                max_connections=cfg.max_connections,
                max_connection_bytes=cfg.max_connection_bytes,
                max_total_bytes=cfg.max_total_bytes,
                idle_timeout=cfg.idle_timeout,
                allowed_peers=tuple(cfg.allowed_peers),
            ),
        )

    def _ssl_context(self):
        if not self.state.config.mllp.tls:
            return None
        tls = self.state.config.tls
        from conformance.transport.mllp import server_ssl_context

        if not tls.client_cert:
            return None
        password = tls.client_key_password.reveal() if tls.client_key_password else None
        return server_ssl_context(tls.client_cert, tls.client_key, client_cafile=tls.ca_bundle, password=password)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> Listener:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _handle(self, message: str) -> str:
        from conformance.campaign.hl7v2 import make_ack

        code, findings = "AA", []
        try:
            from conformance.campaign.validators import validate_hl7v2

            # the PAM FR set hands ORU/MDM over to the CI-SIS profile by MSH-9; the CDA content is judged by
            # the tests, not here: the ACK must not wait for a schematron compilation
            outcome = validate_hl7v2(message, self.state.lang, check_cda=False)
            if not outcome.is_valid:
                code, findings = "AE", outcome.errors
        except Exception:  # no validator (yet) or unreadable: the tests judge; the ACK stays AA
            pass
        ack = make_ack(message, code, findings)
        with self._changed:
            self.received.append(Received(message, ack))
            self._last = time.monotonic()
            self._changed.notify_all()
        return ack

    def wait_for(self, count: int | None = None, timeout: float | None = None, quiet: float = 1.0) -> list[Received]:
        """Wait until `count` messages arrived and the stream went quiet, or `timeout` passed; return them all."""
        cfg = self.state.config.mllp.listener
        count = cfg.expect_messages if count is None else count
        deadline = time.monotonic() + (cfg.wait_seconds if timeout is None else timeout)
        with self._changed:
            while True:
                now = time.monotonic()
                if len(self.received) >= count and now - self._last >= quiet:
                    break
                if now >= deadline:
                    break
                self._changed.wait(min(quiet, max(deadline - now, 0.01)))
            received = list(self.received)
        self.raise_if_exhausted()
        return received

    def raise_if_exhausted(self) -> None:
        """The harness's own limits were hit: messages may have been lost, so nothing here can be judged."""
        guard = self.server.guard
        if guard is not None and guard.exhaustion:
            first = guard.exhaustion[0]
            raise ListenerExhausted(
                f"récepteur MLLP du banc saturé, résultat non concluant : {first.fr}",
                f"the harness's MLLP listener was exhausted, result inconclusive: {first.en}",
            )

    @property
    def flagged_peers(self) -> set[str]:
        guard = self.server.guard
        return set(guard.flagged_peers) if guard is not None else set()

    def frames(self) -> list[MllpFrame]:
        return [f for f in self.sink.exchanges if isinstance(f, MllpFrame)]


def start_session_listener(state: Any, force: bool = False) -> Listener | None:
    if state.listener is not None or state.config.mllp.listener is None:
        return state.listener
    if not force and not (RECEIVER_SUITES & set(state.suites or [])):
        return None
    listener = Listener(state).start()
    state.listener = listener
    for callback in state.listener_callbacks:
        callback(listener.host, listener.port)
    return listener
