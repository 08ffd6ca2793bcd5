"""Formats and media types (JSON, XML, _format)."""

from __future__ import annotations

import pytest
from lxml import etree

from conformance.campaign.checks import expect
from conformance.campaign.fhir import expect_status
from conformance.transport.http import FHIR_JSON, FHIR_XML

FORMATS = ("FHIR R4", "§3.1.0.1.10 Content Types and encodings")
FHIR_NS = "http://hl7.org/fhir"


def _expect_xml_capability(response) -> None:
    expect_status(response, 200)
    expect(
        response.content_type in (FHIR_XML, "application/xml", "text/xml"),
        "format-xml-media-type",
        f"Content-Type {response.content_type or '(absent)'} au lieu de {FHIR_XML}",
        f"Content-Type {response.content_type or '(absent)'} instead of {FHIR_XML}",
        location="Content-Type",
    )
    try:
        root = etree.fromstring(response.body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        expect(False, "format-xml-parse", f"corps XML illisible: {exc}", f"unreadable XML body: {exc}")
        return
    expect(
        root.tag == f"{{{FHIR_NS}}}CapabilityStatement",
        "format-xml-root",
        f"élément racine {root.tag} au lieu de CapabilityStatement (espace de noms FHIR)",
        f"root element {root.tag} instead of CapabilityStatement (FHIR namespace)",
    )


@pytest.mark.requirement(*FORMATS, text="application/fhir+json is the JSON media type")
@pytest.mark.capability("fhir.rest.formats")
@pytest.mark.title_en("JSON is served as application/fhir+json")
def test_json_media_type(fhir_client):
    """Le JSON est servi en application/fhir+json"""
    response = fhir_client.metadata(FHIR_JSON)
    expect_status(response, 200)
    expect(
        response.content_type == FHIR_JSON,
        "format-json-media-type",
        f"Content-Type {response.content_type or '(absent)'} au lieu de {FHIR_JSON}",
        f"Content-Type {response.content_type or '(absent)'} instead of {FHIR_JSON}",
        location="Content-Type",
    )
    expect(response.resource is not None, "format-json-parse", "corps JSON illisible", "unreadable JSON body")


@pytest.mark.requirement(*FORMATS, text="Accept: application/fhir+xml")
@pytest.mark.capability("fhir.rest.formats")
@pytest.mark.title_en("XML is served on Accept: application/fhir+xml")
def test_xml_by_accept(fhir_client):
    """Le XML est servi sur Accept: application/fhir+xml"""
    _expect_xml_capability(fhir_client.metadata(FHIR_XML))


@pytest.mark.requirement("FHIR R4", "§3.1.0.1.10 _format parameter", text="_format=xml overrides Accept")
@pytest.mark.capability("fhir.rest.formats")
@pytest.mark.title_en("The _format=xml parameter selects XML")
def test_xml_by_format_parameter(fhir_client):
    """Le paramètre _format=xml sélectionne le XML"""
    _expect_xml_capability(fhir_client.get("metadata", params={"_format": "xml"}, accept=None))
