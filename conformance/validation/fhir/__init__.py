"""FHIR R4 instance validation driven by StructureDefinition snapshots (see validator.py).

from conformance.validation.fhir import FhirValidator, validate
outcome = validate(resource_or_text, profiles=[url], context=ctx, lang="fr")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.findings import Outcome
from conformance.validation.fhir.inputs import validate_input
from conformance.validation.fhir.validator import FhirValidator, get_validator

__all__ = ["FhirValidator", "get_validator", "validate", "validate_input"]


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
