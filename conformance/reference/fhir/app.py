"""What the rooms see of the server: its base, its store, the active faults' hooks, the hostile mode."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Protocol

from conformance.reference.fhir.faults import FaultHooks
from conformance.reference.fhir_store import FhirStore


class FhirApp(Protocol):
    base_url: str
    base_path: str
    store: FhirStore
    hooks: FaultHooks
    hostile_hook: Callable[[BaseHTTPRequestHandler], bool] | None
