"""The reference FHIR R4 server: FR Core, PDSm (IHE MHD ITI-65/66/67/68) and Annuaire Santé behaviour over an
in-memory store, on a stdlib ThreadingHTTPServer.

Base URL `http://HOST:PORT/fhir`. JSON and XML (`_format`, Accept, Content-Type), read / vread / history /
ETag / If-None-Match / If-Modified-Since, create / update (If-Match) / delete / JSON Patch, search with
`_count` and paging links, transaction and batch Bundles, errors as OperationOutcome. Seeded faults and
hostile modes (reference/faults.py, reference/hostile.py) change what it does.

Rooms: `server` (lifecycle), `handler` (HTTP plumbing), `negotiation` (formats), `routes` (the route table),
`interactions` (read, vread, history, create, update, patch, delete), `search`, `transaction` (transaction and
batch Bundles, ITI-65), `capability` (the CapabilityStatement), `faults` (where the seeded faults act).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.reference.fhir.server import ReferenceFhirServer

__all__ = ["ReferenceFhirServer"]


def __getattr__(name: str) -> Any:
    # lazy: the fault registry imports the hooks module of this package, and the server imports the registry
    if name == "ReferenceFhirServer":
        from conformance.reference.fhir.server import ReferenceFhirServer

        return ReferenceFhirServer
    raise AttributeError(name)
