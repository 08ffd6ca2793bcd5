"""`ReferenceEndpoints`: the reference FHIR server and MLLP peers, in-process, in threads (CONTRACTS.md).

with ReferenceEndpoints(faults={"missing-zbe"}) as ref:
    ref.fhir_base_url            # http://127.0.0.1:PORT/fhir
    ref.mllp_receiver            # (host, port): ACKs PAM FR like a conformant system
    run = ref.start_mllp_sender("127.0.0.1", listener_port)   # scripted PAM FR sequence; run.wait()
    ref.test_data                # identities and resources seeded (test_data.TestData)
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from pathlib import Path
from typing import NamedTuple

from conformance.reference.documents import write_produced_documents
from conformance.reference.faults import parse_faults
from conformance.reference.fhir import ReferenceFhirServer
from conformance.reference.hostile import MLLP_RECEIVER_MODES, HttpHostility, RedirectCatcher, check_mode
from conformance.reference.mllp_peers import (
    HostileMllpReceiver,
    ReferenceMllpReceiver,
    ReferenceMllpSender,
    SenderRun,
    burst,
)
from conformance.reference.mssante.system import INBOUND as MSS_INBOUND
from conformance.reference.mssante.system import ReferenceMssSystem
from conformance.reference.test_data import TestData, build_test_data
from conformance.reference.tls import TestPki, generate_pki
from conformance.transport.limits import NonLoopbackError, is_loopback


class MllpAddress(NamedTuple):
    host: str
    port: int


class ReferenceEndpoints:
    """Start on `__enter__` (or `start()`), stop on `__exit__` (or `stop()`)."""

    def __init__(
        self,
        faults: set[str] | frozenset[str] | str | None = frozenset(),
        hostile: str | None = None,
        *,
        host: str = "127.0.0.1",
        fhir_port: int = 0,
        mllp_port: int = 0,
        tls: bool = False,
        mutual_tls: bool = False,
        allow_non_loopback: bool = False,
        huge_body_bytes: int | None = None,
        burst_count: int = 10_000,
        sender_timeout: float = 10.0,
    ) -> None:
        if not allow_non_loopback and not is_loopback(host):
            raise NonLoopbackError(
                f"refusing to bind {host}: the reference endpoints serve loopback only unless explicitly allowed"
            )
        self.faults = parse_faults(faults)
        self.hostile = check_mode(hostile)
        self.host = host
        self.fhir_port = fhir_port
        self.mllp_port = mllp_port
        self.tls = tls or mutual_tls or self.hostile in ("tls-invalid-cert", "tls-required")
        self.mutual_tls = mutual_tls
        self.huge_body_bytes = huge_body_bytes
        self.burst_count = burst_count
        self.sender_timeout = sender_timeout
        self.stop_event = threading.Event()
        self.test_data: TestData = build_test_data()
        self.pki: TestPki | None = None
        self.fhir: ReferenceFhirServer | None = None
        self.receiver: ReferenceMllpReceiver | HostileMllpReceiver | None = None
        self.redirect_catcher: RedirectCatcher | None = None
        self.sender_runs: list[SenderRun] = []
        self._documents_folder: tempfile.TemporaryDirectory[str] | None = None
        self.mss: ReferenceMssSystem | None = None

    # -- lifecycle
    def start(self) -> ReferenceEndpoints:
        try:
            self._start_fhir()
            self._start_mllp()
            self.mss = ReferenceMssSystem(self.test_data, self.faults, host=self.host).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_fhir(self) -> None:
        ssl_context = None
        advertised = None
        if self.tls:
            self.pki = generate_pki(hosts=(self.host, "localhost"))
            ssl_context = self.pki.server_context(
                require_client_cert=self.mutual_tls, bad=self.hostile == "tls-invalid-cert"
            )
            if self.hostile == "tls-required":
                advertised = "http"
        hook = None
        if self.hostile and self.hostile in {
            "silence",
            "slow-bytes",
            "huge-body",
            "truncated-json",
            "not-fhir-json",
            "html-200",
            "wrong-media-type",
            "redirect-loop",
            "redirect-other-host",
        }:
            kwargs = {"huge_body_bytes": self.huge_body_bytes} if self.huge_body_bytes else {}
            hook = HttpHostility(self.hostile, self.stop_event, **kwargs)
            if self.hostile == "redirect-other-host":
                self.redirect_catcher = RedirectCatcher().start()
                hook.redirect_target = self.redirect_catcher.base_url
        self.fhir = ReferenceFhirServer(
            self.test_data,
            faults=self.faults,
            host=self.host,
            port=self.fhir_port,
            ssl_context=ssl_context,
            advertised_scheme=advertised,
            hostile_hook=hook,
        )
        self.fhir.stop_event = self.stop_event
        self.fhir.start()

    def _start_mllp(self) -> None:
        if self.hostile in MLLP_RECEIVER_MODES:
            self.receiver = HostileMllpReceiver(
                self.hostile, self.stop_event, host=self.host, port=self.mllp_port
            ).start()
        else:
            ssl_context = None
            if self.pki is not None and self.hostile is None:  # MLLP over TLS too (mutual when asked)
                ssl_context = self.pki.server_context(require_client_cert=self.mutual_tls)
            self.receiver = ReferenceMllpReceiver(
                faults=self.faults, host=self.host, port=self.mllp_port, ssl_context=ssl_context
            ).start()

    def stop(self) -> None:
        self.stop_event.set()
        for part in (self.fhir, self.receiver, self.redirect_catcher, self.mss):
            if part is not None:
                part.stop()
        if self.pki is not None:
            self.pki.cleanup()
        if self._documents_folder is not None:
            self._documents_folder.cleanup()
            self._documents_folder = None

    def produced_documents(self) -> list[Path]:
        """The CDA document and the XDM package this system produces, as files (removed on stop)."""
        if self._documents_folder is None:
            self._documents_folder = tempfile.TemporaryDirectory(prefix="hopen-reference-documents-")
        return write_produced_documents(Path(self._documents_folder.name), self.test_data, self.faults)

    def __enter__(self) -> ReferenceEndpoints:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- contract
    @property
    def fhir_base_url(self) -> str:
        if self.fhir is None:
            raise RuntimeError("the reference endpoints are not started")
        return self.fhir.base_url

    @property
    def mllp_receiver(self) -> MllpAddress:
        if self.receiver is None:
            raise RuntimeError("the reference endpoints are not started")
        return MllpAddress(str(self.receiver.host), int(self.receiver.port))

    def start_mllp_sender(
        self,
        target_host: str,
        target_port: int,
        *,
        include_documents: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> SenderRun:
        """Emit the scripted PAM FR sequence (then MDM^T02 and ORU^R01) to the harness's listener, in a thread.

        Returns a SenderRun: `.wait(timeout)`, `.sent` (each message, its ACK, whether the ACK was right).
        With hostile mode `mllp-burst`, writes `burst_count` messages back to back instead."""
        run = SenderRun((target_host, target_port))
        self.sender_runs.append(run)
        if self.hostile == "mllp-burst":
            threading.Thread(
                target=burst,
                args=(self.test_data, target_host, target_port),
                kwargs={"count": self.burst_count, "run": run},
                daemon=True,
                name="reference-mllp-burst",
            ).start()
            return run
        sender = ReferenceMllpSender(
            self.test_data, faults=self.faults, include_documents=include_documents, timeout=self.sender_timeout
        )
        threading.Thread(
            target=sender.run, args=(target_host, target_port, run), daemon=True, name="reference-mllp-sender"
        ).start()
        return run

    def describe(self) -> dict:
        """URLs, ports, faults, mode and test data, for `conformance serve` and configuration files."""
        out = {
            "fhir_base_url": self.fhir_base_url,
            "mllp_receiver": {"host": self.mllp_receiver.host, "port": self.mllp_receiver.port},
            "faults": sorted(self.faults),
            "hostile": self.hostile,
            "test_data": self.test_data.to_dict(),
        }
        if self.mss is not None and self.mss.inbound is not None:
            host, port = self.mss.inbound_address
            out["mssante_inbound"] = {
                "host": host,
                "port": port,
                "address": MSS_INBOUND,
                "ca": str(self.mss.inbound_ca),
            }
        if self.pki is not None:
            out["tls"] = {
                "ca_cert": str(self.pki.ca_cert),
                "client_cert": str(self.pki.client_cert),
                "client_key": str(self.pki.client_key),
            }
        if self.redirect_catcher is not None:
            out["redirect_catcher"] = self.redirect_catcher.base_url
        return out
