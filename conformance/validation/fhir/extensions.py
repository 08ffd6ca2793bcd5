"""Extensions: definition lookup, context, modifier flag, value type, sub-extensions."""

from __future__ import annotations

from typing import Any

from conformance.validation.fhir.run import Run
from conformance.validation.fhir.slicing import _slice_url
from conformance.validation.fhir.structure import CompiledStructure, ElementNode

_EXAMPLE_DOMAINS = ("example.org", "example.com", "acme.com", "acme.org", "nema.org", "example.net")
_CROSS_VERSION_TYPES = frozenset(
    {"CanonicalResource", "MetadataResource", "DataType", "PrimitiveType", "BackboneType", "Base"}
)


class ExtensionsAspect:
    """An extension against its definition: known, allowed here, modifier or not, value type, sub-extensions."""

    def _check_extension(
        self, value: dict[str, Any], node: ElementNode, loc: str, run: Run, resource: dict[str, Any]
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
            with run.scope(profile=defined.url if defined.root is not node else run.profile):
                self._check_complex(value, defined.root, "Extension", loc, run, resource, defs=defined.root)
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

    def _check_sub_extensions(self, value: dict[str, Any], defined: CompiledStructure, loc: str, run: Run) -> None:
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
        self, value: dict[str, Any], defined: CompiledStructure, loc: str, run: Run
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

    def _check_extension_context(self, defined: CompiledStructure, node: ElementNode, loc: str, run: Run) -> None:
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
