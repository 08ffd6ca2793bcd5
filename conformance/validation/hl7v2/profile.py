"""Message profiles as data: our readable YAML sets (profiles/hl7v2/<set>/) and standard XML conformance profiles.

Model: a ProfileSet holds MessageProfiles keyed by event (`ADT^A01`); each has a structure (segments and
groups with usage and cardinality) and segment definitions (fields, components: usage, cardinality, length,
data type, table, condition). Fields a profile does not describe inherit the HL7 base definition (reference.py).

XML: both the legacy Messaging Workbench / NIST format (`<HL7v2xConformanceProfile>` with
`<HL7v2xStaticDef>` (or `<HL7v2xConStaticDef>`) holding `<Segment Name Usage Min Max>` /
`<SegGroup>`, `<Field Name Usage Min Max Datatype Length Table>`, `<Component>`, `<SubComponent>`) and the
IGAMT export (`<ConformanceProfile>` with `<Messages>`, `<Segments>`, `<Datatypes>`, `<Segment Ref=...>`).
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from conformance import settings
from conformance.yamldoc import load_yaml

if TYPE_CHECKING:
    from lxml import etree

USAGES = frozenset({"R", "RE", "O", "C", "X", "B", "W", "CE"})


class ProfileError(ValueError):
    """A profile cannot be read (missing file, bad YAML/XML, unknown reference)."""


@dataclass(slots=True)
class ComponentDef:
    position: int
    name: str = ""
    usage: str = "O"
    datatype: str = ""
    length: int | None = None
    table: str | None = None
    fixed: str | None = None  # the only allowed value
    values: tuple[str, ...] = ()  # allowed values listed inline
    condition: str | None = None  # predicate, see conditions.py; usage applies when true
    else_usage: str = "O"
    note: str = ""
    components: dict[int, ComponentDef] = field(default_factory=dict)  # subcomponents


@dataclass(slots=True)
class FieldDef:
    position: int
    name: str = ""
    usage: str = "O"
    min: int = 0
    max: int | None = None  # -1 = unbounded; None = inherit the base standard's
    datatype: str = ""
    length: int | None = None
    table: str | None = None
    fixed: str | None = None
    values: tuple[str, ...] = ()
    condition: str | None = None
    else_usage: str = "O"
    severity: str = "error"  # for rule findings on this field
    note: str = ""  # source reference, shown in messages
    components: dict[int, ComponentDef] = field(default_factory=dict)


@dataclass(slots=True)
class SegmentDef:
    name: str
    description: str = ""
    fields: dict[int, FieldDef] = field(default_factory=dict)
    closed: bool = False  # True: fields beyond those listed are not allowed (Z segments)


@dataclass(slots=True)
class SegmentRef:
    name: str
    usage: str = "O"
    min: int = 0
    max: int = 1
    condition: str | None = None
    note: str = ""
    segment_id: str = ""  # the definition to use (XML profiles: `PID_IZ`); defaults to name

    @property
    def is_group(self) -> bool:
        return False


@dataclass(slots=True)
class GroupRef:
    name: str
    usage: str = "O"
    min: int = 0
    max: int = 1
    children: list[SegmentRef | GroupRef] = field(default_factory=list)
    condition: str | None = None
    note: str = ""

    @property
    def is_group(self) -> bool:
        return True


@dataclass(slots=True)
class MessageProfile:
    id: str  # e.g. "pam-fr-2.11#ADT^A01"
    event: str  # "ADT^A01"
    structure_id: str  # "ADT_A01"
    hl7_version: str
    elements: list[SegmentRef | GroupRef]
    segments: dict[str, SegmentDef]
    tables: dict[str, frozenset[str]]
    rules: tuple[str, ...] = ()  # named rule packs (pam-fr, ins, cisis-document...)
    msh9: str = ""  # the expected MSH-9 value
    settings: dict[str, Any] = field(default_factory=dict)  # free values the rule packs read
    source: str = ""  # file it came from
    match: str | None = None  # condition selecting this variant among profiles of the same event
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)  # the engine's merged definitions


@dataclass(slots=True)
class ProfileSet:
    id: str
    title: str = ""
    version: str = ""
    messages: dict[str, MessageProfile] = field(default_factory=dict)
    source: str = ""
    # by event, the profiles with a `match` condition, in order; built on first use for that many messages
    variants: tuple[int, dict[str, list[MessageProfile]]] | None = field(default=None, repr=False, compare=False)

    def for_message(self, code: str, event: str, structure: str = "", matches=None) -> MessageProfile | None:
        """The profile for a message type; variants with a `match` condition win when `matches(cond)` is true."""
        variants_by_event = self._variants()
        for key in (f"{code}^{event}", f"{code}^*", structure):
            if not key:
                continue
            for variant in variants_by_event.get(key, ()):
                if matches is not None and matches(variant.match):
                    return variant
            if key in self.messages:
                return self.messages[key]
        return None

    def _variants(self) -> dict[str, list[MessageProfile]]:
        if self.variants is None or self.variants[0] != len(self.messages):  # a set being loaded still grows
            found: dict[str, list[MessageProfile]] = {}
            for profile in self.messages.values():
                if profile.match:
                    found.setdefault(profile.event, []).append(profile)
            self.variants = (len(self.messages), found)
        return self.variants[1]

    def events(self) -> set[str]:
        return {profile.event.split("^", 1)[-1] for profile in self.messages.values()}


# ----------------------------------------------------------------------------------------------- parsing helpers


def parse_cardinality(text: str | int | None, default: tuple[int, int] = (0, 1)) -> tuple[int, int]:
    if text is None or text == "":
        return default
    if isinstance(text, int):
        return text, text
    low, _, high = str(text).strip().strip("[]").partition("..")
    high = high or low
    return int(low), (-1 if high in ("*", "n") else int(high))


def _max_value(text: str | None) -> int:
    if text in (None, "", "*", "n"):
        return -1 if text in ("*", "n") else 1
    return int(text)


_REF = re.compile(r"^(?P<name>[A-Za-z0-9_]+)\s+(?P<usage>R|RE|O|C|X|B|W|CE)\s*(?P<card>\[?\d+\.\.(?:\d+|\*)\]?)?$")


def _element_from_yaml(item: Any, where: str) -> SegmentRef | GroupRef:
    if isinstance(item, str):
        match = _REF.match(item.strip())
        if not match:
            raise ProfileError(f"{where}: cannot read structure element {item!r} (expected 'SEG USAGE MIN..MAX')")
        low, high = parse_cardinality(match.group("card"), (1, 1) if match.group("usage") == "R" else (0, 1))
        return SegmentRef(match.group("name"), match.group("usage"), low, high)
    if isinstance(item, dict) and "group" in item:
        head = _element_from_yaml(item["group"], where)
        children = [_element_from_yaml(child, where) for child in item.get("children", [])]
        return GroupRef(
            head.name, head.usage, head.min, head.max, children, item.get("condition"), item.get("note", "")
        )
    if isinstance(item, dict) and "segment" in item:
        ref = _element_from_yaml(item["segment"], where)
        assert isinstance(ref, SegmentRef)
        ref.condition = item.get("condition")
        ref.note = item.get("note", "")
        return ref
    raise ProfileError(f"{where}: cannot read structure element {item!r}")


def _component_from_yaml(position: int, data: dict[str, Any]) -> ComponentDef:
    component = ComponentDef(
        position,
        name=str(data.get("name", "")),
        usage=str(data.get("usage", "O")),
        datatype=str(data.get("dt", data.get("datatype", ""))),
        length=data.get("len", data.get("length")),
        table=str(data["table"]) if data.get("table") is not None else None,
        fixed=str(data["fixed"]) if data.get("fixed") is not None else None,
        values=tuple(str(v) for v in data.get("values", ())),
        condition=data.get("condition"),
        else_usage=str(data.get("else", "O")),
        note=str(data.get("note", "")),
    )
    for sub_position, sub in (data.get("components") or {}).items():
        component.components[int(sub_position)] = _component_from_yaml(int(sub_position), sub)
    return component


def _field_from_yaml(position: int, data: dict[str, Any]) -> FieldDef:
    usage = str(data.get("usage", "O"))
    if data.get("card") is None:
        low, high = (1 if usage == "R" else 0), None
    else:
        low, high = parse_cardinality(data.get("card"))
    result = FieldDef(
        position,
        name=str(data.get("name", "")),
        usage=usage,
        min=low,
        max=high,
        datatype=str(data.get("dt", data.get("datatype", ""))),
        length=data.get("len", data.get("length")),
        table=str(data["table"]) if data.get("table") is not None else None,
        fixed=str(data["fixed"]) if data.get("fixed") is not None else None,
        values=tuple(str(v) for v in data.get("values", ())),
        condition=data.get("condition"),
        else_usage=str(data.get("else", "O")),
        severity=str(data.get("severity", "error")),
        note=str(data.get("note", "")),
    )
    for position_c, component in (data.get("components") or {}).items():
        result.components[int(position_c)] = _component_from_yaml(int(position_c), component)
    return result


def _segments_from_yaml(data: dict[str, Any]) -> dict[str, SegmentDef]:
    segments: dict[str, SegmentDef] = {}
    for name, body in (data or {}).items():
        body = body or {}
        segment = SegmentDef(name, str(body.get("description", "")), closed=bool(body.get("closed", False)))
        for position, field_data in (body.get("fields") or {}).items():
            segment.fields[int(position)] = _field_from_yaml(int(position), field_data or {})
        segments[name] = segment
    return segments


def _apply_overrides(segments: dict[str, SegmentDef], overrides: dict[str, Any]) -> dict[str, SegmentDef]:
    """Per-event overrides: {'PID-18': 'R'} or {'PV1-19': {usage: C, condition: ...}} or {'PV1-3.1': 'R'}."""
    if not overrides:
        return segments
    # what an override touches is copied (its segment, field and component, not their other children), the rest
    # is shared by every event (never changed after loading): a deep copy per event made the first result slow
    result = dict(segments)
    copied: set[str] = set()
    copied_fields: set[tuple[str, int]] = set()
    copied_components: set[tuple[str, int, int]] = set()
    for key, value in overrides.items():
        match = re.match(r"^([A-Z][A-Z0-9]{2})-(\d+)(?:\.(\d+))?$", key)
        if not match:
            raise ProfileError(f"bad override key {key!r}")
        name, number, component = match.group(1), int(match.group(2)), match.group(3)
        changes = {"usage": value} if isinstance(value, str) else dict(value)
        if name not in copied:
            copied.add(name)
            shared = segments.get(name)
            result[name] = _copied_segment(shared) if shared is not None else SegmentDef(name)
        segment = result[name]
        if (name, number) not in copied_fields:
            copied_fields.add((name, number))
            shared_field = segment.fields.get(number)
            segment.fields[number] = _copied_field(shared_field) if shared_field is not None else FieldDef(number)
        target_field = segment.fields[number]
        target: FieldDef | ComponentDef = target_field
        if component:
            position = int(component)
            if (name, number, position) not in copied_components:
                copied_components.add((name, number, position))
                shared_component = target_field.components.get(position)
                target_field.components[position] = (
                    _copied_component(shared_component) if shared_component is not None else ComponentDef(position)
                )
            target = target_field.components[position]
        for attribute, new in changes.items():
            attribute = {"else": "else_usage", "dt": "datatype", "len": "length"}.get(attribute, attribute)
            if attribute == "card" and isinstance(target, FieldDef):
                target.min, target.max = parse_cardinality(new)
            elif attribute == "values":
                target.values = tuple(str(v) for v in new)
            elif hasattr(target, attribute):
                setattr(target, attribute, new)
            else:
                raise ProfileError(f"override {key}: unknown attribute {attribute!r}")
        if isinstance(target, FieldDef) and "usage" in changes and "card" not in changes and target.usage == "R":
            target.min = max(target.min, 1)
    return result


def _copied_segment(segment: SegmentDef) -> SegmentDef:
    return SegmentDef(segment.name, segment.description, dict(segment.fields), segment.closed)


def _copied_field(definition: FieldDef) -> FieldDef:
    return dataclasses.replace(definition, components=dict(definition.components))


def _copied_component(definition: ComponentDef) -> ComponentDef:
    return dataclasses.replace(definition, components=dict(definition.components))


def _copied_elements(elements: list[SegmentRef | GroupRef]) -> list[SegmentRef | GroupRef]:
    """A structure's elements as new objects (cheaper than copy.deepcopy: strings and tuples are shared)."""
    return [
        dataclasses.replace(element, children=_copied_elements(element.children))
        if isinstance(element, GroupRef)
        else dataclasses.replace(element)
        for element in elements
    ]


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from exc


def _merge_segment_files(folder: Path, files: list[str]) -> dict[str, SegmentDef]:
    """Later files win field by field (a volet refines a shared segment without repeating it)."""
    segments: dict[str, SegmentDef] = {}
    for name in files:
        for segment_name, definition in _segments_from_yaml(_read_yaml(folder / name) or {}).items():
            existing = segments.get(segment_name)
            if existing is None:
                segments[segment_name] = definition
                continue
            existing.fields.update(definition.fields)
            existing.description = definition.description or existing.description
            existing.closed = existing.closed or definition.closed
    return segments


def _merge_table_files(folder: Path, files: list[str]) -> dict[str, frozenset[str]]:
    tables: dict[str, frozenset[str]] = {}
    for name in files:
        for table_id, codes in (_read_yaml(folder / name) or {}).items():
            values = codes.keys() if isinstance(codes, dict) else codes
            tables[str(table_id)] = frozenset(str(code) for code in values)
    return tables


def load_yaml_profile_set(path: Path) -> ProfileSet:
    """Read profiles/hl7v2/<set>/profile.yaml (and the segment/table files it names)."""
    data = _read_yaml(path)
    if not isinstance(data, dict) or "id" not in data:
        raise ProfileError(f"{path}: not a profile set (no 'id')")
    folder = path.parent
    segments = _merge_segment_files(folder, list(data.get("segments", [])))
    tables = _merge_table_files(folder, list(data.get("tables", [])))
    structures: dict[str, list[SegmentRef | GroupRef]] = {}
    for structure_id, elements in (data.get("structures") or {}).items():
        structures[structure_id] = [_element_from_yaml(item, f"{path}:{structure_id}") for item in elements]
    profile_set = ProfileSet(
        str(data["id"]), str(data.get("title", "")), str(data.get("version", "")), source=str(path)
    )
    defaults = data.get("defaults") or {}
    for event_key, event in (data.get("messages") or {}).items():
        event = event or {}
        structure_id = str(event.get("structure", ""))
        if structure_id not in structures:
            raise ProfileError(f"{path}: message {event_key} uses unknown structure {structure_id!r}")
        event_segments = _apply_overrides(
            segments, {**(defaults.get("overrides") or {}), **(event.get("overrides") or {})}
        )
        event_name = str(event.get("event", event_key))
        profile_set.messages[event_key] = MessageProfile(
            id=f"{profile_set.id}#{event_key}",
            event=event_name,
            match=event.get("match"),
            structure_id=structure_id,
            hl7_version=str(event.get("hl7_version", data.get("hl7_version", "2.5"))),
            elements=_with_usage_overrides(structures[structure_id], event.get("segments") or {}),
            segments=event_segments,
            tables=tables,
            rules=tuple(event.get("rules", defaults.get("rules", ()))),
            msh9=str(event.get("msh9", "")),
            settings={**(defaults.get("settings") or {}), **(event.get("settings") or {})},
            source=str(path),
        )
    return profile_set


def _with_usage_overrides(
    elements: list[SegmentRef | GroupRef], overrides: dict[str, Any]
) -> list[SegmentRef | GroupRef]:
    """Per-event segment usage: {'ZFV': 'RE', 'NK1': {usage: RE, card: 0..*}}; applies to every ref of that name."""
    if not overrides:
        return elements
    result = _copied_elements(elements)

    def visit(items: list[SegmentRef | GroupRef]) -> None:
        for item in items:
            if isinstance(item, GroupRef):
                visit(item.children)
            if item.name in overrides:
                change = overrides[item.name]
                change = {"usage": change} if isinstance(change, str) else dict(change)
                if "usage" in change:
                    item.usage = change["usage"]
                if "card" in change:
                    item.min, item.max = parse_cardinality(change["card"])
                elif item.usage == "R":
                    item.min = max(item.min, 1)
                elif item.usage == "X":
                    item.min = 0  # still matched, so that its presence is reported as usage X
                if "condition" in change:
                    item.condition = change["condition"]
                if "note" in change:
                    item.note = change["note"]

    visit(result)
    return result


# ----------------------------------------------------------------------------------------------- XML profiles


def _parse_xml(path: Path) -> etree._Element:
    from lxml import etree  # late: only XML profiles need it (the built-in sets are YAML)

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise ProfileError(f"cannot read XML profile {path}: {exc}") from exc
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def _int(value: str | None, default: int | None = None) -> int | None:
    if value is None or value.strip() in ("", "*"):
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _table(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    match = re.match(r"^(?:HL7)?(\d{1,4})(?:_.*)?$", value)
    return match.group(1).zfill(4) if match else value


def _legacy_component(position: int, element: etree._Element) -> ComponentDef:
    component = ComponentDef(
        position,
        name=element.get("Name", ""),
        usage=element.get("Usage", "O"),
        datatype=element.get("Datatype", ""),
        length=_int(element.get("Length")),
        table=_table(element.get("Table")),
        fixed=element.get("ConstantValue"),
    )
    for index, sub in enumerate(element.findall("SubComponent"), start=1):
        component.components[index] = _legacy_component(index, sub)
    return component


def _xml_cardinality(element: etree._Element) -> dict[str, Any]:
    """Usage, Min and Max as both XML profile formats (Messaging Workbench / NIST and IGAMT) write them."""
    return {
        "usage": element.get("Usage", "O"),
        "min": _int(element.get("Min"), 0) or 0,
        "max": _max_value(element.get("Max")),
    }


def _legacy_segment(element: etree._Element) -> SegmentDef:
    segment = SegmentDef(element.get("Name", ""), element.get("LongName", ""))
    for position, field_element in enumerate(element.findall("Field"), start=1):
        result = FieldDef(
            position,
            name=field_element.get("Name", ""),
            **_xml_cardinality(field_element),
            datatype=field_element.get("Datatype", ""),
            length=_int(field_element.get("Length")),
            table=_table(field_element.get("Table")),
            fixed=field_element.get("ConstantValue"),
        )
        for index, component in enumerate(field_element.findall("Component"), start=1):
            result.components[index] = _legacy_component(index, component)
        segment.fields[position] = result
    return segment


def _legacy_elements(parent: etree._Element, segments: dict[str, SegmentDef]) -> list[SegmentRef | GroupRef]:
    elements: list[SegmentRef | GroupRef] = []
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        cardinality = _xml_cardinality(child)
        usage, low, high = cardinality["usage"], cardinality["min"], cardinality["max"]
        if child.tag == "Segment":
            name = child.get("Name", "")
            elements.append(SegmentRef(name, usage, low, high))
            if child.find("Field") is not None or name not in segments:
                segments[name] = _legacy_segment(child)
        elif child.tag == "SegGroup":
            elements.append(GroupRef(child.get("Name", ""), usage, low, high, _legacy_elements(child, segments)))
    return elements


def _load_legacy(root: etree._Element, path: Path) -> ProfileSet:
    version = root.get("HL7Version", "2.5")
    profile_set = ProfileSet(f"xml:{path.name}", root.findtext("MetaData/Name", "") or path.stem, source=str(path))
    metadata = root.find("MetaData")
    if metadata is not None:
        profile_set.title = metadata.get("Name", profile_set.title)
        profile_set.version = metadata.get("Version", "")
    for static in [*root.iter("HL7v2xStaticDef"), *root.iter("HL7v2xConStaticDef")]:
        segments: dict[str, SegmentDef] = {}
        elements = _legacy_elements(static, segments)
        event = f"{static.get('MsgType', '')}^{static.get('EventType', '')}"
        profile_set.messages[event] = MessageProfile(
            id=f"{profile_set.id}#{event}",
            event=event,
            structure_id=static.get("MsgStructID", ""),
            hl7_version=version,
            elements=elements,
            segments=segments,
            tables={},
            source=str(path),
        )
    return profile_set


def _igamt_datatypes(root: etree._Element) -> dict[str, etree._Element]:
    return {element.get("ID", ""): element for element in root.iter("Datatype")}


def _igamt_component(
    position: int, element: etree._Element, datatypes: dict[str, etree._Element], depth: int
) -> ComponentDef:
    datatype_ref = element.get("Datatype", "")
    datatype = datatypes.get(datatype_ref)
    component = ComponentDef(
        position,
        name=element.get("Name", ""),
        usage=element.get("Usage", "O"),
        datatype=datatype.get("Name", datatype_ref) if datatype is not None else datatype_ref,
        length=_int(element.get("MaxLength")),
        table=_table(element.get("Binding")),
        fixed=element.get("ConstantValue"),
    )
    if datatype is not None and depth < 1:
        for index, sub in enumerate(datatype.findall("Component"), start=1):
            component.components[index] = _igamt_component(index, sub, datatypes, depth + 1)
    return component


def _igamt_segments(root: etree._Element, datatypes: dict[str, etree._Element]) -> dict[str, SegmentDef]:
    segments: dict[str, SegmentDef] = {}
    for element in root.iter("Segment"):
        if element.get("ID") is None or element.get("Ref") is not None:
            continue
        segment = SegmentDef(element.get("Name", ""), element.get("Description", ""))
        for position, field_element in enumerate(element.findall("Field"), start=1):
            datatype_ref = field_element.get("Datatype", "")
            datatype = datatypes.get(datatype_ref)
            result = FieldDef(
                position,
                name=field_element.get("Name", ""),
                **_xml_cardinality(field_element),
                datatype=datatype.get("Name", datatype_ref) if datatype is not None else datatype_ref,
                length=_int(field_element.get("MaxLength")),
                table=_table(field_element.get("Binding")),
                fixed=field_element.get("ConstantValue"),
            )
            if datatype is not None:
                for index, component in enumerate(datatype.findall("Component"), start=1):
                    result.components[index] = _igamt_component(index, component, datatypes, 0)
            segment.fields[position] = result
        segments[element.get("ID", "")] = segment
    return segments


def _igamt_elements(parent: etree._Element, segments: dict[str, SegmentDef]) -> list[SegmentRef | GroupRef]:
    elements: list[SegmentRef | GroupRef] = []
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        cardinality = _xml_cardinality(child)
        usage, low, high = cardinality["usage"], cardinality["min"], cardinality["max"]
        if child.tag == "Segment" and child.get("Ref"):
            ref = child.get("Ref", "")
            definition = segments.get(ref)
            name = definition.name if definition is not None else ref
            elements.append(SegmentRef(name, usage, low, high, segment_id=ref))
        elif child.tag in ("Group", "SegGroup"):
            elements.append(GroupRef(child.get("Name", ""), usage, low, high, _igamt_elements(child, segments)))
    return elements


def _load_igamt(root: etree._Element, path: Path) -> ProfileSet:
    version = root.get("HL7Version", "2.5")
    datatypes = _igamt_datatypes(root)
    segment_defs = _igamt_segments(root, datatypes)
    profile_set = ProfileSet(f"xml:{path.name}", source=str(path))
    metadata = root.find("MetaData")
    if metadata is not None:
        profile_set.title = metadata.get("Name", "")
        profile_set.version = metadata.get("Version", "")
    tables = _igamt_tables(root)
    for message in root.iter("Message"):
        elements = _igamt_elements(message, segment_defs)
        # Segment definitions are keyed by the segment name the message actually uses.
        segments = {ref.name: segment_defs[ref.segment_id] for ref in _walk(elements) if ref.segment_id in segment_defs}
        event = f"{message.get('Type', '')}^{message.get('Event', '')}"
        profile_set.messages[event] = MessageProfile(
            id=f"{profile_set.id}#{event}",
            event=event,
            structure_id=message.get("StructID", ""),
            hl7_version=version,
            elements=elements,
            segments=segments,
            tables=tables,
            source=str(path),
        )
    return profile_set


def _igamt_tables(root: etree._Element) -> dict[str, frozenset[str]]:
    tables: dict[str, frozenset[str]] = {}
    for value_set in [*root.iter("ValueSetDefinition"), *root.iter("hl7table")]:
        identifier = value_set.get("BindingIdentifier") or value_set.get("id") or ""
        codes = [element.get("Value") or element.get("code") or "" for element in value_set]
        tables[_table(identifier) or identifier] = frozenset(code for code in codes if code)
    return tables


def _walk(elements: list[SegmentRef | GroupRef]):
    for element in elements:
        if isinstance(element, GroupRef):
            yield from _walk(element.children)
        else:
            yield element


def load_xml_profile(path: str | Path) -> ProfileSet:
    """Read a standard HL7 v2 XML conformance profile (legacy MWB/NIST or IGAMT export)."""
    path = Path(path)
    root = _parse_xml(path)
    if root.tag == "HL7v2xConformanceProfile" or root.find(".//HL7v2xStaticDef") is not None:
        profile_set = _load_legacy(root, path)
    elif root.tag == "ConformanceProfile" or root.find(".//Messages") is not None:
        profile_set = _load_igamt(root, path)
    elif root.tag in ("HL7v2xStaticDef", "HL7v2xConStaticDef"):
        profile_set = _load_legacy(root, path)
    else:
        raise ProfileError(f"{path}: root element <{root.tag}> is not an HL7 v2 conformance profile")
    if not profile_set.messages:
        raise ProfileError(f"{path}: the profile defines no message")
    return profile_set


# ----------------------------------------------------------------------------------------------- registry


@lru_cache(maxsize=1)
def builtin_profiles_dir() -> Path:
    return settings.package_dir("profiles", "hl7v2")  # resolved once: asked for every message validated


def builtin_profile_ids() -> list[str]:
    return list(_builtin_profile_ids(builtin_profiles_dir()))


@lru_cache(maxsize=4)
def _builtin_profile_ids(folder: Path) -> tuple[str, ...]:
    return tuple(sorted(p.parent.name for p in folder.glob("*/profile.yaml")))


@lru_cache(maxsize=32)
def _load_cached(key: str, mtime: float) -> ProfileSet:
    path = Path(key)
    if path.suffix.lower() == ".xml":
        return load_xml_profile(path)
    return load_yaml_profile_set(path)


_BUILTIN_FILES: dict[str, Path] = {}  # built-in id -> its profile.yaml, once found
# A profile set is asked for two or three times per message validated: its file's mtime is checked at most once
# per RECHECK_SECONDS for each name (a long-lived service sees an edited profile file within that time; an
# edit is not expected during a run), or at once after forget_profile_sets().
RECHECK_SECONDS = 1.0
_RECENT: dict[str | Path, tuple[float, ProfileSet]] = {}  # name -> (monotonic time of its mtime check, set)
_MAX_RECENT = 64


def load_profile_set(name_or_path: str | Path) -> ProfileSet:
    """A built-in set by id (`pam-fr-2.11`, `cisis-cda-hl7v2-2.1`), a profile.yaml, or an XML profile path."""
    recent = _RECENT.get(name_or_path)
    now = time.monotonic()
    if recent is not None and now - recent[0] < RECHECK_SECONDS:
        return recent[1]
    profile_set = _load_profile_set(name_or_path)
    if len(_RECENT) >= _MAX_RECENT:
        _RECENT.clear()
    _RECENT[name_or_path] = (now, profile_set)
    return profile_set


def forget_profile_sets() -> None:
    """Check every profile file again on its next use (after editing one, in a long-lived process)."""
    _RECENT.clear()


def _load_profile_set(name_or_path: str | Path) -> ProfileSet:
    builtin_file = _BUILTIN_FILES.get(name_or_path) if isinstance(name_or_path, str) else None
    if builtin_file is not None:
        try:
            return _load_cached(str(builtin_file), builtin_file.stat().st_mtime)
        except OSError:
            _BUILTIN_FILES.pop(str(name_or_path), None)
    candidate = Path(name_or_path)
    if not candidate.exists():
        builtin = builtin_profiles_dir() / str(name_or_path) / "profile.yaml"
        if not builtin.exists():
            known = ", ".join(builtin_profile_ids())
            raise ProfileError(
                f"unknown HL7 v2 profile {name_or_path!r} (built-in: {known}; or a path to an XML profile)"
            )
        candidate = builtin
        _BUILTIN_FILES[str(name_or_path)] = builtin
    elif candidate.is_dir():
        candidate = candidate / "profile.yaml"
    try:
        mtime = candidate.stat().st_mtime
    except OSError as exc:
        raise ProfileError(f"cannot read {candidate}: {exc}") from exc
    return _load_cached(str(candidate), mtime)
