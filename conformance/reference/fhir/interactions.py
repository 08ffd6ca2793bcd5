"""The instance and type interactions: read (with Binary's native bytes and conditional read), vread, history,
create (conditional), update (If-Match), JSON Patch, delete. Each takes the routed request, returns a Response."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import urllib.parse
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from conformance.reference.fhir.app import FhirApp
from conformance.reference.fhir.exchange import (
    HttpError,
    Request,
    Response,
    http_date,
    operation_outcome,
    weak_etag,
)
from conformance.reference.fhir.negotiation import JSON_PATCH, content_type, parse_resource, wants_fhir
from conformance.reference.fhir.transaction import check_structure
from conformance.reference.fhir_store import SUPPORTED_TYPES, Resource, now_instant

# -- reads


def read(app: FhirApp, request: Request, rtype: str, rid: str) -> Response:
    resource = app.store.read(rtype, rid)
    if rtype == "Binary" and not wants_fhir(request.arg("_format"), request.headers):
        return _native_binary(resource)
    if app.hooks.etags() and _not_modified(request, resource):
        return Response(304, headers={"ETag": weak_etag(resource)}, body=b"")
    return _read_response(app, resource, read=True)


def vread(app: FhirApp, request: Request, rtype: str, rid: str, vid: str) -> Response:
    if not app.hooks.vreads():
        raise HttpError(404, "not-supported", f"{rtype}/{rid}/_history/{vid}: version reads are not served")
    return _read_response(app, app.store.vread(rtype, rid, vid))


def _not_modified(request: Request, resource: Resource) -> bool:
    etag = weak_etag(resource)
    wanted = request.header("If-None-Match")
    if wanted and wanted.strip() in (etag, etag[2:], "*"):
        return True
    since = request.header("If-Modified-Since")
    if since:
        with contextlib.suppress(TypeError, ValueError):
            last = datetime.fromisoformat(resource["meta"]["lastUpdated"].replace("Z", "+00:00")).replace(microsecond=0)
            return last <= parsedate_to_datetime(since)
    return False


def _native_binary(resource: Resource) -> Response:
    data = base64.b64decode(resource.get("data", ""))
    headers = {"ETag": weak_etag(resource), "Last-Modified": http_date(resource["meta"]["lastUpdated"])}
    return Response(
        200, headers=headers, body=data, content_type=resource.get("contentType", "application/octet-stream")
    )


def _read_response(app: FhirApp, resource: Resource, *, read: bool = False) -> Response:
    headers = {"Last-Modified": http_date(resource["meta"]["lastUpdated"])}
    if app.hooks.etags():
        headers["ETag"] = weak_etag(resource)
    served = app.hooks.outgoing(resource)
    return Response(200, app.hooks.read(served) if read else served, headers)


def history(app: FhirApp, request: Request, rtype: str, rid: str) -> Response:
    versions = app.store.history(rtype, rid)
    entries: list[dict[str, Any]] = []
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
                "fullUrl": f"{app.base_url}/{rtype}/{rid}",
                "resource": app.hooks.outgoing(resource),
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
        "link": [{"relation": "self", "url": f"{app.base_url}/{rtype}/{rid}/_history"}],
        "entry": entries,
    }
    return Response(200, bundle)


# -- writes


def create(app: FhirApp, request: Request, rtype: str) -> Response:
    resource = _body_of_type(request, rtype)
    condition = request.header("If-None-Exist")
    if condition:
        matches, _ = app.store.search(rtype, urllib.parse.parse_qsl(condition))
        if len(matches) == 1:
            return _write_response(app, request, 200, matches[0])
        if len(matches) > 1:
            raise HttpError(412, "duplicate", f"If-None-Exist '{condition}' matches {len(matches)} resources")
    _validate(resource)
    return _write_response(app, request, 201, app.store.create(resource))


def update(app: FhirApp, request: Request, rtype: str, rid: str) -> Response:
    resource = _body_of_type(request, rtype)
    if resource.get("id") != rid:
        raise HttpError(400, "invalid", f"the body's id ({resource.get('id')}) is not the id in the URL ({rid})")
    _validate(resource)
    existed = app.store.exists(rtype, rid)
    stored = app.store.put(resource, if_match=_if_match(request))
    return _write_response(app, request, 200 if existed else 201, stored)


def patch(app: FhirApp, request: Request, rtype: str, rid: str) -> Response:
    if content_type(request.headers) != JSON_PATCH:
        raise HttpError(415, "not-supported", f"PATCH needs Content-Type {JSON_PATCH}")
    try:
        operations = json.loads(request.body)
    except ValueError as exc:
        raise HttpError(400, "structure", f"the JSON Patch is not valid JSON: {exc}") from exc
    patched = apply_json_patch(app.store.read(rtype, rid), operations)
    patched.pop("meta", None)
    _validate(patched)
    return _write_response(app, request, 200, app.store.put(patched, if_match=_if_match(request)))


def delete(app: FhirApp, request: Request, rtype: str, rid: str) -> Response:
    if not app.store.delete(rtype, rid):
        app.store.read(rtype, rid)  # raises 404 / 410 with the right message
    return Response(200, operation_outcome("informational", f"{rtype}/{rid} deleted", "information"))


def _body_of_type(request: Request, rtype: str) -> Resource:
    resource = parse_resource(request.headers, request.body)
    if resource["resourceType"] != rtype:
        raise HttpError(400, "invalid", f"the body is a {resource['resourceType']}, the URL names {rtype}")
    return resource


def _if_match(request: Request) -> str | None:
    value = request.header("If-Match")
    if not value:
        return None
    return value.strip().removeprefix("W/").strip('"')


def _validate(resource: Resource) -> None:
    """The checks a careful server makes before storing (structure, not profiles)."""
    rtype = resource["resourceType"]
    if rtype not in SUPPORTED_TYPES:
        raise HttpError(422, "not-supported", f"resource type {rtype} is not supported by this server")
    rid = resource.get("id")
    if rid is not None and (
        not isinstance(rid, str) or not rid or len(rid) > 64 or not all(c.isalnum() or c in "-." for c in rid)
    ):
        raise HttpError(400, "invalid", f"invalid resource id {rid!r}")
    check_structure(resource)


def _write_response(app: FhirApp, request: Request, status: int, resource: Resource) -> Response:
    """Location, ETag and Last-Modified, and the body `Prefer: return=` asks for."""
    headers = {
        "Location": f"{app.base_url}/{resource['resourceType']}/{resource['id']}/_history/{resource['meta']['versionId']}",
        "ETag": weak_etag(resource),
        "Last-Modified": http_date(resource["meta"]["lastUpdated"]),
    }
    prefer = request.header("Prefer").replace(" ", "")
    if "return=minimal" in prefer:
        return Response(status, headers=headers, body=b"")
    if "return=OperationOutcome" in prefer:
        stored = f"{resource['resourceType']}/{resource['id']} stored"
        return Response(status, operation_outcome("informational", stored, "information"), headers)
    return Response(status, app.hooks.outgoing(resource), headers)


# -- JSON Patch


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
        try:
            _apply_operation(doc, parts, op)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise HttpError(422, "processing", f"JSON Patch path {op['path']} cannot be applied: {exc}") from exc
    if doc.get("resourceType") != resource.get("resourceType") or doc.get("id") != resource.get("id"):
        raise HttpError(422, "processing", "JSON Patch may not change resourceType or id")
    return doc


def _apply_operation(doc: Resource, parts: list[str], op: dict) -> None:
    parent: Any = doc
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
