"""The DMP simulator judging document sources nobody here wrote. No sample could be copied (the CNAM kit copies
carry no licence; the NIST XDS toolkit's test data is ebRIM 2.1, XDS.a): the messages below are reconstructed
from the documented structure of those public captures, not copied.

- An Axis2-style MTOM request, the layout of the NIST toolkit's captured ITI-41 messages: `soapenv` prefix,
  WS-Addressing headers with mustUnderstand, boundary `MIMEBoundaryurn_uuid_...`, Content-IDs
  `<0.urn:uuid:...@apache.org>`, the attachment's Content-ID percent-free but written with angle brackets, CRLF
  line ends. A clean DMP submission in that envelope must be judged exactly as the harness's own.
- The metadata of the NIST toolkit's `single_doc` test data (connectathon codes, authorPerson `^Smitty^Gerald`,
  authorInstitution as a plain name, patientId a local id, no legalAuthenticator, no signature), moved to
  ebRIM 3.0 as XDS.b requires: a conformant IHE submission that is not a DMP one. The simulator must refuse it
  with the DMP rules it breaks, each under its own test, and answer with standard XDS codes.
"""

from __future__ import annotations

import uuid

from lxml import etree

from conformance.campaign.dmp import category
from conformance.reference.dmp.source import registry_status, vihf_for
from conformance.transport.soap import WSA_NS
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import provide_request
from conformance.validation.xds.ebrim import NS, RIM

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def _axis2_message(dmp, request, vihf) -> tuple[str, bytes]:
    """(Content-Type, body) of `request` as an Axis2 document source lays it out."""
    dmp.source.sign(request)
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soapenv": SOAP12})
    header = etree.SubElement(envelope, f"{{{SOAP12}}}Header", nsmap={"wsa": WSA_NS})
    for name, value in (
        ("To", dmp.source.repository_url),
        ("MessageID", f"urn:uuid:{uuid.uuid4().hex.upper()}"),
        ("Action", ebrim.ITI41),
    ):
        element = etree.SubElement(header, f"{{{WSA_NS}}}{name}")
        element.set(f"{{{SOAP12}}}mustUnderstand", "true")
        element.text = value
    header.append(dmp.source.security(vihf))
    etree.SubElement(envelope, f"{{{SOAP12}}}Body").append(request.payload)
    token = uuid.uuid4().hex.upper()
    boundary = f"MIMEBoundaryurn_uuid_{token}"
    root_id = f"0.urn:uuid:{token}@apache.org"
    parts = []
    for index, (document, attachment) in enumerate(
        zip(request.payload.iterfind("xdsb:Document", NS), request.attachments, strict=True), start=1
    ):
        content_id = f"{index}.urn:uuid:{token}@apache.org"
        document[0].set("href", f"cid:{content_id}")
        parts.append(
            f"--{boundary}\r\nContent-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{content_id}>\r\n\r\n".encode()
            + attachment.data
            + b"\r\n"
        )
    root = (
        f'--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
        f"Content-Transfer-Encoding: binary\r\nContent-ID: <{root_id}>\r\n\r\n".encode()
        + etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
        + b"\r\n"
    )
    body = root + b"".join(parts) + f"--{boundary}--\r\n".encode()
    content_type = (
        f'multipart/related; boundary={boundary}; type="application/xop+xml"; start="<{root_id}>"; '
        f'start-info="application/soap+xml"; action="{ebrim.ITI41}"'
    )
    return content_type, body


def test_an_axis2_style_mtom_submission_is_judged_as_the_harness_own(dmp, cda_bytes):
    vihf = vihf_for(cda_bytes)
    content_type, body = _axis2_message(dmp, provide_request(cda_bytes), vihf)
    reply = dmp.source.client.post(dmp.source.repository_url, content_type, body)
    assert registry_status(reply) == ("Success", [])
    assert dmp.simulator.judgements[-1].failures() == []
    assert dmp.simulator.judgements[-1].documents["Document01"] == cda_bytes  # CRLF kept, not re-encoded


def _slot(parent, name: str, *values: str) -> None:
    slot = etree.SubElement(parent, f"{{{RIM}}}Slot", name=name)
    value_list = etree.SubElement(slot, f"{{{RIM}}}ValueList")
    for value in values:
        etree.SubElement(value_list, f"{{{RIM}}}Value").text = value


def _connectathon_style(request) -> None:
    """The NIST single_doc metadata on the request's entry (reconstructed, ebRIM 3.0)."""
    entry = request.entry
    for name in ("legalAuthenticator", "sourcePatientId", "languageCode"):
        old = entry.find(f"rim:Slot[@name='{name}']", NS)
        if old is not None:
            entry.remove(old)
    _slot(entry, "languageCode", "en-us")
    _slot(entry, "sourcePatientId", "89765a87b^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO")
    for author in entry.iterfind(f"rim:Classification[@classificationScheme='{ebrim.DOCUMENT_ENTRY_AUTHOR}']", NS):
        author.find("rim:Slot[@name='authorPerson']/rim:ValueList/rim:Value", NS).text = "^Smitty^Gerald^^^"
        author.find("rim:Slot[@name='authorInstitution']/rim:ValueList/rim:Value", NS).text = "Cleveland Clinic"
    scheme = ebrim.CLASSIFICATIONS["classCode"]
    entry.find(f"rim:Classification[@classificationScheme='{scheme}']", NS).set("nodeRepresentation", "DEMO-Consult")
    local = "89765a87b^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO"
    for scheme in (ebrim.PATIENT_ID, ebrim.SS_PATIENT_ID):
        for identifier in request.payload.iterfind(f".//rim:ExternalIdentifier[@identificationScheme='{scheme}']", NS):
            identifier.set("value", local)


def test_a_connectathon_style_submission_is_refused_for_each_dmp_rule_it_breaks(dmp, cda_bytes):
    request = provide_request(cda_bytes)
    _connectathon_style(request)
    dmp.source.sign_submissions = False  # the NIST data carries no signature
    status, errors = registry_status(dmp.source.provide(request, vihf_for(cda_bytes)))
    assert status == "Failure" and errors
    assert all(code in ebrim.XDS_ERRORS and context for code, context in errors)
    judged = {category(f.rule) for f in dmp.simulator.judgements[-1].failures()}
    assert {"required", "author-formats", "patient-ins", "value-sets", "xades"} <= judged
