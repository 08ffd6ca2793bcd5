"""Content negotiation: the response format (`_format`, then Accept with its q-values and fhirVersion), and the
request body read as FHIR JSON or XML by its Content-Type."""

from __future__ import annotations

import contextlib
import json
from email.message import Message

from conformance.reference.fhir.exchange import HttpError
from conformance.reference.fhir_store import Resource
from conformance.validation.fhir import get_validator
from conformance.validation.fhir.xml import resource_to_xml, xml_to_json

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
JSON_PATCH = "application/json-patch+json"
JSON_ALIASES = {"json", FHIR_JSON, "application/json", "application/json+fhir"}
XML_ALIASES = {"xml", FHIR_XML, "application/xml", "text/xml", "application/xml+fhir"}


def response_format(format_parameter: str | None, accept: str, path: str) -> str:
    """ "json" or "xml" for a request on `path`; HttpError 406 when nothing acceptable is served."""
    if format_parameter:
        mime = format_parameter.split(";")[0].strip().lower()
        if mime in JSON_ALIASES:
            return "json"
        if mime in XML_ALIASES:
            return "xml"
        raise HttpError(406, "not-supported", f"_format={format_parameter} is not supported: use json or xml")
    if not accept.strip():
        return "json"
    for q, mime in _ranked(accept):
        if q <= 0:
            continue
        if mime in JSON_ALIASES or mime in ("*/*", "application/*"):
            return "json"
        if mime in XML_ALIASES:
            return "xml"
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 3 and segments[-2] == "Binary":
        return "json"  # a Binary read may ask for the document's own media type
    raise HttpError(
        406,
        "not-supported",
        f"none of the accepted media types ({accept}) is served: use {FHIR_JSON} or {FHIR_XML}",
    )


def _ranked(accept: str) -> list[tuple[float, str]]:
    """The Accept header's media types by decreasing q, those asking for another FHIR version than R4 left out."""
    ranked = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        mime = fields[0].lower()
        q = 1.0
        version = None
        for f in fields[1:]:
            key, _, value = f.partition("=")
            if key.strip() == "q":
                with contextlib.suppress(ValueError):
                    q = float(value)
            elif key.strip().lower() == "fhirversion":
                version = value.strip().strip('"')
        if version and not version.startswith("4.0"):
            continue
        ranked.append((q, mime))
    ranked.sort(key=lambda x: -x[0])
    return ranked


def wants_fhir(format_parameter: str | None, headers: Message) -> bool:
    """Whether a Binary read asks for the FHIR Binary resource rather than the document's own bytes."""
    if format_parameter:
        return True
    accept = (headers.get("Accept") or "").lower()
    return any(m in accept for m in (FHIR_JSON, FHIR_XML, "application/json+fhir", "application/xml+fhir"))


def content_type(headers: Message) -> str:
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def parse_resource(headers: Message, body: bytes) -> Resource:
    """The request body as a resource (JSON or XML by Content-Type; JSON when it has none)."""
    ctype = content_type(headers)
    if not body:
        raise HttpError(400, "required", "the request has no body")
    if ctype in JSON_ALIASES or ctype == "":
        try:
            resource = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, "structure", f"the body is not valid JSON: {exc}") from exc
    elif ctype in XML_ALIASES:
        resource, problems = xml_to_json(body, get_validator())
        if resource is None:
            reason = "; ".join(f.message_en for f in problems.findings)
            raise HttpError(400, "structure", f"the body is not FHIR XML: {reason}")
    else:
        raise HttpError(415, "not-supported", f"Content-Type {ctype} is not supported: use {FHIR_JSON} or {FHIR_XML}")
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise HttpError(400, "structure", "the body is not a FHIR resource (no resourceType)")
    return resource


def serialise(resource: Resource, fmt: str, *, pretty: bool) -> tuple[bytes, str]:
    """The body and its Content-Type."""
    if fmt == "xml":
        return resource_to_xml(resource, pretty=pretty, validator=get_validator()), f"{FHIR_XML};charset=utf-8"
    body = json.dumps(resource, ensure_ascii=False, indent=2 if pretty else None).encode("utf-8")
    return body, f"{FHIR_JSON};charset=utf-8"
