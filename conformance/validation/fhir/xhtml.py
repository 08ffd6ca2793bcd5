"""Narrative XHTML rules (R4 txt-1 / txt-2, the Java validator's htmlChecks): well-formed, a `div` in the XHTML
namespace, only the basic HTML formatting elements and attributes, no DOCTYPE (XXE), some non-whitespace content."""

from __future__ import annotations

import hashlib

from lxml import etree

XHTML_NS = "http://www.w3.org/1999/xhtml"
ALLOWED_ELEMENTS = frozenset(
    [
        "p",
        "br",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",
        "span",
        "b",
        "em",
        "i",
        "strong",
        "small",
        "big",
        "tt",
        "dfn",
        "q",
        "var",
        "abbr",
        "acronym",
        "cite",
        "blockquote",
        "hr",
        "address",
        "bdo",
        "kbd",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "pre",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tr",
        "tfoot",
        "tbody",
        "th",
        "td",
        "code",
        "samp",
        "img",
        "map",
        "area",
        "s",
        "u",
        "strike",
        "del",
        "ins",
        "font",
        "center",
    ]
)
COMMON_ATTRIBUTES = frozenset(["title", "style", "class", "id", "lang", "dir", "accesskey", "tabindex", "xmlns"])
_CELL_ATTRIBUTES = frozenset(  # td and th
    [
        "abbr",
        "axis",
        "headers",
        "scope",
        "rowspan",
        "colspan",
        "align",
        "valign",
        "char",
        "charoff",
        "width",
        "height",
        "nowrap",
        "bgcolor",
    ]
)
ELEMENT_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset(["href", "name", "target", "rel", "shape", "coords", "hreflang", "type", "charset", "rev"]),
    "img": frozenset(
        ["src", "alt", "longdesc", "height", "width", "usemap", "ismap", "align", "border", "hspace", "vspace"]
    ),
    "table": frozenset(
        ["summary", "width", "border", "frame", "rules", "cellspacing", "cellpadding", "align", "bgcolor"]
    ),
    "td": _CELL_ATTRIBUTES,
    "th": _CELL_ATTRIBUTES,
    "col": frozenset(["span", "width", "align", "valign", "char", "charoff"]),
    "colgroup": frozenset(["span", "width", "align", "valign", "char", "charoff"]),
    "tr": frozenset(["align", "valign", "char", "charoff", "bgcolor"]),
    "thead": frozenset(["align", "valign", "char", "charoff"]),
    "tbody": frozenset(["align", "valign", "char", "charoff"]),
    "tfoot": frozenset(["align", "valign", "char", "charoff"]),
    "ol": frozenset(["type", "start", "compact", "reversed"]),
    "ul": frozenset(["type", "compact"]),
    "li": frozenset(["type", "value"]),
    "area": frozenset(["shape", "coords", "href", "alt", "nohref", "target"]),
    "map": frozenset(["name"]),
    "blockquote": frozenset(["cite"]),
    "q": frozenset(["cite"]),
    "del": frozenset(["cite", "datetime"]),
    "ins": frozenset(["cite", "datetime"]),
    "font": frozenset(["size", "color", "face"]),
    "pre": frozenset(["width"]),
    "br": frozenset(["clear"]),
    "hr": frozenset(["align", "noshade", "size", "width"]),
    "p": frozenset(["align"]),
    "div": frozenset(["align"]),
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


_MEMO: dict[bytes, tuple[tuple[str, tuple[str, ...]], ...]] = {}
_MEMO_MAX = 20_000


def check_xhtml(value: str) -> list[tuple[str, tuple[str, ...]]]:
    """Problems as (rule id, message arguments); empty when the narrative is acceptable. The answer depends on
    the text alone: remembered by digest (definition Bundles repeat the narratives of the definitions)."""
    encoded = value.encode("utf-8", "surrogatepass")
    key = hashlib.blake2b(encoded, digest_size=16).digest()
    known = _MEMO.get(key)
    if known is None:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        known = _MEMO[key] = tuple(_check_xhtml(value, encoded))
    return list(known)


def _check_xhtml(value: str, encoded: bytes | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """`encoded`: `value` in UTF-8 (a lone surrogate kept as its bytes, which the parser rejects)."""
    if "<!DOCTYPE" in value or "<!ENTITY" in value:
        return [("Error_parsing_XHTML_", ("DOCTYPE declarations are not allowed (XXE protection)",)), ("txt-1", ())]
    if encoded is None:
        encoded = value.encode("utf-8", "surrogatepass")
    try:
        root = etree.fromstring(encoded, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [("Error_parsing_XHTML_", (str(exc),)), ("txt-1", ())]
    qname = etree.QName(root)
    if qname.localname != "div":
        return [("XHTML_XHTML_Name_Invalid", (qname.localname,))]
    if qname.namespace != XHTML_NS:
        return [("XHTML_XHTML_NS_InValid", (str(qname.namespace),))]
    problems = _illegal_content(root)
    if problems:
        problems.append(("txt-1", ()))
    # some non-whitespace text (a chunk with one is enough) or an image
    if not any(text.strip() for text in root.itertext()) and root.find(f".//{{{XHTML_NS}}}img") is None:
        problems.append(("txt-2", ()))
    return problems


def _illegal_content(root: etree._Element) -> list[tuple[str, tuple[str, ...]]]:
    """Elements and attributes that are not allowed, in document order."""
    problems: list[tuple[str, tuple[str, ...]]] = []
    for element in root.iter(etree.Element):  # elements only: no comments, processing instructions, entities
        tag = element.tag
        local = _ALLOWED_TAGS.get(tag)
        if local is None:
            problems.append(("XHTML_XHTML_Element_Illegal", (etree.QName(tag).localname,)))
            continue
        names = element.keys()
        if names:
            allowed = ELEMENT_ATTRIBUTES.get(local, frozenset())
            for attribute in names:
                name = attribute.rsplit("}", 1)[-1]
                if name not in COMMON_ATTRIBUTES and name not in allowed:
                    problems.append(("XHTML_XHTML_Attribute_Illegal", (name, local)))
    return problems


_ALLOWED_TAGS = {f"{{{XHTML_NS}}}{name}": name for name in ALLOWED_ELEMENTS}  # Clark name -> local name
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def language_sections(value: str) -> list[str] | None:
    """The languages of the narrative's language sections (`div` children of the root with xml:lang, as the
    reference validator reads them); None when the XHTML is not well-formed."""
    if "<!DOCTYPE" in value or "<!ENTITY" in value:
        return None
    try:
        root = etree.fromstring(value.encode("utf-8", "surrogatepass"), _PARSER)
    except etree.XMLSyntaxError:
        return None
    return [
        str(child.get(_XML_LANG))
        for child in root
        if isinstance(child.tag, str) and etree.QName(child).localname == "div" and child.get(_XML_LANG) is not None
    ]
