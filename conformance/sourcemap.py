"""Line and column of a finding in the text the user gave, as the HL7 Java validator reports them.

A post-pass over validator outcomes: the validators say *where* in the model (FHIRPath for FHIR JSON/XML,
XPath for CDA, `PID-3[2].4` for HL7 v2); this module maps that location to `line:column` in the source
bytes, for findings that do not carry one yet. Nothing here judges: a location that cannot be mapped keeps
no line (the deepest element found is used when only the tail of a path is missing, as the reference does).

    add_lines(outcomes, data, name, kind)   # kind: "fhir-json", "fhir-ndjson", "fhir-xml", "cda", "hl7v2"
    locate(outcome, data, kind)             # one outcome judged on `data` (a document or message a campaign got)
    locate_in_json(outcome, data, prefix)   # one outcome judged on the resource at `prefix` in a JSON body

Bounded: sources over MAX_SOURCE bytes are not mapped (the findings stay as they are).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import fields
from itertools import accumulate
from operator import attrgetter
from typing import Any

from conformance.findings import Finding, Outcome

MAX_SOURCE = 32 * 1024 * 1024
Position = tuple[int, int]  # 1-based line, 1-based column

# ---------------------------------------------------------------- text positions


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PLUS_ONE = (1).__add__
_COUNTED_POSITIONS = 8


class _Lines:
    """Offset -> (line, column) for one text (columns count characters, 1-based); a line's text by number.

    Worked out on first use: an XML finding needs only the text of its element's line, which a split on
    line feeds gives (when no carriage return stands alone) without the offset of every line."""

    def __init__(self, text: str, first_line: int = 1) -> None:
        self.text = text
        self.first_line = first_line
        self._starts: list[int] | None = None
        self._split: list[str] | None = None
        self._feeds: bool | None = None  # every line break ends in a line feed
        self._counted = 0

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            text = self.text
            if not self.feeds_only:
                self._starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
            else:
                self._starts = _feed_starts(text)
        return self._starts

    @property
    def feeds_only(self) -> bool:
        if self._feeds is None:
            text = self.text
            self._feeds = "\r" not in text or text.count("\r") == text.count("\r\n")
        return self._feeds

    def position(self, offset: int) -> Position:
        if self._starts is None and self._counted < _COUNTED_POSITIONS and self.feeds_only:
            # the first few counted in place: a text with few findings is not split into lines
            self._counted += 1
            text = self.text
            return self.first_line + text.count("\n", 0, offset), offset - text.rfind("\n", 0, offset)
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.first_line + index, offset - self.starts[index] + 1

    def line(self, number: int) -> str | None:
        """The text of line `number` (1-based, from the text's start) with its line break, None past the end."""
        if self._split is None and self._starts is None and self.feeds_only:
            self._split = self.text.split("\n")  # every break ends in a line feed: the pieces are the lines
        if self._split is not None:
            if not 1 <= number <= len(self._split):
                return None
            piece = self._split[number - 1]
            return piece + "\n" if number < len(self._split) else piece
        starts = self.starts
        if not 1 <= number <= len(starts):
            return None
        end = starts[number] if number < len(starts) else len(self.text)
        return self.text[starts[number - 1] : end]


def _feed_starts(text: str) -> list[int]:
    """Where each line starts in a text whose breaks all end in a line feed: past the previous line's length
    and line feed, the lengths taken from a split of one chunk at a time (a split of the whole text would
    hold a string per line: a text of short lines took several times its line starts' memory)."""
    starts = [0]
    carry = 0  # the length of the line begun in the chunks before
    for at in range(0, len(text), _SPLIT_CHUNK):
        lengths = list(map(len, text[at : at + _SPLIT_CHUNK].split("\n")))
        lengths[0] += carry
        carry = lengths.pop()  # the line still going at the chunk's end
        following = accumulate(map(_PLUS_ONE, lengths), initial=starts[-1])
        next(following)  # the start already there
        starts.extend(following)
    return starts


_SPLIT_CHUNK = 1 << 16


# ---------------------------------------------------------------- JSON

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|-?\d[\d.eE+-]*|true|false|null|\S', re.S)


_MAX_JSON_DEPTH = 512  # deeper than any parser here reads


def json_positions(text: str) -> dict[tuple[Any, ...], int]:
    """JSON path (keys and array indexes) -> offset of the value's member name (or of the item)."""
    import json

    positions: dict[tuple[Any, ...], int] = {(): 0}
    stack: list[list[Any]] = []  # [kind, path, next index or pending key]
    path: tuple[Any, ...] = ()
    expect_key = False
    deeper = 0  # levels past _MAX_JSON_DEPTH: counted, not mapped (paths copied per level were quadratic)
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if deeper or (token in "{[" and len(stack) >= _MAX_JSON_DEPTH):
            deeper += 1 if token in "{[" else -1 if token in "}]" else 0
            continue
        if token in "{[":
            if stack and stack[-1][0] == "[":
                item_path = (*stack[-1][1], stack[-1][2])
                positions.setdefault(item_path, match.start())
                stack[-1][2] += 1
                path = item_path
            stack.append([token, path, 0])
            expect_key = token == "{"
        elif token in "}]":
            if stack:
                stack.pop()
            path = stack[-1][1] if stack else ()
            expect_key = False
        elif token == ",":
            expect_key = bool(stack) and stack[-1][0] == "{"
        elif token == ":":
            expect_key = False
        elif stack and stack[-1][0] == "{" and expect_key and token.startswith('"'):
            try:
                key = json.loads(token)
            except ValueError:
                key = token.strip('"')
            path = (*stack[-1][1], key)
            positions.setdefault(path, match.start())
            expect_key = False
        elif stack and stack[-1][0] == "[":
            item_path = (*stack[-1][1], stack[-1][2])
            positions.setdefault(item_path, match.start())
            stack[-1][2] += 1
    return positions


class NotPlainJson(ValueError):
    """The text is not plain JSON along the way asked (see JsonMembers)."""


class JsonMembers:
    """The same answers as `json_positions(text)` for the paths asked, found by walking down to them only:
    each container on the way is read once, the values beside the way skipped by the standard library's C
    scanner. NotPlainJson when the text is not plain JSON along the way (a syntax error, a duplicate name,
    NaN, a second root value, an unusual depth): the caller then uses `json_positions`, which tolerates
    those and may place such text differently."""

    MAX_DEPTH = 256  # steps down; json_positions stops mapping at _MAX_JSON_DEPTH containers

    def __init__(self, text: str, wanted: Collection[tuple[Any, ...]] = ()) -> None:
        import json

        self.text = text
        self._scan = json.JSONDecoder(parse_constant=_refuse_constant).scan_once  # type: ignore[attr-defined]
        self._levels: dict[tuple[Any, ...], dict[Any, tuple[int, int]]] = {}
        # paths whose members will be asked: read while their parent is, instead of skipped by the scanner
        # there and scanned again when asked (a Bundle's entries were scanned whole at the root, again
        # as the entry array, then each entry asked: each byte parsed 2.3 times on the R4 examples)
        self._wanted = wanted

    def position(self, path: tuple[Any, ...]) -> int | None:
        """Where json_positions places `path`: its member name, or its item's first character."""
        if not path:
            return 0
        member = self.children(path[:-1]).get(path[-1])
        return member[0] if member else None

    def offset(self, steps: Sequence[tuple[str, int | None]]) -> int:
        """_json_offset's answer, read level by level (the same levels, in the same order)."""
        path: tuple[Any, ...] = ()
        best = 0
        for name, index in steps:
            level = self.children(path)
            key: str | None = name
            member = level.get(name)
            if member is None:
                # a choice type written with its type suffix in JSON (FHIRPath `value` for `valueString`)
                key = next((k for k in level if isinstance(k, str) and _typed(k, name)), None)
                if key is None:
                    return best
                member = level[key]
            path = (*path, key)
            best = member[0]
            if index is not None:
                item = self.children(path).get(index)
                if item is not None:
                    path = (*path, index)
                    best = item[0]
                elif index > 0:
                    return best
        return best

    def children(self, path: tuple[Any, ...]) -> dict[Any, tuple[int, int]]:
        """Member name or item index -> (its position, where its value starts), in document order; empty when
        the value at `path` is a scalar or absent."""
        level = self._levels.get(path)
        if level is None:
            level = self._levels[path] = self._level(path)
        return level

    def _level(self, path: tuple[Any, ...]) -> dict[Any, tuple[int, int]]:
        if len(path) >= self.MAX_DEPTH:
            raise NotPlainJson("too deep")
        if not path:
            text = self.text
            start = _space_end(text, 1 if text.startswith("\ufeff") else 0)
            level, end = self._read(start, path)
            if _space_end(text, end) != len(text):
                raise NotPlainJson("more than one root value")
            return level
        member = self.children(path[:-1]).get(path[-1])
        return self._read(member[1], path)[0] if member else {}

    def _read(self, start: int, path: tuple[Any, ...]) -> tuple[dict[Any, tuple[int, int]], int]:
        """The members of the value at `start` (none for a scalar), and where the value ends."""
        try:
            return self._members(start, path)
        except _NOT_PLAIN as exc:
            raise NotPlainJson(type(exc).__name__) from None

    def _kept(self, start: int, path: tuple[Any, ...]) -> int | None:
        """Where the wanted value at `start` ends, its members kept on the way when it is a plain container;
        None when it is not one (skipped as any value, it is read, and refused, when asked, as before)."""
        if path in self._levels or len(path) >= self.MAX_DEPTH or self.text[start : start + 1] not in ("{", "["):
            return None
        kept = len(self._levels)
        try:
            level, end = self._members(start, path)
        except _NOT_PLAIN:
            for inner in list(self._levels)[kept:]:  # read inside it: asked only through it
                del self._levels[inner]
            return None
        self._levels[path] = level
        return end

    def _members(self, start: int, path: tuple[Any, ...]) -> tuple[dict[Any, tuple[int, int]], int]:
        text, scan, space, wanted = self.text, self._scan, _JSON_SPACE.match, self._wanted
        opening = text[start : start + 1]
        level: dict[Any, tuple[int, int]] = {}
        if opening not in ("{", "["):
            return level, scan(text, start)[1]
        closing = "}" if opening == "{" else "]"
        at = space(text, start + 1).end()  # type: ignore[union-attr]  # [ \t\n\r]* always matches
        if text[at : at + 1] == closing:
            return level, at + 1
        index = 0
        while True:
            if opening == "{":
                if text[at : at + 1] != '"':
                    raise ValueError("member name expected")
                name, end = scan(text, at)
                if name in level:
                    raise ValueError("duplicate member name")
                colon = space(text, end).end()  # type: ignore[union-attr]
                if text[colon : colon + 1] != ":":
                    raise ValueError("colon expected")
                value = space(text, colon + 1).end()  # type: ignore[union-attr]
                level[name] = (at, value)
            else:
                name = index
                value = at
                level[index] = (at, value)
                index += 1
            end = None
            if wanted and (*path, name) in wanted:
                end = self._kept(value, (*path, name))
            if end is None:
                end = scan(text, value)[1]
            at = space(text, end).end()  # type: ignore[union-attr]
            token = text[at : at + 1]
            if token == closing:
                return level, at + 1
            if token != ",":
                raise ValueError("comma expected")
            at = space(text, at + 1).end()  # type: ignore[union-attr]


def _space_end(text: str, at: int) -> int:
    match = _JSON_SPACE.match(text, at)
    return match.end() if match else at


_NOT_PLAIN = (ValueError, StopIteration, IndexError, RecursionError)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


_COMMENT = re.compile(r"/\*.*?\*/")
_STEP = re.compile(r"([A-Za-z_$][\w$-]*)(?:\[(\d+)\])?")
_OF_TYPE = re.compile(r"\.ofType\((\w+)\)")


def fhirpath_steps(location: str) -> list[tuple[str, int | None]]:
    """`Bundle.entry[2].resource.name[0].given[1]` -> [("entry", 2), ("resource", None), ("name", 0), ...].

    The first step (the resource type) is dropped; `value.ofType(Quantity)` becomes `valueQuantity`."""
    location = _COMMENT.sub("", location.strip())
    location = _OF_TYPE.sub(lambda m: m.group(1)[:1].upper() + m.group(1)[1:], location)
    steps = []
    for part in location.split(".")[1:]:
        match = _STEP.fullmatch(part)
        if not match:
            break
        steps.append((match.group(1), int(match.group(2)) if match.group(2) is not None else None))
    return steps


def _json_offset(
    positions: dict[tuple[Any, ...], int] | JsonMembers, steps: Sequence[tuple[str, int | None]]
) -> int | None:
    if isinstance(positions, JsonMembers):
        return positions.offset(steps)
    position, names = positions.get, _mapped_names(positions)
    path: tuple[Any, ...] = ()
    best: int | None = position(())
    for name, index in steps:
        key: str | None = name
        if position((*path, key)) is None:
            # a choice type written with its type suffix in JSON (FHIRPath `value` for `valueString`)
            key = next((k for k in names(path) if _typed(k, name)), None)
            if key is None:
                return best
        path = (*path, key)
        best = position(path)
        if index is not None and position((*path, index)) is not None:
            path = (*path, index)
            best = position(path)
        elif index is not None and index > 0:
            return best
    return best


def _typed(key: str, name: str) -> bool:
    """`key` is choice element `name` with its type suffix (valueString for value)."""
    return key.startswith(name) and key[len(name) :][:1].isupper()


def _member_names(members: JsonMembers) -> Callable[[tuple[Any, ...]], Iterable[str]]:
    return lambda path: (k for k in members.children(path) if isinstance(k, str))


def _mapped_names(positions: dict[tuple[Any, ...], int]) -> Callable[[tuple[Any, ...]], Iterable[str]]:
    def names(path: tuple[Any, ...]) -> Iterable[str]:
        depth = len(path) + 1
        return (k[-1] for k in positions if len(k) == depth and k[:-1] == path and isinstance(k[-1], str))

    return names


# ---------------------------------------------------------------- XML

_XPATH_STEP = re.compile(r"(?:(?:[\w-]+|\*):)?([\w.-]+)(?:\[namespace-uri\(\)\s*=\s*'[^']*'\])?(?:\[(\d+)\])?")


def xpath_steps(location: str) -> list[tuple[str, int]]:
    """`/cda:ClinicalDocument[1]/cda:recordTarget[1]` -> [("ClinicalDocument", 1), ("recordTarget", 1)]."""
    steps = []
    for part in location.strip().strip("/").split("/"):
        if not part or part.startswith("@") or part.endswith("()"):
            break
        match = _XPATH_STEP.fullmatch(part)
        if not match:
            break
        steps.append((match.group(1), int(match.group(2) or 1)))
    return steps


def _xml_root(data: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _walk(root, steps: Iterable[tuple[str, int]], *, root_included: bool):
    """The deepest element reached by the steps (1-based indexes among same-name children)."""
    steps = list(steps)
    element = root
    if root_included:
        if not steps or _local(root.tag) != steps[0][0]:
            return None
        steps = steps[1:]
    for name, index in steps:
        same = [child for child in element if _local(child.tag) == name]
        if len(same) < index:
            break
        element = same[index - 1]
    return element


def _element_position(element, lines: _Lines) -> Position | None:
    line = getattr(element, "sourceline", None)
    if not line:
        return None
    text = lines.line(line)
    if text is None:
        return line, 1
    local = _local(element.tag)
    match = re.search(rf"<(?:[\w.-]+:)?{re.escape(local)}[\s/>]", text)
    return line, (match.start() + 1) if match else 1


# ---------------------------------------------------------------- ER7 (HL7 v2)

_ER7_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)(?:\[(\d+)\])?(?:\.(\d+))?(?:\.(\d+))?")


def er7_position(text: str, location: str) -> Position | None:
    """`PID-11[2].9` -> line and column of that component in the message (MSH-1 is the field separator)."""
    match = _ER7_LOCATION.match(location.strip())
    return _Er7Text(text).position(match) if match else None


class _Er7Text:
    """One ER7 message's segments by name and its line starts, worked out once for all its findings (each finding
    used to rescan the whole message: a document of hundreds of kilobytes in OBX-5 made that quadratic)."""

    def __init__(self, text: str) -> None:
        self.text = text
        segments = [(m.start(), m.group()) for m in re.finditer(r"[^\r\n]+", text)]
        self.usable = bool(segments) and len(segments[0][1]) >= 8 and segments[0][1].startswith("MSH")
        self.by_name: dict[str, list[tuple[int, str]]] = {}
        self._lines: _Lines | None = None
        if not self.usable:
            return
        head = segments[0][1]
        self.field_sep = head[3]
        encoding = (head[4:8] + "^~\\&")[:4]  # MSH-2: component, repetition, escape, subcomponent
        self.component_sep, self.repetition_sep, self.subcomponent_sep = encoding[0], encoding[1], encoding[3]
        for offset, line in segments:
            if len(line) == 3 or (len(line) > 3 and line[3] == self.field_sep):  # `PID` or `PID|...`
                self.by_name.setdefault(line[:3], []).append((offset, line))

    @property
    def lines(self) -> _Lines:
        if self._lines is None:
            self._lines = _Lines(self.text)
        return self._lines

    def position(self, match: re.Match[str]) -> Position | None:
        """The position of a location matched by _ER7_LOCATION."""
        if not self.usable:
            return None
        segment, occurrence, field_no, repetition, component, subcomponent = match.groups()
        found = self.by_name.get(segment, ())
        wanted = int(occurrence or 1)
        if not 1 <= wanted <= len(found):
            return None
        offset, line = found[wanted - 1]
        fields = line.split(self.field_sep)
        index = int(field_no) if segment != "MSH" else int(field_no) - 1
        if segment == "MSH" and int(field_no) == 1:
            return self.lines.position(offset + 3)
        if index >= len(fields) or index < 1:
            return self.lines.position(offset)
        column = offset + sum(len(f) + 1 for f in fields[:index])
        value = fields[index]
        for parts, separator, number in (
            (value.split(self.repetition_sep), self.repetition_sep, repetition),
            (None, self.component_sep, component),
            (None, self.subcomponent_sep, subcomponent),
        ):
            if number is None:
                continue
            pieces = parts if parts is not None else value.split(separator)
            position = int(number)
            if position > len(pieces):
                break
            column += sum(len(p) + 1 for p in pieces[: position - 1])
            value = pieces[position - 1]
        return self.lines.position(column)


def _er7_locator(text: str, first_line: int, root: Any = None):
    """Positions in an ER7 message (`root`: unused, for XML only); its index is built on the first finding
    that needs one (most have theirs)."""
    index: _Er7Text | None = None

    def find(location: str) -> Position | None:
        nonlocal index
        match = _ER7_LOCATION.match(location.strip())
        if not match:
            return None  # a segment alone (`ZFP`, absent) or no location: nothing to index for
        if index is None:
            index = _Er7Text(text)
        return index.position(match)

    return find


# ---------------------------------------------------------------- the post-pass


def _source_text(data: bytes | str) -> str | None:
    """The text of a source (UTF-8, with or without BOM, else Latin-1); None when it is too large to map."""
    if len(data) > MAX_SOURCE:
        return None
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def add_lines(outcomes: list[Outcome], data: bytes, name: str, kind: str) -> list[Outcome]:
    """The outcomes with `line` / `column` set on the findings that lack them, where the location maps."""
    locator = _LOCATORS.get(kind)
    if locator is None or not any(f.line is None and f.location for o in outcomes for f in o.findings):
        return outcomes  # nothing to place: the text is not even decoded
    text = _source_text(data)
    if text is None:
        return outcomes
    for outcome in outcomes:
        source = _source_of(outcome, name, text, kind)
        if source is None:
            continue
        if locator is _json_locator:
            find = _json_locator(*source, locations=[f.location for f in outcome.findings if f.line is None])
        else:
            find = locator(*source)
        outcome.findings = [_located(f, find) for f in outcome.findings]
    return outcomes


def _source_of(outcome: Outcome, name: str, text: str, kind: str) -> tuple[str, int] | None:
    """The text an outcome was judged on, and its first line in the file (ndjson: one line per resource)."""
    file = str(outcome.details.get("file") or outcome.subject)
    if kind == "fhir-ndjson":
        match = re.fullmatch(re.escape(name) + r":(\d+)", file)
        if not match:
            return None
        number = int(match.group(1))
        lines = re.split(r"\r\n|\n", text)
        return (lines[number - 1], number) if number <= len(lines) else None
    if outcome.subject != name and not outcome.subject.startswith(f"{name} (") and file != name:
        return None  # e.g. a CDA carried inside an HL7 v2 message: its XPath is not about this file
    return text, 1


def _located(item: Finding, find) -> Finding:
    if item.line is not None or not item.location:
        return item
    try:
        position = find(item.location)
    except (ValueError, IndexError, RecursionError):
        position = None
    if not position:
        return item
    # dataclasses.replace's own work (the fields looked up and checked, keywords) cost more than the copy
    values = list(_FINDING_VALUES(item))
    values[_LINE_FIELD], values[_COLUMN_FIELD] = position
    return Finding(*values)


_FINDING_FIELDS = [field.name for field in fields(Finding)]
_FINDING_VALUES = attrgetter(*_FINDING_FIELDS)
_LINE_FIELD, _COLUMN_FIELD = _FINDING_FIELDS.index("line"), _FINDING_FIELDS.index("column")


_FHIRPATH = re.compile(r"^[A-Z]\w*(\.|$)")


def _json_locator(text: str, first_line: int, root: Any = None, *, locations: Iterable[str] = ()):
    """Positions in a JSON text (`root`: unused, for XML only). `locations`: those about to be asked, whose
    containers are then read on the way down (see JsonMembers)."""
    steps_of = {where: fhirpath_steps(where) for where in locations if where and _FHIRPATH.match(where)}
    places = JsonText(text, first_line, wanted=_containers_on_the_way(steps_of.values()))

    def find(location: str) -> Position | None:
        steps = steps_of.get(location)
        if steps is None:
            if not _FHIRPATH.match(location):
                return None
            steps = fhirpath_steps(location)
        offset = places.offset(steps)
        return places.lines.position(offset) if offset is not None else None

    return find


def _containers_on_the_way(all_steps: Iterable[Sequence[tuple[str, int | None]]]) -> set[tuple[Any, ...]]:
    """The JSON paths whose members _json_offset reads to follow these FHIRPath steps (a choice type's
    name, e.g. valueQuantity for value, is not known before its parent is read: it is left out)."""
    wanted: set[tuple[Any, ...]] = set()
    for steps in all_steps:
        path: tuple[Any, ...] = ()
        for name, index in steps:
            wanted.add(path)
            path = (*path, name)
            if index is not None:
                wanted.add(path)
                path = (*path, index)
    return wanted


def _xml_locator(text: str, first_line: int, *, fhirpath: bool, root: Any = None):
    """`root`: the text already parsed by lxml (with its source lines), else it is parsed here."""
    root = _xml_root(text.encode("utf-8")) if root is None else root
    lines = _Lines(text, first_line)

    def find(location: str) -> Position | None:
        if root is None:
            return None
        if fhirpath:
            steps = [(location.split(".", 1)[0].split("[", 1)[0], 1)]
            steps += [(step, (index or 0) + 1) for step, index in fhirpath_steps(location)]
        else:
            if not location.startswith("/"):
                return None
            steps = xpath_steps(location)
        element = _walk(root, steps, root_included=True)
        return _element_position(element, lines) if element is not None else None

    return find


_LOCATORS = {
    "fhir-json": _json_locator,
    "fhir-ndjson": _json_locator,
    "fhir-xml": lambda text, first, root=None: _xml_locator(text, first, fhirpath=True, root=root),
    "cda": lambda text, first, root=None: _xml_locator(text, first, fhirpath=False, root=root),
    "hl7v2": _er7_locator,
}


def locate(outcome: Outcome, data: bytes | str, kind: str, *, root: Any = None) -> Outcome:
    """`outcome` with line / column set on its findings that lack them, `data` being the very text it was
    judged on (a CDA document or an HL7 v2 message a campaign received; the evidence keeps the same bytes).
    `root`: for XML, the lxml tree the validator parsed from `data`, reused instead of a second parse."""
    if not any(f.line is None and f.location for f in outcome.findings):
        return outcome  # nothing to place: the text is not even decoded
    text = _source_text(data)
    if text is None or kind not in _LOCATORS:
        return outcome
    find = _LOCATORS[kind](text, 1, root)
    outcome.findings = [_located(f, find) for f in outcome.findings]
    return outcome


class JsonText:
    """Where the members of a JSON text are, for the many locations asked in it (the findings of one resource,
    or of the many resources judged in one body): walked down to each location asked (JsonMembers), or mapped
    whole once the text turns out not to be plain JSON."""

    def __init__(self, data: bytes | str, first_line: int = 1, *, wanted: Collection[tuple[Any, ...]] = ()) -> None:
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
        else:
            text = data
        self.text = text
        self.lines = _Lines(text, first_line)
        self._places: dict[tuple[Any, ...], int] | JsonMembers = JsonMembers(text, wanted)

    def offset(self, steps: Sequence[tuple[str, int | None]]) -> int | None:
        """Where the FHIRPath `steps` lead (the deepest of them present; see _json_offset)."""
        try:
            return _json_offset(self._places, steps)
        except NotPlainJson:
            self._places = json_positions(self.text)
            return _json_offset(self._places, steps)

    def position(self, path: tuple[Any, ...]) -> int | None:
        """Where the JSON path `path` is, None when absent."""
        try:
            return self._places.position(path) if isinstance(self._places, JsonMembers) else self._places.get(path)
        except NotPlainJson:
            self._places = json_positions(self.text)
            return self._places.get(path)


def locate_in_json(outcome: Outcome, data: bytes | JsonText, prefix: Sequence[str | int]) -> Outcome:
    """`outcome`, judged on the resource found at JSON path `prefix` of `data` (e.g. ("entry", 2, "resource")
    of a search Bundle a campaign received), with line / column in `data` set on its findings that lack them."""
    if isinstance(data, bytes):
        if len(data) > MAX_SOURCE:
            return outcome
        data = JsonText(data)
    head: list[tuple[str, int | None]] = []
    for part in prefix:
        if isinstance(part, int) and head and head[-1][1] is None:
            head[-1] = (head[-1][0], part)
        elif isinstance(part, str):
            head.append((part, None))
        else:
            return outcome  # an array inside an array: not a FHIR shape
    # positions are keyed by JSON path: the prefix must be there whole, or the findings would point elsewhere
    if head and data.offset(head) != data.position(tuple(prefix)):
        return outcome
    places = data

    def find(location: str) -> Position | None:
        if not re.match(r"^[A-Z]\w*(\.|$)", location):
            return None
        offset = places.offset([*head, *fhirpath_steps(location)])
        return places.lines.position(offset) if offset is not None else None

    outcome.findings = [_located(f, find) for f in outcome.findings]
    return outcome
