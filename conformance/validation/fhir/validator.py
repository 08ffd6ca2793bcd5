"""The instance validator: walks a resource along compiled StructureDefinition snapshots.

One walk per (resource, structure): first the base definition of the resource type (structure, JSON
types, primitives, cardinality, bindings, invariants, references), then each profile (meta.profile and
the caller's) the same way. Findings are de-duplicated, so a rule broken in both passes is reported once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from conformance.findings import Finding, Outcome, Severity
from conformance.validation.fhir.fastpath import Fallback
from conformance.validation.fhir.fhirpath import NATIVE_BY_EXPRESSION, NATIVE_RESOURCE, ExpressionCache, ext_1, ref_1
from conformance.validation.fhir.messages import texts
from conformance.validation.fhir.primitives import JSON_KIND, PRIMITIVES, REGEX, check_primitive
from conformance.validation.fhir.structure import CompiledStructure, Constraint, ElementNode
from conformance.validation.fhir.terminology import EXTERNAL_SYSTEMS, Terminology
from conformance.validation.fhir.xhtml import check_xhtml

_EXAMPLE_DOMAINS = ("example.org", "example.com", "acme.com", "acme.org", "nema.org", "example.net")
_NATIVE_EXPRESSIONS = {
    "ext-1": "extension.exists() != value.exists()",
    "dom-2": "contained.contained.empty()",
    "dom-4": "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
    "dom-5": "contained.meta.security.empty()",
    "dom-6": "text.`div`.exists()",
}
_REF_1_START = "reference.startsWith('#').not()"
_DOM_3_START = "contained.where((('#'+id in"
_CROSS_VERSION_TYPES = frozenset(
    {"CanonicalResource", "MetadataResource", "DataType", "PrimitiveType", "BackboneType", "Base"}
)
_NARRATIVE_RULES = {
    "txt-1": "The narrative SHALL contain only the basic html formatting elements and attributes described in chapters 7-11 (except section 4 of chapter 9) and 15 of the HTML 4.0 standard, <a> elements (either name or href), images and internally contained style attributes",
    "txt-2": "The narrative SHALL have some non-whitespace content",
}
_PLAIN_STRING_TYPES = frozenset({"string", "markdown"})
_CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept", "Quantity", "string", "uri"})
_ABSOLUTE_REF = re.compile(r"^(https?://.+?/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]+)(/_history/[A-Za-z0-9\-\.]+)?$")
_JSON_KIND_NAMES = {"string": "a JSON String", "boolean": "a JSON Boolean", "number": "a JSON Number"}


def _json_kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


@dataclass(slots=True)
class _Run:
    """State of one validation call."""

    lang: str
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)
    root: dict[str, Any] | None = None
    bundle_index: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    profile: str | None = None
    base_pass: bool = True
    profiled: bool = False
    document_bundle: bool = False  # inside a document Bundle: references must resolve in it  # the current resource has profiles: their snapshots carry its bindings
    not_evaluated: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        severity: str,
        code: str,
        rule: str,
        location: str,
        fr: str,
        en: str,
        profile: str | None = None,
    ) -> None:
        location, en, fr = str(location), str(en), str(fr)
        key = (rule, location, en, severity)
        if key in self.findings:
            return
        self.findings[key] = Finding(
            Severity(severity), code, rule, location, fr, en, source="fhir", profile=profile or self.profile
        )

    def report(self, severity: str, code: str, rule: str, location: str, *args: Any) -> None:
        fr, en = texts(rule, *args)
        self.add(severity, code, rule, location, fr, en)


class FhirValidator:
    """Validates FHIR R4 resources against the base definitions and profiles of a `FhirContext`."""

    def __init__(self, ctx: Any = None, terminology_server: str | None = None) -> None:
        if ctx is None:
            from conformance.packages import load_context

            ctx = load_context()
        self.ctx = ctx
        self.terminology = Terminology(ctx, terminology_server)
        self.expressions = ExpressionCache()
        self._structures: dict[str, CompiledStructure | None] = {}
        self._lock = threading.RLock()
        self._resource_types: set[str] | None = None
        self._expectation_cache: dict[tuple[int, str], list[tuple[str, Any]]] = {}
        self._merged: dict[tuple[int, int, str | None], list[Constraint]] = {}
        self._memo: dict[tuple[int, bytes], tuple[Constraint, ...]] = {}
        self._memoisable: dict[int, bool] = {}
        self._missing_packages = ", ".join(str(m) for m in getattr(ctx, "missing", ()) or ())

    # ---- definitions ----------------------------------------------------------------------------------

    def structure(self, url_or_type: str) -> CompiledStructure | None:
        try:
            return self._structures[url_or_type]
        except KeyError:
            pass
        with self._lock:
            if url_or_type in self._structures:
                return self._structures[url_or_type]
            sd = self.ctx.structure_definition(url_or_type)
            compiled: CompiledStructure | None = None
            if sd is not None:
                try:
                    compiled = CompiledStructure(sd)
                except (ValueError, KeyError, TypeError):
                    compiled = None
            self._structures[url_or_type] = compiled
            return compiled

    def is_resource_type(self, name: str) -> bool:
        if not name or not name[0].isupper():
            return False
        struct = self.structure(name)
        return struct is not None and struct.kind == "resource" and struct.derivation == "specialization"

    # ---- public API -----------------------------------------------------------------------------------

    def validate(
        self, resource: dict[str, Any] | str | bytes, profiles: Sequence[str] = (), lang: str = "fr"
    ) -> Outcome:
        run = _Run(lang=lang)
        subject = "resource"
        if isinstance(resource, str | bytes):
            text = resource
            try:
                resource = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                run.report("fatal", "structure", "Error_parsing_JSON_", "", str(exc))
                return self._outcome(run, subject, ())
            duplicate = _duplicate_key(text) if len(text) <= _DUPLICATE_CHECK_LIMIT else None
            if duplicate is not None:
                run.report("fatal", "structure", "Error_parsing_JSON_", "", f"Duplicated property name: {duplicate}")
                return self._outcome(run, subject, ())
        if not isinstance(resource, dict):
            run.report(
                "fatal", "structure", "This_property_must_be_an_object_not_", "", "(root)", _json_kind_of(resource)
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
        return self._outcome(run, subject, used)

    def _outcome(self, run: _Run, subject: str, profiles: Iterable[str]) -> Outcome:
        details: dict[str, Any] = {"profiles": list(dict.fromkeys(profiles))}
        if run.not_evaluated:
            details["constraints_not_evaluated"] = dict(run.not_evaluated)
        return Outcome(subject=subject, kind="fhir", findings=list(run.findings.values()), details=details)

    # ---- resources ------------------------------------------------------------------------------------

    @staticmethod
    def _meta_profiles(resource: dict[str, Any]) -> list[str]:
        meta = resource.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("profile"), list):
            return [p for p in meta["profile"] if isinstance(p, str)]
        return []

    def _validate_resource(
        self,
        resource: dict[str, Any],
        loc: str,
        run: _Run,
        *,
        extra_profiles: Sequence[str] = (),
        root: bool = False,
    ) -> None:
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            run.report("error", "structure", "Unable_to_find_resourceType_property", loc)
            return
        if not self.is_resource_type(resource_type):
            run.report(
                "error", "structure", "This_does_not_appear_to_be_a_FHIR_resource_unknown_name_", loc, resource_type
            )
            return
        base = self.structure(resource_type)
        assert base is not None
        saved = (run.profile, run.base_pass, run.profiled)
        if resource_type == "Bundle":
            self._index_bundle(resource, run)
            if resource.get("type") == "document" and root:
                run.document_bundle = True
        profiles = list(dict.fromkeys([*self._meta_profiles(resource), *extra_profiles]))
        run.profile, run.base_pass = None, True
        resource_id = resource.get("id")
        if isinstance(resource_id, str) and resource_id and REGEX["id"].fullmatch(resource_id) is None:
            run.report("error", "invalid", "Resource_RES_ID_Malformed", f"{loc}.id", resource_id)
        run.profiled = any(self.structure(url.split("|", 1)[0]) is not None for url in profiles)
        self._walk_resource(resource, base, loc, run)
        if resource_type == "Bundle":
            self._check_bundle(resource, loc, run)
        for url in profiles:
            run.profiled = True
            self._validate_against_profile(resource, url, loc, run, from_caller=url in extra_profiles)
        run.profile, run.base_pass, run.profiled = saved

    def _validate_against_profile(
        self, resource: dict[str, Any], url: str, loc: str, run: _Run, *, from_caller: bool
    ) -> None:
        struct = self.structure(url.split("|", 1)[0])
        missing = f" ; packages manquants : {self._missing_packages}" if self._missing_packages else ""
        missing_en = f"; missing packages: {self._missing_packages}" if self._missing_packages else ""
        if struct is None:
            rule = "Validation_VAL_Unknown_Profile" if from_caller else "Validation_VAL_Profile_Unknown"
            fr, en = texts(rule, url, missing)
            en = texts(rule, url, missing_en)[1]
            run.profile = None
            run.add(
                "error" if from_caller else "warning",
                "not-found" if from_caller else "informational",
                rule,
                loc,
                fr,
                en,
            )
            return
        if struct.type != resource.get("resourceType"):
            run.report(
                "error",
                "structure",
                "Validation_VAL_Profile_WrongType",
                loc,
                url,
                struct.type,
                resource.get("resourceType"),
            )
            return
        run.profile, run.base_pass = struct.url, False
        self._walk_resource(resource, struct, loc, run)

    def _walk_resource(self, resource: dict[str, Any], struct: CompiledStructure, loc: str, run: _Run) -> None:
        self._walk_object(resource, struct.root, struct.root, loc, run, resource, is_resource=True)
        self._check_constraints(resource, struct.root.constraints, loc, run, resource, struct.type)

    # ---- objects --------------------------------------------------------------------------------------

    def _children_of(self, node: ElementNode, type_code: str | None) -> ElementNode | None:
        """The node whose children describe the content of an element of `node` (its own or its type's)."""
        if node.children:
            return node
        if node.content_reference:
            struct = self.structure(node.path.split(".", 1)[0])
            target = struct.node_for_reference(node.content_reference) if struct else None
            if target is None:
                ref_type = node.content_reference.split("#", 1)[-1].split(".", 1)[0]
                struct = self.structure(ref_type)
                target = struct.node_for_reference(node.content_reference) if struct else None
            return target
        if type_code:
            struct = self.structure(type_code)
            if struct is not None:
                return struct.root
        return None

    def _walk_object(
        self,
        obj: dict[str, Any],
        node: ElementNode,
        defs: ElementNode,
        loc: str,
        run: _Run,
        resource: dict[str, Any],
        *,
        is_resource: bool = False,
    ) -> None:
        """Check the properties of `obj` against `defs.children`; `node` is the element being walked."""
        names = defs.json_names
        groups: dict[int, list[tuple[str, ElementNode, str | None, Any, Any]]] = {}
        base_pass = run.base_pass
        shadows = any(isinstance(key, str) and key[:1] == "_" for key in obj)  # primitive extensions present?
        for key, value in obj.items():
            if not isinstance(key, str):
                if base_pass:
                    run.report("error", "structure", "Unrecognised_property_", loc, key)
                continue
            if key == "resourceType" and is_resource:
                continue
            if key[:1] == "_":
                entry = names.get(key[1:])
                if entry is None or (
                    entry[1] not in PRIMITIVES and entry[0].type_codes and not _all_primitive(entry[0])
                ):
                    if base_pass:
                        run.report("error", "structure", "Unrecognised_property_", loc, key)
                    continue
                if key[1:] in obj:
                    continue  # handled with its value
                groups.setdefault(id(entry[0]), []).append((key[1:], entry[0], entry[1], None, value))
                continue
            entry = names.get(key)
            if entry is None:
                if base_pass:
                    if defs.path == "Extension" or defs.path.endswith(".extension") or "Extension" in defs.type_codes:
                        pass
                    run.report("error", "structure", "Unrecognised_property_", loc, key)
                continue
            ext = obj.get("_" + key) if shadows else None
            groups.setdefault(id(entry[0]), []).append((key, entry[0], entry[1], value, ext))
        for child in defs.required_children:
            if id(child) not in groups and child.min > 0:
                self._report_min(child, 0, loc, run)
        for group in groups.values():
            self._walk_property(group, defs, loc, run, resource)

    def _report_min(self, child: ElementNode, count: int, loc: str, run: _Run) -> None:
        label = child.element_id if run.profile else child.path
        run.report(
            "error",
            "structure",
            "Validation_VAL_Profile_Minimum",
            loc,
            label,
            child.min,
            count,
            run.profile or _base_url(child.path),
        )

    def _walk_property(
        self,
        group: list[tuple[str, ElementNode, str | None, Any, Any]],
        parent: ElementNode,
        loc: str,
        run: _Run,
        resource: dict[str, Any],
    ) -> None:
        child = group[0][1]
        items: list[tuple[Any, Any, str | None, str]] = []  # (value, primitive extension, type, location)
        for key, _node, type_code, value, ext in group:
            name_loc = f"{loc}.{child.name[:-3]}.ofType({type_code})" if child.is_choice else f"{loc}.{key}"
            if child.array:
                values = self._as_list(value, key, name_loc, run, single=False)
                exts = ext if isinstance(ext, list) else ([] if ext is None else None)
                if exts is None:
                    if run.base_pass:
                        run.report(
                            "error",
                            "structure",
                            "This_property_must_be_an_Array_not_",
                            name_loc,
                            "_" + key,
                            _json_kind_of(ext),
                        )
                    exts = []
                if value is None:
                    values = [None] * len(exts)
                if not exts:
                    items.extend((item, None, type_code, f"{name_loc}[{index}]") for index, item in enumerate(values))
                    continue
                for index in range(max(len(values), len(exts))):
                    items.append(
                        (
                            values[index] if index < len(values) else None,
                            exts[index] if index < len(exts) else None,
                            type_code,
                            f"{name_loc}[{index}]",
                        )
                    )
            else:
                if isinstance(value, list) or isinstance(ext, list):
                    if run.base_pass:
                        run.report(
                            "error",
                            "structure",
                            "This_property_must_be_an_simple_value_not_",
                            name_loc,
                            key,
                            "an array",
                        )
                    continue
                items.append((value, ext, type_code, name_loc))
        count = len(items)
        if child.max is not None and count > child.max:
            label = child.element_id if run.profile else child.path
            run.report(
                "error",
                "structure",
                "Validation_VAL_Profile_Maximum",
                loc,
                label,
                child.max,
                count,
                run.profile or _base_url(child.path),
            )
        if child.min > count:
            self._report_min(child, count, loc, run)
        if child.is_choice and child.type_slices and child.slicing is not None:
            self._check_type_slices(child, items, loc, run)
        if child.slices:
            for (value, ext, type_code, item_loc), definition in self._assign_slices(child, items, run):
                self._walk_item(value, ext, definition, type_code, item_loc, run, resource)
            return
        for value, ext, type_code, item_loc in items:
            self._walk_item(value, ext, child, type_code, item_loc, run, resource)

    def _check_type_slices(
        self, child: ElementNode, items: list[tuple[Any, Any, str | None, str]], loc: str, run: _Run
    ) -> None:
        """value[x] sliced by type: slice cardinalities, and a closed slicing admits only the sliced types."""
        slicing = child.slicing
        assert slicing is not None
        seen: set[int] = set()
        for type_code, type_slice in child.type_slices.items():
            if id(type_slice) in seen:
                continue
            seen.add(id(type_slice))
            count = sum(1 for item in items if (item[2] or "").lower() == type_code.lower())
            if count < type_slice.min:
                run.report(
                    "error",
                    "structure",
                    "Validation_VAL_Profile_Minimum",
                    loc,
                    type_slice.element_id,
                    type_slice.min,
                    count,
                    run.profile or "",
                )
            if type_slice.max is not None and count > type_slice.max:
                run.report(
                    "error",
                    "structure",
                    "Validation_VAL_Profile_Maximum",
                    loc,
                    type_slice.element_id,
                    type_slice.max,
                    count,
                    run.profile or "",
                )
        if slicing.rules == "closed":
            sliced = {code.lower() for code in child.type_slices}
            for item in items:
                if (item[2] or "").lower() not in sliced:
                    run.report("error", "structure", "Validation_VAL_Profile_NotSlice", item[3], "", child.element_id)

    def _as_list(self, value: Any, key: str, loc: str, run: _Run, *, single: bool) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            if run.base_pass:
                run.report("error", "structure", "This_property_must_be_an_Array_not_", loc, key, _json_kind_of(value))
            return [value]
        if not value and run.base_pass:
            run.report("error", "structure", "Array_cannot_be_empty", loc)
        return value

    # ---- one item -------------------------------------------------------------------------------------

    def _walk_item(
        self,
        value: Any,
        ext: Any,
        node: ElementNode,
        type_code: str | None,
        loc: str,
        run: _Run,
        resource: dict[str, Any],
    ) -> None:
        if type_code is None:
            codes = node.type_codes
            type_code = codes[0] if len(codes) == 1 else None
            if type_code is None and isinstance(value, dict) and "resourceType" in value:
                type_code = "Resource"
        if node.is_choice and type_code in node.type_slices:
            node = node.type_slices[type_code]
        if type_code in PRIMITIVES or (type_code is None and not isinstance(value, dict)):
            self._check_primitive_item(value, ext, node, type_code or "string", loc, run, resource)
            return
        if not isinstance(value, dict):
            if run.base_pass:
                run.report(
                    "error", "structure", "This_property_must_be_an_object_not_", loc, node.name, _json_kind_of(value)
                )
            return
        if not value:
            if run.base_pass:
                run.report("error", "structure", "Object_must_have_some_content", loc)
            return
        if type_code in ("Resource", "DomainResource") or (
            type_code and self.is_resource_type(type_code) and "resourceType" in value
        ):
            self._walk_contained_resource(value, node, loc, run)
            return
        if type_code == "Extension":
            self._check_extension(value, node, loc, run, resource)
            return
        self._check_complex(value, node, type_code, loc, run, resource)

    def _check_complex(
        self,
        value: dict[str, Any],
        node: ElementNode,
        type_code: str | None,
        loc: str,
        run: _Run,
        resource: dict[str, Any],
        defs: ElementNode | None = None,
    ) -> None:
        defs = defs or self._children_of(node, type_code)
        if defs is None:
            if run.base_pass:
                run.report(
                    "error", "structure", "Validation_VAL_Profile_NoType", loc, node.path, ", ".join(node.type_codes)
                )
            return
        self._walk_object(value, node, defs, loc, run, resource)
        if node.fixed is not None:
            self._check_fixed(value, node.fixed[1], loc, run, exact=True)
        if node.pattern is not None:
            self._check_fixed(value, node.pattern[1], loc, run, exact=False)
        if node.binding is not None and type_code in _CODED_TYPES:
            self._check_binding(value, type_code, node, loc, run)
        if type_code == "Reference":
            self._check_reference(value, node, loc, run, resource)
        elif type_code in ("Coding",) and run.base_pass:
            self._check_coding_code(value, loc, run)
        elif type_code == "CodeableConcept" and run.base_pass:
            for index, coding in enumerate(_seq(value.get("coding"))):
                if isinstance(coding, dict):
                    self._check_coding_code(coding, f"{loc}.coding[{index}]", run)
        elif type_code == "Attachment" and run.base_pass:
            self._check_attachment(value, loc, run)
        elif type_code == "Identifier" and run.base_pass:
            system = value.get("system")
            if isinstance(system, str) and system and ":" not in system:
                run.report("error", "invalid", "Type_Specific_Checks_DT_Identifier_System", f"{loc}.system")
        constraints = self._constraints_for(node, defs, type_code)
        if constraints:
            self._check_constraints(
                value, constraints, loc, run, resource, node.path if node.children else (type_code or "")
            )
        self._check_type_profiles(value, node, type_code, loc, run, resource)

    def _constraints_for(self, node: ElementNode, defs: ElementNode, type_code: str | None) -> list[Constraint]:
        """The element's own constraints plus its type's (e.g. per-1 on any Period), merged once per pair."""
        key = (id(node), id(defs), type_code)
        merged = self._merged.get(key)
        if merged is None:
            merged = node.constraints
            if defs is not node and defs.constraints:
                merged = _merge_constraints(merged, defs.constraints)
            elif node.children and type_code and (type_struct := self.structure(type_code)) is not None:
                merged = _merge_constraints(merged, type_struct.root.constraints)
            self._merged[key] = merged
        return merged

    @staticmethod
    def _check_attachment(value: dict[str, Any], loc: str, run: _Run) -> None:
        """The stated size must be the size of the inline data."""
        data, size = value.get("data"), value.get("size")
        if not isinstance(data, str) or not isinstance(size, int) or isinstance(size, bool):
            return
        try:
            actual = len(base64.b64decode("".join(data.split()), validate=True))
        except (binascii.Error, ValueError):
            return  # reported as an invalid base64Binary
        if actual != size:
            run.report("error", "structure", "TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT", loc, size, actual)

    def _check_type_profiles(
        self,
        value: dict[str, Any],
        node: ElementNode,
        type_code: str | None,
        loc: str,
        run: _Run,
        resource: dict[str, Any],
    ) -> None:
        """Data types profiled in the definition (e.g. an FR Core address) are walked against that profile too."""
        for type_ref in node.types:
            if type_ref.code != type_code or not type_ref.profiles:
                continue
            struct = self.structure(type_ref.profiles[0].split("|", 1)[0])
            if struct is None or struct.root is node or struct.derivation != "constraint":
                continue
            saved = (run.profile, run.base_pass)
            run.profile, run.base_pass = struct.url, False
            self._walk_object(value, struct.root, struct.root, loc, run, resource)
            self._check_constraints(value, struct.root.constraints, loc, run, resource, struct.type)
            run.profile, run.base_pass = saved

    def _walk_contained_resource(self, value: dict[str, Any], node: ElementNode, loc: str, run: _Run) -> None:
        resource_type = value.get("resourceType")
        if not run.base_pass:
            for type_ref in node.types:
                for profile in type_ref.profiles:
                    struct = self.structure(profile)
                    if struct and struct.type == resource_type and struct.derivation == "constraint":
                        saved = (run.profile, run.base_pass)
                        run.profile = struct.url
                        self._walk_resource(value, struct, loc, run)
                        run.profile, run.base_pass = saved
            return
        self._validate_resource(value, loc, run)

    # ---- primitives -----------------------------------------------------------------------------------

    def _check_primitive_item(
        self, value: Any, ext: Any, node: ElementNode, type_code: str, loc: str, run: _Run, resource: dict[str, Any]
    ) -> None:
        if run.base_pass:
            if value is None and ext is None:
                run.report("error", "structure", "Type_Specific_Checks_DT_Primitive_ValueExt", loc)
                return
            if value is not None:
                self._check_primitive_value(value, type_code, node, loc, run)
            if ext is not None:
                if not isinstance(ext, dict):
                    run.report(
                        "error",
                        "structure",
                        "This_property_must_be_an_object_not_",
                        loc,
                        "_" + node.name,
                        _json_kind_of(ext),
                    )
                elif not ext:
                    run.report("error", "structure", "Object_must_have_some_content", loc)
                else:
                    element = self.structure("Element")
                    if element is not None:
                        self._walk_object(ext, element.root, element.root, loc, run, resource)
        if value is None:
            return
        if node.max_length is not None and isinstance(value, str) and len(value) > node.max_length:
            run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_Length", loc, node.max_length)
        if node.regex is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
            pattern = _regex(node.regex)
            if pattern is not None and pattern.fullmatch(str(value)) is None:
                run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_Regex", loc, value, node.regex)
        if node.fixed is not None and value != node.fixed[1]:
            run.report("error", "value", "_DT_Fixed_Wrong", loc, value, node.fixed[1])
        if node.pattern is not None and value != node.pattern[1]:
            run.report("error", "value", "_DT_Fixed_Wrong", loc, value, node.pattern[1])
        if node.binding is not None and type_code in ("code", "string", "uri") and isinstance(value, str):
            self._check_binding(value, "code", node, loc, run)
        if node.constraints:
            self._check_constraints(value, node.constraints, loc, run, resource, type_code)

    def _check_primitive_value(self, value: Any, type_code: str, node: ElementNode, loc: str, run: _Run) -> None:
        if type(value) is str and type_code in _PLAIN_STRING_TYPES:
            if value == "":
                run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_NotEmpty", loc)
            return  # the common case: a string type without lexical rules
        expected = JSON_KIND.get(type_code, "string")
        actual = _json_kind_of(value)
        if actual != expected:
            if actual in ("object", "array"):
                run.report("error", "structure", "This_property_must_be_an_simple_value_not_", loc, node.name, actual)
            else:
                run.report(
                    "error",
                    "structure",
                    "This_property_must_be__not_",
                    loc,
                    node.name,
                    _JSON_KIND_NAMES[expected],
                    _JSON_KIND_NAMES.get(actual, actual),
                )
            return
        if expected == "string":
            if value == "":
                run.report("error", "invalid", "Type_Specific_Checks_DT_Primitive_NotEmpty", loc)
                return
            if type_code == "xhtml":
                self._check_xhtml(value, loc, run)
                return
        problem = check_primitive(type_code, value)
        if problem is not None:
            rule, detail = problem
            fr, _en = texts("primitive", type_code, detail)
            run.add("error", "invalid", rule, loc, fr, detail)

    def _check_xhtml(self, value: str, loc: str, run: _Run) -> None:
        for rule, args in check_xhtml(value):
            if rule in ("txt-1", "txt-2"):
                fr, en = texts("invariant", rule, _NARRATIVE_RULES[rule], "htmlChecks()")
                run.add("error", "invariant", rule, loc, fr, en)
            else:
                run.report("error", "invalid", rule, loc, *args)

    # ---- fixed and pattern ----------------------------------------------------------------------------

    def _check_fixed(self, value: Any, expected: Any, loc: str, run: _Run, *, exact: bool) -> None:
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                run.report("error", "value", "_DT_Fixed_Wrong", loc, _short(value), _short(expected))
                return
            for key, sub_expected in expected.items():
                sub_loc = f"{loc}.{key}"
                if key not in value:
                    run.report("error", "value", "Profile_VAL_MissingElement", sub_loc, key, run.profile or "")
                    continue
                self._check_fixed(value[key], sub_expected, sub_loc, run, exact=exact)
            if exact:
                for key in value:
                    if key not in expected and key != "id" and not (key[:1] == "_" and key[1:] in expected):
                        run.report("error", "value", "Profile_VAL_NotAllowed", f"{loc}.{key}", key, run.profile or "")
            return
        if isinstance(expected, list):
            items = value if isinstance(value, list) else [value]
            for index, sub_expected in enumerate(expected):
                if exact:
                    if index >= len(items):
                        run.report(
                            "error",
                            "value",
                            "Profile_VAL_MissingElement",
                            f"{loc}[{index}]",
                            _short(sub_expected),
                            run.profile or "",
                        )
                    else:
                        self._check_fixed(items[index], sub_expected, f"{loc}[{index}]", run, exact=True)
                elif not any(_matches_pattern(item, sub_expected) for item in items):
                    run.report(
                        "error", "value", "Profile_VAL_MissingElement", loc, _short(sub_expected), run.profile or ""
                    )
            return
        if value != expected:
            run.report("error", "value", "_DT_Fixed_Wrong", loc, _short(value), _short(expected))

    # ---- terminology ----------------------------------------------------------------------------------

    def _check_coding_code(self, coding: dict[str, Any], loc: str, run: _Run) -> None:
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(system, str) or not isinstance(code, str):
            return
        if ":" not in system and system:
            run.report("error", "invalid", "Terminology_TX_System_Relative", f"{loc}.system")
            return
        if system.startswith("http://snomed.info/sct/"):  # an edition/version URI is not the code system
            run.report("error", "code-invalid", "Terminology_TX_System_Invalid", f"{loc}", system)
            return
        if system in EXTERNAL_SYSTEMS:
            return
        known = self.terminology.code_known(system, code)
        if known is None and self.terminology.code_system(system) is None:
            if self.ctx.value_set(system) is not None:
                run.report("error", "code-invalid", "Terminology_TX_System_ValueSet2", f"{loc}", system)
            else:
                run.report("information", "not-found", "Terminology_TX_System_NotKnown", f"{loc}", system)
        if known is False:
            run.report("error", "code-invalid", "Terminology_TX_Code_Unknown", f"{loc}.code", system, code)

    def _check_binding(self, value: Any, type_code: str, node: ElementNode, loc: str, run: _Run) -> None:
        assert node.binding is not None
        if run.base_pass and run.profiled:
            return  # the profiles' snapshots restate (or override) the base bindings
        strength, vs_url = node.binding
        if strength == "example":
            return
        codings: list[tuple[str | None, str]] = []
        if type_code == "code":
            codings = [(None, value)]
        elif type_code == "Coding":
            if isinstance(value.get("code"), str):
                codings = [(value.get("system"), value["code"])]
        elif type_code == "CodeableConcept":
            codings = [
                (c.get("system"), c["code"])
                for c in _seq(value.get("coding"))
                if isinstance(c, dict) and isinstance(c.get("code"), str)
            ]
        elif type_code == "Quantity" and isinstance(value.get("code"), str):
            codings = [(value.get("system"), value["code"])]
        codings = [(s, c) for s, c in codings if s is None or isinstance(s, str)]
        if not codings:
            return
        answers = []
        missing: list[str] = []
        for system, code in codings:
            answer, lacking = self.terminology.check(vs_url, system, code)
            answers.append(answer)
            missing.extend(lacking)
        if any(a is True for a in answers):
            return
        shown = ", ".join(f"{s}#{c}" if s else c for s, c in codings)
        vs_label = vs_url.split("|", 1)[0]
        if any(a is None for a in answers):
            if self.ctx.value_set(vs_label) is None:
                run.report("information", "informational", "Terminology_TX_ValueSet_NotFound", loc, vs_label, shown)
            else:
                run.report(
                    "information",
                    "informational",
                    "Terminology_TX_NotChecked",
                    loc,
                    vs_label,
                    shown,
                    ", ".join(sorted(set(missing))) or "?",
                )
            return
        severity = {"required": "error", "extensible": "warning", "preferred": "information"}.get(strength)
        if severity is None:
            return
        suffix = {"required": 0, "extensible": 1, "preferred": 2}[strength]
        if type_code == "CodeableConcept":
            rule = ("Terminology_TX_NoValid_1_CC", "Terminology_TX_NoValid_2_CC", "Terminology_TX_NoValid_3_CC")[suffix]
        elif type_code == "code":
            rule = ("Terminology_TX_NoValid_16", "Terminology_TX_NoValid_17", "Terminology_TX_NoValid_18")[suffix]
        else:
            rule = ("Terminology_TX_NoValid_12", "Terminology_TX_NoValid_13", "Terminology_TX_NoValid_14")[suffix]
        run.report(severity, "code-invalid", rule, loc, vs_label, shown)

    # ---- invariants -----------------------------------------------------------------------------------

    def _check_constraints(
        self, item: Any, constraints: list[Constraint], loc: str, run: _Run, resource: dict[str, Any], path: str = ""
    ) -> None:
        root = run.root or resource
        if len(constraints) >= _MEMO_MIN_CONSTRAINTS and type(item) is dict:
            self._check_constraints_memo(item, constraints, loc, run, resource, root, path)
            return
        for constraint in constraints:
            runner = constraint.runner
            if runner is None:
                runner = constraint.runner = self._runner(constraint)
            ok = runner(item, resource, root, path)
            if ok is None:
                run.not_evaluated.setdefault(constraint.key, self.expressions.error(constraint.expression) or "?")
                continue
            if not ok:
                severity = "error" if constraint.severity == "error" else "warning"
                fr, en = texts("invariant", constraint.key, constraint.human, constraint.expression)
                run.add(severity, "invariant", constraint.key, loc, fr, en)

    def _check_constraints_memo(
        self,
        item: dict[str, Any],
        constraints: list[Constraint],
        loc: str,
        run: _Run,
        resource: dict[str, Any],
        root: dict[str, Any],
        path: str,
    ) -> None:
        """Many constraints on one item (ElementDefinitions: ~20 each): identical content gives identical answers,
        so the failing keys are remembered per (constraint list, content digest). Only for constraint lists that
        do not look outside the item (%resource, %rootResource)."""
        memo_key: tuple[int, bytes] | None = None
        memoisable = self._memoisable.get(id(constraints))
        if memoisable is None:
            memoisable = self._memoisable[id(constraints)] = _memoisable(constraints)
        if memoisable:
            try:
                digest = hashlib.blake2b(orjson.dumps(item), digest_size=16).digest()
            except TypeError:
                digest = None
            if digest is not None:
                memo_key = (id(constraints), digest)
                failed = self._memo.get(memo_key)
                if failed is not None:
                    for constraint in failed:
                        self._report_invariant(constraint, loc, run)
                    return
        failures: list[Constraint] = []
        for constraint in constraints:
            runner = constraint.runner
            if runner is None:
                runner = constraint.runner = self._runner(constraint)
            ok = runner(item, resource, root, path)
            if ok is None:
                run.not_evaluated.setdefault(constraint.key, self.expressions.error(constraint.expression) or "?")
                memo_key = None  # engine trouble: do not remember
                continue
            if not ok:
                failures.append(constraint)
                self._report_invariant(constraint, loc, run)
        if memo_key is not None:
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[memo_key] = tuple(failures)

    @staticmethod
    def _report_invariant(constraint: Constraint, loc: str, run: _Run) -> None:
        severity = "error" if constraint.severity == "error" else "warning"
        fr, en = texts("invariant", constraint.key, constraint.human, constraint.expression)
        run.add(severity, "invariant", constraint.key, loc, fr, en)

    def _runner(self, constraint: Constraint) -> Any:
        """The cheapest way to evaluate this constraint: native, compiled subset, or fhirpathpy."""
        native = _native_rule(constraint)
        if native is not None:
            return lambda item, resource, root, path: native(item, root)
        expression = constraint.expression
        general = self._general_runner(expression)
        by_expression = NATIVE_BY_EXPRESSION.get(expression)
        if by_expression is None:
            return general

        def run_native(item: Any, resource: Any, root: Any, path: str) -> bool | None:
            answer = by_expression(item)
            return general(item, resource, root, path) if answer is None else answer

        return run_native

    def _general_runner(self, expression: str) -> Any:
        cache = self.expressions
        fast = cache.fast(expression) if cache.use_fast else None
        if fast is None:
            return lambda item, resource, root, path: cache.evaluate_full(expression, item, resource, root, path)

        def run_fast(item: Any, resource: Any, root: Any, path: str) -> bool | None:
            try:
                result = fast(item, resource, root)
            except Fallback:
                return cache.evaluate_full(expression, item, resource, root, path)
            return not (len(result) == 1 and result[0] is False)

        return run_fast

    # ---- extensions -----------------------------------------------------------------------------------

    def _check_extension(
        self, value: dict[str, Any], node: ElementNode, loc: str, run: _Run, resource: dict[str, Any]
    ) -> None:
        url = value.get("url")
        defined = None
        for type_ref in node.types:
            if type_ref.code == "Extension" and type_ref.profiles:
                defined = self.structure(type_ref.profiles[0].split("|", 1)[0])
        is_sub_extension = (
            node.path.startswith("Extension.")
            and node.name == "extension"
            and isinstance(url, str)
            and "://" not in url
            and not url.startswith("urn:")
        )
        if defined is None and isinstance(url, str) and not is_sub_extension:
            defined = self.structure(url.split("|", 1)[0])
            if defined is None and run.base_pass:
                missing_package = self._missing_package_for(url)
                if any(domain in url for domain in _EXAMPLE_DOMAINS):
                    run.report("information", "extension", "Extension_EXT_Unknown", loc, url)
                elif missing_package:
                    run.report(
                        "warning", "not-found", "Extension_EXT_Unknown_MissingPackage", loc, url, missing_package
                    )
                else:
                    run.report("error", "structure", "Extension_EXT_Unknown_NotHere", loc, url)
        if defined is not None and defined.type == "Extension" and run.base_pass:
            self._check_extension_context(defined, node, loc, run)
            if node.name == "modifierExtension" and not _is_modifier(defined):
                run.report("error", "structure", "Extension_EXT_Modifier_Y", loc, url)
            elif node.name == "extension" and _is_modifier(defined):
                run.report("error", "structure", "Extension_EXT_Modifier_N", loc, url)
        if defined is not None and defined.type == "Extension":
            self._check_extension_value_type(value, defined, loc, run)
            if run.base_pass:
                self._check_sub_extensions(value, defined, loc, run)
            saved = (run.profile, run.base_pass)
            if defined.root is not node:
                run.profile = defined.url
            self._check_complex(value, defined.root, "Extension", loc, run, resource, defs=defined.root)
            run.profile, run.base_pass = saved
            if run.base_pass:
                return
        self._check_complex(value, node, "Extension", loc, run, resource)

    def _missing_package_for(self, url: str) -> str | None:
        """The declared-but-unavailable package whose canonical space `url` is in, if any."""
        for name in getattr(self.ctx, "missing", ()) or ():
            package = str(name).split("#", 1)[0]
            for prefix in _canonical_prefixes(package):
                if url.startswith(prefix):
                    return str(name)
        return None

    def _check_sub_extensions(self, value: dict[str, Any], defined: CompiledStructure, loc: str, run: _Run) -> None:
        """A complex extension only admits the sub-extensions (relative urls) its definition slices."""
        ext_node = next((c for c in defined.root.children if c.name == "extension"), None)
        if ext_node is None or not ext_node.slices:
            return
        known = {_slice_url(s, self) for s in ext_node.slices}
        for index, sub in enumerate(value.get("extension") or ()):
            sub_url = sub.get("url") if isinstance(sub, dict) else None
            if (
                isinstance(sub_url, str)
                and "://" not in sub_url
                and not sub_url.startswith("urn:")
                and sub_url not in known
            ):
                run.report(
                    "error",
                    "structure",
                    "Extension_EXT_SubExtension_Invalid",
                    f"{loc}.extension[{index}]",
                    sub_url,
                    defined.url,
                )

    def _check_extension_value_type(
        self, value: dict[str, Any], defined: CompiledStructure, loc: str, run: _Run
    ) -> None:
        value_node = next((c for c in defined.root.children if c.name == "value[x]"), None)
        if value_node is None:
            return
        for key in value:
            if (
                isinstance(key, str)
                and key.startswith("value")
                and key[5:6].isupper()
                and key not in defined.root.json_names
            ):
                allowed = ", ".join(value_node.type_codes) if value_node.max != 0 else "(none)"
                run.report("error", "structure", "Extension_EXT_Type", f"{loc}.{key}", defined.url, allowed, key[5:])

    def _check_extension_context(self, defined: CompiledStructure, node: ElementNode, loc: str, run: _Run) -> None:
        contexts = defined.sd.get("context") or []
        if not contexts:
            return
        owner_path = node.path.rsplit(".", 1)[0] if "." in node.path else node.path
        candidates = {owner_path, "Element", "Resource", "DomainResource", "BackboneElement"}
        owner_struct_type = owner_path.split(".", 1)[0]
        candidates.add(owner_struct_type)
        for ctx in contexts:
            expression = ctx.get("expression", "")
            kind = ctx.get("type", "element")
            if kind == "fhirpath" or kind == "extension":
                return
            head = expression.split(".", 1)[0]
            if head in _CROSS_VERSION_TYPES or self.structure(head) is None:
                return  # a later-version type (CanonicalResource...) or unknown here: cannot judge
            if expression in candidates or expression == "*":
                return
            if "." not in expression and owner_path.startswith(expression + "."):
                continue
            if owner_path.endswith("." + expression) or expression.endswith("." + owner_path.split(".")[-1]):
                return
            struct = self.structure(expression.split(".", 1)[0])
            if (
                struct is not None
                and struct.kind in ("complex-type", "primitive-type")
                and expression.split(".", 1)[0] == owner_struct_type
            ):
                return
        # Data types: the owner of Identifier.extension is any element of type Identifier.
        if owner_struct_type[:1].isupper() and self.structure(owner_struct_type) is not None:
            struct = self.structure(owner_struct_type)
            if struct is not None and struct.kind != "resource":
                return
        allowed = ", ".join(c.get("expression", "") for c in contexts)
        run.report("error", "business-rule", "Extension_EXTP_Context_Wrong", loc, defined.url, allowed, owner_path)

    # ---- slicing --------------------------------------------------------------------------------------

    def _assign_slices(
        self, base: ElementNode, items: list[tuple[Any, Any, str | None, str]], run: _Run
    ) -> list[tuple[tuple[Any, Any, str | None, str], ElementNode]]:
        slicing = base.slicing
        slices = [
            s
            for s in base.slices
            if not (base.is_choice and s.slice_name in (base.name[:-3] + t[0].upper() + t[1:] for t in base.type_codes))
        ]
        if slicing is None or not slices:
            return [(item, base) for item in items]
        result: list[tuple[tuple[Any, Any, str | None, str], ElementNode]] = []
        counts = dict.fromkeys(range(len(slices)), 0)
        last_slice = -1
        unmatched_seen = False
        for item in items:
            value = item[0]
            match_index = None
            for index, candidate in enumerate(slices):
                if self._matches_slice(value, item[2], candidate, slicing, run, base):
                    match_index = index
                    break
            if match_index is None:
                unmatched_seen = True
                if slicing.rules == "closed":
                    run.report("error", "structure", "Validation_VAL_Profile_NotSlice", item[3], "", base.element_id)
                elif run.profile and base.name not in ("extension", "modifierExtension"):
                    run.report(
                        "information",
                        "informational",
                        "This_element_does_not_match_any_known_slice_",
                        item[3],
                        run.profile,
                    )
                result.append((item, base))
                continue
            if slicing.rules == "openAtEnd" and unmatched_seen:
                run.report(
                    "error",
                    "structure",
                    "Validation_VAL_Profile_OpenAtEnd",
                    item[3],
                    run.profile or "",
                    base.element_id,
                )
            if slicing.ordered and match_index < last_slice:
                run.report(
                    "error",
                    "structure",
                    "Validation_VAL_Profile_SliceOrder",
                    item[3],
                    run.profile or "",
                    slices[match_index].element_id,
                )
            last_slice = max(last_slice, match_index)
            counts[match_index] += 1
            result.append((item, slices[match_index]))
        loc = items[0][3].rsplit(".", 1)[0] if items else ""
        for index, candidate in enumerate(slices):
            count = counts[index]
            if count < candidate.min:
                run.report(
                    "error",
                    "structure",
                    "Validation_VAL_Profile_Minimum",
                    loc,
                    candidate.element_id,
                    candidate.min,
                    count,
                    run.profile or "",
                )
            if candidate.max is not None and count > candidate.max:
                run.report(
                    "error",
                    "structure",
                    "Validation_VAL_Profile_Maximum",
                    loc,
                    candidate.element_id,
                    candidate.max,
                    count,
                    run.profile or "",
                )
        # reslicing: the items of a slice may be sliced again
        final: list[tuple[tuple[Any, Any, str | None, str], ElementNode]] = []
        for candidate in slices:
            if candidate.slicing and candidate.slices:
                members = [item for item, definition in result if definition is candidate]
                final.extend(self._assign_slices(candidate, members, run))
        if final:
            resliced = {id(item) for item, _ in final}
            result = [pair for pair in result if id(pair[0]) not in resliced] + final
        return result

    def _matches_slice(
        self, value: Any, type_code: str | None, candidate: ElementNode, slicing: Any, run: _Run, base: ElementNode
    ) -> bool:
        if not slicing.discriminators:
            return False
        for disc_type, path in slicing.discriminators:
            if not self._discriminator_matches(value, type_code, candidate, disc_type, path, run, base):
                return False
        return True

    def _discriminator_matches(
        self,
        value: Any,
        type_code: str | None,
        candidate: ElementNode,
        disc_type: str,
        path: str,
        run: _Run,
        base: ElementNode,
    ) -> bool:
        if disc_type in ("value", "pattern"):
            expectations = self._slice_expectations(candidate, path, base)
            if not expectations:
                return False
            found = _navigate(value, path, self, run)
            for kind, wanted in expectations:
                if kind == "binding":
                    ok = any(self._in_value_set(f, wanted) for f in found)
                elif kind == "fixed":
                    ok = any(f == wanted for f in found)
                else:
                    ok = any(_matches_pattern(f, wanted) for f in found)
                if ok:
                    return True  # several expectations come from alternative sub-slices
            return False
        if disc_type == "exists":
            found = _navigate(value, path, self, run)
            target = self._slice_node_at(candidate, path)
            if target is None:
                return False
            if target.min >= 1:
                return bool(found)
            if target.max == 0:
                return not found
            return False
        if disc_type == "type":
            target = self._slice_node_at(candidate, path) if path != "$this" else candidate
            if target is None:
                return False
            wanted = set(target.type_codes)
            if path == "$this" and type_code:
                return type_code in wanted
            found = _navigate(value, path, self, run)
            for item in found:
                if isinstance(item, dict) and "resourceType" in item:
                    return item["resourceType"] in wanted or bool(wanted & {"Resource", "DomainResource"})
            return False
        if disc_type == "profile":
            target = self._slice_node_at(candidate, path) if path != "$this" else candidate
            if target is None:
                return False
            found = _navigate(value, path, self, run)
            profiles = [p for t in target.types for p in (t.profiles or t.target_profiles)]
            return any(self._conforms(item, profile, run) for item in found for profile in profiles)
        return False

    def _slice_node_at(self, candidate: ElementNode, path: str) -> ElementNode | None:
        node: ElementNode | None = candidate
        if path in ("$this", ""):
            return candidate
        for part in _path_parts(path):
            if node is None:
                return None
            if part.startswith("extension(") or part in ("resolve()",) or part.startswith("ofType("):
                if part.startswith("extension("):
                    url = part[len("extension(") :].strip(")'\"")
                    ext_node = next((c for c in node.children if c.name == "extension"), None)
                    node = next((s for s in (ext_node.slices if ext_node else ()) if _slice_url(s, self) == url), None)
                continue
            defs = (
                node
                if node.children
                else self._children_of(node, node.type_codes[0] if len(node.type_codes) == 1 else None)
            )
            if defs is None:
                return None
            entry = defs.json_names.get(part) or next(
                ((c, None) for c in defs.children if c.name == part or c.name == part + "[x]"), None
            )
            node = entry[0] if entry else None
        return node

    def _slice_expectations(self, candidate: ElementNode, path: str, base: ElementNode) -> list[tuple[str, Any]]:
        key = (id(candidate), path)
        cached = self._expectation_cache.get(key)
        if cached is None:
            cached = self._expectation_cache[key] = self._compute_expectations(candidate, path, base)
        return cached

    def _compute_expectations(self, candidate: ElementNode, path: str, base: ElementNode) -> list[tuple[str, Any]]:
        if path == "url" and "Extension" in candidate.type_codes:
            for type_ref in candidate.types:
                if type_ref.profiles:
                    return [("fixed", type_ref.profiles[0].split("|", 1)[0])]
        parts = _path_parts(path)
        found = self._expected_at(candidate, parts, 0)
        if any(kind == "binding" for kind, _ in found):
            # a binding every slice inherits from the sliced element tells the slices apart from nothing
            inherited = {value for kind, value in self._expected_at(base, parts, 0) if kind == "binding"}
            found = [(kind, value) for kind, value in found if not (kind == "binding" and value in inherited)]
        return found

    def _expected_at(self, node: ElementNode, parts: list[str], depth: int) -> list[tuple[str, Any]]:
        """Fixed/pattern/required-binding values at `parts` below `node`, looking into sub-slices when needed."""
        if not parts:
            if node.fixed is not None:
                return [("fixed", node.fixed[1])]
            if node.pattern is not None:
                return [("pattern", node.pattern[1])]
            if node.binding is not None and node.binding[0] == "required":
                return [("binding", node.binding[1])]
            return []
        if depth > 8:
            return []
        part = parts[0]
        if part.startswith("extension("):
            url = part[len("extension(") :].strip(")'\"")
            ext_node = next((c for c in node.children if c.name == "extension"), None)
            target = next((s for s in (ext_node.slices if ext_node else ()) if _slice_url(s, self) == url), None)
            return self._expected_at(target, parts[1:], depth + 1) if target else []
        if part == "resolve()" or part.startswith("ofType("):
            return self._expected_at(node, parts[1:], depth + 1)
        defs = (
            node
            if node.children
            else self._children_of(node, node.type_codes[0] if len(node.type_codes) == 1 else None)
        )
        if defs is None:
            return []
        entry = defs.json_names.get(part) or next(
            ((c, None) for c in defs.children if c.name in (part, part + "[x]")), None
        )
        if entry is None:
            return []
        child = entry[0]
        found = self._expected_at(child, parts[1:], depth + 1)
        if not found:
            for sub in child.slices:
                found.extend(self._expected_at(sub, parts[1:], depth + 1))
        return found

    def _in_value_set(self, value: Any, vs_url: str) -> bool:
        codings: list[tuple[str | None, str]] = []
        if isinstance(value, str):
            codings = [(None, value)]
        elif isinstance(value, dict):
            if "coding" in value:
                codings = [
                    (c.get("system"), c.get("code"))
                    for c in _seq(value.get("coding"))
                    if isinstance(c, dict) and c.get("code")
                ]
            elif value.get("code"):
                codings = [(value.get("system"), value["code"])]
        return any(self.terminology.check(vs_url, s, c)[0] for s, c in codings)

    def _conforms(self, item: Any, profile: str, run: _Run) -> bool:
        if not isinstance(item, dict):
            return False
        struct = self.structure(profile.split("|", 1)[0])
        if struct is None:
            return False
        probe = _Run(lang=run.lang, root=run.root, bundle_index=run.bundle_index, profile=struct.url, base_pass=False)
        if "resourceType" in item:
            if item.get("resourceType") != struct.type:
                return False
            self._walk_resource(item, struct, "", probe)
        else:
            self._walk_object(item, struct.root, struct.root, "", probe, run.root or {})
        return not any(f.severity.is_failure for f in probe.findings.values())

    # ---- references and bundles -----------------------------------------------------------------------

    def _index_bundle(self, bundle: dict[str, Any], run: _Run) -> None:
        for entry in bundle.get("entry") or ():
            if not isinstance(entry, dict):
                continue
            resource = entry.get("resource")
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and isinstance(resource, dict):
                run.bundle_index.setdefault(full_url, []).append(resource)
                match = _ABSOLUTE_REF.match(full_url)
                if match:
                    run.bundle_index.setdefault(f"{match.group(2)}/{match.group(3)}", []).append(resource)
            elif isinstance(resource, dict) and resource.get("id") and resource.get("resourceType"):
                run.bundle_index.setdefault(f"{resource['resourceType']}/{resource['id']}", []).append(resource)

    def _check_bundle(self, bundle: dict[str, Any], loc: str, run: _Run) -> None:
        for index, entry in enumerate(bundle.get("entry") or ()):
            if not isinstance(entry, dict):
                continue
            resource, full_url = entry.get("resource"), entry.get("fullUrl")
            if not isinstance(resource, dict) or not isinstance(full_url, str):
                continue
            match = _ABSOLUTE_REF.match(full_url)
            if (
                match
                and resource.get("id")
                and match.group(3) != resource.get("id")
                and not full_url.startswith("urn:")
            ):
                run.report(
                    "warning",
                    "invalid",
                    "Bundle_BUNDLE_Entry_IdUrlMismatch",
                    f"{loc}.entry[{index}]",
                    resource.get("id"),
                    full_url,
                )

    def _check_reference(
        self, value: dict[str, Any], node: ElementNode, loc: str, run: _Run, resource: dict[str, Any]
    ) -> None:
        reference = value.get("reference")
        if not isinstance(reference, str) or not reference:
            return
        allowed = self._allowed_targets(node)
        target_type: str | None = None
        if reference.startswith("#"):
            if reference == "#":
                return
            container = run.root or resource
            found = [c for c in _all_contained(container, resource) if c.get("id") == reference[1:]]
            if not found:
                if run.base_pass:
                    run.report("error", "structure", "Reference_REF_CantResolve", f"{loc}.reference", reference)
                return
            target_type = found[0].get("resourceType")
        elif reference.startswith(("urn:uuid:", "urn:oid:")):
            found = run.bundle_index.get(reference, [])
            if run.bundle_index and not found and run.base_pass:
                # a warning in general, as the reference validator; inside a document it must resolve
                if run.document_bundle and loc.startswith("Bundle.entry["):
                    run.report("error", "structure", "Bundle_BUNDLE_Entry_NotFound", f"{loc}.reference", reference)
                else:
                    run.report("warning", "structure", "Bundle_BUNDLE_Not_Local", f"{loc}.reference", reference)
            target_type = found[0].get("resourceType") if found else None
        else:
            match = _ABSOLUTE_REF.match(reference.split("?", 1)[0] if "?" in reference else reference)
            if match is None:
                if "?" in reference and reference.split("?", 1)[0][:1].isupper():
                    return
                if "://" not in reference and run.base_pass:
                    run.report("error", "structure", "Reference_REF_Format1", f"{loc}.reference", reference)
                return
            target_type = match.group(2)
            if not self.is_resource_type(target_type):
                if "://" not in reference and run.base_pass:
                    run.report("error", "structure", "Reference_REF_Format1", f"{loc}.reference", reference)
                return
            found = run.bundle_index.get(reference) or run.bundle_index.get(f"{match.group(2)}/{match.group(3)}", [])
            if (
                not found
                and run.document_bundle
                and run.base_pass
                and "://" not in reference
                and loc.startswith("Bundle.entry[")
            ):
                run.report("error", "structure", "Bundle_BUNDLE_Entry_NotFound", f"{loc}.reference", reference)
            if found and found[0].get("resourceType") != target_type and run.base_pass:
                run.report(
                    "error",
                    "structure",
                    "Reference_REF_ResourceType",
                    f"{loc}.reference",
                    reference,
                    found[0].get("resourceType"),
                )
        declared = value.get("type")
        if isinstance(declared, str) and target_type and declared != target_type and run.base_pass:
            run.report("error", "structure", "Reference_REF_TypeMismatch", loc, declared, target_type)
        if target_type is None and isinstance(declared, str):
            target_type = declared
        if target_type and allowed and not (allowed & {"Resource", "DomainResource", target_type}):
            run.report(
                "error",
                "structure",
                "Reference_REF_BadTargetType",
                f"{loc}.reference",
                target_type,
                ", ".join(sorted(allowed)),
            )

    def _allowed_targets(self, node: ElementNode) -> set[str]:
        allowed: set[str] = set()
        for type_ref in node.types:
            if type_ref.code not in ("Reference", "canonical"):
                continue
            for versioned in type_ref.target_profiles:
                profile = versioned.split("|", 1)[0]
                name = profile.rsplit("/", 1)[-1]
                if profile.startswith("http://hl7.org/fhir/StructureDefinition/") and self.is_resource_type(name):
                    allowed.add(name)
                    continue
                struct = self.structure(profile.split("|", 1)[0])
                if struct is not None:
                    allowed.add(struct.type)
                else:
                    allowed.add("Resource")  # unknown target profile: do not guess
        return allowed


# ---- helpers ---------------------------------------------------------------------------------------------

_KNOWN_CANONICALS = {
    "ihe.iti.mhd": ("https://profiles.ihe.net/ITI/MHD/",),
    "ans.fr.terminologies": ("https://smt.esante.gouv.fr/", "https://mos.esante.gouv.fr/"),
    "hl7.fhir.uv.xver-r5.r4": ("http://hl7.org/fhir/5.0/",),
}


def _canonical_prefixes(package: str) -> tuple[str, ...]:
    """Where a package's canonical URLs live (known ones, else the ANS / IHE naming conventions)."""
    if package in _KNOWN_CANONICALS:
        return _KNOWN_CANONICALS[package]
    if package.startswith("ans.fhir.fr."):
        return (f"https://interop.esante.gouv.fr/ig/fhir/{package.rsplit('.', 1)[-1]}/",)
    if package.startswith("ihe.iti."):
        return (f"https://profiles.ihe.net/ITI/{package.rsplit('.', 1)[-1].upper()}/",)
    return ()


_NATIVE_CACHE: dict[tuple[str, str], Any] = {}
_REGEXES: dict[str, re.Pattern[str] | None] = {}


def _regex(pattern: str) -> re.Pattern[str] | None:
    if pattern not in _REGEXES:
        try:
            _REGEXES[pattern] = re.compile(pattern)
        except re.error:
            _REGEXES[pattern] = None
    return _REGEXES[pattern]


_MEMO_MIN_CONSTRAINTS = 6
_MEMO_MAX = 300_000
_MEMOISABLE: dict[int, bool] = {}


def _memoisable(constraints: list[Constraint]) -> bool:
    answer = _MEMOISABLE.get(id(constraints))
    if answer is None:
        answer = _MEMOISABLE[id(constraints)] = all(
            "%" not in c.expression and "resolve()" not in c.expression for c in constraints
        )
    return answer


def _native_rule(constraint: Constraint) -> Any:
    """A native implementation (item, root) -> bool of this exact constraint, or None."""
    cache_key = (constraint.key, constraint.expression)
    try:
        return _NATIVE_CACHE[cache_key]
    except KeyError:
        pass
    key, expression = cache_key
    rule: Any = None
    if key in NATIVE_RESOURCE and (
        _NATIVE_EXPRESSIONS.get(key) == expression or (key == "dom-3" and expression.startswith(_DOM_3_START))
    ):
        function = NATIVE_RESOURCE[key]

        def rule(item: Any, root: Any, function: Any = function) -> bool:
            return function(item) if isinstance(item, dict) else True

    elif key == "ext-1" and expression == _NATIVE_EXPRESSIONS["ext-1"]:

        def rule(item: Any, root: Any) -> bool:
            return ext_1(item)

    elif key == "ref-1" and expression.startswith(_REF_1_START):

        def rule(item: Any, root: Any) -> bool:
            return ref_1(item, root) if isinstance(item, dict) else True

    _NATIVE_CACHE[cache_key] = rule
    return rule


# orjson keeps the last of duplicated keys silently; the reference validator rejects such JSON (fatal).
_DUPLICATE_CHECK_LIMIT = 4 * 1024 * 1024


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _duplicate_key(text: str | bytes) -> str | None:
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKeyError as exc:
        return str(exc)
    except ValueError:
        return None
    return None


def _seq(value: Any) -> list[Any]:
    """A repeating element as a list, whatever the input holds (malformed shapes are reported elsewhere)."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _base_url(path: str) -> str:
    return "http://hl7.org/fhir/StructureDefinition/" + path.split(".", 1)[0]


def _all_primitive(node: ElementNode) -> bool:
    return all(code in PRIMITIVES for code in node.type_codes)


def _merge_constraints(first: list[Constraint], second: list[Constraint]) -> list[Constraint]:
    keys = {c.key for c in first}
    return first + [c for c in second if c.key not in keys]


def _is_modifier(struct: CompiledStructure) -> bool:
    for child in struct.root.children:
        if child.name == "modifierExtension" and child.max != 0:
            return False
    sd_elements = (struct.sd.get("snapshot") or {}).get("element") or []
    return bool(sd_elements and sd_elements[0].get("isModifier"))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


def _matches_pattern(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(key in value and _matches_pattern(value[key], sub) for key, sub in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(_matches_pattern(item, sub) for item in items) for sub in pattern)
    return value == pattern


def _path_parts(path: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in path:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p for p in parts if p != "$this"]


def _navigate(value: Any, path: str, validator: FhirValidator, run: _Run) -> list[Any]:
    """The values a slicing discriminator path designates in an instance item."""
    current = [value]
    for part in _path_parts(path):
        following: list[Any] = []
        for item in current:
            if part == "resolve()":
                if isinstance(item, dict) and isinstance(item.get("reference"), str):
                    following.extend(run.bundle_index.get(item["reference"], []))
                    ref = item["reference"]
                    if ref.startswith("#"):
                        following.extend(
                            c for c in _all_contained(run.root or {}, run.root or {}) if c.get("id") == ref[1:]
                        )
                continue
            if part.startswith("ofType("):
                wanted = part[7:-1]
                if isinstance(item, dict) and item.get("resourceType") == wanted:
                    following.append(item)
                continue
            if part.startswith("extension("):
                url = part[len("extension(") :].strip(")").strip("'\"")
                if isinstance(item, dict):
                    following.extend(
                        e for e in item.get("extension") or () if isinstance(e, dict) and e.get("url") == url
                    )
                continue
            if not isinstance(item, dict):
                continue
            if part in item:
                sub = item[part]
                following.extend(sub if isinstance(sub, list) else [sub])
            else:
                for key, sub in item.items():  # choice types: value -> valueCoding
                    if key.startswith(part) and key[len(part) : len(part) + 1].isupper():
                        following.extend(sub if isinstance(sub, list) else [sub])
        current = following
    return current


def _slice_url(node: ElementNode, validator: FhirValidator) -> str | None:
    for type_ref in node.types:
        if type_ref.profiles:
            return type_ref.profiles[0].split("|", 1)[0]
    url = next((c for c in node.children if c.name == "url"), None)
    return url.fixed[1] if url is not None and url.fixed is not None else None


def _all_contained(root: dict[str, Any], resource: dict[str, Any]) -> list[dict[str, Any]]:
    contained = [c for c in _seq(resource.get("contained")) if isinstance(c, dict)]
    if root is not resource:
        contained.extend(c for c in _seq(root.get("contained")) if isinstance(c, dict))
    return contained
