"""FHIR R4 XML <-> the JSON model (the rules of the R4 XML and JSON format pages): the one converter of the package.

XML -> JSON uses the compiled definitions to know arrays and primitive JSON types; elements the definitions do
not know are carried over as-is so the validator reports them. JSON -> XML needs no definitions: primitives
become `<name value="..."/>` with their `_name` id/extensions merged in, `id` is an attribute on elements and an
element on resources, `url` is an attribute on extensions, resources nest inside their property element, and
the narrative `div` is XHTML.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from conformance.findings import Finding, Outcome, finding
from conformance.validation.fhir.primitives import JSON_KIND, PRIMITIVES

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"


def looks_like_xml(text: str | bytes) -> bool:
    if isinstance(text, str):
        return text[:200].lstrip().startswith("<")
    return text[:200].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _fatal(rule: str, fr: str, en: str, line: int | None = None) -> Finding:
    return finding("fatal", "structure", rule, "", fr, en, source="fhir", line=line)


def xml_to_json(text: str | bytes, validator: Any) -> tuple[dict[str, Any] | None, Outcome]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    outcome = Outcome(subject="resource", kind="fhir")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        outcome.add(
            _fatal("Error_parsing_XML_", f"Erreur d'analyse XML : {exc}", f"Error parsing XML: {exc}", exc.lineno)
        )
        return None, outcome
    if root.getroottree().docinfo.doctype:
        outcome.add(
            _fatal(
                "Error_parsing_XML_",
                "Erreur d'analyse XML : les déclarations DOCTYPE sont interdites",
                "Error parsing XML: DOCTYPE is disallowed",
            )
        )
        return None, outcome
    namespace, _, _local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if namespace != FHIR_NS:
        outcome.add(
            _fatal(
                "Wrong_namespace__expected_",
                f"Espace de noms incorrect : '{FHIR_NS}' attendu",
                f"Wrong namespace - expected '{FHIR_NS}'",
            )
        )
        return None, outcome
    converter = _Converter(validator)
    resource = converter.resource(root, "")
    for rule, location, fr, en in converter.problems:
        outcome.add(finding("error", "structure", rule, location, fr, en, source="fhir"))
    return resource, outcome


class _Converter:
    def __init__(self, validator: Any) -> None:
        self.validator = validator
        self.problems: list[tuple[str, str, str, str]] = []  # (rule, XPath location, fr, en): XML-only rules

    def resource(self, element: etree._Element, xpath: str) -> dict[str, Any]:
        resource_type = etree.QName(element).localname
        struct = self.validator.structure(resource_type)
        result: dict[str, Any] = {"resourceType": resource_type}
        self._fill(element, struct.root if struct else None, result, f"{xpath}/f:{resource_type}")
        return result

    def _text_check(self, text: str | None, xpath: str) -> None:
        if text and text.strip():
            shown = text.strip()[:40]
            self.problems.append(
                (
                    "Text_should_not_be_present",
                    xpath,
                    f"Du texte ne doit pas être présent ('{shown}')",
                    f"Text should not be present ('{shown}')",
                )
            )

    def _fill(self, element: etree._Element, defs: Any, out: dict[str, Any], xpath: str = "") -> None:
        names = defs.json_names if defs is not None else {}
        order = {id(child): index for index, child in enumerate(defs.children)} if defs is not None else {}
        last_position = -1
        self._text_check(element.text, xpath)
        for name, value in element.attrib.items():
            if name in ("id", "url"):
                out[name] = value
            elif name != "value":
                out["@" + name] = value
        for child in element:
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            name = qname.localname
            child_xpath = f"{xpath}/f:{name}"
            self._text_check(child.tail, xpath)
            if qname.namespace != FHIR_NS and not (name == "div" and qname.namespace == XHTML_NS):
                self.problems.append(
                    (
                        "Wrong_namespace__expected_",
                        f"{xpath}/?:{name}",
                        f"Espace de noms incorrect : '{FHIR_NS}' attendu",
                        f"Wrong namespace - expected '{FHIR_NS}'",
                    )
                )
                continue
            entry = names.get(name)
            node, type_code = entry if entry else (None, None)
            if node is not None:
                position = order.get(id(node), -1)
                if position < last_position:
                    self.problems.append(
                        (
                            "Validation_VAL_Profile_OutOfOrder",
                            child_xpath,
                            f"L'élément '{name}' n'est pas à sa place (ordre de la définition)",
                            f"As specified by profile {defs.path.split('.', 1)[0]}, Element '{name}' is out of order",
                        )
                    )
                last_position = max(last_position, position)
            if node is not None and type_code is None and node.type_codes:
                type_code = node.type_codes[0]
            array = bool(node.array) if node is not None else False
            if type_code == "xhtml" or (type_code is None and name == "div"):
                self._put(out, name, etree.tostring(child, encoding="unicode", with_tail=False), None, array)
            elif type_code in PRIMITIVES:
                self._text_check(child.text, child_xpath)
                for attribute in child.attrib:
                    if attribute not in ("value", "id"):
                        self.problems.append(
                            (
                                "Undefined_attribute__on__for_type__properties__",
                                child_xpath,
                                f"Attribut inconnu '@{attribute}' sur {name}",
                                f"Undefined attribute '@{attribute}' on {name} for type {type_code}",
                            )
                        )
                value = child.get("value")
                converted = _convert(value, type_code) if value is not None else None
                ext: dict[str, Any] = {}
                if child.get("id"):
                    ext["id"] = child.get("id")
                extensions = []
                for e in child:
                    if not isinstance(e.tag, str):
                        continue
                    if etree.QName(e).localname == "extension" and etree.QName(e).namespace == FHIR_NS:
                        extensions.append(self._complex(e, "Extension"))
                        continue
                    shown = etree.QName(e).localname
                    self.problems.append(
                        (
                            "Undefined_element_",
                            child_xpath,
                            f"Élément inconnu '{shown}' dans {child_xpath}",
                            f"Undefined element '{shown}' at {child_xpath}",
                        )
                    )
                if extensions:
                    ext["extension"] = extensions
                self._put(out, name, converted, ext or None, array)
            elif type_code in ("Resource", "DomainResource") or (
                node is None and len(child) == 1 and _is_resource_wrapper(name)
            ):
                inner = next((c for c in child if isinstance(c.tag, str)), None)
                self._put(out, name, self.resource(inner, child_xpath) if inner is not None else {}, None, array)
            else:
                sub_defs = self.validator._children_of(node, type_code) if node is not None else None
                obj: dict[str, Any] = {}
                self._fill(child, sub_defs, obj, child_xpath)
                if node is None and not obj and child.get("value") is not None:
                    self._put(out, name, child.get("value"), None, array)
                else:
                    self._put(out, name, obj, None, array)

    def _complex(self, element: etree._Element, type_code: str) -> dict[str, Any]:
        struct = self.validator.structure(type_code)
        obj: dict[str, Any] = {}
        self._fill(element, struct.root if struct else None, obj)
        return obj

    @staticmethod
    def _put(out: dict[str, Any], name: str, value: Any, ext: dict[str, Any] | None, array: bool) -> None:
        if array:
            values = out.setdefault(name, []) if value is not None or name in out else None
            exts = out.get("_" + name)
            if values is None:
                values = out.setdefault(name, [])
            values.append(value)
            if ext is not None or exts is not None:
                exts = out.setdefault("_" + name, [None] * (len(values) - 1))
                exts.append(ext)
            if all(v is None for v in values):
                del out[name]
            return
        if name in out or "_" + name in out:
            existing = out.get(name)
            out[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
            return
        if value is not None:
            out[name] = value
        if ext is not None:
            out["_" + name] = ext


def resource_to_xml(resource: dict[str, Any], *, pretty: bool = False, validator: Any = None) -> bytes:
    """A JSON resource as FHIR XML (UTF-8, with the XML declaration). With a validator (its compiled
    definitions), elements are written in definition order as the XML format requires; without one, in the
    JSON's order."""
    root = _Writer(validator).resource(resource)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


def _primitive_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Writer:
    def __init__(self, validator: Any) -> None:
        self.validator = validator

    def resource(self, resource: dict[str, Any]) -> etree._Element:
        resource_type = resource["resourceType"]
        element = etree.Element(f"{{{FHIR_NS}}}{resource_type}", nsmap={None: FHIR_NS})
        struct = self.validator.structure(resource_type) if self.validator is not None else None
        self._children(element, resource, struct.root if struct else None, is_resource=True, in_extension=False)
        return element

    def _ordered(self, obj: dict[str, Any], defs: Any) -> list[tuple[str, Any, Any]]:
        """(key, node, type code) of the properties of `obj` to write, in definition order when known."""
        names = defs.json_names if defs is not None else {}
        order = {id(child): index for index, child in enumerate(defs.children)} if defs is not None else {}
        keys = [k for k in obj if k != "resourceType" and not k.startswith("_")]
        keys += [k[1:] for k in obj if k.startswith("_") and k[1:] not in obj]  # `_name` only: no value
        entries = [(key, *(names.get(key) or (None, None))) for key in keys]
        return sorted(entries, key=lambda e: order.get(id(e[1]), len(order)) if e[1] is not None else len(order))

    def _children(
        self, element: etree._Element, obj: dict[str, Any], defs: Any, *, is_resource: bool, in_extension: bool
    ) -> None:
        if not is_resource:
            if "id" in obj and isinstance(obj["id"], str):
                element.set("id", obj["id"])
            if in_extension and "url" in obj:
                element.set("url", str(obj["url"]))
        for key, node, type_code in self._ordered(obj, defs):
            if not is_resource and (key == "id" or (in_extension and key == "url")):
                continue
            sub_defs = self._sub_defs(node, type_code)
            shadow = obj.get("_" + key)
            value = obj.get(key)
            shadows = shadow if isinstance(shadow, list) else []
            if isinstance(value, list) or (value is None and shadows):
                values = value if isinstance(value, list) else [None] * len(shadows)
                for item, item_shadow in zip(values, shadows + [None] * (len(values) - len(shadows)), strict=False):
                    self._element(element, key, item, item_shadow, sub_defs)
            else:
                self._element(element, key, value, shadow, sub_defs)

    def _sub_defs(self, node: Any, type_code: str | None) -> Any:
        if node is None or self.validator is None:
            return None
        if type_code is None and node.type_codes:
            type_code = node.type_codes[0]
        return self.validator._children_of(node, type_code)

    def _element(self, parent: etree._Element, name: str, value: Any, shadow: Any, defs: Any) -> None:
        if name == "div" and isinstance(value, str):
            try:
                parent.append(etree.fromstring(value.encode("utf-8")))
            except etree.XMLSyntaxError:
                div = etree.SubElement(parent, f"{{{XHTML_NS}}}div")
                div.text = value
            return
        if value is None and not isinstance(shadow, dict):
            return
        child = etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")
        if isinstance(value, dict):
            if "resourceType" in value:
                child.append(self.resource(value))
            else:
                extension = name in ("extension", "modifierExtension")
                self._children(child, value, defs, is_resource=False, in_extension=extension)
            return
        if value is not None:
            child.set("value", _primitive_text(value))
        if isinstance(shadow, dict):
            if "id" in shadow:
                child.set("id", str(shadow["id"]))
            extension_defs = self._sub_defs_of_type("Extension")
            for ext in shadow.get("extension", []):
                self._element(child, "extension", ext, None, extension_defs)

    def _sub_defs_of_type(self, type_code: str) -> Any:
        struct = self.validator.structure(type_code) if self.validator is not None else None
        return struct.root if struct else None


def _is_resource_wrapper(name: str) -> bool:
    return name in ("contained", "resource", "outcome", "return")


_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _convert(value: str, type_code: str) -> Any:
    """XML attribute text -> the JSON value; text that is not lexically valid stays a string (reported then)."""
    kind = JSON_KIND.get(type_code)
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if kind == "number":
        if type_code == "decimal":
            if not _DECIMAL.fullmatch(value):
                return value
            return int(value) if ("." not in value and "e" not in value.lower()) else float(value)
        return int(value) if _INTEGER.fullmatch(value) else value
    return value
