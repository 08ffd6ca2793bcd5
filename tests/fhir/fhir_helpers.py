"""Validation of a hand-written instance against hand-written differential profiles, as `validate --ig` does it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.findings import Finding

TEST_BASE = "http://example.org/fhir/test/StructureDefinition/"


def differential_profile(name: str, base: str, elements: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A constraint StructureDefinition on the core type `base` with only a differential."""
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": TEST_BASE + name,
        "name": name.replace("-", ""),
        "status": "draft",
        "fhirVersion": "4.0.1",
        "kind": extra.pop("kind", "resource"),
        "abstract": False,
        "type": base,
        "baseDefinition": f"http://hl7.org/fhir/StructureDefinition/{base}",
        "derivation": "constraint",
        "differential": {"element": elements},
        **extra,
    }


def validate_with(
    tmp_path: Path,
    instance: dict[str, Any] | str,
    conformance: list[dict[str, Any]] = (),  # type: ignore[assignment]
    profiles: list[str] = (),  # type: ignore[assignment]
) -> list[Finding]:
    """Findings of errors and warnings (informational ones left out) for `instance`."""
    from conformance.validation.fhir.inputs import validate_input
    from conformance.validation.options import ValidateOptions

    igs = []
    for index, resource in enumerate(conformance):
        path = tmp_path / f"conformance-{index}-{resource.get('id', 'r')}.json"
        path.write_text(json.dumps(resource), encoding="utf-8")
        igs.append(str(path))
    text = instance if isinstance(instance, str) else json.dumps(instance)
    name = "instance.xml" if text.lstrip().startswith("<") else "instance.json"
    options = ValidateOptions(lang="en", profiles=list(profiles), igs=igs)
    outcomes = validate_input(text.encode("utf-8"), name=str(tmp_path / name), options=options)
    return [f for outcome in outcomes for f in outcome.findings if f.severity.value in ("error", "fatal", "warning")]


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.is_failure]


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in errors(findings)}
