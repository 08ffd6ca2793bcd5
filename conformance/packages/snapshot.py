"""Snapshot generation: a StructureDefinition's snapshot from its differential and its base's snapshot.

As the reference tools generate them: the base snapshot is walked and copied; each differential element is
merged into the element it designates (by id, or by path and slice name when the id is absent); a slice
starts as a copy of the sliced element and its sub-elements, and a reslice as a copy of its slice; an element
below a data type (Patient.identifier.system) unfolds that type's snapshot (or its type profile's) under its
parent; `valueQuantity` designates `value[x]` restricted to Quantity. Merged elements keep the base's
constraints and add the differential's; bindings, types, cardinality, fixed and pattern values are replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Fetch = Callable[[str], dict[str, Any] | None]

_APPENDED = ("constraint", "condition", "mapping", "alias")
_EXTENSION_SLICING = {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}
_MAX_ELEMENTS = 20_000


class SnapshotError(ValueError):
    """The snapshot cannot be generated (base missing, differential designating nothing)."""


def needs_snapshot(sd: dict[str, Any]) -> bool:
    return not ((sd.get("snapshot") or {}).get("element")) and bool((sd.get("differential") or {}).get("element"))


def generate_snapshot(sd: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    """A copy of `sd` with a snapshot. `fetch(url)` gives a StructureDefinition with its snapshot (generated
    if need be) for the base, data types and type profiles. Raises SnapshotError."""
    base_url = sd.get("baseDefinition")
    if not isinstance(base_url, str) or not base_url:
        raise SnapshotError(f"{sd.get('url')}: no baseDefinition")
    base = fetch(base_url)
    base_elements = ((base or {}).get("snapshot") or {}).get("element")
    if not base_elements:
        raise SnapshotError(f"{sd.get('url')}: base {base_url} not found or without snapshot")
    elements = copy.deepcopy(base_elements)
    base_type, own_type = str((base or {}).get("type") or ""), str(sd.get("type") or "")
    if base_type and own_type and base_type != own_type:  # a specialisation (logical model): rename the root
        for element in elements:
            element["path"] = _retype(element.get("path", ""), base_type, own_type)
            if isinstance(element.get("id"), str):
                element["id"] = _retype(element["id"], base_type, own_type)
    generator = _Generator(elements, fetch)
    for diff in (sd.get("differential") or {}).get("element") or ():
        if isinstance(diff, dict) and isinstance(diff.get("path"), str):
            generator.apply(copy.deepcopy(diff))
    result = dict(sd)
    result["snapshot"] = {"element": generator.elements}
    return result


def _retype(path: str, old: str, new: str) -> str:
    return new + path[len(old) :] if path == old or path.startswith(old + ".") else path


def _parent_id(element_id: str) -> str:
    return element_id.rpartition(".")[0]


def _slice_base_id(element_id: str) -> str | None:
    """`A.b:s` -> `A.b`; `A.b:s/t` -> `A.b:s`; None when the last segment is not a slice."""
    parent, _, last = element_id.rpartition(".")
    if ":" not in last:
        return None
    name, _, slice_name = last.partition(":")
    if "/" in slice_name:
        return f"{parent}.{name}:{slice_name.rsplit('/', 1)[0]}"
    return f"{parent}.{name}" if parent else name


def _rename(value: str, old: str, new: str) -> str:
    return new + value[len(old) :] if value == old or value.startswith((old + ".", old + ":")) else value


class _Generator:
    def __init__(self, elements: list[dict[str, Any]], fetch: Fetch) -> None:
        self.elements = elements
        self.fetch = fetch
        self._slices: list[tuple[str, str]] = []  # (path, id) of the slices the differential is inside
        for element in elements:
            element.setdefault("id", element.get("path", ""))
        # a contentReference unfolds the base's element, not the one this differential is changing
        # (Parameters.parameter.part is a Parameters.parameter as the base defines it, without the profile's slices)
        self._base = {str(e["id"]): i for i, e in enumerate(elements)}
        self._base_elements = copy.deepcopy(elements)

    # ---- lookup ---------------------------------------------------------------------------------------

    def _position(self, element_id: str) -> int | None:
        for position, element in enumerate(self.elements):
            if element.get("id") == element_id:
                return position
        return None

    def _subtree_end(self, element_id: str, *, with_slices: bool) -> int:
        """The position after `element_id`, its descendants and (with_slices) its slices and theirs."""
        start = self._position(element_id)
        assert start is not None
        end = start + 1
        prefixes = (element_id + ".", element_id + ":", element_id + "/") if with_slices else (element_id + ".",)
        while end < len(self.elements) and str(self.elements[end].get("id", "")).startswith(prefixes):
            end += 1
        return end

    def _diff_id(self, diff: dict[str, Any]) -> str:
        path = diff["path"]
        self._slices = [(p, i) for p, i in self._slices if path.startswith(p + ".")]
        if isinstance(diff.get("id"), str) and diff["id"]:
            element_id = diff["id"]
        else:
            element_id = path
            if self._slices:
                slice_path, slice_id = self._slices[-1]
                element_id = slice_id + path[len(slice_path) :]
            if isinstance(diff.get("sliceName"), str) and diff["sliceName"]:
                element_id = f"{element_id}:{diff['sliceName']}"
        if isinstance(diff.get("sliceName"), str) and diff["sliceName"]:
            self._slices.append((path, element_id))
        return element_id

    # ---- one differential element ---------------------------------------------------------------------

    def apply(self, diff: dict[str, Any]) -> None:
        element_id = self._diff_id(diff)
        target_id, restricted = self._locate(element_id)
        if target_id is None:
            raise SnapshotError(f"differential element {element_id} designates no element of the base")
        position = self._position(target_id)
        assert position is not None
        target = self.elements[position]
        if restricted and "type" not in diff:
            diff["type"] = [{"code": restricted}]
        _merge(target, diff)

    def _locate(self, element_id: str) -> tuple[str | None, str | None]:
        """The id of the element (created if need be) and a type the id's choice renaming restricts it to."""
        if self._position(element_id) is not None:
            return element_id, None
        if len(self.elements) > _MAX_ELEMENTS:
            raise SnapshotError("snapshot too large")
        slice_base = _slice_base_id(element_id)
        if slice_base is not None:
            base_id, restricted = self._locate(slice_base)
            if base_id is None:
                return None, None
            slice_name = element_id.rsplit(".", 1)[-1].split(":", 1)[1]
            own_id = f"{base_id}:{slice_name}" if "/" not in slice_name else f"{base_id}/{slice_name.rsplit('/', 1)[1]}"
            if self._position(own_id) is None:
                self._add_slice(base_id, own_id, slice_name)
            return own_id, restricted
        parent_id = _parent_id(element_id)
        if not parent_id:
            return None, None
        parent, _restricted = self._locate(parent_id)
        if parent is None:
            return None, None
        own_id = f"{parent}.{element_id.rsplit('.', 1)[1]}"
        if self._position(own_id) is not None:
            return own_id, None
        if not self._has_children(parent):
            self._unfold(parent)
        if self._position(own_id) is not None:
            return own_id, None
        return self._choice(parent, element_id.rsplit(".", 1)[1])

    def _choice(self, parent: str, name: str) -> tuple[str | None, str | None]:
        """`valueQuantity` -> `value[x]`, restricted to Quantity."""
        for element in self.elements:
            element_id = str(element.get("id", ""))
            if _parent_id(element_id) != parent or not element_id.endswith("[x]"):
                continue
            stem = element_id.rsplit(".", 1)[1][:-3]
            if name.startswith(stem) and len(name) > len(stem) and name[len(stem)].isupper():
                wanted = name[len(stem) :]
                for type_entry in element.get("type") or ():
                    code = str(type_entry.get("code", ""))
                    if code.lower() == wanted.lower():
                        return element_id, code
        return None, None

    def _has_children(self, element_id: str) -> bool:
        position = self._position(element_id)
        assert position is not None
        following = self.elements[position + 1] if position + 1 < len(self.elements) else None
        return following is not None and str(following.get("id", "")).startswith(element_id + ".")

    def _add_slice(self, base_id: str, own_id: str, slice_name: str) -> None:
        start = self._position(base_id)
        assert start is not None
        base = self.elements[start]
        if "slicing" not in base and str(base.get("path", "")).endswith(("extension", "modifierExtension")):
            base["slicing"] = copy.deepcopy(_EXTENSION_SLICING)
        copies = []
        for element in self.elements[start : self._subtree_end(base_id, with_slices=False)]:
            duplicate = copy.deepcopy(element)
            duplicate["id"] = _rename(str(element["id"]), base_id, own_id)
            copies.append(duplicate)
        copies[0].pop("slicing", None)
        copies[0]["sliceName"] = slice_name
        end = self._subtree_end(base_id, with_slices=True)
        self.elements[end:end] = copies

    def _unfold(self, parent_id: str) -> None:
        """The parent's type children, under the parent (its type profile's when it has one)."""
        position = self._position(parent_id)
        assert position is not None
        parent = self.elements[position]
        reference = parent.get("contentReference")
        if isinstance(reference, str) and reference.startswith("#"):
            source_id = reference[1:]
            first = self._base.get(source_id)
            if first is None:
                return
            source_path = str(self._base_elements[first].get("path", ""))
            end = first + 1
            while end < len(self._base_elements) and str(self._base_elements[end]["id"]).startswith(source_id + "."):
                end += 1
            children = []
            for element in self._base_elements[first + 1 : end]:
                duplicate = copy.deepcopy(element)
                duplicate["id"] = _rename(str(element["id"]), source_id, parent_id)
                duplicate["path"] = _rename(str(element.get("path", "")), source_path, str(parent.get("path")))
                children.append(duplicate)
            self.elements[position + 1 : position + 1] = children
            return
        types = parent.get("type") or []
        if len(types) != 1 or not isinstance(types[0], dict):
            return
        type_entry = types[0]
        profiles = type_entry.get("profile") or []
        sd = self.fetch(str(profiles[0])) if profiles else None
        if sd is None:
            code = str(type_entry.get("code", ""))
            sd = self.fetch(code if "/" in code else f"http://hl7.org/fhir/StructureDefinition/{code}")
        source = ((sd or {}).get("snapshot") or {}).get("element") or []
        if len(source) < 2:
            return
        root_id, root_path = str(source[0].get("id") or source[0].get("path")), str(source[0].get("path"))
        children = []
        for element in source[1:]:
            duplicate = copy.deepcopy(element)
            duplicate["id"] = _rename(str(element.get("id") or element.get("path")), root_id, parent_id)
            duplicate["path"] = _rename(str(element.get("path", "")), root_path, str(parent.get("path")))
            children.append(duplicate)
        self.elements[position + 1 : position + 1] = children


def _merge(target: dict[str, Any], diff: dict[str, Any]) -> None:
    for key, value in diff.items():
        if key in ("id", "path"):
            continue
        if key in _APPENDED and isinstance(value, list):
            existing = list(target.get(key) or [])
            if key == "constraint":  # a differential constraint with a known key restates it
                redefined = {c.get("key") for c in value if isinstance(c, dict)}
                existing = [c for c in existing if not (isinstance(c, dict) and c.get("key") in redefined)]
                existing.extend(value)
            else:
                existing.extend(v for v in value if v not in existing)
            target[key] = existing
        elif _is_fixed_or_pattern(key):
            for old in [k for k in target if _is_fixed_or_pattern(k)]:
                del target[old]
            target[key] = value
        elif key in ("binding", "slicing") and isinstance(value, dict) and isinstance(target.get(key), dict):
            merged = dict(target[key])
            merged.update(value)
            target[key] = merged
        else:
            target[key] = value


def _is_fixed_or_pattern(key: str) -> bool:
    return any(key.startswith(p) and key[len(p) : len(p) + 1].isupper() for p in ("fixed", "pattern"))
