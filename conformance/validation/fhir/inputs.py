"""`validate_input`: bytes of a file (JSON, XML, ndjson, or a package .tgz) -> one Outcome per resource."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from conformance.findings import Outcome, finding
from conformance.validation.fhir.validator import get_validator
from conformance.validation.options import ValidateOptions

_CONFORMANCE_TYPES = frozenset(
    {
        "StructureDefinition",
        "ValueSet",
        "CodeSystem",
        "ImplementationGuide",
        "SearchParameter",
        "CapabilityStatement",
        "OperationDefinition",
        "ConceptMap",
        "NamingSystem",
        "StructureMap",
        "CompartmentDefinition",
        "GraphDefinition",
        "MessageDefinition",
    }
)
_MAX_TGZ_MEMBER = 64 * 1024 * 1024


def validate_input(data: bytes, *, name: str, options: ValidateOptions) -> list[Outcome]:
    from conformance.validation.detect import Kind, detect_kind

    if data[:2] == b"\x1f\x8b":
        return _validate_archive(data, name, options)
    validator = validator_for(options)
    kind = detect_kind(data)
    if kind == Kind.FHIR_NDJSON:
        outcomes = []
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                outcome = _validate_one(line, f"{name}:{number}", options, validator)
                outcomes.append(outcome)
        return outcomes
    return [_validate_one(data, name, options, validator)]


_CONTEXTS: dict[tuple[str, ...], Any] = {}


def validator_for(options: ValidateOptions) -> Any:
    """The FHIR validator these options ask for (their --ig sources loaded once per process)."""
    context = None
    if options.igs:
        key = tuple(options.igs)
        context = _CONTEXTS.get(key)
        if context is None:
            from conformance.validation.fhir.igs import context_for

            context = _CONTEXTS[key] = context_for(options.igs)
    return get_validator(context, options.terminology_server)


def _validate_one(data: bytes, name: str, options: ValidateOptions, validator: Any) -> Outcome:
    from conformance.validation.fhir.xml import looks_like_xml, xml_to_json

    if looks_like_xml(data):
        resource, problem = xml_to_json(data, validator)
        if resource is None:
            problem.subject = name
            return problem
        outcome = validator.validate(resource, options.profiles, options.lang)
        outcome.findings[:0] = problem.findings  # XML-only rules (element order, namespaces, text)
    else:
        outcome = validator.validate(data, options.profiles, options.lang)
    outcome.details["file"] = name
    outcome.subject = f"{name} ({outcome.subject})" if outcome.subject not in ("resource", name) else name
    return outcome


def _validate_archive(data: bytes, name: str, options: ValidateOptions) -> list[Outcome]:
    """A .tgz: a FHIR NPM package's examples, in a context that includes the package itself; an archive
    without package.json, its resources in the usual context (with a warning that it is not a package); an
    archive that cannot be read as a package (corrupt, unsafe member paths, a broken package.json), one
    fatal finding of the input."""
    from conformance.packages.errors import NotAPackage, PackageError

    package = Path(name)
    if not package.is_file():
        return _validate_package(data, name, options, validator_for(options))
    try:
        validator = validator_for(replace(options, igs=[str(package), *options.igs]))
    except NotAPackage as exc:
        note = _archive_problem(
            name,
            "warning",
            "archive-not-a-package",
            f"{exc.message_fr} : l'archive est lue comme un ensemble de ressources, sans en charger de définitions",
            f"{exc.message_en}: the archive is read as a set of resources, without loading definitions from it",
        )
        return [note, *_validate_package(data, name, options, validator_for(options))]
    except PackageError as exc:
        validator_for(options)  # an --ig of the user's that does not load fails here, as for any other input
        return [_archive_problem(name, "fatal", "package-unreadable", exc.message_fr, exc.message_en)]
    return _validate_package(data, name, options, validator)


def _archive_problem(name: str, severity: str, rule: str, fr: str, en: str) -> Outcome:
    outcome = Outcome(subject=name, kind="fhir")
    code = "informational" if severity == "warning" else "structure"
    outcome.add(finding(severity, code, rule, "", fr, en, source="fhir"))
    return outcome


def _validate_package(data: bytes, name: str, options: ValidateOptions, validator: Any) -> list[Outcome]:
    """A FHIR NPM package: its example instances (not its conformance resources) against their meta.profile."""
    outcomes: list[Outcome] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            members = archive.getmembers()
            has_examples = any("/example/" in m.name for m in members)
            for member in members:
                if not member.isfile() or not member.name.endswith(".json") or member.size > _MAX_TGZ_MEMBER:
                    continue
                base = member.name.rsplit("/", 1)[-1]
                if base in ("package.json", ".index.json") or base.startswith("."):
                    continue
                if has_examples and "/example/" not in member.name:
                    continue
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                content = handle.read()
                try:
                    parsed = orjson.loads(content)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(parsed, dict) or parsed.get("resourceType") in _CONFORMANCE_TYPES:
                    continue
                outcome = validator.validate(parsed, options.profiles, options.lang)
                outcome.details["file"] = f"{name}!{member.name}"
                outcome.subject = f"{name.rsplit('/', 1)[-1]}!{base}"
                outcomes.append(outcome)
    except (tarfile.TarError, OSError, EOFError) as exc:
        outcomes.append(
            _archive_problem(
                name, "fatal", "package-unreadable", f"Package illisible : {exc}", f"Unreadable package: {exc}"
            )
        )
    return outcomes
