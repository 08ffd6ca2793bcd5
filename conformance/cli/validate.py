"""`conformance validate FILE|DIR|PACKAGE.tgz...`: validate FHIR (JSON/XML/ndjson/Bundles/packages), HL7 v2 and CDA.

Each input's kind is detected from its bytes and routed to `conformance.validation.<fhir|hl7v2|cda>.validate_input`.
Exit status: 0 when no error or fatal issue, 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from conformance.cli._click_language import lang_option
from conformance.evidence.sanitize import for_terminal
from conformance.findings import Outcome, finding
from conformance.i18n import count, text
from conformance.suppressions import SuppressionError, Suppressions, apply_all, load_suppressions
from conformance.validation.options import ValidateOptions

_ROUTES = {
    "fhir-json": "fhir",
    "fhir-ndjson": "fhir",
    "fhir-xml": "fhir",
    "hl7v2": "hl7v2",
    "cda": "cda",
    "xdm": "cda",
}
_MAX_INPUT = 512 * 1024 * 1024


@click.command(name="validate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="URL",
)
@click.option(
    "--ig",
    "igs",
    multiple=True,
    metavar="SOURCE",
)
@click.option("--hl7v2-profile", metavar="P")
@click.option("--cda-pack", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--schematron", metavar="S")
@click.option("--tx", "terminology_server", metavar="URL")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@lang_option()
@click.option("--summary", is_flag=True)
@click.option(
    "--server",
    metavar="URL",
    envvar="HOPEN_VALIDATION_SERVER",
)
@click.option(
    "--suppressions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="HOPEN_SUPPRESSIONS",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(0, 64),
    default=1,
    show_default=True,
)
def command(
    inputs: tuple[Path, ...],
    profiles: tuple[str, ...],
    igs: tuple[str, ...],
    hl7v2_profile: str | None,
    cda_pack: Path | None,
    schematron: str | None,
    terminology_server: str | None,
    output_format: str,
    lang: str,
    summary: bool,
    server: str | None,
    jobs: int,
    suppressions: Path | None = None,
) -> None:
    """Validate files, folders or FHIR packages; prints issues (text) or OperationOutcomes (json)."""
    options = ValidateOptions(
        lang=lang,
        profiles=list(profiles),
        igs=list(igs),
        terminology_server=terminology_server,
        hl7v2_profile=hl7v2_profile,
        cda_pack=cda_pack,
        schematron=schematron,
    )
    if igs:
        from conformance.packages import PackageError
        from conformance.validation.fhir.inputs import validator_for

        try:
            ctx = validator_for(options).ctx  # load the --ig sources once, and fail early on a bad one
        except (PackageError, ValueError, OSError) as exc:
            raise click.UsageError(text("validate.ig_error", lang, error=exc)) from exc
        missing = {m.name for m in getattr(ctx, "missing_details", ())}
        for source in igs:
            name = source.split("#", 1)[0].split("@", 1)[0]
            if not Path(source).exists() and name in missing:  # a package named but not installed
                raise click.UsageError(text("validate.ig_missing", lang, source=source))
    if not server:  # a service resolves profiles with its own packages
        _check_profile_names(options, lang)
    accepted = _suppressions(suppressions, lang)
    _refuse_special_inputs(inputs, lang)
    paths = list(_expand(inputs))
    if not paths:
        raise click.UsageError(text("validate.no_input", lang))
    from conformance.validation.remote import ServiceUnavailable

    try:
        outcomes = apply_all(_validate_all(paths, options, server, jobs), accepted)
    except ServiceUnavailable as exc:
        click.echo(for_terminal(exc.message(lang)), err=True)
        sys.exit(2)
    if output_format == "json":
        click.echo(for_terminal(json.dumps(_as_json(outcomes, lang), ensure_ascii=False, indent=2)))
    elif summary:
        _print_summary(outcomes, lang)
    else:
        package_of = None if server else _package_namer(options)
        for outcome in outcomes:
            rendered = outcome.render(lang)
            applied = applied_line(outcome, lang, package_of)
            if applied:  # under the verdict line: what the input was judged against
                head, newline, rest = rendered.partition("\n")
                rendered = f"{head}\n  {applied}{newline}{rest}".rstrip("\n")
            click.echo(for_terminal(rendered))
    sys.exit(0 if all(o.is_valid for o in outcomes) else 1)


def _suggestion(name: str, known: list[str], lang: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
    if not close:
        # a canonical differs from its neighbours by its last segment: compare those too
        tails = {url.rsplit("/", 1)[-1]: url for url in known}
        close = [tails[t] for t in difflib.get_close_matches(name.rsplit("/", 1)[-1], list(tails), n=1, cutoff=0.8)]
    return text("validate.did_you_mean", lang, name=close[0]) if close else ""


def _check_profile_names(options: ValidateOptions, lang: str) -> None:
    """A profile named on the command line that the tool does not have is a usage error (exit 2), with the
    closest known name; a profile of a package known but not installed is left to the validator to report."""
    if options.hl7v2_profile:
        from conformance.validation.hl7v2 import ProfileError, builtin_profile_ids, load_profile_set

        try:
            load_profile_set(options.hl7v2_profile)
        except ProfileError:
            known = list(builtin_profile_ids())
            raise click.UsageError(
                text(
                    "validate.unknown_hl7v2_profile",
                    lang,
                    name=options.hl7v2_profile,
                    known=", ".join(known),
                    suggestion=_suggestion(options.hl7v2_profile, known, lang),
                )
            ) from None
    if options.profiles:
        from conformance.validation.fhir.inputs import validator_for

        ctx = validator_for(options).ctx
        for url in options.profiles:
            base = url.split("|", 1)[0]
            if ctx.structure_definition(base) is not None or ctx.missing_package_for(url) is not None:
                continue
            known = [entry.url for entry in ctx.entries("StructureDefinition") if entry.url]
            raise click.UsageError(
                text("validate.unknown_profile", lang, url=url, suggestion=_suggestion(url, known, lang))
            )


def _suppressions(path: Path | None, lang: str) -> Suppressions | None:
    if path is None:
        return None
    try:
        return load_suppressions(path)
    except SuppressionError as exc:
        raise click.UsageError(
            for_terminal(text("validate.suppressions_error", lang, error=exc.message(lang)))
        ) from None


def _validate_all(paths: list[Path], options: ValidateOptions, server: str | None, jobs: int) -> list[Outcome]:
    """In this process, in `jobs` worker processes (batch), or on a validation service; input order kept."""
    workers = min(len(paths), jobs or (os.cpu_count() or 1))
    if workers <= 1 or server:
        return [outcome for path in paths for outcome in validate_path(path, options, server)]
    from conformance.validation.batch import validate_batch

    return list(validate_batch(paths, options, workers, validate_path))


def _refuse_special_inputs(inputs: tuple[Path, ...], lang: str) -> None:
    """A FIFO, device or socket named on the command line is a usage error: reading it could block forever."""
    for path in inputs:
        try:
            mode = path.stat().st_mode
        except OSError as exc:  # e.g. a symlink loop
            raise click.UsageError(for_terminal(f"{path}: {exc.strerror or exc}")) from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise click.UsageError(for_terminal(text("validate.special_input", lang, path=path)))


def _expand(inputs: tuple[Path, ...]) -> Iterator[Path]:
    """The files to validate; folders are walked without following directory links (no loop possible)."""
    for path in inputs:
        if not path.is_dir():
            yield path
            continue
        for root, directories, files in os.walk(path):
            directories[:] = sorted(d for d in directories if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                child = Path(root) / name
                try:
                    child.stat()
                except OSError:  # a dangling or looping link
                    continue
                yield child


def validate_path(path: Path, options: ValidateOptions, server: str | None = None) -> list[Outcome]:
    """Validate one file (any supported kind); never raises for bad content, never blocks on a special file.

    With `server`, the bytes go to that validation service (ServiceUnavailable when it cannot answer)."""
    name = str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return [_problem(name, "input-not-a-file", "validate.not_a_file")]
        if info.st_size > _MAX_INPUT:
            return [_problem(name, "input-too-large", "validate.too_large", mib=_MAX_INPUT // (1024 * 1024))]
        if info.st_size > options.stream_above and not server:
            from conformance.validation.fhir.stream import NotABundle, validate_file

            try:
                return validate_file(path, options)  # entry by entry, bounded memory
            except NotABundle:
                pass
            except Exception as exc:  # a validator defect must not hide the other inputs
                return [
                    _problem(name, "validator-failure", f"Échec du validateur : {exc!r}", f"Validator failure: {exc!r}")
                ]
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(_MAX_INPUT + 1)
    except OSError as exc:
        return [_problem(name, "input-unreadable", "validate.unreadable", error=exc)]
    if len(data) > _MAX_INPUT:  # grew while read
        return [_problem(name, "input-too-large", "validate.too_large", mib=_MAX_INPUT // (1024 * 1024))]
    if server:
        from conformance.validation.remote import validate_remote

        return validate_remote(server, data, name=name, options=options)
    return validate_bytes(data, name, options)


def validate_bytes(data: bytes, name: str, options: ValidateOptions) -> list[Outcome]:
    from conformance.validation.detect import detect_kind

    if data[:2] == b"\x1f\x8b":  # a FHIR NPM package (.tgz)
        area = "fhir"
    else:
        kind = str(detect_kind(data))
        area = _ROUTES.get(kind)
        if area is None:
            return [_problem(name, "input-unknown-kind", "validate.unknown_kind")]
    try:
        module = importlib.import_module(f"conformance.validation.{area}")
        validate_input = module.validate_input
    except (ImportError, AttributeError):
        return [_problem(name, "input-not-supported", "validate.not_supported", area=area)]
    try:
        outcomes = list(validate_input(data, name=name, options=options))
    except Exception as exc:  # a validator bug must not hide the other inputs' results
        return [_problem(name, "validator-failure", "validate.validator_failure", error=repr(exc))]
    if area == "fhir" and data[:2] == b"\x1f\x8b":
        return outcomes
    from conformance.sourcemap import add_lines

    return add_lines(outcomes, data, name, kind)


_RESOURCE_TYPE = re.compile(r"\b([A-Z][A-Za-z]+)/[^\s/()]*\)?$")


def _package_namer(options: ValidateOptions):
    """canonical -> "name#version" of the package that defines it, from the FHIR context already loaded."""

    def package_of(url: str) -> str | None:
        from conformance.validation.fhir.inputs import _CONTEXTS  # here: an ER7 or CDA input never loads FHIR

        try:
            if options.igs:
                ctx = _CONTEXTS.get(tuple(options.igs))
            else:
                from conformance.packages import load_context

                ctx = load_context()
            info = ctx.package_of(url) if ctx is not None else None
        except Exception:  # naming the package is a courtesy: never a reason to fail
            return None
        return info.ref if info is not None else None

    return package_of


def applied_line(outcome: Outcome, lang: str, package_of=None) -> str:
    """One line naming what the input was judged against: FHIR profiles (or the base definition) with their
    packages, the HL7 v2 profile set with the message and its structure, the CDA volet schematron,
    transversal profiles and pack."""
    details = outcome.details
    known = details.get("packages") if isinstance(details.get("packages"), dict) else {}

    def package(url: str) -> str | None:  # the validator's own answer first (it also comes from a service)
        url = url.split("|", 1)[0]
        return known.get(url) or (package_of(url) if package_of else None)

    def named(url: str) -> str:
        ref = package(url)
        return f"{url} ({ref})" if ref else url

    if outcome.kind == "fhir" and "profiles" in details:
        profiles = [str(url) for url in details["profiles"]]
        if profiles:
            what = text("validate.applied_fhir_profiles", lang, profiles=", ".join(named(url) for url in profiles))
        else:
            found = _RESOURCE_TYPE.search(outcome.subject)
            if found is None:  # not read as a resource: nothing was applied
                return ""
            base = package(f"http://hl7.org/fhir/StructureDefinition/{found.group(1)}")
            what = text("validate.applied_fhir_base", lang, type=found.group(1), package=base or "FHIR R4")
    elif outcome.kind == "hl7v2" and "profile_set" in details:
        code, _, structure = str(details.get("message_type", "")).partition("^")
        event, _, structure = structure.partition("^")
        what = text(
            "validate.applied_hl7v2",
            lang,
            profile_set=details["profile_set"],
            message=f"{code}^{event}".strip("^"),
            structure=structure or text("validate.applied_no_structure", lang),
        )
    elif outcome.kind == "cda" and "schematrons" in details:
        runs = details.get("schematron_runs") or {}
        names = [str(name) for name in details["schematrons"]]
        volets = [name for name in names if isinstance(runs.get(name), dict) and runs[name].get("role") == "volet"]
        profiles = ", ".join(name for name in names if name not in volets)
        pack = Path(str(details.get("pack", ""))).name
        if volets:
            what = text("validate.applied_cda", lang, volet=volets[0], profiles=profiles, pack=pack)
        else:
            what = text("validate.applied_cda_no_volet", lang, profiles=profiles, pack=pack)
    else:
        return ""
    return text("validate.applied", lang, what=what)


def _problem(name: str, rule: str, key: str, **params: object) -> Outcome:
    outcome = Outcome(subject=name, kind="input")
    fr, en = text(key, "fr", **params), text(key, "en", **params)
    outcome.add(finding("fatal", "processing", rule, "", fr, en, source="tool"))
    return outcome


def _as_json(outcomes: list[Outcome], lang: str) -> dict:
    documents = []
    for outcome in outcomes:
        oo = outcome.to_operation_outcome(lang)
        oo["id"] = f"o{len(documents) + 1}"
        oo["extension"] = [
            {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-file", "valueString": outcome.subject}
        ]
        documents.append(oo)
    if len(documents) == 1:
        return documents[0]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "total": len(documents),
        "entry": [{"fullUrl": f"urn:uuid:{_uuid(i)}", "resource": doc} for i, doc in enumerate(documents)],
    }


def _uuid(index: int) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hopen-conformance/validate/{index}"))


def _print_summary(outcomes: list[Outcome], lang: str) -> None:
    width = min(90, max((len(o.subject) for o in outcomes), default=10))
    header = text("validate.summary_item", lang).ljust(width)
    verdict_head = text("validate.summary_verdict", lang)
    errors_head, warnings_head = text("validate.summary_errors", lang), text("validate.summary_warnings", lang)
    click.echo(
        f"{header}  {verdict_head:<9} {errors_head:>4} {warnings_head:>5} {text('validate.summary_infos', lang):>5}"
    )
    totals = [0, 0, 0, 0]
    for outcome in outcomes:
        errors = len(outcome.errors)
        warnings = len(outcome.warnings)
        infos = len(outcome.findings) - errors - warnings
        verdict = text("verdict.valid" if outcome.is_valid else "verdict.invalid", lang)
        subject = outcome.subject if len(outcome.subject) <= width else "…" + outcome.subject[-(width - 1) :]
        click.echo(for_terminal(f"{subject.ljust(width)}  {verdict:<9} {errors:>4} {warnings:>5} {infos:>5}"))
        totals[0 if outcome.is_valid else 1] += 1
        totals[2] += errors
        totals[3] += warnings
    click.echo(
        text(
            "validate.summary_total",
            lang,
            items=count("noun.item", len(outcomes), lang),
            valid=count("noun.valid", totals[0], lang),
            invalid=count("noun.invalid", totals[1], lang),
            errors=count("noun.error", totals[2], lang),
            warnings=count("noun.warning", totals[3], lang),
        )
    )
