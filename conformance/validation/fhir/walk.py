"""Walk of a resource along a compiled snapshot: resources and profiles, objects, properties, items,
cardinality, complex types, type profiles and contained resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from conformance.validation.fhir.datatypes import (
    MAX_STRING_LENGTH,
    PLAIN_STRING_TYPES,
    accepted_values,
    valid_texts,
)
from conformance.validation.fhir.messages import texts
from conformance.validation.fhir.primitives import PRIMITIVES, REGEX
from conformance.validation.fhir.run import Run, all_primitive, base_url, json_kind_of, seq
from conformance.validation.fhir.structure import CompiledStructure, Constraint, ElementNode
from conformance.validation.ins import fhir_identifier_findings

_Walk = tuple[tuple[tuple[str, str, str, str, str, str, str | None], ...], tuple[tuple[str, str], ...]]
_WALK_MEMO_MAX = 100_000
# data types that definitions repeat by the thousand (element definitions, publisher contacts, codings)
_MEMOISED_TYPES = frozenset(
    {"ElementDefinition", "ContactDetail", "ContactPoint", "Coding", "CodeableConcept", "UsageContext", "Identifier"}
)
_CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept", "Quantity", "string", "uri"})
_FAST_PRIMITIVES = PRIMITIVES - {"canonical"}  # a canonical is also resolved
# how _walk_object walks one element's properties, decided once per (definition, property names)
_PLAIN_STRING = "plain-string"  # one string of a rule-free element: a walk only when empty or too long
_PRIMITIVE = "primitive"  # one primitive of a rule-free element: its lexical checks
_SINGLE = "single"  # one value, no primitive extension, no slices: _walk_single
_PROPERTY = "property"  # one value of a sliced element, no primitive extension: _walk_property
_GENERAL = "general"  # with its primitive extension, or a choice under several names
_COMPLEX = "complex"  # one object of a single complex element (no count to judge): its walk directly
_COMPLEX_ARRAY = "complex-array"  # the objects of a repeating complex element: each one's walk directly
_Entry = tuple[str, ElementNode, str | None, bool, str | None]  # name, element, type, has a value, "_name" key
# (way, name, element, type, entries of a general group, location suffix, item way, item element)
_Group = tuple[str, str, ElementNode, str | None, tuple[_Entry, ...], str, str, ElementNode]
_PRIMITIVE_ONE = "primitive-one"  # one primitive of a single element with rules: _check_primitive_item directly
# a member nothing may be said of in the base pass when its value is a plain string (texts None) or a text known
# valid (in texts), or a non-text value its type accepts: (name, texts, accepted types, integer range)
_Simple = tuple[str, set[str] | None, tuple[type, ...], tuple[int, int] | None]
# (unknown names, required children absent, the simple members, every group, the other groups)
_Shape = tuple[tuple[Any, ...], tuple[ElementNode, ...], tuple[_Simple, ...], tuple[_Group, ...], tuple[_Group, ...]]
_SHAPES_MAX = 50_000
# how _walk_item walks an item, decided once per (element, type)
_ITEM_PRIMITIVE, _ITEM_RESOURCE, _ITEM_RESOURCE_TYPE = "primitive", "resource", "resource-type"
_ITEM_EXTENSION, _ITEM_MEMOISED, _ITEM_COMPLEX = "extension", "memoised", "complex"
_SPECIFIC_TYPES = frozenset({"Reference", "Coding", "CodeableConcept", "Attachment", "Identifier"})
_ComplexPlan = tuple[ElementNode | None, bool, list[Constraint], str]


class WalkAspect:
    """Resources, objects, properties and items, with their cardinality; the other aspects are called from here."""

    _walks: dict[tuple[Any, ...], _Walk]
    _shapes: dict[tuple[ElementNode, bool, tuple[Any, ...]], _Shape]

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
        run: Run,
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
        if resource_type == "Bundle":
            self._index_bundle(resource, run)
            if resource.get("type") == "document" and root:
                run.document_bundle = True
        global_profiles = getattr(self.ctx, "global_profiles", None)
        declared = global_profiles(resource_type) if global_profiles is not None else ()
        profiles = list(dict.fromkeys([*self._meta_profiles(resource), *extra_profiles, *declared]))
        profiled = any(self.structure(url.split("|", 1)[0]) is not None for url in profiles)
        with run.scope(profile=None, base_pass=True, profiled=profiled):
            resource_id = resource.get("id")
            if isinstance(resource_id, str) and resource_id and REGEX["id"].fullmatch(resource_id) is None:
                run.report("error", "invalid", "Resource_RES_ID_Malformed", f"{loc}.id", resource_id)
            self._walk_resource(resource, base, loc, run)
            if resource_type == "Bundle":
                self._check_bundle(resource, loc, run)
            elif resource_type == "QuestionnaireResponse":
                self._check_questionnaire_response(resource, loc, run)
            elif resource_type == "MeasureReport":
                self._check_measure_report(resource, loc, run)
            elif resource_type == "CapabilityStatement":
                self._check_capability_statement(resource, loc, run)
            elif resource_type == "SearchParameter":
                self._check_search_parameter(resource, loc, run)
            elif resource_type == "StructureDefinition":
                self._check_structure_definition(resource, loc, run)
            for url in profiles:
                with run.scope(profiled=True):
                    self._validate_against_profile(resource, url, loc, run, from_caller=url in extra_profiles)

    def _validate_against_profile(
        self, resource: dict[str, Any], url: str, loc: str, run: Run, *, from_caller: bool
    ) -> None:
        struct = self.structure(url.split("|", 1)[0])
        missing = f" ; packages manquants : {self._missing_packages}" if self._missing_packages else ""
        missing_en = f"; missing packages: {self._missing_packages}" if self._missing_packages else ""
        if struct is None:
            rule = "Validation_VAL_Unknown_Profile" if from_caller else "Validation_VAL_Profile_Unknown"
            fr, en = texts(rule, url, missing)
            en = texts(rule, url, missing_en)[1]
            severity = "error" if from_caller else "warning"
            with run.scope(profile=None):
                run.add(severity, "not-found" if from_caller else "informational", rule, loc, fr, en)
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
        with run.scope(profile=struct.url, base_pass=False):
            self._walk_resource(resource, struct, loc, run)

    def _walk_resource(self, resource: dict[str, Any], struct: CompiledStructure, loc: str, run: Run) -> None:
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
        run: Run,
        resource: dict[str, Any],
        *,
        is_resource: bool = False,
    ) -> None:
        """Check the properties of `obj` against `defs.children`; `node` is the element being walked."""
        key = (defs, is_resource, tuple(obj))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shape_of(obj, defs, is_resource)
            if len(self._shapes) >= _SHAPES_MAX:
                self._shapes.clear()
            self._shapes[key] = shape
        unknown, missing, simple, groups, rest = shape
        base_pass = run.base_pass
        if unknown and base_pass:
            for name in unknown:
                run.report("error", "structure", "Unrecognised_property_", loc, name)
        for child in missing:
            if child.min > 0:
                self._check_count(child, 0, loc, run)
            for required in child.slices:
                if required.min > 0:
                    run.cardinality(required.element_id, required.min, required.max, 0, loc, run.profile or "")
        # the common case first: every plain string and primitive member holds a value nothing can be said of,
        # and only the other groups are walked (in order); else every group is, in order
        todo = rest
        if base_pass:
            for name, texts, classes, limits in simple:
                value = obj[name]
                cls = type(value)
                if cls is str:
                    if value and (len(value) <= MAX_STRING_LENGTH if texts is None else value in texts):
                        continue
                elif cls in classes and (limits is None or limits[0] <= value <= limits[1]):
                    continue
                todo = groups
                break
        else:  # a profile pass says nothing of these members' values, only of their absence or an array
            for simple_entry in simple:
                value = obj[simple_entry[0]]
                if value is None or isinstance(value, list):
                    todo = groups
                    break
        if not todo:
            return
        run.owners.append(obj)
        for kind, name, child, type_code, entries, suffix, item_kind, item_node in todo:
            if kind is _COMPLEX:
                value = obj[name]
                if type(value) is dict and value:
                    if item_kind is _ITEM_MEMOISED and run.recording is None:
                        self._check_memoised(value, item_node, type_code or "", loc + suffix, run, resource)
                    else:
                        self._check_complex(value, item_node, type_code, loc + suffix, run, resource)
                else:
                    self._walk_single(value, name, child, type_code, loc, run, resource)
            elif kind is _COMPLEX_ARRAY:
                self._walk_complex_array(obj[name], name, child, type_code, item_kind, item_node, loc, run, resource)
            elif kind is _PRIMITIVE_ONE:
                value = obj[name]
                if isinstance(value, list):
                    self._walk_single(value, name, child, type_code, loc, run, resource)
                else:
                    self._check_primitive_item(value, None, item_node, type_code or "", loc + suffix, run, resource)
            elif kind is _PLAIN_STRING or kind is _PRIMITIVE:
                value = obj[name]
                if kind is _PLAIN_STRING and type(value) is str and value and len(value) <= MAX_STRING_LENGTH:
                    continue  # a plain string nothing can be said of (_check_primitive_value)
                if value is not None and not isinstance(value, list):
                    if base_pass:
                        self._check_primitive_value(value, type_code or "", child, loc + suffix, run)
                    continue
                self._walk_single(value, name, child, type_code, loc, run, resource)
            elif kind is _SINGLE:
                self._walk_single(obj[name], name, child, type_code, loc, run, resource)
            elif kind is _PROPERTY:
                self._walk_property([(name, child, type_code, obj[name], None)], defs, loc, run, resource)
            else:
                self._walk_general_group(obj, entries, defs, loc, run, resource)
        run.owners.pop()

    def _walk_complex_array(
        self,
        value: Any,
        name: str,
        child: ElementNode,
        type_code: str | None,
        item_kind: str,
        item_node: ElementNode,
        loc: str,
        run: Run,
        resource: dict[str, Any],
    ) -> None:
        """What _walk_single and _walk_item do for a repeating element of a complex type, its plan known."""
        name_loc = f"{loc}.{name}"
        values = value if type(value) is list and value else self._as_list(value, name, name_loc, run, single=False)
        count = len(values)
        if count < child.min or (child.max is not None and count > child.max):
            self._check_count(child, count, loc, run)
        memoised = item_kind is _ITEM_MEMOISED and run.recording is None
        for index, item in enumerate(values):
            item_loc = f"{name_loc}[{index}]"
            if type(item) is not dict or not item:
                self._walk_item(item, None, child, type_code, item_loc, run, resource)
            elif memoised:
                self._check_memoised(item, item_node, type_code or "", item_loc, run, resource)
            else:
                self._check_complex(item, item_node, type_code, item_loc, run, resource)

    def _shape_of(self, obj: dict[str, Any], defs: ElementNode, is_resource: bool) -> _Shape:
        """What the names of an object's properties alone decide: the unknown names (in order), the required
        children absent, and its properties grouped by element (in order of first name), each with the way to
        walk it."""
        names = defs.json_names
        unknown: list[Any] = []
        groups: dict[int, list[_Entry]] = {}
        for key in obj:
            if not isinstance(key, str):
                unknown.append(key)
                continue
            if key == "resourceType" and is_resource:
                continue
            if key[:1] == "_":
                entry = names.get(key[1:])
                if entry is None or (
                    entry[1] not in PRIMITIVES and entry[0].type_codes and not all_primitive(entry[0])
                ):
                    unknown.append(key)
                elif key[1:] not in obj:  # else handled with its value
                    groups.setdefault(id(entry[0]), []).append((key[1:], entry[0], entry[1], False, key))
                continue
            entry = names.get(key)
            if entry is None:
                unknown.append(key)
                continue
            ext_key = "_" + key
            groups.setdefault(id(entry[0]), []).append(
                (key, entry[0], entry[1], True, ext_key if ext_key in obj else None)
            )
        plans = tuple(self._group_plan(group) for group in groups.values())
        missing = tuple(child for child in defs.required_children if id(child) not in groups)
        simple = tuple(
            (plan[1], None, *accepted_values(""))
            if plan[0] is _PLAIN_STRING
            else (plan[1], valid_texts(plan[3] or ""), *accepted_values(plan[3] or ""))
            for plan in plans
            if plan[0] is _PLAIN_STRING or plan[0] is _PRIMITIVE
        )
        rest = tuple(plan for plan in plans if plan[0] is not _PLAIN_STRING and plan[0] is not _PRIMITIVE)
        return tuple(unknown), missing, simple, plans, rest

    def _group_plan(self, group: list[_Entry]) -> _Group:
        """How _walk_object walks the properties of one element (see _shape_of)."""
        name, child, type_code, has_value, ext_key = group[0]
        suffix = f".{child.name[:-3]}.ofType({type_code})" if child.is_choice else f".{name}"
        if len(group) > 1 or not has_value or ext_key is not None:
            return _GENERAL, name, child, type_code, tuple(group), suffix, _ITEM_COMPLEX, child
        if child.slices or (child.is_choice and child.type_slices and child.slicing is not None):
            return _PROPERTY, name, child, type_code, (), suffix, _ITEM_COMPLEX, child
        # one value allowed and enough (what _walk_single checks of a single element's count)
        one = not child.array and child.min <= 1 and (child.max is None or child.max >= 1)
        if one and child.plain and not child.type_slices:  # a single plain element, or a plain choice's type
            if type_code in PLAIN_STRING_TYPES:
                return _PLAIN_STRING, name, child, type_code, (), suffix, _ITEM_PRIMITIVE, child
            if type_code in _FAST_PRIMITIVES:
                return _PRIMITIVE, name, child, type_code, (), suffix, _ITEM_PRIMITIVE, child
        if type_code is not None:
            item_kind, item_node = self._item_plan_of(child, type_code)
            if item_kind is _ITEM_COMPLEX or item_kind is _ITEM_MEMOISED:
                if child.array and not child.is_choice:
                    return _COMPLEX_ARRAY, name, child, type_code, (), suffix, item_kind, item_node
                if one:
                    return _COMPLEX, name, child, type_code, (), suffix, item_kind, item_node
            elif item_kind is _ITEM_PRIMITIVE and one:
                return _PRIMITIVE_ONE, name, child, type_code, (), suffix, item_kind, item_node
        return _SINGLE, name, child, type_code, (), suffix, _ITEM_COMPLEX, child

    def _walk_general_group(
        self,
        obj: dict[str, Any],
        entries: tuple[_Entry, ...],
        defs: ElementNode,
        loc: str,
        run: Run,
        resource: dict[str, Any],
    ) -> None:
        """A property given with its primitive extension, or a choice given under several names."""
        group = [
            (name, child, type_code, obj[name] if has_value else None, obj.get(ext_key) if ext_key else None)
            for name, child, type_code, has_value, ext_key in entries
        ]
        if len(group) == 1:
            name, child, type_code, value, ext = group[0]
            if child.single_plain and ext is None and value is not None and not isinstance(value, list):
                if type_code in PLAIN_STRING_TYPES and type(value) is str and value and len(value) <= MAX_STRING_LENGTH:
                    return
                if type_code in _FAST_PRIMITIVES:
                    if run.base_pass:
                        self._check_primitive_value(value, type_code, child, f"{loc}.{name}", run)
                    return
        self._walk_property(group, defs, loc, run, resource)

    def _walk_single(
        self, value: Any, name: str, child: ElementNode, type_code: str | None, loc: str, run: Run, resource: Any
    ) -> None:
        """What _walk_property does for one property without primitive extension, slices or type slices."""
        name_loc = f"{loc}.{child.name[:-3]}.ofType({type_code})" if child.is_choice else f"{loc}.{name}"
        fast = child.plain and not child.type_slices and type_code in _FAST_PRIMITIVES
        if not child.array:
            if isinstance(value, list):
                if run.base_pass:
                    run.report(
                        "error", "structure", "This_property_must_be_an_simple_value_not_", name_loc, name, "an array"
                    )
                if child.min > 0:
                    self._check_count(child, 0, loc, run)
                return
            if child.min > 1 or (child.max is not None and child.max < 1):
                self._check_count(child, 1, loc, run)
            if fast and value is not None:
                if run.base_pass:
                    self._check_primitive_value(value, type_code or "", child, name_loc, run)
                return
            self._walk_item(value, None, child, type_code, name_loc, run, resource)
            return
        values = self._as_list(value, name, name_loc, run, single=False)
        count = len(values)
        if count < child.min or (child.max is not None and count > child.max):
            self._check_count(child, count, loc, run)
        base_pass = run.base_pass
        for index, item in enumerate(values):
            if fast and item is not None:
                if base_pass:
                    self._check_primitive_value(item, type_code or "", child, f"{name_loc}[{index}]", run)
                continue
            self._walk_item(item, None, child, type_code, f"{name_loc}[{index}]", run, resource)

    @staticmethod
    def _check_count(child: ElementNode, count: int, loc: str, run: Run) -> None:
        """An element's cardinality: named by its id in a profile pass, by its path against the base."""
        label = child.element_id if run.profile else child.path
        run.cardinality(label, child.min, child.max, count, loc, run.profile or base_url(child.path))

    def _walk_property(
        self,
        group: list[tuple[str, ElementNode, str | None, Any, Any]],
        parent: ElementNode,
        loc: str,
        run: Run,
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
                            json_kind_of(ext),
                        )
                    exts = []
                if value is None:
                    values = [None] * len(exts)
                if not exts:
                    items.extend([(item, None, type_code, f"{name_loc}[{index}]") for index, item in enumerate(values)])
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
        if count < child.min or (child.max is not None and count > child.max):  # the common case costs no call
            self._check_count(child, count, loc, run)
        if child.is_choice and child.type_slices and child.slicing is not None:
            self._check_type_slices(child, items, loc, run)
        if child.slices:
            for (value, ext, type_code, item_loc), definition in self._assign_slices(child, items, run):
                self._walk_item(value, ext, definition, type_code, item_loc, run, resource)
            return
        # a primitive of an element with no rule of its own: only its lexical checks, in the base pass
        fast = child.plain and not child.type_slices
        base_pass = run.base_pass
        for value, ext, type_code, item_loc in items:
            if fast and ext is None and value is not None and type_code in _FAST_PRIMITIVES:
                if base_pass:
                    self._check_primitive_value(value, type_code, child, item_loc, run)
                continue
            self._walk_item(value, ext, child, type_code, item_loc, run, resource)

    def _as_list(self, value: Any, key: str, loc: str, run: Run, *, single: bool) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            if run.base_pass:
                run.report("error", "structure", "This_property_must_be_an_Array_not_", loc, key, json_kind_of(value))
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
        run: Run,
        resource: dict[str, Any],
    ) -> None:
        if type_code is None:
            types = node.types
            type_code = types[0].code if len(types) == 1 else None
            if type_code is None and isinstance(value, dict) and "resourceType" in value:
                type_code = "Resource"
        kind, node = self._item_plan_of(node, type_code)
        if kind is _ITEM_PRIMITIVE or (type_code is None and not isinstance(value, dict)):
            self._check_primitive_item(value, ext, node, type_code or "string", loc, run, resource)
            return
        if not isinstance(value, dict):
            if run.base_pass:
                run.report(
                    "error", "structure", "This_property_must_be_an_object_not_", loc, node.name, json_kind_of(value)
                )
            return
        if not value:
            if run.base_pass:
                run.report("error", "structure", "Object_must_have_some_content", loc)
            return
        if kind is _ITEM_RESOURCE or (kind is _ITEM_RESOURCE_TYPE and "resourceType" in value):
            if run.recording is not None:
                run.tainted = True
            self._walk_contained_resource(value, node, loc, run)
            return
        if kind is _ITEM_EXTENSION:
            if run.recording is not None:  # inside a remembered walk: part of it when it depends on its content
                if not self._extension_replayable(value, node, run):
                    run.tainted = True
            elif self._extension_replayable(value, node, run):
                self._check_memoised(value, node, "Extension", loc, run, resource)
                return
            self._check_extension(value, node, loc, run, resource)
            return
        if kind is _ITEM_MEMOISED and run.recording is None:
            self._check_memoised(value, node, type_code or "", loc, run, resource)
            return
        self._check_complex(value, node, type_code, loc, run, resource)

    def _item_plan_of(self, node: ElementNode, type_code: str | None) -> tuple[str, ElementNode]:
        """_item_plan, found once per (element, type)."""
        plans = node.item_plans
        if plans is None:
            plans = node.item_plans = {}
        plan = plans.get(type_code)
        if plan is None:
            plan = plans[type_code] = self._item_plan(node, type_code)
        return plan

    def _item_plan(self, node: ElementNode, type_code: str | None) -> tuple[str, ElementNode]:
        """How an item of `node` typed `type_code` is walked (what its value does not decide), and the element
        that describes it (a choice's type slice)."""
        if node.is_choice and type_code in node.type_slices:
            node = node.type_slices[type_code]
        if type_code in PRIMITIVES:
            return _ITEM_PRIMITIVE, node
        if type_code in ("Resource", "DomainResource"):
            return _ITEM_RESOURCE, node
        if type_code and self.is_resource_type(type_code):
            return _ITEM_RESOURCE_TYPE, node  # a contained resource when the value names its type
        if type_code == "Extension":
            return _ITEM_EXTENSION, node
        if type_code in _MEMOISED_TYPES:
            return _ITEM_MEMOISED, node
        return _ITEM_COMPLEX, node

    def _check_memoised(
        self, value: dict[str, Any], node: ElementNode, type_code: str, loc: str, run: Run, resource: dict[str, Any]
    ) -> None:
        """An item whose findings depend on its content alone (ElementDefinitions: the definition Bundles repeat
        the snapshots of the definitions; contacts, codings; extensions whose context does not depend on where
        they are, extensions.py, _extension_replayable): walked once per (definition, pass, content), the
        findings of a walk replayed, in order, at the item's location. Items that may look outside themselves
        (extensions whose context reads their owner, references, contained resources, %resource) are walked
        every time."""
        try:
            blob = orjson.dumps(value)
        except TypeError:  # not JSON (a caller's dict with other keys): walked as it is
            blob = b'"_'
        if (
            b'"_' in blob or b'"reference"' in blob or b'"resourceType"' in blob
        ):  # keys through which the findings may depend on what is around the item (its resource, Bundle, owners);
            # an extension inside is walked with the item, which it keeps from being remembered unless its own
            # findings depend only on its content (_walk_item, _extension_replayable)
            self._walk_remembered(value, node, type_code, loc, run, resource)
            return
        key = (node, type_code, run.profile, run.base_pass, run.profiled, run.lang, blob)
        known = self._walks.get(key)
        if known is None:
            known = self._record_walk(value, node, type_code, loc, run, resource)
            if known is not None:
                if len(self._walks) >= _WALK_MEMO_MAX:
                    self._walks.clear()
                self._walks[key] = known
            return
        calls, not_evaluated = known
        for severity, code, rule, where, fr, en, profile in calls:
            run.add(severity, code, rule, loc + where, fr, en, profile)
        for name, reason in not_evaluated:
            run.not_evaluated.setdefault(name, reason)

    def _record_walk(
        self, value: dict[str, Any], node: ElementNode, type_code: str, loc: str, run: Run, resource: dict[str, Any]
    ) -> _Walk | None:
        """Walk the item into fresh findings, then hand them to the run; the walk as (calls, not evaluated), None
        when it cannot be replayed elsewhere."""
        findings, not_evaluated = run.findings, run.not_evaluated
        run.findings, run.not_evaluated, run.recording, run.tainted = {}, {}, [], False
        try:
            self._walk_remembered(value, node, type_code, loc, run, resource)
        finally:
            calls, tainted, own = run.recording or [], run.tainted, run.not_evaluated
            run.findings, run.not_evaluated, run.recording, run.tainted = findings, not_evaluated, None, False
            for severity, code, rule, where, fr, en, profile in calls:
                run.add(severity, code, rule, where, fr, en, profile)
            for name, reason in own.items():
                run.not_evaluated.setdefault(name, reason)
        size = len(loc)
        if tainted or any(not c[3].startswith(loc) or loc in c[4] or loc in c[5] for c in calls):
            return None
        return tuple((s, c, r, w[size:], fr, en, p) for s, c, r, w, fr, en, p in calls), tuple(own.items())

    def _walk_remembered(
        self, value: dict[str, Any], node: ElementNode, type_code: str, loc: str, run: Run, resource: dict[str, Any]
    ) -> None:
        """The walk _check_memoised remembers: an extension's checks (an Extension item), else the complex type's."""
        if type_code == "Extension":
            self._check_extension(value, node, loc, run, resource)
        else:
            self._check_complex(value, node, type_code, loc, run, resource)

    def _check_complex(
        self,
        value: dict[str, Any],
        node: ElementNode,
        type_code: str | None,
        loc: str,
        run: Run,
        resource: dict[str, Any],
        defs: ElementNode | None = None,
    ) -> None:
        plans = node.complex_plans
        if plans is None:
            plans = node.complex_plans = {}
        plan = plans.get(type_code)
        if plan is None:
            plan = plans[type_code] = self._complex_plan(node, type_code)
        own_defs, specific, constraints, path = plan
        if defs is None or defs is own_defs:
            defs = own_defs
        else:
            constraints = self._constraints_for(node, defs, type_code)
        if defs is None:
            if run.base_pass:
                run.report(
                    "error", "structure", "Validation_VAL_Profile_NoType", loc, node.path, ", ".join(node.type_codes)
                )
            return
        self._walk_object(value, node, defs, loc, run, resource)
        if specific:
            self._check_specific(value, node, type_code, loc, run, resource)
        if constraints:
            self._check_constraints(value, constraints, loc, run, resource, path)
        if node.type_profiled:
            self._check_type_profiles(value, node, type_code, loc, run, resource)

    def _complex_plan(self, node: ElementNode, type_code: str | None) -> _ComplexPlan:
        """What _check_complex needs of (element, type), found once: the children's definitions, whether the
        element or the type has checks of its own, the constraints (element's and type's) and their path."""
        defs = self._children_of(node, type_code)
        specific = (
            node.fixed is not None
            or node.pattern is not None
            or node.rules is not None
            or (node.binding is not None and node.binding[0] != "example" and type_code in _CODED_TYPES)
            or type_code in _SPECIFIC_TYPES
        )
        constraints = self._constraints_for(node, defs, type_code) if defs is not None else []
        return defs, specific, constraints, node.path if node.children else (type_code or "")

    def _check_specific(
        self, value: dict[str, Any], node: ElementNode, type_code: str | None, loc: str, run: Run, resource: Any
    ) -> None:
        """Fixed and pattern values, rare element rules, the binding, and the checks of a data type."""
        if node.fixed is not None:
            self._check_fixed(value, node.fixed[1], loc, run, exact=True)
        if node.pattern is not None:
            self._check_fixed(value, node.pattern[1], loc, run, exact=False)
        if node.rules is not None:
            self._check_element_rules(value, None, node, type_code, loc, run, resource)
        if node.binding is not None and node.binding[0] != "example" and type_code in _CODED_TYPES:
            self._check_binding(value, type_code, node, loc, run)
        if type_code == "Reference":
            if run.recording is not None:
                run.tainted = True
            self._check_reference(value, node, loc, run, resource)
        elif type_code in ("Coding",) and run.base_pass:
            self._check_coding_code(value, loc, run)
        elif type_code == "CodeableConcept" and run.base_pass:
            for index, coding in enumerate(seq(value.get("coding"))):
                if isinstance(coding, dict):
                    self._check_coding_code(coding, f"{loc}.coding[{index}]", run)
        elif type_code == "Attachment" and run.base_pass:
            self._check_attachment(value, loc, run)
        elif type_code == "Identifier" and run.base_pass:
            system = value.get("system")
            if isinstance(system, str) and system and ":" not in system:
                run.report("error", "invalid", "Type_Specific_Checks_DT_Identifier_System", f"{loc}.system")
            for severity, code, rule, where, fr, en in fhir_identifier_findings(value):  # the INS rules
                run.add(severity, code, rule, loc + where, fr, en)

    def _constraints_for(self, node: ElementNode, defs: ElementNode, type_code: str | None) -> list[Constraint]:
        """The element's own constraints plus its type's (e.g. per-1 on any Period), merged once per pair."""
        key = (node, defs, type_code)
        merged = self._merged.get(key)
        if merged is None:
            merged = node.constraints
            if defs is not node and defs.constraints:
                merged = _merge_constraints(merged, defs.constraints)
            elif node.children and type_code and (type_struct := self.structure(type_code)) is not None:
                merged = _merge_constraints(merged, type_struct.root.constraints)
            self._merged[key] = merged
        return merged

    def _check_type_profiles(
        self,
        value: dict[str, Any],
        node: ElementNode,
        type_code: str | None,
        loc: str,
        run: Run,
        resource: dict[str, Any],
    ) -> None:
        """Data types profiled in the definition (e.g. an FR Core address) are walked against that profile too."""
        for type_ref in node.types:
            if type_ref.code != type_code or not type_ref.profiles:
                continue
            struct = self.structure(type_ref.profiles[0].split("|", 1)[0])
            if struct is None:
                self._unknown_type_profile(type_ref.profiles[0], loc, run)
                continue
            if struct.root is node or struct.derivation != "constraint":
                continue
            with run.scope(profile=struct.url, base_pass=False):
                self._walk_object(value, struct.root, struct.root, loc, run, resource)
                self._check_constraints(value, struct.root.constraints, loc, run, resource, struct.type)

    def _unknown_type_profile(self, url: str, loc: str, run: Run) -> None:
        """A profile the definition puts on a data type that no loaded package defines: an error, as the
        reference validator, unless a declared package that is not installed would define it."""
        missing = self._missing_package_for(url)
        if missing is not None:
            run.report("warning", "not-found", "Validation_VAL_Profile_Unknown_MissingPackage", loc, url, missing)
        elif "example.org" not in url:
            run.report("error", "not-found", "Validation_VAL_Profile_Unknown_Type", loc, url)

    def _walk_contained_resource(self, value: dict[str, Any], node: ElementNode, loc: str, run: Run) -> None:
        resource_type = value.get("resourceType")
        if not run.base_pass:
            allowed = self._profiled_resource_types(node)
            if allowed and resource_type not in allowed:
                names = ", ".join(sorted(allowed))
                run.report("error", "structure", "Validation_VAL_Profile_Resource_WrongType", loc, resource_type, names)
                return
            for type_ref in node.types:
                for profile in type_ref.profiles:
                    struct = self.structure(profile)
                    if struct and struct.type == resource_type and struct.derivation == "constraint":
                        with run.scope(profile=struct.url):
                            self._walk_resource(value, struct, loc, run)
            return
        self._validate_resource(value, loc, run)

    def _profiled_resource_types(self, node: ElementNode) -> set[str]:
        """The resource types the profiles on a Resource-typed element allow (empty: no profile, any type)."""
        allowed: set[str] = set()
        for type_ref in node.types:
            if type_ref.code not in ("Resource", "DomainResource") and not self.is_resource_type(type_ref.code):
                continue
            if not type_ref.profiles:
                return set()
            for profile in type_ref.profiles:
                struct = self.structure(profile.split("|", 1)[0])
                if struct is None:
                    return set()  # an unknown profile: reported elsewhere, not a reason to reject the type
                allowed.add(struct.type)
        return allowed


def _merge_constraints(first: list[Constraint], second: list[Constraint]) -> list[Constraint]:
    keys = {c.key for c in first}
    return first + [c for c in second if c.key not in keys]
