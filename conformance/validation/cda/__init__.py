"""CDA R2 documents (CI-SIS XSD, schematrons, header rules) and IHE XDM packages (MSSanté attachments).

Public API:
    validate_input(data, *, name, options) -> list[Outcome]      # what `conformance validate` calls
    validate_document(data, options=None, *, name="document") -> Outcome
    validate_xdm(data, options=None, *, name="package") -> list[Outcome]
    warm_up(options=None, volets=(), *, all_volets=False, turn=None) -> float  # pre-compile (start-up)
    prime(options=None) -> str | None  # then pool the recorded value sets and run once on an example
"""

from __future__ import annotations

from conformance.findings import Outcome, finding
from conformance.validation.detect import Kind, detect_kind
from conformance.validation.options import ValidateOptions

from .document import prime, validate_document, warm_up
from .xdm import validate_xdm

__all__ = ["prime", "validate_document", "validate_input", "validate_xdm", "warm_up"]


def validate_input(data: bytes, *, name: str, options: ValidateOptions) -> list[Outcome]:
    """Route raw bytes: a ZIP is an XDM package, anything else is read as a CDA document."""
    kind = detect_kind(data)
    if kind is Kind.XDM:
        return validate_xdm(data, options, name=name)
    if kind in (Kind.CDA, Kind.UNKNOWN) and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return [validate_document(data, options, name=name)]
    outcome = Outcome(subject=name, kind="cda")
    outcome.add(
        finding(
            "fatal",
            "invalid",
            "cda-unsupported-input",
            "",
            f"Entrée non reconnue comme document CDA ni paquet XDM (détecté : {kind.value}).",
            f"Input is neither a CDA document nor an XDM package (detected: {kind.value}).",
            source="cda",
        )
    )
    return [outcome]
