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
        if key.startswith("_") and key[1:] not in obj:
            for item in shadow if isinstance(shadow, list) else [shadow]:
                if isinstance(item, dict):
                    _append(element, key[1:], None, item)


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
    """XML -> JSON (see the module docstring); FhirXmlError when it is not FHIR XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FhirXmlError(f"malformed XML: {exc}") from exc
    if etree.QName(root).namespace != FHIR_NS:
        raise FhirXmlError(f"root element {root.tag} is not in the FHIR namespace {FHIR_NS}")
    definitions = _definitions()
    if definitions is not None:
        return definitions.resource(root)
    return _resource_from(root)


# -- driven by the R4 StructureDefinitions (the packages area's context), when they are installed

_NUMBER_TYPES = {"integer": int, "positiveInt": int, "unsignedInt": int, "integer64": int}


class _Definitions:
    def __init__(self, context: Any) -> None:
        self.context = context
        self._elements: dict[str, dict[str, dict]] = {}

    def elements(self, type_name: str) -> dict[str, dict]:
        if type_name not in self._elements:
            sd = self.context.structure_definition(type_name) or {}
            self._elements[type_name] = {e["path"]: e for e in (sd.get("snapshot") or {}).get("element", [])}
        return self._elements[type_name]

    def child(self, type_name: str, path: str, name: str) -> tuple[bool, str, str, str]:
        """(repeats, json name, type name, path inside that type) of child element `name` at `path`."""
        elements = self.elements(type_name)
        element = elements.get(f"{path}.{name}")
        json_name = name
        type_code = ""
        if element is None:  # a choice: valueCoding -> value[x] of type Coding
            for candidate, definition in elements.items():
                if candidate.startswith(f"{path}.") and candidate.endswith("[x]"):
                    prefix = candidate[len(path) + 1 : -3]
                    if name.startswith(prefix) and name[len(prefix) :][:1].isupper():
                        element = definition
                        suffix = name[len(prefix) :]
                        codes = [t.get("code", "") for t in definition.get("type", [])]
                        type_code = next((c for c in codes if c.lower() == suffix.lower()), suffix)
                        break
        if element is None:
            return name in REPEATING, json_name, "", ""
        if "contentReference" in element:
            target = element["contentReference"].lstrip("#")
            element = {**elements.get(target, {}), "max": element.get("max", "1")}
            return element.get("max") != "1", json_name, type_name, target
        repeats = element.get("max", "1") != "1"
        if not type_code:
            codes = [t.get("code", "") for t in element.get("type", [])]
            type_code = codes[0] if len(codes) == 1 else ""
        if type_code in ("BackboneElement", "Element") or (type_code == "" and not element.get("type")):
            return repeats, json_name, type_name, f"{path}.{name}"
        return repeats, json_name, type_code, type_code

    def resource(self, element: etree._Element) -> dict:
        rtype = etree.QName(element).localname
        out: dict[str, Any] = {"resourceType": rtype}
        self._children(element, out, rtype, rtype)
        return out

    def _children(self, element: etree._Element, out: dict, type_name: str, path: str) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            if qname.namespace == XHTML_NS:
                out[qname.localname] = etree.tostring(child, encoding="unicode")
                continue
            name = qname.localname
            repeats, json_name, child_type, child_path = self.child(type_name, path, name)
            primitive = child_type[:1].islower()
            value = (
                self._value(child, child_type, child_path) if not primitive else _typed(child.get("value"), child_type)
            )
            shadow = self._primitive_shadow(child) if primitive else None
            if repeats:
                values = out.setdefault(json_name, [])
                values.append(value)
                if shadow is not None:
                    shadows = out.setdefault("_" + json_name, [])
                    shadows.extend([None] * (len(values) - 1 - len(shadows)))
                    shadows.append(shadow)
            else:
                if value is not None:
                    out[json_name] = value
                if shadow is not None:
                    out["_" + json_name] = shadow

    def _primitive_shadow(self, child: etree._Element) -> dict | None:
        """The `_name` JSON object of a primitive: its id and extensions, if any."""
        extensions = [c for c in child if isinstance(c.tag, str) and etree.QName(c).localname == "extension"]
        if not extensions and "id" not in child.attrib:
            return None
        shadow: dict[str, Any] = {}
        if "id" in child.attrib:
            shadow["id"] = child.get("id")
        if extensions:
            shadow["extension"] = [self._value(e, "Extension", "Extension") for e in extensions]
        return shadow

    def _value(self, child: etree._Element, type_name: str, path: str) -> Any:
        if type_name == "Resource" or (
            type_name == "" and len(child) == 1 and etree.QName(child[0]).localname[:1].isupper()
        ):
            inner = [c for c in child if isinstance(c.tag, str)]
            if len(inner) == 1:
                return self.resource(inner[0])
        if "value" in child.attrib:
            return _typed(child.get("value", ""), type_name)
        obj: dict[str, Any] = {}
        if "id" in child.attrib:
            obj["id"] = child.get("id")
        if "url" in child.attrib:
            obj["url"] = child.get("url")
        self._children(child, obj, type_name or "Element", path or "Element")
        return obj


def _typed(text: str | None, type_code: str) -> Any:
    if text is None:
        return None
    if type_code == "boolean":
        return text == "true"
    if type_code in _NUMBER_TYPES:
        try:
            return int(text)
        except ValueError:
            return text
    if type_code == "decimal":
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return text
    return text


_DEFINITIONS: list[_Definitions | None] = []


def _definitions() -> _Definitions | None:
    """The R4 definitions through the packages area, or None (then the table below is used)."""
    if not _DEFINITIONS:
        try:
            from conformance.packages import load_context

            context = load_context()
            _DEFINITIONS.append(_Definitions(context) if context.structure_definition("Patient") else None)
        except Exception:  # no package cache, packages area unavailable: fall back, never fail the request
            _DEFINITIONS.append(None)
    return _DEFINITIONS[0]


# -- fallback table (when no StructureDefinitions are installed)


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
    return name in REPEATING


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
