"""The embedded reference endpoints: a FHIR R4 server (FR Core, PDSm, Annuaire Santé) and PAM FR MLLP peers,
with seeded faults and hostile modes. `ReferenceEndpoints` starts them in-process (see CONTRACTS.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.reference.endpoints import ReferenceEndpoints

__all__ = ["ReferenceEndpoints"]


def __getattr__(name: str) -> Any:
    if name == "ReferenceEndpoints":
        from conformance.reference.endpoints import ReferenceEndpoints

        return ReferenceEndpoints
    raise AttributeError(name)
