"""FHIR R4 instance validation driven by StructureDefinition snapshots (see validator.py).

from conformance.validation.fhir import FhirValidator, validate
outcome = validate(resource_or_text, profiles=[url], context=ctx, lang="fr")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.findings import Outcome
from conformance.validation.fhir.inputs import validate_input
from conformance.validation.fhir.validator import FhirValidator

__all__ = ["FhirValidator", "get_validator", "validate", "validate_input"]

_validators: dict[int, FhirValidator] = {}


def get_validator(context: Any = None, terminology_server: str | None = None) -> FhirValidator:
    """A validator per context, kept so definitions are compiled once per process."""
    if context is None:
        from conformance.packages import load_context

        context = load_context()
    key = id(context) ^ hash(terminology_server)
    validator = _validators.get(key)
    if validator is None:
        validator = _validators[key] = FhirValidator(context, terminology_server=terminology_server)
    return validator


def validate(
    resource_or_text: dict[str, Any] | str | bytes,
    profiles: Sequence[str] = (),
    context: Any = None,
    lang: str = "fr",
) -> Outcome:
    """Validate one resource (dict, JSON text or FHIR XML text) against its base definition and profiles."""
    from conformance.validation.fhir.xml import looks_like_xml, xml_to_json

    validator = get_validator(context)
    if isinstance(resource_or_text, str | bytes) and looks_like_xml(resource_or_text):
        resource, problem = xml_to_json(resource_or_text, validator)
        if resource is None:
            return problem
        outcome = validator.validate(resource, profiles, lang)
        outcome.findings[:0] = problem.findings  # XML-only rules (element order, namespaces, text)
        return outcome
    return validator.validate(resource_or_text, profiles, lang)
