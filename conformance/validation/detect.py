"""Tell what kind of artefact some bytes are, so `conformance validate` can route them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

from lxml import etree


class Kind(StrEnum):
    FHIR_JSON = "fhir-json"
    FHIR_NDJSON = "fhir-ndjson"
    FHIR_XML = "fhir-xml"
    CDA = "cda"
    XDM = "xdm"
    HL7V2 = "hl7v2"
    UNKNOWN = "unknown"


_MLLP_START = b"\x0b"
_HL7_START = re.compile(rb"^(MSH|FHS|BHS)[^A-Za-z0-9\s]")  # MSH then its field separator
_FHIR_NS = "http://hl7.org/fhir"
_CDA_NS = "urn:hl7-org:v3"
_XSL_NS = "http://www.w3.org/1999/XSL/Transform"
_EMBEDDED_CDA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ClinicalDocument[\s>]")


def detect_kind(data: bytes) -> Kind:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK\x03\x04"):
        return Kind.XDM
    if head.startswith(_MLLP_START) or _HL7_START.match(head):
        return Kind.HL7V2
    if head.startswith(b"{"):
        return Kind.FHIR_NDJSON if _one_object_per_line(head) else Kind.FHIR_JSON
    if head.startswith(b"<"):
        return _xml_kind(head)
    return Kind.UNKNOWN


def _one_object_per_line(head: bytes) -> bool:
    """More than one non-blank line, the first ending in `}` and each starting with `{` (a damaged, e.g.
    truncated, line must not turn the file into one broken JSON). Read line by line up to the first that
    is not so: a JSON text written over many lines is told after its first line, not split whole."""
    lines = (line for line in _lines(head) if line.strip())
    first = next(lines, None)
    if first is None or not first.rstrip().endswith(b"}") or not first.lstrip().startswith(b"{"):
        return False
    count = 1
    for line in lines:
        if not line.lstrip().startswith(b"{"):
            return False
        count += 1
    return count > 1


def _lines(data: bytes) -> Iterator[bytes]:
    """The pieces of data.splitlines() (line breaks \\n, \\r\\n, \\r), found by bytes.find (a regex over a
    file written on one line cost more than the rest of the detection)."""
    at, end = 0, len(data)
    feed = ret = -1
    while at < end:
        if feed < at:
            feed = data.find(b"\n", at)
            feed = end if feed < 0 else feed
        if ret < at:
            ret = data.find(b"\r", at)
            ret = end if ret < 0 else ret
        stop = min(feed, ret)
        yield data[at:stop]
        at = stop + (2 if data[stop : stop + 2] == b"\r\n" else 1)


def _xml_kind(data: bytes) -> Kind:
    root_tag = _root_tag(data)
    if root_tag is None:
        return Kind.UNKNOWN
    namespace, _, local = root_tag[1:].partition("}") if root_tag.startswith("{") else ("", "", root_tag)
    if namespace == _CDA_NS and local == "ClinicalDocument":
        return Kind.CDA
    if namespace == _FHIR_NS:
        return Kind.FHIR_XML
    if namespace == _XSL_NS and _EMBEDDED_CDA.search(data):
        return Kind.CDA  # a self-presenting ("autoprésentable") CDA: a stylesheet carrying the document
    return Kind.UNKNOWN


_ROOT_PREFIXES = (2048, 16384, 65536)  # the root element is looked for in the first 64 KiB


def _root_tag(data: bytes) -> str | None:
    """The root element's tag, read from the shortest of the prefixes that shows its start tag (feeding all
    64 KiB at once parsed them whole: 1.4 ms for a CDA, against 0.05); None when the text is not XML up to
    there. What follows the root's start tag, broken or not, is the validators' to judge, with its line and
    column."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True)
    fed = 0
    for size in _ROOT_PREFIXES:
        try:
            parser.feed(data[fed:size])
        except etree.XMLSyntaxError:
            return next((element.tag for _event, element in parser.read_events()), None)  # a start before it
        fed = size
        for _event, element in parser.read_events():
            return element.tag
        if size >= len(data):
            break
    return None
