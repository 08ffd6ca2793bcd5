"""The DMP side of `conformance run --reference`: a conformant repository/registry (the simulator, on mutual
TLS, knowing the reference patient) for the harness acting as document source, and the DMP-feeding client that
sends to the harness's DMP listener. Both take their seeded faults from the reference fault registry.
"""

from __future__ import annotations

import copy
from pathlib import Path

from conformance import settings
from conformance.config import DmpListenerConfig, RunConfig

from .feed import SOURCE_FAULTS, FeedRun, start_feed
from .pki import DmpPki, generate_dmp_pki
from .simulator import REPOSITORY_ID, DmpSimulator

CDA_FILE = "LDL-EES_2022.01.xml"  # the reference system's CI-SIS document (its author organisation below)
STRUCTURE_ID = "1120456789"
STRUCTURE_NAME = "Centre de soins du Belvédère"
REFERENCE_PATIENT = "279035121518989"  # the document's patient (INS-NIR test OID)


class ReferenceDmp:
    def __init__(
        self, faults: frozenset[str] = frozenset(), host: str = "127.0.0.1", pki: DmpPki | None = None
    ) -> None:
        self.faults = frozenset(faults)
        self.host = host
        self.pki: DmpPki | None = pki
        self._owns_pki = pki is None
        self.server = None
        self.simulator: DmpSimulator | None = None
        self.feeds: list[FeedRun] = []

    @property
    def document(self) -> Path:
        return settings.cda_pack_dir() / "ExemplesCDA" / CDA_FILE

    def start(self) -> ReferenceDmp:
        from conformance.transport.soap import ThreadedSoapServer
        from conformance.validation.xds.rules import XdsRules

        if self.pki is None:
            self.pki = generate_dmp_pki(STRUCTURE_ID, STRUCTURE_NAME, self.host)
        rules = XdsRules(trusted_ca=self.pki.ca_cert.read_bytes(), known_patients=frozenset({REFERENCE_PATIENT}))
        self.simulator = DmpSimulator(rules, faults=self.faults - SOURCE_FAULTS)
        self.server = ThreadedSoapServer(self.simulator.handle, self.host, 0, ssl_context=self.pki.server_context())
        self.server.start()
        return self

    def stop(self) -> None:
        for run in self.feeds:
            run.wait(30)
        if self.server is not None:
            self.server.stop()
        if self.pki is not None and self._owns_pki:
            self.pki.cleanup()

    def __enter__(self) -> ReferenceDmp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def configure(self, config: RunConfig) -> RunConfig:
        """A copy of `config` whose [dmp] and [tls] speak for the reference structure, both directions."""
        assert self.pki is not None
        config = copy.deepcopy(config)
        dmp = config.dmp
        dmp.repository_url = dmp.repository_url or f"{self.base_url}/repository"
        dmp.registry_url = dmp.registry_url or f"{self.base_url}/registry"
        dmp.repository_id = REPOSITORY_ID
        dmp.document = dmp.document or self.document
        dmp.trusted_ca = self.pki.ca_cert
        dmp.vihf.signing_cert, dmp.vihf.signing_key = self.pki.signing_cert, self.pki.signing_key
        config.tls.ca_bundle = self.pki.ca_cert
        config.tls.client_cert, config.tls.client_key = self.pki.client_cert, self.pki.client_key
        if dmp.listener is None:
            dmp.listener = DmpListenerConfig(
                host=self.host,
                tls=True,
                server_cert=self.pki.server_cert,
                server_key=self.pki.server_key,
                client_ca=self.pki.ca_cert,
                wait_seconds=20.0,
            )
        return config

    def feed_callback(self):
        """Called with the harness's DMP listener URL once it is up: the reference client sends to it."""

        def start(base_url: str) -> None:
            assert self.pki is not None
            self.feeds.append(start_feed(base_url, self.document.read_bytes(), self.pki, self.faults))

        return start
