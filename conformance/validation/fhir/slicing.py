"""Slicing: assignment of items to slices by discriminator, slice cardinality and order, reslicing,
choice types sliced by type."""

from __future__ import annotations

from typing import Any

from conformance.validation.fhir.fixed import _matches_pattern
from conformance.validation.fhir.run import Run, all_contained, seq
from conformance.validation.fhir.structure import ElementNode


class SlicingAspect:
    """Which slice each item of a sliced element belongs to, and the rules of the slicing."""

    _expectation_cache: dict[tuple[ElementNode, str], list[tuple[str, Any]]]

    def _check_type_slices(
        self, child: ElementNode, items: list[tuple[Any, Any, str | None, str]], loc: str, run: Run
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
            run.cardinality(type_slice.element_id, type_slice.min, type_slice.max, count, loc, run.profile or "")
        if slicing.rules == "closed":
            sliced = {code.lower() for code in child.type_slices}
            for item in items:
                if (item[2] or "").lower() not in sliced:
                    run.report("error", "structure", "Validation_VAL_Profile_NotSlice", item[3], "", child.element_id)

    # ---- slicing --------------------------------------------------------------------------------------

    def _assign_slices(
        self, base: ElementNode, items: list[tuple[Any, Any, str | None, str]], run: Run
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
            run.cardinality(candidate.element_id, candidate.min, candidate.max, counts[index], loc, run.profile or "")
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
        self, value: Any, type_code: str | None, candidate: ElementNode, slicing: Any, run: Run, base: ElementNode
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
        run: Run,
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
        key = (candidate, path)
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
                    for c in seq(value.get("coding"))
                    if isinstance(c, dict) and c.get("code")
                ]
            elif value.get("code"):
                codings = [(value.get("system"), value["code"])]
        return any(self.terminology.check(vs_url, s, c)[0] for s, c in codings)

    def _conforms(self, item: Any, profile: str, run: Run) -> bool:
        if not isinstance(item, dict):
            return False
        struct = self.structure(profile.split("|", 1)[0])
        if struct is None:
            return False
        probe = run.probe(struct.url)
        if "resourceType" in item:
            if item.get("resourceType") != struct.type:
                return False
            self._walk_resource(item, struct, "", probe)
        else:
            self._walk_object(item, struct.root, struct.root, "", probe, run.root or {})
        return not any(f.severity.is_failure for f in probe.findings.values())


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


def _navigate(value: Any, path: str, validator: Any, run: Run) -> list[Any]:
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
                            c for c in all_contained(run.root or {}, run.root or {}) if c.get("id") == ref[1:]
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


def _slice_url(node: ElementNode, validator: Any) -> str | None:
    for type_ref in node.types:
        if type_ref.profiles:
            return type_ref.profiles[0].split("|", 1)[0]
    url = next((c for c in node.children if c.name == "url"), None)
    return url.fixed[1] if url is not None and url.fixed is not None else None
