"""References and Bundles: local resolution (contained, bundle entries), format, declared and target
types, fullUrl/id agreement."""

from __future__ import annotations

import re
from typing import Any

from conformance.validation.fhir.run import Run, all_contained
from conformance.validation.fhir.structure import ElementNode

_ABSOLUTE_REF = re.compile(r"^(https?://.+?/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]+)(/_history/[A-Za-z0-9\-\.]+)?$")


class ReferencesAspect:
    """References resolved inside the resource and its Bundle, and the Bundle's own entry rules."""

    def _index_bundle(self, bundle: dict[str, Any], run: Run) -> None:
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

    def _check_bundle(self, bundle: dict[str, Any], loc: str, run: Run) -> None:
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
        self, value: dict[str, Any], node: ElementNode, loc: str, run: Run, resource: dict[str, Any]
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
            found = [c for c in all_contained(container, resource) if c.get("id") == reference[1:]]
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
