"""A DMP simulator behind a mutual-TLS listener on 127.0.0.1, and a document source with the structure's
certificates, for the DMP transport, validation and simulator tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from conformance.config import Timeouts, TlsConfig
from conformance.evidence.exchange import MemorySink
from conformance.reference.dmp.pki import DmpPki, generate_dmp_pki
from conformance.reference.dmp.simulator import DmpSimulator
from conformance.reference.dmp.source import DocumentSource, SigningMaterial
from conformance.transport.limits import ListenerLimits
from conformance.transport.soap import ServerLimits, SoapClient, ThreadedSoapServer
from conformance.validation.xds.rules import XdsRules

STRUCTURE = "1120456789"  # the CI-SIS example's author organisation (1 + FINESS)


@pytest.fixture(scope="session")
def dmp_pki() -> Iterator[DmpPki]:
    pki = generate_dmp_pki(STRUCTURE, "Centre de soins du Belvédère")
    yield pki
    pki.cleanup()


@pytest.fixture(scope="session")
def cda_bytes(cda_pack) -> bytes:
    return (cda_pack / "ExemplesCDA" / "LDL-EES_2022.01.xml").read_bytes()


@dataclass
class Dmp:
    simulator: DmpSimulator
    server: ThreadedSoapServer
    server_sink: MemorySink
    client_sink: MemorySink
    source: DocumentSource
    pki: DmpPki

    def source_with(self, cert, key, *, scheme: str = "https", timeouts: Timeouts | None = None) -> DocumentSource:
        tls = (
            TlsConfig(ca_bundle=self.pki.ca_cert, client_cert=cert, client_key=key)
            if cert
            else TlsConfig(ca_bundle=self.pki.ca_cert)
        )
        base = self.server.base_url.replace("https", scheme, 1)
        client = SoapClient.create(
            base,
            tls=tls,
            timeouts=timeouts or Timeouts(connect=2, read=3, total=6, retries=0),
            sink=self.client_sink,
            max_bytes=10**7,
        )
        return DocumentSource(client, f"{base}/repository", f"{base}/registry", self.source.signing)


@pytest.fixture
def dmp(dmp_pki) -> Iterator[Dmp]:
    simulator = DmpSimulator(XdsRules(trusted_ca=dmp_pki.ca_cert.read_bytes()))
    server_sink, client_sink = MemorySink(), MemorySink()
    limits = ServerLimits(
        max_request_bytes=2 * 1024 * 1024,
        request_deadline=3.0,
        listener=ListenerLimits(max_connections=4, idle_timeout=1.0),
    )
    server = ThreadedSoapServer(
        simulator.handle, ssl_context=dmp_pki.server_context(), limits=limits, sink=server_sink
    ).start()
    signing = SigningMaterial(dmp_pki.signing_cert.read_bytes(), dmp_pki.signing_key.read_bytes())
    tls = TlsConfig(ca_bundle=dmp_pki.ca_cert, client_cert=dmp_pki.client_cert, client_key=dmp_pki.client_key)
    client = SoapClient.create(
        server.base_url,
        tls=tls,
        timeouts=Timeouts(connect=2, read=5, total=10, retries=0),
        sink=client_sink,
        max_bytes=10**7,
    )
    source = DocumentSource(client, f"{server.base_url}/repository", f"{server.base_url}/registry", signing)
    yield Dmp(simulator, server, server_sink, client_sink, source, dmp_pki)
    client.close()
    server.stop()
