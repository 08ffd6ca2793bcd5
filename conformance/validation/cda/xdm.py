"""IHE XDM packages (placeholder until the full implementation lands)."""

from __future__ import annotations

from conformance.findings import Outcome
from conformance.validation.options import ValidateOptions


def validate_xdm(data: bytes, options: ValidateOptions | None = None, *, name: str = "package") -> list[Outcome]:
    return [Outcome(subject=name, kind="xdm")]
