"""Access to the validators for the suites, loaded once per session, with clear errors when unavailable."""

from __future__ import annotations

from typing import Any

from conformance.findings import Outcome


class HarnessUnavailable(RuntimeError):
    """A part of the harness the test needs could not be loaded: the test is an ERROR, not a pass."""

    def __init__(self, message_fr: str, message_en: str) -> None:
        self.message_fr = message_fr
        self.message_en = message_en
        self.kind = "unavailable"
        super().__init__(message_en)

    def message(self, lang: str = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message_en


def load_fhir_validator(state: Any) -> Any:
    cached = getattr(state, "_fhir_validator", None)
    if cached is not None:
        return cached
    failure = getattr(state, "_fhir_validator_failure", None)
    if failure is not None:
        raise failure
    try:
        from conformance.packages import load_context
        from conformance.validation.fhir import FhirValidator

        context = load_context(packages=list(state.config.fhir.packages))
        validator = FhirValidator(context)
    except Exception as exc:
        failure = HarnessUnavailable(
            f"validateur FHIR indisponible: {type(exc).__name__}: {exc}",
            f"FHIR validator unavailable: {type(exc).__name__}: {exc}",
        )
        state._fhir_validator_failure = failure
        raise failure from None
    for info in getattr(context, "packages", []) or []:
        state.run.packages[str(info.name)] = str(info.version)
    for missing in getattr(context, "missing", []) or []:
        note = f"FHIR package dependency not available: {missing}"
        if note not in state.run.warnings:
            state.run.warnings.append(note)
    state._fhir_validator = validator
    state._fhir_context = context
    return validator


_validation_server: str | None = None


def use_validation_server(url: str | None) -> None:
    """`[run] validation_server`: CDA documents are validated by that running service (engines kept warm
    across campaigns) instead of in this process; None validates locally."""
    global _validation_server
    _validation_server = url or None


def validate_cda(data: bytes, lang: str, name: str = "document") -> Outcome:
    from conformance.validation.options import ValidateOptions

    options = ValidateOptions(lang=lang)
    if _validation_server:
        return _validate_cda_remote(_validation_server, data, name, options)
    from conformance.validation.cda import validate_document

    return validate_document(data, options, name=name)


def _validate_cda_remote(url: str, data: bytes, name: str, options: Any) -> Outcome:
    from conformance.validation.remote import ServiceUnavailable, validate_remote

    try:
        outcomes = validate_remote(url, data, name=name, options=options)
    except ServiceUnavailable as exc:  # the harness could not judge: an error, never a verdict
        raise HarnessUnavailable(exc.fr, exc.en) from None
    if len(outcomes) != 1 or outcomes[0].kind != "cda":
        raise HarnessUnavailable(
            f"réponse inattendue du service de validation {url} : {len(outcomes)} résultat(s)",
            f"unexpected answer from the validation service {url}: {len(outcomes)} outcome(s)",
        )
    outcomes[0].details["validation_server"] = url
    return outcomes[0]


def validate_hl7v2(message: str | bytes, lang: str, profile: str = "pam-fr-2.11", *, check_cda: bool = True) -> Outcome:
    """The HL7 v2 validator's outcome; an exception inside it is a harness error and propagates."""
    from conformance.validation.hl7v2 import validate_message

    return validate_message(message, profile=profile, lang=lang, check_cda=check_cda)


def fhir_context(state: Any) -> Any:
    """The FhirContext the validator was built with (loads the validator first)."""
    load_fhir_validator(state)
    return getattr(state, "_fhir_context", None)
