"""Access to the validators for the suites, loaded once per session, with clear errors when unavailable."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
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
    campaign_validator = CampaignFhirValidator(validator, state)
    state._fhir_validator = campaign_validator
    state._fhir_context = context
    return campaign_validator


_MAX_RECORDS_SEARCHED = 200  # a test's most recent HTTP records looked at for the resource judged
_MAX_BODY = 32 * 1024 * 1024
_MAX_DEPTH = 64
_MAX_CACHED = 128 * 1024 * 1024  # bytes of one test's response bodies kept read (and indexed) at once


class CampaignFhirValidator:
    """The FHIR validator as the suites get it: the findings on a resource the system answered carry the line
    and column of that resource in the recorded response body (the evidence file, named in
    `outcome.details["evidence_body"]`), as the HL7 Java validator gives them for a file."""

    def __init__(self, validator: Any, state: Any) -> None:
        self._validator = validator
        self._state = state

    def validate(self, resource: Any, *args: Any, **kwargs: Any) -> Outcome:
        outcome = self._validator.validate(resource, *args, **kwargs)
        if isinstance(resource, dict):
            judged = _reference(resource)
            if judged:  # the warnings kept as notes say which resource too, as the failures do
                outcome.findings = [f if f.resource else replace(f, resource=judged) for f in outcome.findings]
            # where a finding is told is a convenience: the verdict stands without it
            with contextlib.suppress(OSError, ValueError, RecursionError):
                _locate_in_evidence(self._state, resource, outcome)
        return outcome

    def __getattr__(self, name: str) -> Any:
        return getattr(self._validator, name)


class _Body:
    """A recorded JSON response body, read and indexed once per test: resources by (type, id)."""

    def __init__(self, file: str, data: bytes, parsed: Any) -> None:
        self.file = file
        self.data = data
        self.parsed = parsed
        self.index: dict[tuple[Any, Any], list[list[str | int]]] = {}
        self._text: Any = None
        stack: list[tuple[Any, list[str | int]]] = [(parsed, [])]
        while stack:
            node, path = stack.pop()
            if isinstance(node, dict):
                if "resourceType" in node:
                    key = (node.get("resourceType"), node.get("id"))
                    if isinstance(key[0], str) and isinstance(key[1], str | None):
                        self.index.setdefault(key, []).append(path)
                children: Any = node.items()
            elif isinstance(node, list):
                children = enumerate(node)
            else:
                continue
            if len(path) < _MAX_DEPTH:
                stack.extend((value, [*path, name]) for name, value in children)

    def text(self) -> Any:
        from conformance.sourcemap import JsonText

        if self._text is None:
            self._text = JsonText(self.data)
        return self._text

    def path_to(self, resource: dict[str, Any]) -> list[str | int] | None:
        """The JSON path of `resource`: the same object, else the resource of the same type and id (the recorded
        body may be pseudonymised, its values no longer those the validator was given)."""
        candidates = self.index.get((resource.get("resourceType"), resource.get("id")), [])
        for path in candidates:
            if _at(self.parsed, path) == resource:
                return path
        return candidates[0] if candidates and resource.get("id") is not None else None


def _at(tree: Any, path: list[str | int]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _bodies(state: Any, test_id: str) -> dict[str, _Body | None]:
    cache = getattr(state, "_evidence_bodies", None)
    if cache is None or cache[0] != test_id:
        cache = (test_id, {})
        state._evidence_bodies = cache
    return cache[1]


def _locate_in_evidence(state: Any, resource: dict[str, Any], outcome: Outcome) -> None:
    """Line / column of the findings in the most recent response body of the running test holding `resource`."""
    from conformance.sourcemap import locate_in_json

    running, recorder = getattr(state, "current", None), getattr(state, "recorder", None)
    if running is None or recorder is None or not outcome.findings:
        return
    run_dir = Path(state.run_dir)
    bodies = _bodies(state, running.id)
    records = [p for p in recorder.evidence_of(running.id) if p.endswith("-http.json")]
    for record_path in reversed(records[-_MAX_RECORDS_SEARCHED:]):
        if record_path not in bodies:
            cached = sum(len(b.data) for b in bodies.values() if b is not None)
            bodies[record_path] = _read_body(run_dir, record_path, _MAX_CACHED - cached)
        body = bodies[record_path]
        prefix = body.path_to(resource) if body is not None else None
        if body is not None and prefix is not None:
            locate_in_json(outcome, body.text(), prefix)
            outcome.details["evidence_body"] = body.file
            outcome.findings = [
                replace(f, file=body.file) if f.line is not None and f.file is None else f for f in outcome.findings
            ]
            return


def _read_body(run_dir: Path, record_path: str, room: int) -> _Body | None:
    """The JSON response body an HTTP record points to, or None (no body, not JSON, too large)."""
    import orjson

    record = orjson.loads((run_dir / record_path).read_bytes())
    response = record.get("response") if isinstance(record, dict) else None
    body_file = response.get("body_file") if isinstance(response, dict) else None
    if not isinstance(body_file, str) or not body_file.endswith(".json"):
        return None
    body_path = run_dir / body_file
    if body_path.stat().st_size > min(_MAX_BODY, room):
        return None
    data = body_path.read_bytes()
    try:
        return _Body(body_file, data, orjson.loads(data))
    except orjson.JSONDecodeError:
        return None


def _reference(resource: dict[str, Any]) -> str | None:
    kind, ident = resource.get("resourceType"), resource.get("id")
    return f"{kind}/{ident}" if isinstance(kind, str) and isinstance(ident, str) and ident else None


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
