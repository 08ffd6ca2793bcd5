"""Formats and media types (JSON, XML, _format)."""

from __future__ import annotations

from lxml import etree

from conformance.sdk import Rule, expect, require, verifies
from conformance.sdk.fhir import expect_status
from conformance.suites.fhir_basics.rules import JSON_MEDIA_TYPE, JSON_PARSE, XML_BY_ACCEPT, XML_BY_FORMAT
from conformance.transport.http import FHIR_JSON, FHIR_XML

FHIR_NS = "http://hl7.org/fhir"


def _expect_xml_capability(response, xml_rules: tuple[Rule, Rule, Rule]) -> None:
    media_type, parse, root_rule = xml_rules
    expect_status(response, 200)
    content_type = response.content_type or "(absent)"
    expect(
        response.content_type in (FHIR_XML, "application/xml", "text/xml"),
        media_type,
        "Content-Type",
        content_type=content_type,
    )
    try:
        root = etree.fromstring(response.body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        require(False, parse, "", error=str(exc)[:300])
        return
    expect(root.tag == f"{{{FHIR_NS}}}CapabilityStatement", root_rule, "", tag=root.tag)


@verifies("fhir-r4.formats.json", "fhir.rest.formats", title_en="JSON is served as application/fhir+json")
def test_json_media_type(fhir_client):
    """Le JSON est servi en application/fhir+json"""
    response = fhir_client.metadata(FHIR_JSON)
    expect_status(response, 200)
    content_type = response.content_type or "(absent)"
    expect(response.content_type == FHIR_JSON, JSON_MEDIA_TYPE, "Content-Type", content_type=content_type)
    expect(response.resource is not None, JSON_PARSE, "")


@verifies("fhir-r4.formats.xml-accept", "fhir.rest.formats", title_en="XML is served on Accept: application/fhir+xml")
def test_xml_by_accept(fhir_client):
    """Le XML est servi sur Accept: application/fhir+xml"""
    _expect_xml_capability(fhir_client.metadata(FHIR_XML), XML_BY_ACCEPT)


@verifies("fhir-r4.formats.format-parameter", "fhir.rest.formats", title_en="The _format=xml parameter selects XML")
def test_xml_by_format_parameter(fhir_client):
    """Le paramètre _format=xml sélectionne le XML"""
    _expect_xml_capability(fhir_client.get("metadata", params={"_format": "xml"}, accept=None), XML_BY_FORMAT)
