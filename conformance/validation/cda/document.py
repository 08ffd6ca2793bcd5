"""One CDA document: well-formedness, CDA XSD (French extensions), header rules, CI-SIS schematrons."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from conformance.findings import Finding, Outcome, finding
from conformance.validation.options import ValidateOptions

from . import candidates, pool
from . import schematron as sch
from .grouping import group_manifestations, readable_assertion
from .header import V3, check_header, xpath_of
from .pack import CdaPack, load_pack

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_ROLE_SEVERITY = {"fatal": "error", "error": "error", "warning": "warning", "warn": "warning", "info": "information"}
_XSD_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class SchematronChoice:
    label: str  # "volet" or a profile name
    path: Path


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@functools.lru_cache(maxsize=4)
def _schema(xsd: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(xsd, _parser()))


def _tool(severity: str, rule: str, fr: str, en: str, location: str = "", code: str = "informational") -> Finding:
    return finding(severity, code, rule, location, fr, en, source="tool")


def find_clinical_document(root: etree._Element) -> etree._Element | None:
    """The ClinicalDocument: the root, or inside an auto-presentable document (an XSLT wrapping it)."""
    tag = f"{{{V3}}}ClinicalDocument"
    if root.tag == tag:
        return root
    return next(root.iter(tag), None)


def _doctype_refused() -> Finding:
    return finding(
        "fatal",
        "security",
        "cda-doctype",
        "",
        "Un document CDA ne doit pas contenir de DOCTYPE ni d'entités (refusé par sécurité).",
        "A CDA document must not contain a DOCTYPE or entities (refused for safety).",
        source="cda",
    )


def parse_document(data: bytes) -> tuple[etree._Element | None, list[Finding]]:
    """Parse safely (no DTD, no entities, no network); a syntax error is a fatal finding, never an exception."""
    if len(data) > MAX_DOCUMENT_BYTES:
        return None, [
            finding(
                "fatal",
                "too-costly",
                "cda-too-large",
                "",
                f"Document trop volumineux ({len(data)} octets, maximum {MAX_DOCUMENT_BYTES}).",
                f"Document too large ({len(data)} bytes, maximum {MAX_DOCUMENT_BYTES}).",
                source="cda",
            )
        ]
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        return None, [_doctype_refused()]
    try:
        root = etree.fromstring(data, _parser())
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:  # wherever it sits: Saxon would expand it
            return None, [_doctype_refused()]
        return root, []
    except (etree.XMLSyntaxError, ValueError) as exc:
        line, column = getattr(exc, "position", (None, None)) if hasattr(exc, "position") else (None, None)
        return None, [
            finding(
                "fatal",
                "invalid",
                "cda-not-well-formed",
                "",
                f"XML mal formé : {exc}",
                f"Malformed XML: {exc}",
                source="cda",
                line=line,
                column=column,
            )
        ]


def check_xsd(document: etree._Element, pack: CdaPack) -> list[Finding]:
    if not pack.xsd.is_file():
        return [
            _tool(
                "warning",
                "cda-xsd-unavailable",
                f"Schéma CDA introuvable ({pack.xsd}) : validation XSD non faite.",
                f"CDA schema not found ({pack.xsd}): XSD validation skipped.",
            )
        ]
    schema = _schema(str(pack.xsd))
    tree = etree.ElementTree(document) if document.getparent() is None else etree.ElementTree(_detached(document))
    with _XSD_LOCK:  # an lxml XMLSchema keeps its error log on the object
        valid = schema.validate(tree)
        errors = list(schema.error_log) if not valid else []
    findings = []
    for entry in errors:
        element = _element_at(tree, entry.path)
        findings.append(
            finding(
                "error",
                "structure",
                "cda-xsd",
                xpath_of(element) if element is not None else (entry.path or ""),
                f"XSD CDA : {entry.message}",
                f"CDA XSD: {entry.message}",
                source="cda",
                profile=pack.xsd.name,
                line=entry.line or None,
                column=entry.column or None,
            )
        )
    return findings


def _detached(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element), _parser())


def _element_at(tree: etree._ElementTree, path: str | None) -> etree._Element | None:
    if not path:
        return None
    try:
        found = tree.xpath(path)
    except etree.XPathError:
        return None
    return found[0] if found and isinstance(found[0], etree._Element) else None


def choose_schematrons(
    document: etree._Element, pack: CdaPack, options: ValidateOptions
) -> tuple[list[SchematronChoice], list[Finding]]:
    notes: list[Finding] = []
    choices: list[SchematronChoice] = []
    if options.schematron:
        named = pack.find_schematron(options.schematron)
        if named is None:
            notes.append(
                _tool(
                    "error",
                    "cda-schematron-not-found",
                    f"Schématron « {options.schematron} » introuvable dans {pack.root}.",
                    f"Schematron '{options.schematron}' not found in {pack.root}.",
                    code="not-found",
                )
            )
        else:
            choices.append(SchematronChoice("volet", named))
    else:
        template_ids = [(t.get("root", ""), t.get("extension")) for t in document.findall(f"{{{V3}}}templateId")]
        code = document.find(f"{{{V3}}}code")
        volet = pack.detect(template_ids, code.get("code") if code is not None else None)
        if volet is None:
            notes.append(
                _tool(
                    "information",
                    "cda-volet-unknown",
                    "Aucun schématron de volet CI-SIS ne correspond aux templateId du document : seuls les profils"
                    " transverses sont appliqués.",
                    "No CI-SIS volet schematron matches the document's templateIds: only the transversal profiles"
                    " are applied.",
                )
            )
        else:
            choices.append(SchematronChoice("volet", volet.path))
    choices.extend(SchematronChoice(name, path) for name, path in pack.profile_schematrons().items())
    return choices, notes


def _svrl_finding(assertion: sch.SvrlAssertion, schematron_name: str) -> Finding:
    rule, message_fr, message_en = readable_assertion(assertion.rule_id, assertion.text, schematron_name)
    if assertion.unknown_value_set:
        return finding(
            "information",
            "not-supported",
            f"cda-valueset-unknown:{rule}",
            assertion.location,
            f"Non vérifiable (jeu de valeurs absent du paquet) : {message_fr}",
            f"Not checkable (value set missing from the pack): {message_en}",
            source="tool",
            profile=schematron_name,
        )
    severity = _ROLE_SEVERITY.get(assertion.role.lower(), "error")
    if assertion.kind == "successful-report" and not assertion.role:
        severity = "warning"
    return finding(
        severity,
        "invariant",
        rule,
        assertion.location,
        message_fr,
        message_en,
        source="cda",
        profile=schematron_name,
    )


def run_schematrons(
    data: bytes, choices: list[SchematronChoice], root: etree._Element | None = None
) -> tuple[list[Finding], dict[str, object]]:
    """Run each schematron on the document; `root` (the lxml tree of `data`) lets a first use compile only
    the rules this document can fire."""
    findings: list[Finding] = []
    details: dict[str, object] = {}
    try:
        parsed = sch.parse_for_saxon(data)
    except Exception as exc:  # Saxon's own parser disagreeing with lxml is a tool problem, not the document's
        return [
            _tool(
                "error",
                "cda-schematron-parse",
                f"Saxon ne lit pas le document : {exc}",
                f"Saxon cannot read the document: {exc}",
                code="exception",
            )
        ], details
    index: candidates.DocumentIndex | None = None
    for choice in choices:
        started = time.perf_counter()
        try:
            compiled = sch.compiled_whole(choice.path)  # warm: no document index needed
            if compiled is None and root is None:
                compiled = sch.compile_schematron(choice.path)
            elif compiled is None:
                index = index or candidates.DocumentIndex(root)
                compiled = sch.compile_for_document(choice.path, index)
            run = compiled.run(parsed)
        except Exception as exc:  # a broken schematron must not hide the other checks
            findings.append(
                _tool(
                    "error",
                    "cda-schematron-failed",
                    f"Le schématron {choice.path.name} n'a pas pu être exécuté : {exc}",
                    f"Schematron {choice.path.name} could not be run: {exc}",
                    location=str(choice.path),
                    code="exception",
                )
            )
            continue
        for note in compiled.notes:
            findings.append(_tool(note.severity, note.rule, note.message_fr, note.message_en, location=note.location))
        findings.extend(_svrl_finding(a, choice.path.name) for a in run.assertions)
        details[choice.path.name] = {
            "role": choice.label,
            "failed": sum(1 for a in run.assertions if a.kind == "failed-assert"),
            "fired_rules": run.fired_rules,
            "seconds": round(time.perf_counter() - started, 4),
        }
    return findings, details


def validate_document(
    data: bytes, options: ValidateOptions | None = None, *, name: str = "document", source_lines: bool = True
) -> Outcome:
    """Validate one CDA R2 document (bytes) against the XSD, the header rules and the CI-SIS schematrons.

    Findings carry their line and column in `data` unless `source_lines` is false (a document embedded in an
    HL7 v2 message, whose lines would not be the file's)."""
    outcome = Outcome(subject=name, kind="cda")
    root, problems = parse_document(data)
    outcome.extend(problems)
    if root is not None:
        _validate_document(outcome, data, root, options or ValidateOptions())
    if source_lines:
        from conformance.sourcemap import locate

        locate(outcome, data, "cda", root=root)  # the tree parsed once: its elements know their source lines
    return outcome


def _validate_document(outcome: Outcome, data: bytes, root: etree._Element, options: ValidateOptions) -> Outcome:
    document = find_clinical_document(root)
    if document is None:
        outcome.add(
            finding(
                "fatal",
                "structure",
                "cda-not-clinical-document",
                xpath_of(root),
                "Ce n'est pas un document CDA R2 (pas d'élément ClinicalDocument de l'espace urn:hl7-org:v3).",
                "Not a CDA R2 document (no ClinicalDocument element in the urn:hl7-org:v3 namespace).",
                source="cda",
            )
        )
        return outcome
    pack = load_pack(options.cda_pack)
    outcome.details["pack"] = str(pack.root)
    if document is not root:
        outcome.details["embedded"] = True  # auto-presentable: XSD on the embedded ClinicalDocument
    if not pack.root.is_dir():
        outcome.add(
            _tool(
                "error",
                "cda-pack-missing",
                f"Paquet CDA introuvable : {pack.root} (option cda_pack ou HOPEN_CDA_PACK).",
                f"CDA pack not found: {pack.root} (cda_pack option or HOPEN_CDA_PACK).",
                code="not-found",
            )
        )
        outcome.extend(check_header(document, None))
        return outcome
    outcome.extend(check_xsd(document, pack))
    outcome.extend(check_header(document, pack))
    choices, notes = choose_schematrons(document, pack, options)
    outcome.extend(notes)
    outcome.details["schematrons"] = [c.path.name for c in choices]
    findings, details = run_schematrons(data, choices, root)
    outcome.extend(findings)
    outcome.details["schematron_runs"] = details
    outcome.findings, grouped = group_manifestations(outcome.findings)
    if grouped:
        outcome.details["grouped"] = grouped
    return outcome


def preload(options: ValidateOptions | None = None, *, metadata: bool = False) -> None:
    """The pack's index, its XSD and the Saxon processor: what every document needs before its compiles;
    with `metadata`, the generated XSLT of the profile schematrons too (read from the disk cache) and the
    documents they read in earlier runs (value sets, terminologies: see pool.py)."""
    pack = load_pack((options or ValidateOptions()).cda_pack)
    if pack.xsd.is_file():
        _schema(str(pack.xsd))
    processor = sch.saxon()
    if metadata:
        profiles = [path.resolve() for path in pack.profile_schematrons().values()]
        for path in profiles:
            with contextlib.suppress(sch.SchematronError, OSError):
                sch.generated_xslt(path)
        pool.preload(processor, sch.cache_dir(), profiles)


def prime(options: ValidateOptions | None = None) -> str | None:
    """What a process with its schematrons compiled still pays on its first document, paid now: the
    documents its profile schematrons read in earlier runs pooled (pool.py), the pool handed to each
    stylesheet and their first run, on the smallest of the pack's examples (whose reads are recorded, so
    that a first start on a fresh cache leaves a record for the next). Returns the example's name."""
    options = options or ValidateOptions()
    preload(options, metadata=True)
    pack = load_pack(options.cda_pack)
    with contextlib.suppress(OSError):
        examples = sorted((p.stat().st_size, p.name, p) for p in pack.examples_dir.glob("*.xml"))
        if examples and examples[0][0] <= MAX_DOCUMENT_BYTES:
            validate_document(examples[0][2].read_bytes(), options, name=examples[0][1])
            return examples[0][1]
    return None


def warm_up(
    options: ValidateOptions | None = None,
    volets: tuple[str, ...] = (),
    *,
    all_volets: bool = False,
    turn: AbstractContextManager[Any] | None = None,
) -> float:
    """Compile the transversal profile schematrons (and the named volets, or every volet) now, e.g. in a
    background thread at start-up, so that documents do not pay Saxon's compile. Returns the seconds spent.

    Saxon keeps Python's interpreter lock while it compiles: a warm-up thread blocks every other thread for
    the length of one compile. Each compile is done holding `turn` (a lock the service's engine process
    also holds while it answers a request), so that requests and warm-up compiles take turns."""
    options = options or ValidateOptions()
    pack = load_pack(options.cda_pack)
    started = time.perf_counter()
    paths = list(pack.profile_schematrons().values())
    paths += [p for p in (pack.find_schematron(v) for v in volets) if p is not None]
    if all_volets:
        paths += [volet.path for volet in pack.volets if volet.path not in paths]
    for path in paths:
        with turn or contextlib.nullcontext(), contextlib.suppress(sch.SchematronError):
            sch.compile_schematron(path)  # a broken schematron is reported when a document needs it
    return time.perf_counter() - started
