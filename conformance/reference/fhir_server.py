"""The reference FHIR R4 server: FR Core, PDSm (IHE MHD ITI-65/66/67/68) and Annuaire Santé behaviour over an
in-memory store, on a stdlib ThreadingHTTPServer.

Base URL `http://HOST:PORT/fhir`. JSON and XML (`_format`, Accept, Content-Type), read / vread / history /
ETag / If-None-Match / If-Modified-Since, create / update (If-Match) / delete / JSON Patch, search with
`_count` and paging links, transaction and batch Bundles, errors as OperationOutcome. Seeded faults and
hostile modes (see faults.py, hostile.py) change what it does.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import html
import json
import socket
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance import __version__
from conformance.identifiers import (
    CS_ANNUAIRE_SERVER,
    CS_PDSM_RESPONDER,
    FINESS_SYSTEM,
    FR_CORE_V2_0203,
    IG_ANNUAIRE,
    IG_FR_CORE,
    IG_PDSM,
    INS_ARC,
    PROFILE_DOCREF,
    PROFILE_FOLDER,
    PROFILE_FR_ORGANIZATION,
    PROFILE_FR_PRACTITIONER,
    PROFILE_FR_PRACTITIONER_ROLE,
    PROFILE_ORGANIZATION,
    PROFILE_PATIENT,
    PROFILE_PATIENT_INS,
    PROFILE_PRACTITIONER,
    PROFILE_PRACTITIONER_ROLE,
    PROFILE_SUBMISSIONSET,
    RPPS_SYSTEM,
    bare_oid,
    urn,
)
from conformance.reference.fhir_store import (
    SEARCH_PARAMS,
    SUPPORTED_TYPES,
    FhirStore,
    Resource,
    StoreError,
    now_instant,
)
from conformance.reference.test_data import TestData, sha1_base64
from conformance.validation.fhir import get_validator
from conformance.validation.fhir.xml import resource_to_xml, xml_to_json

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
JSON_PATCH = "application/json-patch+json"
JSON_ALIASES = {"json", FHIR_JSON, "application/json", "application/json+fhir"}
XML_ALIASES = {"xml", FHIR_XML, "application/xml", "text/xml", "application/xml+fhir"}
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_REQUEST_BODY = 50 * 1024 * 1024

PDSM_CS = CS_PDSM_RESPONDER
ANNUAIRE_CS = CS_ANNUAIRE_SERVER
SUPPORTED_PROFILES = {
    "Patient": [PROFILE_PATIENT, PROFILE_PATIENT_INS],
    "Practitioner": [PROFILE_FR_PRACTITIONER, PROFILE_PRACTITIONER],
    "PractitionerRole": [PROFILE_FR_PRACTITIONER_ROLE, PROFILE_PRACTITIONER_ROLE],
    "Organization": [PROFILE_FR_ORGANIZATION, PROFILE_ORGANIZATION],
    "DocumentReference": [PROFILE_DOCREF],
    "List": [
        PROFILE_SUBMISSIONSET,
        PROFILE_FOLDER,
    ],
    "Binary": [],
}
BASE_PROFILE = {t: f"http://hl7.org/fhir/StructureDefinition/{t}" for t in SUPPORTED_TYPES}


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def operation_outcome(code: str, message: str, severity: str = "error") -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def weak_etag(resource: Resource) -> str:
    return f'W/"{resource.get("meta", {}).get("versionId", "1")}"'


def http_date(instant: str) -> str:
    return format_datetime(datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(UTC), usegmt=True)


# ----------------------------------------------------------------------------------------------- faults


def apply_seed_faults(
    resources: dict[str, Resource], test_data: TestData, faults: frozenset[str]
) -> dict[str, Resource]:
    """The seeded data as a faulty system would hold it (searches then see the fault too)."""
    out = copy.deepcopy(resources)
    for key, resource in out.items():
        rtype = resource["resourceType"]
        if rtype == "Patient":
            _patient_faults(resource, test_data, faults)
        elif rtype == "Practitioner" and "rpps-missing" in faults:
            resource["identifier"] = [i for i in resource.get("identifier", []) if i.get("system") != RPPS_SYSTEM]
        elif rtype == "Organization" and "finess-missing" in faults:
            resource["identifier"] = [i for i in resource.get("identifier", []) if i.get("system") != FINESS_SYSTEM]
        elif rtype == "Binary" and "binary-mismatch" in faults:
            data = base64.b64decode(resource["data"]) + b"\n<!-- contenu modifie apres indexation -->\n"
            resource["data"] = base64.b64encode(data).decode("ascii")
        out[key] = resource
    return out


def _patient_faults(resource: Resource, test_data: TestData, faults: frozenset[str]) -> None:
    if "ins-unqualified" in faults:
        for p in test_data.patients:
            if p.id == resource["id"] and not p.qualified and p.ins_value:
                resource["identifier"].insert(
                    0,
                    {
                        "use": "official",
                        "type": {
                            "coding": [
                                {
                                    "system": FR_CORE_V2_0203,
                                    "code": "INS-NIR-TEST",
                                }
                            ]
                        },
                        "system": p.ins_system,
                        "value": p.ins_value,
                    },
                )
    if "ins-wrong-oid" in faults:
        for identifier in resource.get("identifier", []):
            system = identifier.get("system", "")
            if system.startswith(urn(INS_ARC)):
                identifier["system"] = bare_oid(system)
    if "patient-profile-invalid" in faults:
        resource["extension"] = []
        resource.pop("extension")
        for name in resource.get("name", []):
            name.pop("extension", None)


def apply_output_faults(resource: Resource, faults: frozenset[str]) -> Resource:
    """Faults applied to every resource on its way out (also to what clients created)."""
    if "docref-invalid" in faults and resource.get("resourceType") == "DocumentReference":
        resource = dict(resource)
        resource.pop("date", None)
        resource.pop("custodian", None)
    return resource


# ----------------------------------------------------------------------------------------------- capability


def capability_statement(base_url: str, faults: frozenset[str]) -> Resource:
    resources = []
    for rtype in SUPPORTED_TYPES:
        if rtype == "Binary":
            interactions = ["read", "vread", "create", "update"]
        else:
            interactions = ["read", "vread", "update", "delete", "history-instance", "create", "search-type"]
        if rtype == "DocumentReference":
            interactions.append("patch")
            if "capability-missing-interaction" in faults:
                interactions.remove("search-type")
        entry: dict[str, Any] = {"type": rtype, "profile": BASE_PROFILE[rtype]}
        if SUPPORTED_PROFILES[rtype]:
            entry["supportedProfile"] = SUPPORTED_PROFILES[rtype]
        entry["interaction"] = [{"code": code} for code in interactions]
        entry["versioning"] = "versioned"
        entry["readHistory"] = True
        entry["updateCreate"] = True
        entry["conditionalCreate"] = True
        params = [
            {
                "name": name,
                "definition": p.definition or f"http://hl7.org/fhir/SearchParameter/{rtype}-{name}",
                "type": p.kind,
            }
            for name, p in SEARCH_PARAMS[rtype].items()
        ]
        params += [
            {"name": "_id", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id", "type": "token"},
            {
                "name": "_lastUpdated",
                "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
                "type": "date",
            },
        ]
        if rtype != "Binary":
            entry["searchParam"] = params
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "id": "hopen-reference-server",
        "url": f"{base_url}/metadata",
        "version": __version__,
        "name": "HopenReferenceServer",
        "title": "Serveur FHIR de référence hopen-conformance (FR Core, PDSm, Annuaire Santé)",
        "status": "active",
        "experimental": True,
        "date": "2026-01-01",
        "publisher": "hopen-conformance",
        "kind": "instance",
        "instantiates": [PDSM_CS, ANNUAIRE_CS],
        "software": {"name": "hopen-conformance reference server", "version": __version__},
        "implementation": {
            "description": "Reference endpoint for conformance campaigns (test data only)",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml", "json", "xml"],
        "patchFormat": [JSON_PATCH],
        "implementationGuide": [
            IG_FR_CORE,
            IG_PDSM,
            IG_ANNUAIRE,
        ],
        "rest": [
            {
                "mode": "server",
                "documentation": "PDSm Gestionnaire de partage de documents (ITI-65/66/67/68), Annuaire Santé, FR Core Patient",
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }


# ----------------------------------------------------------------------------------------------- _sort


def sort_results(rtype: str, results: list[Resource], spec: str) -> list[Resource]:
    """`_sort=a,-b`: by the first value at each parameter's path (missing values last); unknown keys ignored."""
    from conformance.reference.fhir_store import COMMON_PARAMS, values_at

    params = SEARCH_PARAMS.get(rtype, {}) | COMMON_PARAMS
    for key in reversed([k.strip() for k in spec.split(",") if k.strip()]):
        descending = key.startswith("-")
        param = params.get(key.lstrip("-"))
        if param is None or param.kind not in ("date", "string", "token"):
            continue

        def first(resource: Resource, param=param) -> str:
            for path in param.paths:
                for value in values_at(resource, path):
                    if isinstance(value, str | int | float | bool):
                        return str(value)
                    if isinstance(value, dict):
                        return str(value.get("start") or value.get("value") or value.get("code") or "")
            return ""

        present = [r for r in results if first(r)]
        missing = [r for r in results if not first(r)]
        results = sorted(present, key=first, reverse=descending) + missing
    return results


# ----------------------------------------------------------------------------------------------- JSON Patch


def apply_json_patch(resource: Resource, operations: Any) -> Resource:
    """RFC 6902 add / remove / replace / test on JSON pointers."""
    if not isinstance(operations, list):
        raise HttpError(400, "invalid", "a JSON Patch document is an array of operations")
    doc = copy.deepcopy(resource)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise HttpError(400, "invalid", f"malformed JSON Patch operation: {op!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op["path"]).split("/")[1:]]
        if not parts:
            raise HttpError(422, "processing", "JSON Patch on the whole resource is not allowed")
        parent: Any = doc
        try:
            for part in parts[:-1]:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            last = parts[-1]
            kind = op["op"]
            if kind == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent[last]
                if current != op.get("value"):
                    raise HttpError(422, "processing", f"JSON Patch test failed at {op['path']}")
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(index, op.get("value"))
                    else:
                        parent[index] = op.get("value")
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = op.get("value")
            elif kind == "remove":
                if isinstance(parent, list):
                    del parent[int(last)]
                else:
                    del parent[last]
            else:
                raise HttpError(422, "not-supported", f"JSON Patch operation '{kind}' is not supported")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise HttpError(422, "processing", f"JSON Patch path {op['path']} cannot be applied: {exc}") from exc
    if doc.get("resourceType") != resource.get("resourceType") or doc.get("id") != resource.get("id"):
        raise HttpError(422, "processing", "JSON Patch may not change resourceType or id")
    return doc


# ----------------------------------------------------------------------------------------------- server


class ReferenceFhirServer:
    """Start with `start()`, stop with `stop()`; `base_url` once started."""

    def __init__(
        self,
        test_data: TestData,
        *,
        faults: frozenset[str] = frozenset(),
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        advertised_scheme: str | None = None,
        hostile_hook: Callable[[BaseHTTPRequestHandler], bool] | None = None,
        base_path: str = "/fhir",
    ) -> None:
        self.test_data = test_data
        self.faults = faults
        self.base_path = base_path
        self.store = FhirStore()
        self.store.seed(apply_seed_faults(test_data.resources, test_data, faults).values())
        self.hostile_hook = hostile_hook
        self.stop_event = threading.Event()
        self._ssl_context = ssl_context
        self._httpd = _Server((host, port), _Handler, self, ssl_context)
        self._thread: threading.Thread | None = None
        scheme = advertised_scheme or ("https" if ssl_context else "http")
        bound_host, bound_port = self._httpd.server_address[:2]
        self.host, self.port = str(bound_host), int(bound_port)
        self.base_url = f"{scheme}://{self.host}:{self.port}{base_path}"

    def start(self) -> ReferenceFhirServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="reference-fhir", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], handler: type, app: ReferenceFhirServer, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.settimeout(30)
        if self.ssl_context is not None:
            # The handshake happens in the handler's thread, at the first read: a plain-text client or a
            # stalled handshake never blocks the accept loop.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # TLS handshake failures and clients that hang up are expected here, not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hopen-reference-fhir"
    server: _Server

    # -- plumbing
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unsupported method...) as OperationOutcome, not HTML."""
        self.close_connection = True
        if not hasattr(self, "response_format"):
            self.response_format = "json"
            self.pretty = False
        text = message or self.responses.get(code, ("error",))[0]
        self._send_error(
            code, "not-supported" if code in (405, 501) else "invalid", f"{text}{': ' + explain if explain else ''}"
        )

    @property
    def app(self) -> ReferenceFhirServer:
        return self.server.app

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        if self.app.hostile_hook is not None and self.app.hostile_hook(self):
            return
        self.response_format = "json"
        self.pretty = False
        try:
            url = urllib.parse.urlsplit(self.path)
            self.query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
            self.response_format = self._negotiate()
            self.pretty = dict(self.query).get("_pretty") == "true"
            body = self._read_body() if method in ("POST", "PUT", "PATCH") else b""
            path = url.path
            if path != self.app.base_path and not path.startswith(self.app.base_path + "/"):
                raise HttpError(404, "not-found", f"unknown path {path}: the FHIR base is {self.app.base_path}")
            segments = [s for s in path[len(self.app.base_path) :].split("/") if s]
            self._route(method, segments, body)
        except HttpError as exc:
            self._send_error(exc.status, exc.code, exc.message, exc.headers)
        except StoreError as exc:
            self._send_error(exc.status, exc.code, exc.message)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a reference server answers OperationOutcome, never a traceback
            self._send_error(500, "exception", f"internal error: {type(exc).__name__}: {exc}")

    def _read_body(self) -> bytes:
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise HttpError(411, "not-supported", "chunked request bodies are not supported; send Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError as exc:
            raise HttpError(400, "invalid", "invalid Content-Length") from exc
        if length > MAX_REQUEST_BODY:
            raise HttpError(413, "too-costly", f"request body over {MAX_REQUEST_BODY} bytes")
        return self.rfile.read(length)

    # -- negotiation
    def _negotiate(self) -> str:
        fmt = dict(self.query).get("_format")
        if "xml-unsupported" in self.app.faults:
            return "json"
        if fmt:
            mime = fmt.split(";")[0].strip().lower()
            if mime in JSON_ALIASES:
                return "json"
            if mime in XML_ALIASES:
                return "xml"
            raise HttpError(406, "not-supported", f"_format={fmt} is not supported: use json or xml")
        accept = self.headers.get("Accept", "")
        if not accept.strip():
            return "json"
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
        for q, mime in ranked:
            if q <= 0:
                continue
            if mime in JSON_ALIASES or mime in ("*/*", "application/*"):
                return "json"
            if mime in XML_ALIASES:
                return "xml"
        if self._is_binary_read():
            return "json"  # a Binary read may ask for the document's own media type
        raise HttpError(
            406,
            "not-supported",
            f"none of the accepted media types ({accept}) is served: use {FHIR_JSON} or {FHIR_XML}",
        )

    def _is_binary_read(self) -> bool:
        segments = [s for s in urllib.parse.urlsplit(self.path).path.split("/") if s]
        return len(segments) >= 3 and segments[-2] == "Binary"

    def _parse_resource(self, body: bytes) -> Resource:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
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
            raise HttpError(
                415, "not-supported", f"Content-Type {ctype} is not supported: use {FHIR_JSON} or {FHIR_XML}"
            )
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise HttpError(400, "structure", "the body is not a FHIR resource (no resourceType)")
        return resource

    # -- routing
    def _route(self, method: str, segments: list[str], body: bytes) -> None:
        if not segments:
            if method == "POST":
                return self._bundle(self._parse_resource(body))
            if method in ("GET", "HEAD"):
                raise HttpError(400, "not-supported", "system-level search is not supported: search a resource type")
            raise HttpError(405, "not-supported", f"{method} is not allowed on the base URL", {"Allow": "POST"})
        if segments == ["metadata"]:
            if method not in ("GET", "HEAD"):
                raise HttpError(405, "not-supported", "metadata is read-only", {"Allow": "GET"})
            return self._send_resource(200, capability_statement(self.app.base_url, self.app.faults))
        rtype = segments[0]
        if rtype not in SUPPORTED_TYPES:
            raise HttpError(404, "not-supported", f"resource type {rtype} is not supported by this server")
        if len(segments) == 1:
            if method in ("GET", "HEAD"):
                return self._search(rtype, self.query)
            if method == "POST":
                return self._create(rtype, self._parse_resource(body))
            raise HttpError(405, "not-supported", f"{method} is not allowed on {rtype}", {"Allow": "GET, POST"})
        if len(segments) == 2 and segments[1] == "_search" and method == "POST":
            form = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            return self._search(rtype, self.query + form)
        rid = segments[1]
        if len(segments) == 2:
            if method in ("GET", "HEAD"):
                return self._read(rtype, rid)
            if method == "PUT":
                return self._update(rtype, rid, self._parse_resource(body))
            if method == "DELETE":
                return self._delete(rtype, rid)
            if method == "PATCH":
                return self._patch(rtype, rid, body)
            raise HttpError(
                405, "not-supported", f"{method} is not allowed on {rtype}/{rid}", {"Allow": "GET, PUT, DELETE, PATCH"}
            )
        if segments[2] == "_history" and method in ("GET", "HEAD"):
            if len(segments) == 3:
                return self._history(rtype, rid)
            if len(segments) == 4:
                return self._send_read(self.app.store.vread(rtype, rid, segments[3]))
        raise HttpError(404, "not-found", f"unknown path {'/'.join(segments)}")

    # -- interactions
    def _read(self, rtype: str, rid: str) -> None:
        resource = self.app.store.read(rtype, rid)
        if rtype == "Binary" and not self._wants_fhir():
            return self._send_native_binary(resource)
        etag = weak_etag(resource)
        if "etag-missing" not in self.app.faults:
            wanted = self.headers.get("If-None-Match")
            if wanted and wanted.strip() in (etag, etag[2:], "*"):
                return self._send_not_modified(resource)
            since = self.headers.get("If-Modified-Since")
            if since:
                with contextlib.suppress(TypeError, ValueError):
                    last = datetime.fromisoformat(resource["meta"]["lastUpdated"].replace("Z", "+00:00")).replace(
                        microsecond=0
                    )
                    if last <= parsedate_to_datetime(since):
                        return self._send_not_modified(resource)
        self._send_read(resource)

    def _wants_fhir(self) -> bool:
        if dict(self.query).get("_format"):
            return True
        accept = (self.headers.get("Accept") or "").lower()
        return any(m in accept for m in (FHIR_JSON, FHIR_XML, "application/json+fhir", "application/xml+fhir"))

    def _send_native_binary(self, resource: Resource) -> None:
        data = base64.b64decode(resource.get("data", ""))
        headers = {"ETag": weak_etag(resource), "Last-Modified": http_date(resource["meta"]["lastUpdated"])}
        self._send_bytes(200, resource.get("contentType", "application/octet-stream"), data, headers)

    def _send_read(self, resource: Resource) -> None:
        headers = {"Last-Modified": http_date(resource["meta"]["lastUpdated"])}
        if "etag-missing" not in self.app.faults:
            headers["ETag"] = weak_etag(resource)
        self._send_resource(200, apply_output_faults(resource, self.app.faults), headers)

    def _send_not_modified(self, resource: Resource) -> None:
        self.send_response(304)
        self.send_header("ETag", weak_etag(resource))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _location(self, resource: Resource) -> str:
        return (
            f"{self.app.base_url}/{resource['resourceType']}/{resource['id']}/_history/{resource['meta']['versionId']}"
        )

    def _check_type(self, rtype: str, resource: Resource) -> None:
        if resource["resourceType"] != rtype:
            raise HttpError(400, "invalid", f"the body is a {resource['resourceType']}, the URL names {rtype}")

    def _create(self, rtype: str, resource: Resource) -> None:
        self._check_type(rtype, resource)
        condition = self.headers.get("If-None-Exist")
        if condition:
            matches, _ = self.app.store.search(rtype, urllib.parse.parse_qsl(condition))
            if len(matches) == 1:
                return self._send_write(200, matches[0])
            if len(matches) > 1:
                raise HttpError(412, "duplicate", f"If-None-Exist '{condition}' matches {len(matches)} resources")
        self._validate_resource(resource)
        self._send_write(201, self.app.store.create(resource))

    def _update(self, rtype: str, rid: str, resource: Resource) -> None:
        self._check_type(rtype, resource)
        if resource.get("id") != rid:
            raise HttpError(400, "invalid", f"the body's id ({resource.get('id')}) is not the id in the URL ({rid})")
        self._validate_resource(resource)
        existed = self.app.store.exists(rtype, rid)
        stored = self.app.store.put(resource, if_match=self._if_match())
        self._send_write(200 if existed else 201, stored)

    def _if_match(self) -> str | None:
        value = self.headers.get("If-Match")
        if not value:
            return None
        return value.strip().removeprefix("W/").strip('"')

    def _patch(self, rtype: str, rid: str, body: bytes) -> None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != JSON_PATCH:
            raise HttpError(415, "not-supported", f"PATCH needs Content-Type {JSON_PATCH}")
        try:
            operations = json.loads(body)
        except ValueError as exc:
            raise HttpError(400, "structure", f"the JSON Patch is not valid JSON: {exc}") from exc
        patched = apply_json_patch(self.app.store.read(rtype, rid), operations)
        patched.pop("meta", None)
        self._validate_resource(patched)
        self._send_write(200, self.app.store.put(patched, if_match=self._if_match()))

    def _delete(self, rtype: str, rid: str) -> None:
        if not self.app.store.delete(rtype, rid):
            self.app.store.read(rtype, rid)  # raises 404 / 410 with the right message
        self._send_resource(200, operation_outcome("informational", f"{rtype}/{rid} deleted", "information"))

    def _history(self, rtype: str, rid: str) -> None:
        versions = self.app.store.history(rtype, rid)
        entries = []
        total = len(versions)
        for index, resource in enumerate(versions):
            version = total - index
            if resource is None:
                entries.append(
                    {"request": {"method": "DELETE", "url": f"{rtype}/{rid}"}, "response": {"status": "410 Gone"}}
                )
                continue
            entries.append(
                {
                    "fullUrl": f"{self.app.base_url}/{rtype}/{rid}",
                    "resource": apply_output_faults(resource, self.app.faults),
                    "request": {
                        "method": "POST" if version == 1 else "PUT",
                        "url": rtype if version == 1 else f"{rtype}/{rid}",
                    },
                    "response": {"status": "201 Created" if version == 1 else "200 OK", "etag": f'W/"{version}"'},
                }
            )
        bundle = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": now_instant()},
            "type": "history",
            "total": total,
        }
        bundle["link"] = [{"relation": "self", "url": f"{self.app.base_url}/{rtype}/{rid}/_history"}]
        bundle["entry"] = entries
        self._send_resource(200, bundle)

    def _validate_resource(self, resource: Resource) -> None:
        """The checks a careful server makes before storing (structure, not profiles)."""
        rtype = resource["resourceType"]
        if rtype not in SUPPORTED_TYPES:
            raise HttpError(422, "not-supported", f"resource type {rtype} is not supported by this server")
        rid = resource.get("id")
        if rid is not None and (
            not isinstance(rid, str) or not rid or len(rid) > 64 or not all(c.isalnum() or c in "-." for c in rid)
        ):
            raise HttpError(400, "invalid", f"invalid resource id {rid!r}")
        _validate(resource)

    # -- search
    def _search(self, rtype: str, query: list[tuple[str, str]]) -> None:
        if rtype == "Binary":
            raise HttpError(405, "not-supported", "Binary cannot be searched: read it by id (ITI-68)")
        strict = "handling=strict" in (self.headers.get("Prefer") or "").replace(" ", "")
        results, used = self.app.store.search(rtype, query, strict=strict)
        results = sort_results(rtype, results, dict(query).get("_sort", ""))
        args = dict(query)
        if args.get("_summary") == "count":
            bundle = {
                "resourceType": "Bundle",
                "id": str(uuid.uuid4()),
                "meta": {"lastUpdated": now_instant()},
                "type": "searchset",
                "total": len(results),
            }
            return self._send_resource(200, bundle)
        try:
            count = int(args.get("_count", DEFAULT_PAGE_SIZE))
            offset = int(args.get("_offset", 0))
        except ValueError as exc:
            raise HttpError(400, "invalid", f"_count and _offset must be integers: {exc}") from exc
        if count < 0 or offset < 0:
            raise HttpError(400, "invalid", "_count and _offset must not be negative")
        count = min(count, MAX_PAGE_SIZE)
        if "count-ignored" in self.app.faults:
            count, offset = max(len(results), 1), 0
        page = results[offset : offset + count]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": now_instant()},
            "type": "searchset",
            "total": len(results),
            "link": self._paging_links(rtype, used, args, count, offset, len(results)),
            "entry": [
                {
                    "fullUrl": f"{self.app.base_url}/{rtype}/{r['id']}",
                    "resource": apply_output_faults(r, self.app.faults),
                    "search": {"mode": "match"},
                }
                for r in page
            ],
        }
        if not bundle["entry"]:
            del bundle["entry"]
        self._send_resource(200, bundle)

    def _paging_links(
        self, rtype: str, used: list[tuple[str, str]], args: dict[str, str], count: int, offset: int, total: int
    ) -> list[dict]:
        keep = [(k, v) for k, v in used]
        keep += [(name, args[name]) for name in ("_sort", "_format") if name in args]

        def url(at: int) -> str:
            return f"{self.app.base_url}/{rtype}?" + urllib.parse.urlencode(
                [*keep, ("_count", str(count)), ("_offset", str(at))]
            )

        links = [{"relation": "self", "url": url(offset)}]
        if "count-ignored" in self.app.faults:
            return links
        links.append({"relation": "first", "url": url(0)})
        if offset > 0:
            links.append({"relation": "previous", "url": url(max(offset - count, 0))})
        if count and offset + count < total:
            next_url = url(offset + count)
            if "paging-broken" in self.app.faults:
                next_url = f"{self.app.base_url}/_page/{uuid.uuid4()}"
            links.append({"relation": "next", "url": next_url})
        last = ((total - 1) // count) * count if count and total else 0
        links.append({"relation": "last", "url": url(last)})
        return links

    # -- transaction / batch
    def _bundle(self, bundle: Resource) -> None:
        if bundle.get("resourceType") != "Bundle":
            raise HttpError(400, "invalid", f"POST on the base URL takes a Bundle, not a {bundle.get('resourceType')}")
        kind = bundle.get("type")
        if kind not in ("transaction", "batch"):
            raise HttpError(400, "invalid", f"Bundle.type must be transaction or batch, not {kind!r}")
        entries = bundle.get("entry") or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise HttpError(400, "structure", "Bundle.entry must be a list of entries")
        if kind == "transaction":
            self._send_resource(200, TransactionProcessor(self.app, entries).run())
        else:
            self._send_resource(200, self._batch(entries))

    def _batch(self, entries: list[dict]) -> Resource:
        out = []
        for entry in entries:
            try:
                out.append(TransactionProcessor(self.app, [entry]).run()["entry"][0])
            except (HttpError, StoreError) as exc:
                status = getattr(exc, "status", 400)
                out.append({"response": {"status": str(status), "outcome": operation_outcome(exc.code, exc.message)}})
        return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "batch-response", "entry": out}

    # -- responses
    def _send_write(self, status: int, resource: Resource) -> None:
        headers = {
            "Location": self._location(resource),
            "ETag": weak_etag(resource),
            "Last-Modified": http_date(resource["meta"]["lastUpdated"]),
        }
        prefer = (self.headers.get("Prefer") or "").replace(" ", "")
        if "return=minimal" in prefer:
            self._send_bytes(status, None, b"", headers)
        elif "return=OperationOutcome" in prefer:
            self._send_resource(
                status,
                operation_outcome(
                    "informational", f"{resource['resourceType']}/{resource['id']} stored", "information"
                ),
                headers,
            )
        else:
            self._send_resource(status, apply_output_faults(resource, self.app.faults), headers)

    def _send_resource(self, status: int, resource: Resource, headers: dict[str, str] | None = None) -> None:
        if self.response_format == "xml":
            body = resource_to_xml(resource, pretty=self.pretty, validator=get_validator())
            ctype = f"{FHIR_XML};charset=utf-8"
        else:
            body = json.dumps(resource, ensure_ascii=False, indent=2 if self.pretty else None).encode("utf-8")
            ctype = f"{FHIR_JSON};charset=utf-8"
        self._send_bytes(status, ctype, body, headers)

    def _send_error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        if "errors-html" in self.app.faults:
            page = f"<html><head><title>{status} Error</title></head><body><h1>Error {status}</h1><p>{html.escape(message)}</p></body></html>"
            return self._send_bytes(status, "text/html;charset=utf-8", page.encode("utf-8"), headers)
        fmt = getattr(self, "response_format", "json")
        self.response_format = fmt
        self._send_resource(status, operation_outcome(code, message), headers)

    def _send_bytes(self, status: int, ctype: str | None, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        ctype = getattr(self, "override_content_type", None) or ctype  # hostile wrong-media-type
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# ----------------------------------------------------------------------------------------------- transaction


class TransactionProcessor:
    """A transaction Bundle, all or nothing: ITI-65 provide document bundle included.

    Entries get their ids first (POST: new UUID; PUT: the URL's id), every `urn:uuid:` reference and
    attachment URL in the Bundle is rewritten to the assigned `Type/id`, the PDSm checks run (a SubmissionSet,
    each DocumentReference's patient known, attachment size/hash equal to the Binary sent), and only then is
    anything stored.
    """

    def __init__(self, app: ReferenceFhirServer, entries: list[dict]) -> None:
        self.app = app
        self.entries = entries

    def run(self) -> Resource:
        plan = [self._plan(index, entry) for index, entry in enumerate(self.entries)]
        mapping = {p["full_url"]: f"{p['type']}/{p['id']}" for p in plan if p.get("full_url") and p.get("id")}
        for p in plan:
            if p.get("resource") is not None:
                p["resource"] = _rewrite_references(p["resource"], mapping)
        self._check_provide_document_bundle(plan)
        response_entries = []
        with self.app.store._lock:
            for p in plan:
                response_entries.append(self._apply(p))
        faulty = "transaction-response-invalid" in self.app.faults
        if faulty:
            for entry in response_entries:
                entry["response"].pop("location", None)
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": now_instant()},
            "type": "batch-response" if faulty else "transaction-response",
            "entry": response_entries,
        }

    def _plan(self, index: int, entry: dict) -> dict:
        request = entry.get("request")
        if not isinstance(request, dict) or not request.get("method") or not request.get("url"):
            raise HttpError(
                400, "required", f"Bundle.entry[{index}].request (method and url) is required in a transaction"
            )
        method = str(request["method"]).upper()
        url = str(request["url"])
        parts = [s for s in urllib.parse.urlsplit(url).path.split("/") if s]
        if not parts or parts[0] not in SUPPORTED_TYPES:
            raise HttpError(
                400, "not-supported", f"Bundle.entry[{index}].request.url {url!r} names no supported resource type"
            )
        rtype = parts[0]
        resource = entry.get("resource")
        plan: dict[str, Any] = {
            "index": index,
            "method": method,
            "type": rtype,
            "url": url,
            "full_url": entry.get("fullUrl"),
            "request": request,
        }
        if method in ("POST", "PUT"):
            if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
                raise HttpError(400, "invalid", f"Bundle.entry[{index}].resource must be a {rtype}")
            resource = copy.deepcopy(resource)
            if method == "POST":
                resource["id"] = str(uuid.uuid4())
                if request.get("ifNoneExist"):
                    existing, _ = self.app.store.search(rtype, urllib.parse.parse_qsl(str(request["ifNoneExist"])))
                    if existing:
                        plan["existing"] = existing[0]
                        resource["id"] = existing[0]["id"]
            else:
                if len(parts) != 2:
                    raise HttpError(400, "invalid", f"Bundle.entry[{index}]: PUT needs Type/id, got {url!r}")
                resource["id"] = parts[1]
            plan["id"] = resource["id"]
            plan["resource"] = resource
        elif method in ("GET", "DELETE"):
            plan["id"] = parts[1] if len(parts) > 1 else None
        else:
            raise HttpError(400, "not-supported", f"Bundle.entry[{index}].request.method {method} is not supported")
        return plan

    def _check_provide_document_bundle(self, plan: list[dict]) -> None:
        resources = [p["resource"] for p in plan if p.get("resource") is not None]
        lists = [r for r in resources if r["resourceType"] == "List" and _is_submission_set(r)]
        docs = [r for r in resources if r["resourceType"] == "DocumentReference"]
        if not docs and not lists:
            for r in resources:
                _validate(r)
            return
        if len(lists) != 1:
            raise HttpError(
                422,
                "business-rule",
                f"an ITI-65 provide document bundle carries exactly one SubmissionSet List, found {len(lists)}",
            )
        in_bundle = {f"{p['type']}/{p['id']}": p.get("resource") for p in plan if p.get("id")}
        for r in resources:
            _validate(r)
        for doc in docs:
            subject = str((doc.get("subject") or {}).get("reference", ""))
            if not subject.startswith("Patient/") or not (
                subject in in_bundle or self.app.store.exists("Patient", subject.split("/", 1)[1])
            ):
                raise HttpError(
                    422,
                    "business-rule",
                    f"DocumentReference {doc['id']}: subject {subject or '(none)'} is not a patient known to this server",
                )
            for content in doc.get("content") or []:
                attachment = content.get("attachment") or {}
                target = attachment.get("url", "")
                binary = in_bundle.get(target) if isinstance(target, str) else None
                if binary is None or binary.get("resourceType") != "Binary":
                    continue
                data = base64.b64decode(binary.get("data", "") or "")
                if "size" in attachment and attachment["size"] != len(data):
                    raise HttpError(
                        422,
                        "business-rule",
                        f"DocumentReference {doc['id']}: attachment.size {attachment['size']} is not the size of {target} ({len(data)})",
                    )
                if "hash" in attachment and attachment["hash"] != sha1_base64(data):
                    raise HttpError(
                        422,
                        "business-rule",
                        f"DocumentReference {doc['id']}: attachment.hash is not the SHA-1 of {target}",
                    )
        for entry in lists[0].get("entry") or []:
            ref = str((entry.get("item") or {}).get("reference", ""))
            if ref and ref not in in_bundle and not _exists(self.app.store, ref):
                raise HttpError(
                    422, "business-rule", f"SubmissionSet entry {ref} is neither in the bundle nor on the server"
                )

    def _apply(self, p: dict) -> dict:
        store = self.app.store
        method = p["method"]
        if method == "GET":
            if not p["id"]:
                raise HttpError(400, "not-supported", "searches inside a transaction are not supported")
            resource = store.read(p["type"], p["id"])
            return {
                "resource": apply_output_faults(resource, self.app.faults),
                "response": {"status": "200 OK", "etag": weak_etag(resource)},
            }
        if method == "DELETE":
            store.delete(p["type"], p["id"])
            return {"response": {"status": "204 No Content"}}
        if p.get("existing"):
            existing = p["existing"]
            return {
                "response": {
                    "status": "200 OK",
                    "location": f"{p['type']}/{existing['id']}/_history/{existing['meta']['versionId']}",
                    "etag": weak_etag(existing),
                }
            }
        if_match = p["request"].get("ifMatch")
        existed = store.exists(p["type"], p["id"])
        stored = store.put(p["resource"], if_match=str(if_match).removeprefix("W/").strip('"') if if_match else None)
        created = method == "POST" or not existed
        return {
            "fullUrl": f"{self.app.base_url}/{stored['resourceType']}/{stored['id']}",
            "response": {
                "status": "201 Created" if created else "200 OK",
                "location": f"{stored['resourceType']}/{stored['id']}/_history/{stored['meta']['versionId']}",
                "etag": weak_etag(stored),
                "lastModified": stored["meta"]["lastUpdated"],
            },
        }


def _validate(resource: Resource) -> None:
    rtype = resource["resourceType"]
    if "meta" in resource and not isinstance(resource["meta"], dict):
        raise HttpError(400, "structure", f"{rtype}.meta must be a JSON object")
    if rtype == "Binary" and not resource.get("contentType"):
        raise HttpError(422, "required", "Binary.contentType is required")
    if rtype == "DocumentReference":
        if not resource.get("content"):
            raise HttpError(422, "required", "DocumentReference.content is required (1..*)")
        if resource.get("status") not in ("current", "superseded", "entered-in-error"):
            raise HttpError(422, "required", "DocumentReference.status must be current, superseded or entered-in-error")


def _is_submission_set(resource: Resource) -> bool:
    codes = [c.get("code") for c in (resource.get("code") or {}).get("coding", []) if isinstance(c, dict)]
    profiles = (resource.get("meta") or {}).get("profile", [])
    return "submissionset" in codes or any("submissionset" in str(p).lower() for p in profiles)


def _exists(store: FhirStore, ref: str) -> bool:
    parts = ref.split("/")
    return len(parts) >= 2 and store.exists(parts[-2], parts[-1])


def _rewrite_references(value: Any, mapping: dict[str, str]) -> Any:
    """Replace every string equal to a Bundle fullUrl (references, attachment URLs) by the assigned Type/id."""
    if isinstance(value, dict):
        return {k: _rewrite_references(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite_references(v, mapping) for v in value]
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    return value
