"""StructureDefinition snapshots compiled once into trees of `ElementNode`s the validator walks.

Each node keeps what validation needs (cardinality, JSON names of choice types, fixed/pattern, binding,
constraints, slicing and its slices) so that walking an instance is dictionary look-ups, not searches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.validation.fhir.primitives import PRIMITIVES, SYSTEM_TYPE_PREFIX

RESOURCE_TYPES_EXTRA = frozenset({"Resource", "DomainResource"})
# ele-1 is enforced by the walk itself (empty objects, primitives without value or extension); the narrative
# XHTML rules txt-1/txt-2 (htmlChecks) by the xhtml check.
STRUCTURAL_CONSTRAINTS = frozenset({"ele-1", "txt-1", "txt-2"})
# R4 expressions that contradict their own human text, as later releases (and the reference validator) correct
# them: que-12 "If there are more than one enableWhen, enableBehavior must be specified".
CORRECTED_EXPRESSIONS = {
    "enableWhen.count() > 2 implies enableBehavior.exists()": "enableWhen.count() > 1 implies enableBehavior.exists()",
}


@dataclass(slots=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(slots=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str
    source: str
    runner: Any = None  # set by the validator on first use: (item, resource, root, path) -> bool | None


@dataclass(slots=True)
class Slicing:
    discriminators: tuple[tuple[str, str], ...]  # (type, path)
    rules: str
    ordered: bool


class ElementNode:
    """One element of a snapshot: `children` holds its sub-elements (in snapshot order), `slices` its slices."""

    __slots__ = (
        "array",
        "base_path",
        "binding",
        "children",
        "complex_plans",
        "constraints",
        "content_reference",
        "element_id",
        "fixed",
        "is_choice",
        "item_plans",
        "json_names",
        "max",
        "max_length",
        "min",
        "name",
        "path",
        "pattern",
        "plain",
        "regex",
        "required_children",
        "rules",
        "single_plain",
        "slice_name",
        "slices",
        "slicing",
        "type_profiled",
        "type_slices",
        "types",
    )

    def __init__(self, element: dict[str, Any]) -> None:
        self.path: str = element["path"]
        self.element_id: str = element.get("id") or element["path"]
        base = element.get("base")
        self.base_path: str = str(base.get("path") or self.path) if isinstance(base, dict) else self.path
        self.name: str = self.path.rsplit(".", 1)[-1]
        self.is_choice: bool = self.name.endswith("[x]")
        self.slice_name: str | None = element.get("sliceName")
        self.min: int = int(element.get("min", 0))
        raw_max = element.get("max", "*")
        self.max: int | None = None if raw_max == "*" else int(raw_max)
        base_max = (element.get("base") or {}).get("max", raw_max)
        self.array: bool = base_max != "1" and base_max != "0"
        self.types: list[TypeRef] = [
            TypeRef(
                _type_code(t),
                tuple(t.get("profile", ())),
                tuple(t.get("targetProfile", ())),
            )
            for t in element.get("type", ())
        ]
        self.fixed: tuple[str, Any] | None = None
        self.pattern: tuple[str, Any] | None = None
        for key, value in element.items():
            if key.startswith("fixed"):
                self.fixed = (key[5:], value)
            elif key.startswith("pattern"):
                self.pattern = (key[7:], value)
        binding = element.get("binding")
        self.binding: tuple[str, str] | None = (
            (binding.get("strength", "example"), binding["valueSet"]) if binding and binding.get("valueSet") else None
        )
        self.constraints: list[Constraint] = [
            Constraint(
                c.get("key", "?"),
                c.get("severity", "error"),
                c.get("human", ""),
                CORRECTED_EXPRESSIONS.get(c.get("expression", ""), c.get("expression", "")),
                c.get("source", ""),
            )
            for c in element.get("constraint", ())
            if c.get("expression") and c.get("key") not in STRUCTURAL_CONSTRAINTS
        ]
        slicing = element.get("slicing")
        self.slicing: Slicing | None = (
            Slicing(
                tuple((d.get("type", "value"), d.get("path", "$this")) for d in slicing.get("discriminator", ())),
                slicing.get("rules", "open"),
                bool(slicing.get("ordered", False)),
            )
            if slicing
            else None
        )
        self.content_reference: str | None = element.get("contentReference")
        self.max_length: int | None = element.get("maxLength") if isinstance(element.get("maxLength"), int) else None
        self.regex: str | None = _profile_regex(element)
        self.rules: dict[str, Any] | None = _element_rules(element)  # rare rules (min/maxValue, ...), else None
        self.children: list[ElementNode] = []
        self.slices: list[ElementNode] = []
        self.type_slices: dict[str, ElementNode] = {}  # choice type slices: "Quantity" -> node
        self.json_names: dict[str, tuple[ElementNode, str | None]] = {}
        self.required_children: list[ElementNode] = []
        self.single_plain: bool = False  # set by finish()
        # a primitive item of this element needs only its own lexical checks (the walk's fast path)
        self.plain: bool = (
            self.fixed is None
            and self.pattern is None
            and self.binding is None
            and not self.constraints
            and self.max_length is None
            and self.regex is None
            and self.rules is None
        )
        self.type_profiled: bool = any(t.profiles for t in self.types)
        # how the validator walks an item of this element, per type (walk.py: _item_plan, _complex_plan)
        self.item_plans: dict[str | None, Any] | None = None
        self.complex_plans: dict[str | None, Any] | None = None

    @property
    def type_codes(self) -> list[str]:
        return [t.code for t in self.types]

    def finish(self) -> None:
        """Index children by their JSON property names (choice types expand to one name per type)."""
        names: dict[str, tuple[ElementNode, str | None]] = {}
        for child in self.children:
            if child.is_choice:
                base = child.name[:-3]
                for code in child.type_codes:
                    names[base + code[0].upper() + code[1:]] = (child, code)
            else:
                names[child.name] = (child, child.types[0].code if len(child.types) == 1 else None)
        self.json_names = names
        # an absent element is judged by its own minimum and by the minimum of each of its slices
        self.required_children = [c for c in self.children if c.min > 0 or any(s.min > 0 for s in c.slices)]
        # one value, no slices, no rule of its own, a count of 1 allowed: a primitive needs only its lexical checks
        self.single_plain = (
            not self.array
            and not self.is_choice
            and self.plain
            and not self.type_slices
            and not self.slices
            and self.min <= 1
            and (self.max is None or self.max >= 1)
        )

    def __repr__(self) -> str:
        return f"ElementNode({self.element_id})"


REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"
# R5 ElementDefinition properties carried by R4 profiles as cross-version extensions, and the narrative control
_RULE_EXTENSIONS = {
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue": "mustHaveValue",
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.valueAlternatives": "valueAlternatives",
    "http://hl7.org/fhir/StructureDefinition/narrative-language-control": "languageControl",
}


def _element_rules(element: dict[str, Any]) -> dict[str, Any] | None:
    """The element's rarely used rules, by name: minValue/maxValue (as (type, value)), mustHaveValue,
    valueAlternatives (list of extension URLs), languageControl (list of codes)."""
    rules: dict[str, Any] = {}
    for key, value in element.items():
        if key.startswith("minValue") or key.startswith("maxValue"):
            rules[key[:8]] = (key[8:], value)
    if element.get("mustHaveValue") is True:
        rules["mustHaveValue"] = True
    for url in element.get("valueAlternatives") or ():
        rules.setdefault("valueAlternatives", []).append(url)
    for ext in element.get("extension") or ():
        name = _RULE_EXTENSIONS.get(str(ext.get("url"))) if isinstance(ext, dict) else None
        if name == "mustHaveValue":
            if ext.get("valueBoolean") is True:
                rules[name] = True
        elif name is not None:
            value = ext.get("valueCanonical") or ext.get("valueUri") or ext.get("valueCode")
            if isinstance(value, str):
                rules.setdefault(name, []).append(value)
    return rules or None


def _profile_regex(element: dict[str, Any]) -> str | None:
    """A regex a profile puts on an element (the `regex` extension on the element or its type)."""
    holders = [element, *element.get("type", ())]
    for holder in holders:
        for ext in holder.get("extension", ()) if isinstance(holder, dict) else ():
            if ext.get("url") == REGEX_EXTENSION and isinstance(ext.get("valueString"), str):
                return ext["valueString"]
    return None


def _type_code(type_entry: dict[str, Any]) -> str:
    code = type_entry.get("code", "")
    if code.startswith(SYSTEM_TYPE_PREFIX):
        return "string"  # the `value` of primitive types: checked through the primitive's own rules
    for ext in type_entry.get("extension", ()):
        if ext.get("url") == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type":
            return ext.get("valueUrl") or ext.get("valueUri") or code
    return code


class CompiledStructure:
    """A StructureDefinition compiled from its snapshot."""

    __slots__ = ("by_id", "derivation", "extension_facts", "kind", "name", "root", "sd", "type", "url")

    def __init__(self, sd: dict[str, Any]) -> None:
        self.sd = sd
        self.url: str = sd.get("url", "")
        self.name: str = sd.get("name", "")
        self.type: str = sd.get("type", "")
        self.kind: str = sd.get("kind", "")
        self.derivation: str = sd.get("derivation", "specialization")
        elements = (sd.get("snapshot") or {}).get("element") or []
        if not elements:
            raise ValueError(f"StructureDefinition {self.url} has no snapshot")
        self.by_id: dict[str, ElementNode] = {}
        self.root = self._build(elements)
        self.extension_facts: Any = None  # what an extension's checks read of this definition (extensions.py)

    def _build(self, elements: list[dict[str, Any]]) -> ElementNode:
        root: ElementNode | None = None
        for element in elements:
            node = ElementNode(element)
            self.by_id[node.element_id] = node
            if root is None:
                root = node
                continue
            parent_id, _, last = node.element_id.rpartition(".")
            if ":" in last and node.slice_name is not None:
                base_id = (
                    f"{parent_id}.{last.rsplit(':', 1)[0]}" if "/" not in last else node.element_id.rsplit("/", 1)[0]
                )
                base = self.by_id.get(base_id)
                if base is None:
                    continue
                base.slices.append(node)
                if base.is_choice and node.slice_name.startswith(base.name[:-3]):
                    base.type_slices[node.slice_name[len(base.name) - 3 :]] = node
                continue
            parent = self.by_id.get(parent_id)
            if parent is None:
                continue
            parent.children.append(node)
        assert root is not None
        for node in self.by_id.values():
            node.finish()
            for code, type_slice in list(node.type_slices.items()):
                # the slice name is e.g. valueQuantity; map it back to the declared type code's case
                for declared in node.type_codes:
                    if declared.lower() == code.lower():
                        node.type_slices[declared] = type_slice
        return root

    def node_for_reference(self, reference: str) -> ElementNode | None:
        """`#Questionnaire.item` -> the element it designates."""
        target = reference.split("#", 1)[-1]
        node = self.by_id.get(target)
        if node is not None:
            return node
        for candidate in self.by_id.values():
            if candidate.path == target and candidate.slice_name is None:
                return candidate
        return None


def is_primitive(code: str) -> bool:
    return code in PRIMITIVES
