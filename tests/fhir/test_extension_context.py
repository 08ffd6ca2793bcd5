"""Extension contexts as R4 defines them: element paths and types, FHIRPath contexts, context invariants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.validation.fhir.inputs import validate_input
from conformance.validation.options import ValidateOptions

URL = "http://example.org/fhir/StructureDefinition/ext-ctx"


def _definition(contexts: list[dict[str, str]], invariants: list[str] | None = None) -> dict[str, Any]:
    sd: dict[str, Any] = {
        "resourceType": "StructureDefinition",
        "id": "ext-ctx",
        "url": URL,
        "name": "ExtCtx",
        "status": "draft",
        "kind": "complex-type",
        "abstract": False,
        "context": contexts,
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                {"path": "Extension.url", "fixedUri": URL},
                {"path": "Extension.value[x]", "type": [{"code": "string"}]},
            ]
        },
    }
    if invariants:
        sd["contextInvariant"] = invariants
    return sd


def _context_errors(tmp_path: Path, definition: dict[str, Any], patient: dict[str, Any]) -> set[str]:
    path = tmp_path / "ext.json"
    path.write_text(json.dumps(definition))
    options = ValidateOptions(lang="en", igs=[str(path)])
    [outcome] = validate_input(json.dumps(patient).encode(), name="p.json", options=options)
    return {f.location for f in outcome.errors if f.rule.startswith("Extension_EXTP_Context")}


EXT = {"url": URL, "valueString": "x"}


@pytest.mark.parametrize(
    ("contexts", "patient", "wrong"),
    [
        ([{"type": "element", "expression": "Patient.name"}], {"name": [{"family": "D", "extension": [EXT]}]}, set()),
        (
            [{"type": "element", "expression": "Patient.name"}],
            {"address": [{"city": "Lyon", "extension": [EXT]}]},
            {"Patient.address[0].extension[0]"},
        ),
        ([{"type": "element", "expression": "Address"}], {"address": [{"city": "Lyon", "extension": [EXT]}]}, set()),
        ([{"type": "element", "expression": "Patient"}], {"extension": [EXT]}, set()),
        (
            [{"type": "element", "expression": "HumanName.family"}],
            {"name": [{"family": "D", "_family": {"extension": [EXT]}}]},
            set(),
        ),
        (
            [{"type": "element", "expression": "DomainResource.text"}],
            {
                "text": {
                    "status": "generated",
                    "div": '<div xmlns="http://www.w3.org/1999/xhtml">t</div>',
                    "extension": [EXT],
                }
            },
            set(),
        ),
        (
            [{"type": "element", "expression": "Patient"}],
            {"name": [{"family": "D", "extension": [EXT]}]},
            {"Patient.name[0].extension[0]"},
        ),
        (
            [{"type": "fhirpath", "expression": "Patient.address.where(use = 'home')"}],
            {"address": [{"use": "home", "extension": [EXT]}, {"use": "work", "extension": [EXT]}]},
            {"Patient.address[1].extension[0]"},
        ),
    ],
)
def test_extension_contexts(
    tmp_path: Path, contexts: list[dict[str, str]], patient: dict[str, Any], wrong: set[str]
) -> None:
    assert _context_errors(tmp_path, _definition(contexts), {"resourceType": "Patient", "id": "p", **patient}) == wrong


def test_a_failed_context_invariant_refuses_the_extension(tmp_path: Path) -> None:
    definition = _definition([{"type": "element", "expression": "Patient"}], ["active.not()"])
    patient = {"resourceType": "Patient", "id": "p", "extension": [EXT]}
    assert _context_errors(tmp_path, definition, {**patient, "active": False}) == set()
    assert _context_errors(tmp_path, definition, {**patient, "active": True}) == {"Patient"}
