"""The reference system's DMP-feeding client: a conformant document source that sends a real CI-SIS document
with its metadata and a signed VIHF (ITI-41), then searches (ITI-18), retrieves (ITI-43), masks and archives it
(ITI-57). Each `dmp-*` source fault changes one thing, so the harness's DMP suite fails exactly its test.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.config import Timeouts, TlsConfig
from conformance.reference.faults import FAULTS, dmp_source_hooks
from conformance.transport.mtom import Part
from conformance.transport.soap import WSA_NS, SoapClient
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import (
    ProvideRequest,
    confidentiality_update,
    find_documents,
    provide_request,
    status_update,
)

from .faults import DmpSourceFaultHooks
from .pki import DmpPki
from .simulator import REPOSITORY_ID
from .source import DocumentSource, SigningMaterial, documents_of, vihf_for

SOURCE_FAULTS = frozenset(name for name, fault in FAULTS.items() if fault.endpoint == "dmp-source")


@dataclass
class FeedRun:
    thread: threading.Thread | None = None
    errors: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 60.0) -> bool:
        return self.done.wait(timeout)


def _source(
    base_url: str, pki: DmpPki, hooks: DmpSourceFaultHooks, request: ProvideRequest, timeouts: Timeouts
) -> DocumentSource:
    cert, key = hooks.client_certificate((pki.client_cert, pki.client_key), pki)
    base_url = hooks.url(base_url)
    tls = TlsConfig(ca_bundle=pki.ca_cert, client_cert=cert, client_key=key)
    client = SoapClient.create(base_url, tls=tls, timeouts=timeouts, sink=None, max_bytes=50 * 1024 * 1024)
    signing = SigningMaterial(pki.signing_cert.read_bytes(), pki.signing_key.read_bytes())
    source = DocumentSource(client, f"{base_url}/repository", f"{base_url}/registry", signing)
    hooks.source(source, request)
    return source


def feed(
    base_url: str, cda: bytes, pki: DmpPki, faults: frozenset[str] = frozenset(), *, timeouts: Timeouts | None = None
) -> list[str]:
    """Send the scripted sequence to `base_url`; returns the transport errors met (they are the point of some
    faults: the run goes on)."""
    hooks = dmp_source_hooks(faults)
    timeouts = timeouts or Timeouts(connect=5, read=20, total=40, retries=0)
    content = hooks.cda(cda)
    request = provide_request(content)
    hooks.metadata(request)
    vihf = hooks.vihf(vihf_for(content))
    source = _source(base_url, pki, hooks, request, timeouts)
    errors: list[str] = []

    def step(action: Callable[[], object]) -> object:
        try:
            return action()
        except Exception as exc:  # a refused connection is what some faults are about: recorded, not raised
            errors.append(f"{type(exc).__name__}: {exc}")
            return None

    def transport(content_type: str, body: bytes, _parts: list[Part]) -> tuple[str, bytes]:
        return hooks.transport(content_type, body)

    try:
        step(lambda: source.provide(request, vihf, mutate=transport))
        query = find_documents(request.patient_cx)
        hooks.find_query(query)
        reply = step(
            lambda: source.client.call(source.registry_url, ebrim.ITI18, query, security=source.security(vihf))
        )
        entries = documents_of(reply, request.unique_id) if reply is not None else []
        step(lambda: source.retrieve(REPOSITORY_ID, request.unique_id, vihf))
        entry_uuid = entries[0].get("id", "") if entries else f"urn:uuid:{uuid.uuid4()}"  # refused: an unknown id
        if entries:
            masked = confidentiality_update(
                entries[0],
                entries[0].get("lid", ""),
                "1",
                [("N", "2.16.840.1.113883.5.25"), ("MASQUE_PS", "1.2.250.1.213.1.1.4.13")],
            )
            step(lambda: source.update_metadata(masked, vihf))
        update = status_update(entry_uuid, request.patient_cx, ebrim.APPROVED, hooks.new_status(ebrim.ARCHIVED))
        step(lambda: source.client.call(source.registry_url, ebrim.ITI57, update, security=source.security(vihf)))
    finally:
        source.client.close()
    return errors


def start_feed(base_url: str, cda: bytes, pki: DmpPki, faults: frozenset[str] = frozenset()) -> FeedRun:
    run = FeedRun()

    def target() -> None:
        try:
            run.errors.extend(feed(base_url, cda, pki, faults))
        finally:
            run.done.set()

    run.thread = threading.Thread(target=target, name="reference-dmp-feed", daemon=True)
    run.thread.start()
    return run


__all__ = ["SOURCE_FAULTS", "WSA_NS", "feed", "start_feed"]
