"""A tolerant ER7 (pipe-and-hat) reader that keeps the raw text and exact positions.

Why our own splitter and not hl7apy's parser (measured on the ANS samples): hl7apy's `parse_message` keeps no
positions (we need `PID-3[2].4.2`, line and column for evidence), takes 30-70 ms per sample message where this
reader takes about 0.1 ms, and in strict mode rejects the MDM samples outright (MaxLengthReached on the 64 KB
base64 OBX-5). hl7apy supplies the HL7 v2.5/2.6 reference definitions instead (see reference.py).
This reader never raises on bad input except `Er7Error` for text that is not a message at all.

Positions: field n of segment SEG is `SEG-n`; MSH-1 is the field separator and MSH-2 the encoding characters,
as in the standard. Segment occurrence, repetition, component and subcomponent are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")


class Er7Error(ValueError):
    """The text is not an ER7 message (no MSH, no separators)."""


class CharsetError(ValueError):
    """The message bytes do not match the character set MSH-18 declares (or MSH-18 names an unknown one)."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        return f"{self.component}{self.repetition}{self.escape}{self.subcomponent}"


_SUMMED_FIELDS = 64  # Segment.column sums the lengths of at most this many fields


@dataclass(slots=True)
class Segment:
    name: str
    index: int  # 0-based position among the message's segments
    occurrence: int  # 1-based count among segments of the same name
    line: int  # 1-based line in the text
    offset: int  # character offset of the segment in the text
    raw: str
    fields: list[str]  # fields[n] is SEG-n (fields[0] is the name)
    # split repetitions per field (and components of long values): rules address a field repetition by
    # repetition, which must stay linear
    split_cache: dict[tuple[int | str, ...], list[str]] = field(default_factory=dict, repr=False, compare=False)
    offsets: list[int] | None = field(default=None, repr=False, compare=False)  # see field_offsets

    @property
    def field_offsets(self) -> list[int]:
        """Column (0-based, within the segment) where fields[n] starts; worked out when a finding needs it."""
        offsets = self.offsets
        if offsets is None:
            if self.name == "MSH" and self.index == 0:  # fields[1] is MSH-1, the separator: MSH-2 is at 4
                offsets = [0, 3, *accumulate([len(piece) + 1 for piece in self.fields[2:-1]], initial=4)]
            else:
                offsets = list(accumulate([len(piece) + 1 for piece in self.fields[:-1]], initial=0))
            self.offsets = offsets
        return offsets

    def field(self, number: int) -> str:
        return self.fields[number] if 0 <= number < len(self.fields) else ""

    @property
    def field_count(self) -> int:
        return len(self.fields) - 1

    def label(self) -> str:
        return self.name if self.occurrence == 1 else f"{self.name}[{self.occurrence}]"

    def column(self, number: int) -> int:
        """1-based column of field `number` on its line: the lengths of the fields before it, each followed by
        its separator, summed (most findings are in the first fields of a segment) or, far in a segment that
        may have a finding per field, read from field_offsets."""
        fields = self.fields
        if not 0 <= number < len(fields):
            return len(self.raw) + 1
        if number > _SUMMED_FIELDS:
            return self.field_offsets[number] + 1
        if number and self.name == "MSH" and self.index == 0:  # fields[1] is MSH-1, the separator itself
            return 4 if number == 1 else sum(map(len, fields[2:number])) + number + 3  # MSH-2 is at column 5
        return sum(map(len, fields[:number])) + number + 1


@dataclass(slots=True)
class Message:
    text: str
    delimiters: Delimiters
    segments: list[Segment]
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, description) found while splitting

    def all(self, name: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.name == name]

    def first(self, name: str) -> Segment | None:
        for segment in self.segments:
            if segment.name == name:
                return segment
        return None

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def get(self, location: str) -> str:
        """The raw value at a location such as `PID-3[2].4.2` or `OBX[2]-5` ('' when absent)."""
        loc = parse_location(location)
        segments = self.all(loc.segment)
        if len(segments) < loc.occurrence:
            return ""
        return value_at(segments[loc.occurrence - 1], loc, self.delimiters)

    @property
    def message_type(self) -> tuple[str, str, str]:
        """MSH-9 as (code, event, structure)."""
        parts = self.msh.field(9).split(self.delimiters.component)
        parts += ["", "", ""]
        return parts[0].strip(), parts[1].strip(), parts[2].strip()

    @property
    def control_id(self) -> str:
        return self.msh.field(10)

    @property
    def version(self) -> str:
        return self.msh.field(12).split(self.delimiters.component)[0].strip()


def split_segments(text: str) -> list[tuple[int, int, str]]:
    """(line, offset, raw) for each non-empty segment; CR, LF and CRLF all end a segment."""
    result: list[tuple[int, int, str]] = []
    line = position = 0
    if "\n" not in text or "\r" not in text:  # CR only, as the standard says, or LF only: one line per piece
        for line, raw in enumerate(text.split("\r" if "\n" not in text else "\n"), start=1):
            if raw.strip():
                result.append((line, position, raw))
            position += len(raw) + 1
        return result
    for index, piece in enumerate(text.split("\r")):
        crlf = False
        if index:
            position += 1  # the CR that ended the previous piece
            crlf = piece[:1] == "\n"  # ... and its LF: CRLF ends one line
        for part, raw in enumerate(piece.split("\n")):
            if part:
                position += 1
            if crlf and not part:
                continue
            line += 1
            if raw.strip():
                result.append((line, position, raw))
            position += len(raw)
    return result


def parse(text: str) -> Message:
    """Split an ER7 message. Raises Er7Error only when there is no usable MSH segment."""
    text = text.lstrip("\ufeff\x0b").rstrip("\x1c")
    parts = split_segments(text)
    if not parts:
        raise Er7Error("empty message")
    first_line, _, first = parts[0]
    if not first.startswith("MSH") or len(first) < 8:
        raise Er7Error("the message does not start with an MSH segment")
    delimiters = _delimiters(first)
    message = Message(text=text, delimiters=delimiters, segments=[])
    counts: dict[str, int] = {}
    for index, (line, offset, raw) in enumerate(parts):
        segment = _segment(raw, index, line, offset, delimiters, counts)
        if segment.name not in _SEGMENT_IDS_SEEN and not _segment_id(segment.name):
            message.problems.append((line, f"line {line} does not start with a segment id: {raw[:20]!r}"))
        message.segments.append(segment)
    if first_line != 1:
        message.problems.append((1, "blank lines before MSH"))
    return message


_SEGMENT_IDS_SEEN: set[str] = set()  # the valid ids met so far (at most 26 x 36 x 36)


def _segment_id(name: str) -> bool:
    if _SEGMENT_ID.match(name):
        _SEGMENT_IDS_SEEN.add(name)
        return True
    return False


def _delimiters(msh: str) -> Delimiters:
    separator = msh[3]
    encoding = msh[4:].split(separator, 1)[0]
    if separator.isalnum() or separator.isspace() or len(encoding) < 2:
        raise Er7Error(f"MSH-1/MSH-2 do not define usable delimiters: {msh[:12]!r}")
    encoding = encoding.ljust(4, "\x00")
    return Delimiters(separator, encoding[0], encoding[1], encoding[2], encoding[3])


def _segment(raw: str, index: int, line: int, offset: int, delimiters: Delimiters, counts: dict[str, int]) -> Segment:
    pieces = raw.split(delimiters.field)
    name = pieces[0].strip()
    if name == "MSH" and index == 0:
        # MSH-1 is the separator itself: shift so that fields[n] is MSH-n.
        pieces = ["MSH", delimiters.field, *pieces[1:]]
    counts[name] = occurrence = counts.get(name, 0) + 1
    return Segment(name, index, occurrence, line, offset, raw, pieces)


def header(text: str) -> Segment | None:
    """The MSH segment of `text` alone (fields[n] is MSH-n), or None when it does not start with a usable MSH.

    For readers that need a header field before the whole message can be split (MSH-18 to decode the bytes)."""
    first = text.replace("\n", "\r").split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return None
    try:
        delimiters = _delimiters(first)
    except Er7Error:
        return None
    return _segment(first, 0, 1, 0, delimiters, {})


# ----------------------------------------------------------------------------------------------- charsets

# MSH-18 -> Python codec. An empty MSH-18 is read as UTF-8 (a superset of the HL7 default, ASCII).
CHARSETS = {
    "": "utf-8",
    "ASCII": "ascii",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",
    **{f"8859/{part}": f"iso-8859-{part}" for part in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)},
}


def declared_charset(payload: bytes | str) -> str:
    """MSH-18 (first repetition) of a message, read from its raw bytes; '' when absent."""
    head = payload[:2048]
    text = head.decode("latin-1") if isinstance(head, bytes) else head
    msh = header(text)
    if msh is None or msh.field_count < 18:
        return ""
    return msh.field(18).split(msh.field(2)[1:2] or "~")[0].strip()


def python_codec(charset: str) -> str | None:
    """The Python codec for an MSH-18 value, or None when the value is not supported."""
    return CHARSETS.get(charset.strip().upper())


def _codec(charset: str) -> str:
    codec = python_codec(charset)
    if codec is None:
        raise CharsetError(f"unsupported character set in MSH-18: {charset!r}")
    return codec


def decode(payload: bytes) -> str:
    """Decode message bytes as their MSH-18 declares; CharsetError when unknown or not matching."""
    charset = declared_charset(payload)
    try:
        return payload.decode(_codec(charset))
    except UnicodeDecodeError as exc:
        shown = charset or "(empty MSH-18, decoded as UTF-8)"
        raise CharsetError(
            f"bytes do not match the declared character set {shown}: invalid byte 0x{payload[exc.start]:02X} "
            f"at offset {exc.start}"
        ) from exc


def encode(message: str) -> bytes:
    """Encode a message in the character set its MSH-18 declares; CharsetError when it cannot be."""
    charset = declared_charset(message)
    try:
        return message.encode(_codec(charset))
    except UnicodeEncodeError as exc:
        raise CharsetError(
            f"character {message[exc.start]!r} at offset {exc.start} cannot be encoded in {charset or 'UTF-8'}"
        ) from exc


# ----------------------------------------------------------------------------------------------- locations


@dataclass(frozen=True, slots=True)
class Location:
    segment: str
    occurrence: int = 1
    field: int | None = None
    repetition: int = 1
    component: int | None = None
    subcomponent: int | None = None

    def __str__(self) -> str:
        return location_text(
            self.segment, self.occurrence, self.field, self.repetition, self.component, self.subcomponent
        )


def location_text(
    segment: str, occurrence: int, field: int | None, repetition: int, component: int | None,
    subcomponent: int | None,
) -> str:  # fmt: skip
    """`PID-3[2].4.2`: what a Location reads as (and location() without building one: a finding's hot path)."""
    text = segment if occurrence == 1 else f"{segment}[{occurrence}]"
    if field is None:
        return text
    text += f"-{field}"
    if repetition != 1:
        text += f"[{repetition}]"
    if component is not None:
        text += f".{component}"
        if subcomponent is not None:
            text += f".{subcomponent}"
    return text


_LOCATION = re.compile(
    r"^(?P<seg>[A-Z][A-Z0-9]{2})(?:\[(?P<occ>\d+)\])?"
    r"(?:-(?P<field>\d+)(?:\[(?P<rep>\d+)\])?(?:\.(?P<comp>\d+)(?:\.(?P<sub>\d+))?)?)?$"
)


@lru_cache(maxsize=1024)  # profile conditions ask for the same few locations for every message (Location is frozen)
def parse_location(text: str) -> Location:
    match = _LOCATION.match(text.strip())
    if not match:
        raise ValueError(f"not an HL7 v2 location: {text!r}")

    def number(name: str) -> int | None:
        value = match.group(name)
        return int(value) if value else None

    return Location(
        match.group("seg"),
        number("occ") or 1,
        number("field"),
        number("rep") or 1,
        number("comp"),
        number("sub"),
    )


def location(
    segment: Segment,
    field_number: int | None = None,
    repetition: int = 1,
    component: int | None = None,
    subcomponent: int | None = None,
) -> str:
    return location_text(segment.name, segment.occurrence, field_number, repetition, component, subcomponent)


# Content checks stop after this many repetitions of one field (a warning says so): a hostile message of
# 200,000 repetitions must not cost minutes. Cardinality is still judged on the full count.
MAX_CHECKED_REPETITIONS = 1000
NULL = '""'  # the explicit HL7 v2 null: the field is to be deleted, not left as it was


def repetitions(segment: Segment, number: int, delimiters: Delimiters) -> list[str]:
    value = segment.field(number)
    if segment.name == "MSH" and number in (1, 2):
        return [value] if value else []
    if value == "":
        return []
    return list(_split_repetitions(segment, number, value, delimiters))


def _split_repetitions(segment: Segment, number: int, value: str, delimiters: Delimiters) -> list[str]:
    """The field's repetitions, split once per segment (callers must not change the list)."""
    key = (number, delimiters.repetition)
    cached = segment.split_cache.get(key)
    if cached is None:
        cached = segment.split_cache[key] = value.split(delimiters.repetition)
    return cached


def components(value: str, delimiters: Delimiters) -> list[str]:
    return value.split(delimiters.component)


def subcomponents(value: str, delimiters: Delimiters) -> list[str]:
    return value.split(delimiters.subcomponent)


def value_at(segment: Segment, loc: Location, delimiters: Delimiters) -> str:
    if loc.field is None:
        return segment.raw
    return value_of(segment, loc.field, loc.repetition, loc.component, loc.subcomponent, delimiters)


_CACHED_ABOVE = 4096  # characters


def value_of(
    segment: Segment,
    number: int,
    repetition: int,
    component: int | None,
    subcomponent: int | None,
    delimiters: Delimiters,
) -> str:
    """The raw value of field `number` (repetition, component, subcomponent) of `segment`: value_at without
    building a Location, for the rules that read many values of each message (kept free of helper calls)."""
    fields = segment.fields
    if not 0 <= number < len(fields) or not (value := fields[number]):
        return ""
    if number < 3 and segment.name == "MSH" and number in (1, 2):
        reps = [value]
    else:
        cached = segment.split_cache.get((number, delimiters.repetition))
        if cached is None:
            cached = segment.split_cache[(number, delimiters.repetition)] = value.split(delimiters.repetition)
        reps = cached
    value = reps[repetition - 1] if len(reps) >= repetition else ""
    if component is None:
        return value
    if len(value) > _CACHED_ABOVE:  # a document in OBX-5 is read component by component: split it once
        key = (number, repetition, delimiters.component)
        split = segment.split_cache.get(key)
        if split is None:
            split = segment.split_cache[key] = value.split(delimiters.component)
        parts = split
    else:
        parts = value.split(delimiters.component)
    value = parts[component - 1] if len(parts) >= component else ""
    if subcomponent is None:
        return value
    parts = value.split(delimiters.subcomponent)
    return parts[subcomponent - 1] if len(parts) >= subcomponent else ""


def nth(parts: list[str], index: int) -> str:
    """The 1-based `index`-th part, empty when there are fewer (what value_of does inline, its hot path)."""
    return parts[index - 1] if len(parts) >= index else ""


def unescape(value: str, delimiters: Delimiters) -> str:
    """Resolve the standard escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\X..\\ \\.br\\)."""
    esc = delimiters.escape
    if esc not in value:
        return value
    replacements = {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": esc,
        ".br": "\r",
    }
    pattern = re.compile(re.escape(esc) + r"([^" + re.escape(esc) + r"]*)" + re.escape(esc))

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in replacements:
            return replacements[code]
        if code.startswith("X") and len(code) % 2 == 1:
            try:
                return bytes.fromhex(code[1:]).decode("latin-1")
            except ValueError:
                return match.group(0)
        return match.group(0)

    return pattern.sub(replace, value)
