"""FHIR R4 JSON <-> XML for the reference server (the rules of the R4 XML and JSON format pages).

JSON -> XML is exact for the resources this server holds: primitives become `<name value="..."/>` with their
`_name` id/extensions merged in, `id` is an attribute on elements and an element on resources, `url` is an
attribute on extensions, resources nest inside their property element, and the narrative `div` is XHTML.

XML -> JSON needs to know which elements repeat and which primitives are booleans or numbers, which only
the StructureDefinitions say. The reference server accepts XML input on a best-effort basis with the table
below (every repeating element and non-string primitive of the resources it serves); anything else is kept
as a string or a single object.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"

# Elements that repeat (max = *) in R4, for the resource types this server serves; some names repeat in one
# type and not another, hence the (parent, name) exceptions below.
REPEATING = {
    "extension",
    "modifierExtension",
    "identifier",
    "telecom",
    "given",
    "prefix",
    "suffix",
    "line",
    "coding",
    "contained",
    "entry",
    "link",
    "profile",
    "tag",
    "security",
    "category",
    "author",
    "content",
    "contact",
    "qualification",
    "communication",
    "generalPractitioner",
    "photo",
    "issue",
    "location",
    "expression",
    "relatesTo",
    "securityLabel",
    "event",
    "related",
    "note",
    "alias",
    "endpoint",
    "specialty",
    "healthcareService",
    "availableTime",
    "notAvailable",
    "rest",
    "resource",
    "interaction",
    "searchParam",
    "operation",
    "format",
    "patchFormat",
    "implementationGuide",
    "supportedProfile",
    "searchInclude",
    "searchRevInclude",
    "referencePolicy",
    "targetProfile",
    "instantiates",
    "imports",
    "jurisdiction",
    "useContext",
    "daysOfWeek",
    "period_unused",
    "code_unused",
    "address",
    "name",
    "type",
    "code",
    "item",
}
SINGLE_IN = {
    ("Organization", "name"),
    ("Location", "name"),
    ("HealthcareService", "name"),
    ("Device", "type"),
    ("DocumentReference", "type"),
    ("List", "code"),
    ("Identifier", "type"),
    ("entry", "item"),
    ("CapabilityStatement", "name"),
    ("resource", "type"),
    ("interaction", "code"),
    ("searchParam", "name"),
    ("searchParam", "type"),
    ("operation", "name"),
    ("link", "type"),
    ("Coding", "code"),
    ("request", "method"),
    ("Location", "address"),
    ("issue", "code"),
    ("Bundle", "type"),
    ("DocumentReference", "status"),
    ("rest", "mode"),
    ("Binary", "contentType"),
    ("Attachment", "contentType"),
    ("List", "title"),
    ("software", "name"),
    ("PractitionerRole", "code_unused"),
    ("coding", "code"),
    ("format", "code"),
    ("contact", "name"),
    ("OperationOutcome", "code"),
    ("implementation", "url"),
}
REPEAT_IN = {
    ("PractitionerRole", "code"),
    ("Organization", "type"),
    ("Practitioner", "name"),
    ("Patient", "name"),
    ("Patient", "address"),
    ("Practitioner", "address"),
    ("Organization", "address"),
    ("rest", "resource"),
}
BOOLEAN_NAMES = {
    "active",
    "deceasedBoolean",
    "multipleBirthBoolean",
    "valueBoolean",
    "experimental",
    "readHistory",
    "updateCreate",
    "conditionalCreate",
    "conditionalUpdate",
    "lockedDate",
    "preferred",
    "digitization",
}
INTEGER_NAMES = {
    "size",
    "total",
    "rank",
    "valueInteger",
    "count",
    "multipleBirthInteger",
    "valuePositiveInt",
    "valueUnsignedInt",
}
DECIMAL_NAMES = {"valueDecimal", "latitude", "longitude", "altitude"}


class FhirXmlError(ValueError):
    """The XML is not a FHIR resource."""


# ------------------------------------------------------------------------------------------- JSON -> XML


def resource_to_xml(resource: dict, *, pretty: bool = False) -> bytes:
    root = _resource_element(resource)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


def _resource_element(resource: dict) -> etree._Element:
    element = etree.Element(f"{{{FHIR_NS}}}{resource['resourceType']}", nsmap={None: FHIR_NS})
    _fill(element, resource, is_resource=True, in_extension=False)
    return element


def _primitive_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: etree._Element, obj: dict, *, is_resource: bool, in_extension: bool) -> None:
    if not is_resource:
        if "id" in obj and isinstance(obj["id"], str):
            element.set("id", obj["id"])
        if in_extension and "url" in obj:
            element.set("url", str(obj["url"]))
    for key, value in obj.items():
        if key == "resourceType" or key.startswith("_"):
            continue
        if not is_resource and (key == "id" or (in_extension and key == "url")):
            continue
        shadow = obj.get("_" + key)
        if isinstance(value, list):
            shadows = shadow if isinstance(shadow, list) else [None] * len(value)
            for item, item_shadow in zip(value, shadows + [None] * (len(value) - len(shadows)), strict=False):
                _append(element, key, item, item_shadow)
        else:
            _append(element, key, value, shadow)
    # primitives that exist only as `_name` (an extension without a value)
    for key, shadow in obj.items():
        if key.startswith("_") and key[1:] not in obj and isinstance(shadow, dict):
            _append(element, key[1:], None, shadow)


def _append(parent: etree._Element, name: str, value: Any, shadow: Any) -> None:
    if name == "div" and isinstance(value, str):
        try:
            parent.append(etree.fromstring(value.encode("utf-8")))
        except etree.XMLSyntaxError:
            div = etree.SubElement(parent, f"{{{XHTML_NS}}}div")
            div.text = value
        return
    child = etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")
    if isinstance(value, dict):
        if "resourceType" in value:
            child.append(_resource_element(value))
        else:
            _fill(child, value, is_resource=False, in_extension=name in ("extension", "modifierExtension"))
        return
    if value is not None:
        child.set("value", _primitive_text(value))
    if isinstance(shadow, dict):
        if "id" in shadow:
            child.set("id", str(shadow["id"]))
        for ext in shadow.get("extension", []):
            _append(child, "extension", ext, None)


# ------------------------------------------------------------------------------------------- XML -> JSON


def xml_to_resource(data: bytes) -> dict:
    """Best-effort XML -> JSON (see the module docstring); FhirXmlError when it is not FHIR XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FhirXmlError(f"malformed XML: {exc}") from exc
    if etree.QName(root).namespace != FHIR_NS:
        raise FhirXmlError(f"root element {root.tag} is not in the FHIR namespace {FHIR_NS}")
    return _resource_from(root)


def _resource_from(element: etree._Element) -> dict:
    rtype = etree.QName(element).localname
    out: dict[str, Any] = {"resourceType": rtype}
    _read_children(element, out, rtype)
    return out


def _is_repeating(parent_name: str, name: str) -> bool:
    if (parent_name, name) in REPEAT_IN:
        return True
    if (parent_name, name) in SINGLE_IN:
        return False
    return name in REPEATING and name not in {"name", "type", "code", "address", "item"}


def _convert_primitive(name: str, text: str) -> Any:
    if name in BOOLEAN_NAMES:
        return text == "true"
    if name in INTEGER_NAMES:
        try:
            return int(text)
        except ValueError:
            return text
    if name in DECIMAL_NAMES:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _read_children(element: etree._Element, out: dict, parent_name: str) -> None:
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        qname = etree.QName(child)
        if qname.namespace == XHTML_NS:
            out[qname.localname] = etree.tostring(child, encoding="unicode")
            continue
        name = qname.localname
        value = _element_value(child, name)
        if _is_repeating(parent_name, name):
            out.setdefault(name, []).append(value)
        else:
            out[name] = value


def _element_value(child: etree._Element, name: str) -> Any:
    children = [c for c in child if isinstance(c.tag, str)]
    if "value" in child.attrib:
        return _convert_primitive(name, child.get("value", ""))
    if (
        len(children) == 1
        and etree.QName(children[0]).localname[:1].isupper()
        and name in ("resource", "contained", "outcome")
    ):
        return _resource_from(children[0])
    obj: dict[str, Any] = {}
    if "id" in child.attrib:
        obj["id"] = child.get("id")
    if "url" in child.attrib:
        obj["url"] = child.get("url")
    _read_children(child, obj, name)
    return obj
