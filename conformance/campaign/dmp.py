"""The DMP-feeding channel in a campaign: the harness as the DMP (a listener in front of the registry/repository
simulator, started with the run so the system can send while other suites run) and as a document source
(a client speaking for the configured structure).

Exchanges the listener records are kept here and attached to the test that judges them.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from conformance.config import DmpConfig, RunConfig
from conformance.evidence.exchange import HttpExchange, MemorySink

FEEDING_SUITE = "dmp-feeding"
REPOSITORY_SUITE = "dmp-repository"
DEFAULT_DOCUMENT = "LDL-EES_2022.01.xml"


def rules_from_config(dmp: DmpConfig, *, trusted_ca: Path | None = None, known_patients=None) -> Any:
    from conformance.validation.xds.rules import XdsRules

    ca = dmp.trusted_ca or trusted_ca
    return XdsRules(
        vihf_versions=tuple(dmp.vihf_versions),
        strict_casing=dmp.strict_casing or dmp.strict,
        strict=dmp.strict,
        iti57_response_action=dmp.iti57_response_action,
        allow_sha1=dmp.allow_sha1,
        value_sets=dmp.value_sets,
        xades=dmp.xades,
        trusted_ca=ca.read_bytes() if ca else None,
        known_patients=known_patients,
    )


def document_path(config: RunConfig) -> Path:
    """The CI-SIS CDA the harness sends: [dmp] document, else [test_data] cda_document, else a pack example."""
    from conformance import settings

    return (
        config.dmp.document
        or config.test_data.cda_document
        or settings.cda_pack_dir() / "ExemplesCDA" / DEFAULT_DOCUMENT
    )


class DmpListener:
    def __init__(self, state: Any) -> None:
        from conformance.reference.dmp.simulator import DmpSimulator
        from conformance.transport.limits import ListenerLimits
        from conformance.transport.soap import ServerLimits, ThreadedSoapServer

        config = state.config
        cfg = config.dmp.listener
        self.state = state
        self.sink = MemorySink()
        self.simulator = DmpSimulator(rules_from_config(config.dmp, trusted_ca=cfg.client_ca), lang=state.lang)
        limits = ServerLimits(
            max_request_bytes=cfg.max_request_bytes,
            request_deadline=cfg.request_deadline,
            listener=ListenerLimits(max_connections=cfg.max_connections, idle_timeout=cfg.idle_timeout),
        )
        self.server = ThreadedSoapServer(
            self.simulator.handle, cfg.host, cfg.port, ssl_context=self._ssl_context(), limits=limits, sink=self.sink
        )

    def _ssl_context(self) -> ssl.SSLContext | None:
        cfg = self.state.config.dmp.listener
        if not cfg.tls:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # the DMP's suites are TLS 1.2
        context.load_cert_chain(str(cfg.server_cert), str(cfg.server_key))
        if cfg.client_ca:
            context.load_verify_locations(str(cfg.client_ca))
            context.verify_mode = ssl.CERT_REQUIRED if cfg.require_client_cert else ssl.CERT_OPTIONAL
        return context

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def start(self) -> DmpListener:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def wait_for(self, transaction: str = "ITI-41", count: int | None = None, timeout: float | None = None):
        cfg = self.state.config.dmp.listener
        count = cfg.expect_submissions if count is None else count
        return self.simulator.wait_for(transaction, count, cfg.wait_seconds if timeout is None else timeout)

    def wait_quiet(self, quiet: float = 2.0) -> list[Any]:
        """Wait until the expected ITI-41 submissions arrived and the traffic went quiet (or wait_seconds
        passed): the judgements of everything received."""
        import time

        cfg = self.state.config.dmp.listener
        deadline = time.monotonic() + cfg.wait_seconds
        seen, last = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = len(self.sink.exchanges)
            if count != seen:
                seen, last = count, time.monotonic()
            submissions = [j for j in self.simulator.judgements if j.transaction == "ITI-41"]
            if len(submissions) >= cfg.expect_submissions and time.monotonic() - last >= quiet:
                break
            time.sleep(0.1)
        return list(self.simulator.judgements)

    def exchanges(self) -> list[HttpExchange]:
        return [e for e in self.sink.exchanges if isinstance(e, HttpExchange)]

    def fault_of(self, exchange: HttpExchange) -> Any:
        """Why the listener could not take this exchange (a `ListenerFault`, both languages), None if complete."""
        return self.server.fault_of(exchange)


def start_dmp_listener(state: Any, force: bool = False) -> DmpListener | None:
    if getattr(state, "dmp_listener", None) is not None or state.config.dmp.listener is None:
        return getattr(state, "dmp_listener", None)
    if not force and FEEDING_SUITE not in set(state.suites or []):
        return None
    listener = DmpListener(state).start()
    state.dmp_listener = listener
    for callback in getattr(state, "dmp_callbacks", []):
        callback(listener.base_url)
    return listener


def document_source(config: RunConfig, sink: Any) -> Any:
    """The harness as a document source, speaking for the configured structure ([tls] client cert, [dmp.vihf])."""
    from conformance.reference.dmp.source import DocumentSource, SigningMaterial
    from conformance.transport.soap import SoapClient

    dmp = config.dmp
    assert dmp.repository_url
    client = SoapClient.create(
        dmp.repository_url,
        tls=config.tls,
        timeouts=config.timeouts,
        sink=sink,
        max_bytes=config.fhir.max_response_bytes,
    )
    signing = None
    if dmp.vihf.signing_cert and dmp.vihf.signing_key:
        password = dmp.vihf.signing_key_password.reveal() if dmp.vihf.signing_key_password else None
        signing = SigningMaterial(dmp.vihf.signing_cert.read_bytes(), dmp.vihf.signing_key.read_bytes(), password)
    return DocumentSource(client, dmp.repository_url, dmp.registry_url, signing)


def vihf_content(config: RunConfig, content: bytes) -> Any:
    from conformance.reference.dmp.source import vihf_for

    vihf = config.dmp.vihf
    result = vihf_for(content, lps_name=vihf.lps_name, structure_id=vihf.structure_id)
    result.version = vihf.version
    result.authentication_mode = vihf.authentication_mode
    if vihf.activity_sector:
        result.activity_sector = vihf.activity_sector
    return result


# what each DMP-feeding test judges, by rule id (one requirement per test)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "soap12": ("soap-version", "soap-not-soap", "soap-xml", "soap-no-body"),
    "addressing": ("wsa-",),
    "mtom": ("soap-mtom-",),
    "vihf-signed": ("vihf-missing", "vihf-signature-", "vihf-certificate-", "vihf-issuer-certificate"),
    "vihf-consistent": ("vihf-structure-", "vihf-tls-", "vihf-resource-patient-"),
    "patient-ins": ("xds-patientid-", "vihf-resource-id-", "xds-submissionset-patientid-"),
    "hash-size": ("xds-hash-mismatch", "xds-size-mismatch"),
    "xades": ("xds-xades-",),
    "matches-cda": (
        "xds-uniqueid-document-",
        "xds-typecode-document-",
        "xds-confidentialitycode-document-",
        "xds-patientid-document-",
        "xds-creationtime-document-",
        "xds-servicestarttime-document-",
        "xds-languagecode-document-",
        "xds-authorperson-document-",
        "xds-legalauthenticator-document-",
        "xds-document-not-cda",
        "xds-mimetype-document-",
        "xds-uniqueid-duplicate-in-message",
    ),
    "author-formats": ("xds-authorperson-", "xds-authorinstitution-", "xds-entry-legalauthenticator-format"),
    "value-sets": ("-value",),
    "vihf-attributes": ("vihf-",),
    "required": ("xds-",),
    "query": ("xds-query-",),
    "update": ("xds-update-",),
}
_ORDER = (
    "soap12",
    "addressing",
    "mtom",
    "vihf-signed",
    "vihf-consistent",
    "patient-ins",
    "hash-size",
    "xades",
    "matches-cda",
    "author-formats",
    "value-sets",
    "query",
    "update",
    "vihf-attributes",
    "required",
)


def category(rule: str) -> str:
    """The test that judges a rule (first match in a fixed order; `value-sets` matches a suffix)."""
    for name in _ORDER:
        for prefix in CATEGORIES[name]:
            if rule.endswith(prefix) if prefix.startswith("-") else rule.startswith(prefix):
                if name == "patient-ins" and rule.endswith("-missing"):
                    continue  # a missing patientId is required metadata
                return name
    return "other"
