"""A StructureDefinition (a profile) validated as the reference validator does when it generates its snapshot:
every differential path names an element of the base (choice types renamed only to one of their types), a
value the base fixes is not changed, and a profile put on a type is a profile of that type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.validation.fhir.run import Run, seq
from conformance.validation.fhir.structure import CompiledStructure, ElementNode

_PROFILE_ELEMENT = "http://hl7.org/fhir/StructureDefinition/elementdefinition-profile-element"
_INHERIT_OBLIGATIONS = "http://hl7.org/fhir/StructureDefinition/inherit-obligations"
_OBLIGATION_FLAG = frozenset(
    {
        "http://hl7.org/fhir/StructureDefinition/obligation-profile",
        "http://hl7.org/fhir/tools/StructureDefinition/obligation-profile",
    }
)
_ANY_TYPE = frozenset({"Resource", "DomainResource", "Element", "BackboneElement"})


class StructureDefinitionAspect:
    """Differential elements of a constraint StructureDefinition against its base."""

    if TYPE_CHECKING:
        ctx: Any  # FhirValidator's

        def structure(self, url_or_type: str) -> CompiledStructure | None: ...  # FhirValidator's

    def _check_structure_definition(self, sd: dict[str, Any], loc: str, run: Run) -> None:
        self._check_inherited_obligations(sd, loc, run)
        differential = sd.get("differential")
        base_url = sd.get("baseDefinition")
        if sd.get("derivation") != "constraint" or not isinstance(differential, dict) or not isinstance(base_url, str):
            return
        base = self.structure(base_url.split("|", 1)[0])
        if base is None:
            return
        for index, element in enumerate(seq(differential.get("element"))):
            if not isinstance(element, dict) or not isinstance(element.get("path"), str):
                continue
            element_loc = f"{loc}.differential.element[{index}]"
            self._check_differential_path(element, base, element_loc, run)
            self._check_fixed_kept(element, base, element_loc, run)
            self._check_type_profiles_of(element, element_loc, run)

    def _check_inherited_obligations(self, sd: dict[str, Any], loc: str, run: Run) -> None:
        """Each profile whose obligations this one inherits is an obligation profile on the same base."""
        for index, extension in enumerate(seq(sd.get("extension"))):
            if not isinstance(extension, dict) or extension.get("url") != _INHERIT_OBLIGATIONS:
                continue
            target = extension.get("valueCanonical")
            inherited = self.ctx.structure_definition(target) if isinstance(target, str) and target else None
            if not isinstance(inherited, dict):
                continue  # an unknown profile is reported as such elsewhere, not judged here
            ext_loc = f"{loc}.extension[{index}]"
            flags = [
                e for e in seq(inherited.get("extension")) if isinstance(e, dict) and e.get("url") in _OBLIGATION_FLAG
            ]
            if not any(e.get("valueBoolean") is True for e in flags):
                run.report("error", "invalid", "SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_TYPE", ext_loc, target)
                continue
            base, inherited_base = sd.get("baseDefinition"), inherited.get("baseDefinition")
            if not isinstance(base, str) or base != inherited_base:
                run.report(
                    "error",
                    "invalid",
                    "SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_BASE",
                    ext_loc,
                    target,
                    inherited_base,
                    base,
                )

    @staticmethod
    def _check_differential_path(element: dict[str, Any], base: CompiledStructure, loc: str, run: Run) -> None:
        path: str = element["path"]
        parent_path, _, name = path.rpartition(".")
        if not parent_path:
            return
        parent = next((n for n in base.by_id.values() if n.path == parent_path and n.slice_name is None), None)
        if parent is None or not parent.children:
            return  # inside a data type, or a slice: judged against the type, not here
        if name in parent.json_names or any(child.name == name for child in parent.children):
            return
        choice = next((c for c in parent.children if c.is_choice and name.startswith(c.name[:-3])), None)
        if choice is not None:
            run.report("error", "structure", "SNAPSHOT_PATH_CHOICE", loc, f"{parent_path}.{choice.name}", path)
        else:
            run.report("error", "structure", "SNAPSHOT_PATH_UNKNOWN", loc, path, base.url)

    @staticmethod
    def _check_fixed_kept(element: dict[str, Any], base: CompiledStructure, loc: str, run: Run) -> None:
        node: ElementNode | None = base.by_id.get(str(element.get("id") or element["path"]))
        if node is None or node.fixed is None:
            return
        for key, value in element.items():
            if key.startswith("fixed") and value != node.fixed[1]:
                run.report("error", "structure", "SNAPSHOT_FIXED_CHANGED", loc, value, node.fixed[1], base.url)

    def _check_type_profiles_of(self, element: dict[str, Any], loc: str, run: Run) -> None:
        for t_index, type_entry in enumerate(seq(element.get("type"))):
            if not isinstance(type_entry, dict) or type_entry.get("code") in _ANY_TYPE:
                continue
            code = type_entry.get("code")
            shadows = seq(type_entry.get("_profile"))
            for p_index, profile in enumerate(seq(type_entry.get("profile"))):
                if not isinstance(profile, str):
                    continue
                shadow = shadows[p_index] if p_index < len(shadows) else None
                if isinstance(shadow, dict) and _PROFILE_ELEMENT in str(shadow):
                    continue  # a profile element (a part of another profile): its own type rules
                struct = self.structure(profile.split("|", 1)[0])
                if struct is None or struct.type == code:  # a specialisation (Count of Quantity) is another type
                    continue
                run.report(
                    "error",
                    "structure",
                    "SNAPSHOT_TYPE_PROFILE_WRONG",
                    f"{loc}.type[{t_index}].profile[{p_index}]",
                    profile,
                    struct.type,
                    element["path"],
                    code,
                )
