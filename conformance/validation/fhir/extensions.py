"""Extensions: definition lookup, context, modifier flag, value type, sub-extensions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance.validation.fhir.run import Run
from conformance.validation.fhir.slicing import _slice_url
from conformance.validation.fhir.structure import CompiledStructure, ElementNode

_EXAMPLE_DOMAINS = ("example.org", "example.com", "acme.com", "acme.org", "nema.org", "example.net")
_DEFINITIONS_MAX = 50_000
_CROSS_VERSION_TYPES = frozenset(
    {"CanonicalResource", "MetadataResource", "DataType", "PrimitiveType", "BackboneType", "Base"}
)


@dataclass(slots=True)
class _ExtensionFacts:
    """What the checks of an extension read of its definition, found once per definition."""

    contexts: list[dict[str, Any]]
    modifier: bool
    value_node: ElementNode | None  # its value[x]
    sub_urls: frozenset[str] | None  # the sub-extensions its definition slices (None: no sliced sub-extension)
    # per extension element: whether the contexts allow the extension there whatever the instance (True), or
    # the owner's instance path and content must be looked at (False)
    allowed_at: dict[ElementNode, bool] = field(default_factory=dict)


class ExtensionsAspect:
    """An extension against its definition: known, allowed here, modifier or not, value type, sub-extensions."""

    # (extension element, url) -> (definition, url unknown); compiled structures are never dropped
    _extension_definitions: dict[tuple[ElementNode, str | None], tuple[CompiledStructure | None, bool]]

    def _check_extension(
        self, value: dict[str, Any], node: ElementNode, loc: str, run: Run, resource: dict[str, Any]
    ) -> None:
        url = value.get("url")
        defined, unknown = self._extension_definition(node, url)
        if unknown and run.base_pass:
            self._report_unknown_extension(url, loc, run)
        if defined is not None and defined.type == "Extension":
            facts = defined.extension_facts
            if facts is None:
                facts = defined.extension_facts = self._extension_facts(defined)
            if run.base_pass:
                self._check_extension_context(defined, facts, node, loc, run, run.owners[-1] if run.owners else None)
                if node.name == "modifierExtension" and not facts.modifier:
                    run.report("error", "structure", "Extension_EXT_Modifier_Y", loc, url)
                elif node.name == "extension" and facts.modifier:
                    run.report("error", "structure", "Extension_EXT_Modifier_N", loc, url)
            if facts.value_node is not None:
                self._check_extension_value_type(value, defined, facts.value_node, loc, run)
            if run.base_pass and facts.sub_urls is not None:
                self._check_sub_extensions(value, defined, facts.sub_urls, loc, run)
            with run.scope(profile=defined.url if defined.root is not node else run.profile):
                self._check_complex(value, defined.root, "Extension", loc, run, resource, defs=defined.root)
            if run.base_pass:
                return
        self._check_complex(value, node, "Extension", loc, run, resource)

    def _report_unknown_extension(self, url: str, loc: str, run: Run) -> None:
        missing_package = self._missing_package_for(url)
        if any(domain in url for domain in _EXAMPLE_DOMAINS):
            run.report("information", "extension", "Extension_EXT_Unknown", loc, url)
        elif missing_package:
            run.report("warning", "not-found", "Extension_EXT_Unknown_MissingPackage", loc, url, missing_package)
        else:
            run.report("error", "structure", "Extension_EXT_Unknown_NotHere", loc, url)

    def _extension_definition(self, node: ElementNode, url: Any) -> tuple[CompiledStructure | None, bool]:
        """The definition an extension of element `node` with `url` follows (its type profile, else its url's
        structure), and whether the url was looked up and names no known structure. Remembered per (element,
        url): both checks of every extension ask it (88,402 times over the 5,305 R4 examples)."""
        key = (node, url if isinstance(url, str) else None)
        try:
            memo = self._extension_definitions
        except AttributeError:
            memo = self._extension_definitions = {}
        known = memo.get(key)
        if known is None:
            defined, unknown = self._profiled_extension(node), False
            if defined is None and isinstance(url, str) and not _is_sub_extension(node, url):
                defined = self.structure(url.split("|", 1)[0])
                unknown = defined is None
            if len(memo) >= _DEFINITIONS_MAX:  # urls come from the instances
                memo.clear()
            known = memo[key] = (defined, unknown)
        return known

    def _profiled_extension(self, node: ElementNode) -> CompiledStructure | None:
        """The definition the element's type profile names (an extension slice of a profile), if any."""
        defined = None
        for type_ref in node.types:
            if type_ref.code == "Extension" and type_ref.profiles:
                defined = self.structure(type_ref.profiles[0].split("|", 1)[0])
        return defined

    def _extension_replayable(self, value: dict[str, Any], node: ElementNode, run: Run) -> bool:
        """Whether what is found of this extension depends only on its content, its element and the pass, so
        that a walk of identical content may be replayed (walk.py, _check_memoised): outside the base pass, or
        when its definition's contexts allow it on this element whatever the owner and it has no context
        invariant (which reads the owner). What it holds that looks further (nested extensions, references)
        keeps the walk from being remembered."""
        if not run.base_pass:
            return True
        defined = self._extension_definition(node, value.get("url"))[0]
        if defined is None or defined.type != "Extension":
            return True
        if defined.sd.get("contextInvariant"):
            return False
        facts = defined.extension_facts
        if facts is None:
            facts = defined.extension_facts = self._extension_facts(defined)
        if not facts.contexts:
            return True
        allowed_here = facts.allowed_at.get(node)
        if allowed_here is None:
            allowed_here = facts.allowed_at[node] = self._context_allows_anywhere(facts.contexts, node)
        return allowed_here

    def _missing_package_for(self, url: str) -> str | None:
        """The declared-but-unavailable package whose canonical space `url` is in, if any."""
        for name in getattr(self.ctx, "missing", ()) or ():
            package = str(name).split("#", 1)[0]
            for prefix in _canonical_prefixes(package):
                if url.startswith(prefix):
                    return str(name)
        return None

    def _extension_facts(self, defined: CompiledStructure) -> _ExtensionFacts:
        value_node = next((c for c in defined.root.children if c.name == "value[x]"), None)
        ext_node = next((c for c in defined.root.children if c.name == "extension"), None)
        sub_urls = (
            frozenset(_slice_url(s, self) for s in ext_node.slices)
            if ext_node is not None and ext_node.slices
            else None
        )
        contexts = [c for c in defined.sd.get("context") or () if isinstance(c, dict)]
        return _ExtensionFacts(contexts, _is_modifier(defined), value_node, sub_urls)

    @staticmethod
    def _check_sub_extensions(
        value: dict[str, Any], defined: CompiledStructure, known: frozenset[str], loc: str, run: Run
    ) -> None:
        """A complex extension only admits the sub-extensions (relative urls) its definition slices."""
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

    @staticmethod
    def _check_extension_value_type(
        value: dict[str, Any], defined: CompiledStructure, value_node: ElementNode, loc: str, run: Run
    ) -> None:
        for key in value:
            if (
                isinstance(key, str)
                and key.startswith("value")
                and key[5:6].isupper()
                and key not in defined.root.json_names
            ):
                allowed = ", ".join(value_node.type_codes) if value_node.max != 0 else "(none)"
                run.report("error", "structure", "Extension_EXT_Type", f"{loc}.{key}", defined.url, allowed, key[5:])

    def _check_extension_context(
        self, defined: CompiledStructure, facts: _ExtensionFacts, node: ElementNode, loc: str, run: Run, owner: Any
    ) -> None:
        """R4 contexts: an element path or type (the owner's path, base path, type or ancestor types), a FHIRPath
        expression selecting the owner, or the URL of the extension the owner is; then the context invariants."""
        owner_loc = loc.rsplit(".", 1)[0] if "." in loc else loc
        contexts = facts.contexts
        if contexts:
            allowed_here = facts.allowed_at.get(node)
            if allowed_here is None:
                allowed_here = facts.allowed_at[node] = self._context_allows_anywhere(contexts, node)
            if not allowed_here and not self._context_allows(contexts, node, loc, run, owner):
                allowed = ", ".join(f"{str(c.get('type', 'element'))[:1]}:{c.get('expression', '')}" for c in contexts)
                owner_path = node.path.rsplit(".", 1)[0] if "." in node.path else node.path
                run.report(
                    "error", "business-rule", "Extension_EXTP_Context_Wrong", loc, defined.url, allowed, owner_path
                )
                return
        for invariant in defined.sd.get("contextInvariant") or ():
            if not isinstance(invariant, str) or not isinstance(owner, dict) or "%" in invariant:
                continue  # an invariant on the resource around the owner needs more context than the walk has
            root = run.root or owner
            if self.expressions.evaluate_full(invariant, owner, root, root) is False:
                run.report(
                    "error", "business-rule", "Extension_EXTP_Context_Invariant", owner_loc, defined.url, invariant
                )

    def _context_allows_anywhere(self, contexts: list[dict[str, Any]], node: ElementNode) -> bool:
        """Whether an element context allows the extension on `node` by the names of its owner's definition
        alone (its path, base path, types): then `_context_allows` answers True wherever the owner is, since the
        names it gives the owner include these."""
        owner_path = node.path.rsplit(".", 1)[0] if "." in node.path else node.path
        candidates = self._owner_names(owner_path, owner_path)
        for context in contexts:
            kind, expression = context.get("type", "element"), context.get("expression")
            if not isinstance(expression, str):
                return True
            if kind not in ("fhirpath", "extension") and self._element_context_allows(expression, candidates):
                return True
        return False

    def _element_context_allows(self, expression: str, candidates: set[str]) -> bool:
        head = expression.split(".", 1)[0]
        if expression == "*" or head in _CROSS_VERSION_TYPES or self.structure(head) is None:
            return True  # a later-version type or one unknown here: cannot judge
        if expression in candidates:
            return True
        # an element path or a data type covers the elements inside it
        return ("." in expression or self.structure(head).kind != "resource") and any(  # type: ignore[union-attr]
            name.startswith(expression + ".") for name in candidates
        )

    def _context_allows(
        self, contexts: list[dict[str, Any]], node: ElementNode, loc: str, run: Run, owner: Any
    ) -> bool:
        owner_path = node.path.rsplit(".", 1)[0] if "." in node.path else node.path
        candidates = self._owner_names(owner_path, _instance_path(_rooted_in_resource(loc, run.root)))
        for context in contexts:
            kind, expression = context.get("type", "element"), context.get("expression")
            if not isinstance(expression, str):
                return True
            if kind == "fhirpath":
                if self._selected_by(expression, owner, run) is not False:
                    return True
                continue
            if kind == "extension":
                if not isinstance(owner, dict):
                    return True  # the owner is not known here: cannot judge
                # the owner must be an extension with that URL, or that extension's value
                for holder in _extension_holders(owner, run.owners):
                    url = holder.get("url")
                    if isinstance(url, str) and (expression == url or expression.endswith("#" + url)):
                        return True
                continue
            if self._element_context_allows(expression, candidates):
                return True
            head = expression.split(".", 1)[0]
            if owner_path == "Element" and (
                self.structure(head).kind == "primitive-type"  # type: ignore[union-attr]
                or expression.rsplit(".", 1)[-1] == _instance_path(loc).rsplit(".", 1)[-1]
            ):
                return True  # an extension on a primitive value: only its name is known from here
        return False

    def _owner_names(self, owner_path: str, instance_path: str) -> set[str]:
        """Every name a context may give the owner: its paths, its type and the types that type derives from."""
        names = {owner_path, instance_path, "Element"}
        types: list[str] = []
        if "." not in owner_path and owner_path != "Element":
            types.append(owner_path)
        for path in {owner_path, instance_path}:
            if "." not in path:
                continue
            struct = self.structure(path.split(".", 1)[0])
            parent = struct.by_id.get(path) if struct is not None else None
            if parent is not None:
                names.add(parent.base_path)
                types.extend(parent.type_codes)
        for type_name in types:
            seen = 0
            current = self.structure(type_name)
            while current is not None and seen < 10:
                names.add(current.type or type_name)
                base = current.sd.get("baseDefinition")
                current = self.structure(base) if isinstance(base, str) else None
                seen += 1
        return names

    def _selected_by(self, expression: str, owner: Any, run: Run) -> bool | None:
        """Whether a FHIRPath context expression, evaluated on the resource, selects the owner (None: unknown)."""
        compiled = self.expressions.get(expression)
        root = run.root
        if compiled is None or root is None or owner is None:
            return None
        try:
            selected = compiled(root, {"resource": root, "rootResource": root})
        except Exception:  # an engine limitation is not the instance's fault
            return None
        return any(item is owner or getattr(item, "data", None) is owner or item == owner for item in selected)


def _is_sub_extension(node: ElementNode, url: str) -> bool:
    """A relative url on an extension's extension: a sub-extension its parent's definition slices."""
    return (
        node.path.startswith("Extension.")
        and node.name == "extension"
        and "://" not in url
        and not url.startswith("urn:")
    )


def _extension_holders(owner: dict[str, Any], owners: list[Any]) -> list[dict[str, Any]]:
    """The owner, and the extension whose value the owner is (an extension on an extension's value)."""
    holders = [owner]
    if len(owners) >= 2 and owners[-1] is owner and isinstance(owners[-2], dict):
        parent = owners[-2]
        if any(isinstance(k, str) and k.lstrip("_").startswith("value") and v is owner for k, v in parent.items()):
            holders.append(parent)
    return holders


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


def _is_modifier(struct: CompiledStructure) -> bool:
    for child in struct.root.children:
        if child.name == "modifierExtension" and child.max != 0:
            return False
    sd_elements = (struct.sd.get("snapshot") or {}).get("element") or []
    return bool(sd_elements and sd_elements[0].get("isModifier"))


_INDEX = re.compile(r"\[\d+\]")
_OF_TYPE = re.compile(r"\.ofType\((\w)(\w*)\)")


def _rooted_in_resource(loc: str, root: Any) -> str:
    """`List.contained[1].type[0].extension[0]` -> `Organization.type[0].extension[0]`: a contained (or Bundle
    entry) resource's elements are named from that resource's type, as contexts name them."""
    steps = loc.split(".")
    node, rooted = root, loc
    for i, step in enumerate(steps[1:], start=1):
        name, _, rest = step.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        if rest and isinstance(node, list):
            index = rest.rstrip("]")
            node = node[int(index)] if index.isdigit() and int(index) < len(node) else None
        if node is None:
            break
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str) and i < len(steps) - 1:
            rooted = ".".join([node["resourceType"], *steps[i + 1 :]])
    return rooted


def _instance_path(loc: str) -> str:
    """`Patient.address[0].extension[1]` -> `Patient.address`; `Observation.value.ofType(Quantity)...` ->
    `Observation.valueQuantity`."""
    path = _OF_TYPE.sub(lambda m: m.group(1).upper() + m.group(2), _INDEX.sub("", loc))
    return path.rsplit(".", 1)[0] if "." in path else path
