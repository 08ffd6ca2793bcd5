"""`ReferenceFhirServer`: the store seeded with the test data, the HTTP server in a thread, its base URL."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from conformance.reference.faults import fhir_hooks
from conformance.reference.fhir.handler import FhirHttpServer
from conformance.reference.fhir.seed import reference_resources
from conformance.reference.fhir_store import FhirStore
from conformance.reference.test_data import TestData


class ReferenceFhirServer:
    """Start with `start()`, stop with `stop()`; `base_url` once started."""

    def __init__(
        self,
        test_data: TestData,
        *,
        faults: frozenset[str] = frozenset(),
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        advertised_scheme: str | None = None,
        hostile_hook: Callable[[BaseHTTPRequestHandler], bool] | None = None,
        base_path: str = "/fhir",
    ) -> None:
        self.test_data = test_data
        self.base_path = base_path
        self.set_faults(faults)
        self.hostile_hook = hostile_hook
        self.stop_event = threading.Event()
        self._httpd = FhirHttpServer((host, port), self, ssl_context)
        self._thread: threading.Thread | None = None
        scheme = advertised_scheme or ("https" if ssl_context else "http")
        bound_host, bound_port = self._httpd.server_address[:2]
        self.host, self.port = str(bound_host), int(bound_port)
        self.base_url = f"{scheme}://{self.host}:{self.port}{base_path}"

    def set_faults(self, faults: frozenset[str]) -> None:
        """Serve as a system with these seeded faults, from freshly seeded data (what clients wrote is gone)."""
        self.faults = frozenset(faults)
        self.hooks = fhir_hooks(self.faults)
        store = FhirStore()
        store.seed(self.hooks.seed(reference_resources(self.test_data), self.test_data))
        self.store = store

    def start(self) -> ReferenceFhirServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="reference-fhir", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
