"""The instance validator: walks a resource along compiled StructureDefinition snapshots.

One walk per (resource, structure): first the base definition of the resource type (structure, JSON
types, primitives, cardinality, bindings, invariants, references), then each profile (meta.profile and
the caller's) the same way. Findings are de-duplicated, so a rule broken in both passes is reported once.

Each aspect of the walk lives in its own module (walk and cardinality, slicing, extensions, bindings,
fixed/pattern, invariants, references, data types); `FhirValidator` puts them together and owns every
cache. The state of one call is a `Run`, whose per-pass fields change only inside `Run.scope`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from conformance.findings import Outcome
from conformance.validation.fhir.bindings import BindingsAspect
from conformance.validation.fhir.capability import CapabilityAspect
from conformance.validation.fhir.datatypes import DatatypesAspect
from conformance.validation.fhir.elementrules import ElementRulesAspect
from conformance.validation.fhir.extensions import ExtensionsAspect
from conformance.validation.fhir.fhirpath import ExpressionCache
from conformance.validation.fhir.fixed import FixedAspect
from conformance.validation.fhir.invariants import InvariantsAspect, _native_rule
from conformance.validation.fhir.jsonkeys import duplicate_key
from conformance.validation.fhir.measure import MeasureAspect
from conformance.validation.fhir.questionnaire import QuestionnaireAspect
from conformance.validation.fhir.references import ReferencesAspect
from conformance.validation.fhir.run import Run, json_kind_of
from conformance.validation.fhir.sd import StructureDefinitionAspect
from conformance.validation.fhir.slicing import SlicingAspect
from conformance.validation.fhir.structure import CompiledStructure, Constraint, ElementNode
from conformance.validation.fhir.terminology import Terminology
from conformance.validation.fhir.walk import WalkAspect
from conformance.validation.patterns import NOT_EVALUATED_TIME_LIMIT, PATTERN_TIME_LIMIT

__all__ = ["FhirValidator", "Run", "_native_rule"]


_MAX_NEGATIVE_TYPES = 4096  # resource type names remembered while some are not types


class FhirValidator(
    WalkAspect,
    SlicingAspect,
    ExtensionsAspect,
    BindingsAspect,
    FixedAspect,
    InvariantsAspect,
    ReferencesAspect,
    DatatypesAspect,
    QuestionnaireAspect,
    ElementRulesAspect,
    MeasureAspect,
    CapabilityAspect,
    StructureDefinitionAspect,
):
    """Validates FHIR R4 resources against the base definitions and profiles of a `FhirContext`."""

    def __init__(self, ctx: Any = None, terminology_server: str | None = None) -> None:
        if ctx is None:
            from conformance.packages import load_context

            ctx = load_context()
        self.ctx = ctx
        self.terminology = Terminology(ctx, terminology_server)
        self.expressions = ExpressionCache(member_of=self._member_of)
        self._structures: dict[str, CompiledStructure | None] = {}
        self._lock = threading.RLock()
        # Caches, all owned here. Keys hold their nodes and lists (never a bare id(), which a later object reuses).
        self._expectation_cache: dict[tuple[ElementNode, str], list[tuple[str, Any]]] = {}
        self._merged: dict[tuple[ElementNode, ElementNode, str | None], list[Constraint]] = {}
        self._memoisable: dict[int, tuple[list[Constraint], bool]] = {}
        self._resource_types: dict[str, bool] = {}
        self._walks: dict[tuple[Any, ...], Any] = {}  # walks remembered by content (walk.py, _check_memoised)
        self._binding_verdicts: dict[Any, Any] = {}  # bindings.py, _check_binding
        self._binding_memo = terminology_server is None
        self._shapes: dict[tuple[ElementNode, bool, tuple[Any, ...]], Any] = {}  # walk.py, _shape_of
        self._canonical_targets: dict[ElementNode, frozenset[str] | None] = {}  # references.py, _check_canonical
        self._missing_packages = ", ".join(str(m) for m in getattr(ctx, "missing", ()) or ())

    def _member_of(self, system: str | None, code: str, value_set: str) -> bool | None:
        return self.terminology.check(value_set, system, code)[0]

    # ---- definitions ----------------------------------------------------------------------------------

    def structure(self, url_or_type: str) -> CompiledStructure | None:
        try:
            return self._structures[url_or_type]
        except KeyError:
            pass
        with self._lock:
            if url_or_type in self._structures:
                return self._structures[url_or_type]
            sd = self.ctx.snapshot(url_or_type) if hasattr(self.ctx, "snapshot") else None
            sd = sd or self.ctx.structure_definition(url_or_type)
            compiled: CompiledStructure | None = None
            if sd is not None:
                try:
                    compiled = CompiledStructure(sd)
                except (ValueError, KeyError, TypeError):
                    compiled = None
            self._structures[url_or_type] = compiled
            return compiled

    def warm(self) -> int:
        """Compile the base definition of every FHIR resource and data type and their invariants now, as a
        validation service does at start-up (and before forking workers, which then share them). Returns the
        number of definitions compiled; validating afterwards gives the same findings, only sooner."""
        entries = self.ctx.entries("StructureDefinition") if hasattr(self.ctx, "entries") else []
        compiled = 0
        bound: set[str] = set()
        for entry in entries:
            if entry.derivation != "specialization" or entry.kind not in _WARM_KINDS:
                continue
            if entry.url != _CORE_PREFIX + entry.type:
                continue
            struct = self.structure(entry.type)
            if struct is None:
                continue
            compiled += 1
            for node in struct.by_id.values():
                for constraint in node.constraints:
                    if constraint.runner is None:
                        constraint.runner = self._runner(constraint)
                if node.binding is not None and node.binding[0] != "example":
                    bound.add(node.binding[1])
        self.terminology.warm(sorted(bound))  # the value sets the base definitions bind (bindings.py)
        return compiled

    def is_resource_type(self, name: str) -> bool:
        try:
            return self._resource_types[name]
        except (KeyError, TypeError):
            pass
        answer = self._resource_type_uncached(name)
        # structures are compiled once, never dropped: the answer holds; names a system made up (a validation
        # service reads untrusted input for days) are remembered only up to a bound
        if isinstance(name, str) and (answer or len(self._resource_types) < _MAX_NEGATIVE_TYPES):
            self._resource_types[name] = answer
        return answer

    def _resource_type_uncached(self, name: str) -> bool:
        if not name or not name[0].isupper():
            return False
        struct = self.structure(name)
        return struct is not None and struct.kind == "resource" and struct.derivation == "specialization"

    # ---- public API -----------------------------------------------------------------------------------

    def validate(
        self, resource: dict[str, Any] | str | bytes, profiles: Sequence[str] = (), lang: str = "fr"
    ) -> Outcome:
        run = Run(lang=lang)
        subject = "resource"
        if isinstance(resource, str | bytes):
            text = resource
            try:
                resource = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                run.report("fatal", "structure", "Error_parsing_JSON_", "", str(exc))
                return self._outcome(run, subject, ())
            duplicate = duplicate_key(text, resource)
            if duplicate is not None:
                run.report("fatal", "structure", "Error_parsing_JSON_", "", f"Duplicated property name: {duplicate}")
                return self._outcome(run, subject, ())
        if not isinstance(resource, dict):
            run.report(
                "fatal", "structure", "This_property_must_be_an_object_not_", "", "(root)", json_kind_of(resource)
            )
            return self._outcome(run, subject, ())
        subject = "resource"
        run.root = resource
        try:
            self._validate_resource(
                resource, resource.get("resourceType", "?"), run, extra_profiles=profiles, root=True
            )
        except RecursionError:
            run.report("fatal", "structure", "Error_parsing_JSON_", "", "structure nested too deeply")
        except Exception as exc:  # a validator defect must become a finding, never a crash of the caller
            fr = f"Erreur interne du validateur ({type(exc).__name__}: {exc}) : résultat incomplet"
            en = f"Internal validator error ({type(exc).__name__}: {exc}): the result is incomplete"
            run.add("fatal", "exception", "validator-internal-error", "", fr, en)
        subject = f"{resource.get('resourceType', '?')}/{resource.get('id', '')}".rstrip("/")
        used = [*self._meta_profiles(resource), *profiles]
        outcome = self._outcome(run, subject, used)
        outcome.details["packages"] = self._packages_of([*outcome.details["profiles"], resource.get("resourceType")])
        return outcome

    def _packages_of(self, canonicals: Iterable[object]) -> dict[str, str]:
        """canonical (or base type) -> "name#version" of the package defining it: what the input was judged by."""
        named: dict[str, str] = {}
        package_of = getattr(self.ctx, "package_of", None)
        for item in canonicals:
            if not isinstance(item, str) or not item or package_of is None:
                continue
            url = item if "/" in item else f"http://hl7.org/fhir/StructureDefinition/{item}"
            try:
                info = package_of(url.split("|", 1)[0])
            except Exception:  # naming the package is a courtesy, never a reason to fail
                continue
            if info is not None:
                named[url.split("|", 1)[0]] = info.ref
        return named

    def _outcome(self, run: Run, subject: str, profiles: Iterable[str]) -> Outcome:
        details: dict[str, Any] = {"profiles": list(dict.fromkeys(profiles))}
        if run.not_evaluated:
            details["constraints_not_evaluated"] = dict(run.not_evaluated)
        for key, reason in run.not_evaluated.items():
            if NOT_EVALUATED_TIME_LIMIT in reason:  # visible: the user must know this part was not judged
                fr = f"Contrainte {key} non évaluée : délai de {PATTERN_TIME_LIMIT:g} s dépassé par l'expression régulière"
                run.add("warning", "informational", "constraint-not-evaluated-time-limit", "", fr, f"{key}: {reason}")
        return Outcome(subject=subject, kind="fhir", findings=list(run.findings.values()), details=details)


_CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
_WARM_KINDS = frozenset({"resource", "complex-type", "primitive-type"})


_VALIDATORS: dict[int, FhirValidator] = {}


def get_validator(context: Any = None, terminology_server: str | None = None) -> FhirValidator:
    """A validator per context, kept so definitions are compiled once per process."""
    if context is None:
        from conformance.packages import load_context

        context = load_context()
    key = id(context) ^ hash(terminology_server)
    validator = _VALIDATORS.get(key)
    if validator is None:
        validator = _VALIDATORS[key] = FhirValidator(context, terminology_server=terminology_server)
    return validator
