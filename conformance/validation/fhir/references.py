"""References and Bundles: local resolution (contained, bundle entries), format, declared and target
types, fullUrl/id agreement."""

from __future__ import annotations

import re
from typing import Any

from conformance.validation.fhir.run import Run, all_contained, seq
from conformance.validation.fhir.structure import ElementNode

# a RESTful server URL: optional http(s) base, then Type/id and an optional version (as the reference validator)
_RESTFUL_URL = re.compile(
    r"((http|https)://([A-Za-z0-9\\.:%$]*/)*)?(?P<type>[A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
)
_WHITESPACE = re.compile(r"\s")
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_ABSOLUTE_REF = re.compile(r"^(https?://.+?/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]+)(/_history/[A-Za-z0-9\-\.]+)?$")


_FULLURL_OPTIONAL = frozenset({"transaction", "transaction-response", "batch", "batch-response"})


class ReferencesAspect:
    """References resolved inside the resource and its Bundle, and the Bundle's own entry rules."""

    _canonical_targets: dict[ElementNode, frozenset[str] | None]

    def _index_bundle(self, bundle: dict[str, Any], run: Run) -> None:
        for entry in bundle.get("entry") or ():
            if not isinstance(entry, dict):
                continue
            resource = entry.get("resource")
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and isinstance(resource, dict):
                run.bundle_index.setdefault(full_url, []).append(resource)
                run.entry_urls[id(resource)] = full_url
                match = _ABSOLUTE_REF.match(full_url)
                if match:
                    run.bundle_index.setdefault(f"{match.group(2)}/{match.group(3)}", []).append(resource)
            elif isinstance(resource, dict) and resource.get("id") and resource.get("resourceType"):
                run.bundle_index.setdefault(f"{resource['resourceType']}/{resource['id']}", []).append(resource)

    def _check_bundle(self, bundle: dict[str, Any], loc: str, run: Run) -> None:
        """Entry rules: a fullUrl is absolute and, when it looks like a RESTful URL, ends with the resource's
        type and id."""
        fullurl_optional = bundle.get("type") in _FULLURL_OPTIONAL
        for index, entry in enumerate(seq(bundle.get("entry"))):
            if not isinstance(entry, dict):
                continue
            entry_loc = f"{loc}.entry[{index}]"
            resource, full_url = entry.get("resource"), entry.get("fullUrl")
            if not isinstance(full_url, str) or not full_url:
                # every entry outside transactions and batches (and their responses), as the reference
                # validator requires it, with or without a resource
                if full_url is None and not fullurl_optional:
                    run.report("error", "invalid", "BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED", entry_loc)
                continue
            if not is_absolute_url(full_url):
                run.report("error", "invalid", "BUNDLE_ENTRY_URL_ABSOLUTE", entry_loc, full_url)
                continue
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                continue
            restful = _RESTFUL_URL.fullmatch(full_url)
            if restful and self.is_resource_type(restful.group("type")):
                resource_type, resource_id = resource["resourceType"], resource.get("id")
                if not isinstance(resource_id, str) or not resource_id:
                    run.report("error", "invalid", "BUNDLE_ENTRY_URL_MATCHES_NO_ID", entry_loc, full_url)
                elif not full_url.endswith(f"/{resource_type}/{resource_id}"):
                    run.report(
                        "error",
                        "invalid",
                        "BUNDLE_ENTRY_URL_MATCHES_TYPE_ID",
                        entry_loc,
                        full_url,
                        resource_type,
                        resource_id,
                    )

    def _check_reference(
        self, value: dict[str, Any], node: ElementNode, loc: str, run: Run, resource: dict[str, Any]
    ) -> None:
        reference = value.get("reference")
        if not isinstance(reference, str) or not reference:
            return
        if "://" in reference and _WHITESPACE.search(reference):  # relative ones get Reference_REF_Format1
            if run.base_pass:
                run.report("error", "structure", "Reference_REF_NotValid", loc, reference)
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
                    self._report_bad_format(reference, resource, loc, run)
                return
            target_type = match.group(2)
            if not self.is_resource_type(target_type):
                if "://" not in reference and run.base_pass:
                    self._report_bad_format(reference, resource, loc, run)
                return
            found = self._in_bundle_by_full_url(reference, resource, run)
            if found is None:
                found = run.bundle_index.get(reference) or run.bundle_index.get(
                    f"{match.group(2)}/{match.group(3)}", []
                )
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

    @staticmethod
    def _report_bad_format(reference: str, resource: dict[str, Any], loc: str, run: Run) -> None:
        """A relative reference not of the form Type/id[/_history/v]: an error inside a Bundle entry, where it
        must resolve against the entry's fullUrl (in a transaction a search URL may stand in); elsewhere the
        reference validator only warns that it looks incorrect."""
        if id(resource) in run.entry_urls and reference.count("/") not in (1, 3):
            in_transaction = isinstance(run.root, dict) and run.root.get("type") in ("transaction", "batch")
            rule = "Reference_REF_Format1" if in_transaction else "Reference_REF_Format2"
            run.report("error", "structure", rule, f"{loc}.reference", reference)
            return
        run.report("warning", "structure", "Reference_REF_Suspicious", loc, reference)

    @staticmethod
    def _in_bundle_by_full_url(reference: str, resource: dict[str, Any], run: Run) -> list[dict[str, Any]] | None:
        """A relative reference made absolute against the fullUrl of the entry that holds it, as the reference
        validator resolves it (`Type/id` from `urn:uuid:x` is `urn:uuid:id`; from `http://s/fhir/T/x`, it is
        `http://s/fhir/Type/id`); None when that gives no entry."""
        full_url = run.entry_urls.get(id(resource)) if run.entry_urls else None
        if full_url is None or "://" in reference or reference.startswith("urn:") or reference.count("/") not in (1, 3):
            return None
        if full_url.startswith("urn:"):
            if "/_history/" in reference:
                return None
            target = full_url.rsplit(":", 1)[0] + ":" + reference.split("/")[1]
        else:
            parts = full_url.split("/")
            if len(parts) < 3:
                return None
            target = "/".join(parts[:-2]) + "/" + reference.split("/_history/", 1)[0]
        return run.bundle_index.get(target) or None

    def _check_canonical(self, value: str, node: ElementNode, loc: str, run: Run) -> None:
        """A canonical that resolves to a resource of a type its element does not allow."""
        try:
            allowed = self._canonical_targets[node]
        except KeyError:
            allowed = self._canonical_targets[node] = self._canonical_targets_of(node)
        if allowed is None or value.startswith("#"):
            return
        entry = self.ctx.entry(value) if hasattr(self.ctx, "entry") else None
        if entry is not None and entry.resource_type in allowed:
            return  # the index knows the type: no need to load the resource
        resolved = self.ctx.resolve(value) if hasattr(self.ctx, "resolve") else None
        if not isinstance(resolved, dict) or resolved.get("resourceType") in allowed:
            return
        typed = {"StructureDefinition": "structure_definition", "ValueSet": "value_set", "CodeSystem": "code_system"}
        for resource_type in allowed:
            lookup = getattr(self.ctx, typed.get(resource_type, ""), None)
            if lookup is not None and lookup(value) is not None:
                return  # another resource of an allowed type shares the URL
        found, expected = resolved.get("resourceType"), "[" + ", ".join(sorted(allowed)) + "]"
        # a warning: the reference validator checks canonical target types only under a reference policy that
        # asks for it (CHECK_EXISTS_AND_TYPE), which is not its default
        run.report("warning", "structure", "Reference_REF_Canonical_WrongType", loc, value, found, expected)

    def _canonical_targets_of(self, node: ElementNode) -> frozenset[str] | None:
        """The resource types a canonical of `node` may designate; None when there is nothing to check (no
        target profile on its canonical type, or one allowing any resource)."""
        if not any(t.code == "canonical" and t.target_profiles for t in node.types):
            return None
        allowed = self._allowed_targets(node)
        if not allowed or allowed & {"Resource", "DomainResource"}:
            return None
        return frozenset(allowed)

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


def is_absolute_url(url: str) -> bool:
    """A scheme (http, https, urn or any lower-case token), a colon, then something without spaces."""
    scheme, colon, rest = url.partition(":")
    return bool(colon) and bool(rest) and " " not in rest and _SCHEME.fullmatch(scheme) is not None
