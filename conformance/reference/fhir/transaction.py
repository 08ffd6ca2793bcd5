"""POST [base] with a transaction Bundle (all or nothing, ITI-65 provide document bundle included) or a batch."""

from __future__ import annotations

import base64
import copy
import urllib.parse
import uuid
from typing import Any

from conformance.reference.fhir.app import FhirApp
from conformance.reference.fhir.exchange import HttpError, Request, Response, operation_outcome, weak_etag
from conformance.reference.fhir.negotiation import parse_resource
from conformance.reference.fhir_store import SUPPORTED_TYPES, FhirStore, Resource, StoreError, now_instant
from conformance.reference.test_data import sha1_base64


def post_bundle(app: FhirApp, request: Request) -> Response:
    bundle = parse_resource(request.headers, request.body)
    if bundle.get("resourceType") != "Bundle":
        raise HttpError(400, "invalid", f"POST on the base URL takes a Bundle, not a {bundle.get('resourceType')}")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise HttpError(400, "invalid", f"Bundle.type must be transaction or batch, not {kind!r}")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise HttpError(400, "structure", "Bundle.entry must be a list of entries")
    if kind == "transaction":
        return Response(200, TransactionProcessor(app, entries).run())
    return Response(200, _batch(app, entries))


def _batch(app: FhirApp, entries: list[dict]) -> Resource:
    out = []
    for entry in entries:
        try:
            out.append(TransactionProcessor(app, [entry]).run()["entry"][0])
        except (HttpError, StoreError) as exc:
            status = getattr(exc, "status", 400)
            out.append({"response": {"status": str(status), "outcome": operation_outcome(exc.code, exc.message)}})
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "batch-response", "entry": out}


class TransactionProcessor:
    """A transaction Bundle, all or nothing: ITI-65 provide document bundle included.

    Entries get their ids first (POST: new UUID; PUT: the URL's id), every `urn:uuid:` reference and
    attachment URL in the Bundle is rewritten to the assigned `Type/id`, the PDSm checks run (a SubmissionSet,
    each DocumentReference's patient known, attachment size/hash equal to the Binary sent), and only then is
    anything stored.
    """

    def __init__(self, app: FhirApp, entries: list[dict]) -> None:
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
        bundle = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": now_instant()},
            "type": "transaction-response",
            "entry": response_entries,
        }
        return self.app.hooks.transaction_response(bundle)

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
                check_structure(r)
            return
        if len(lists) != 1:
            raise HttpError(
                422,
                "business-rule",
                f"an ITI-65 provide document bundle carries exactly one SubmissionSet List, found {len(lists)}",
            )
        in_bundle = {f"{p['type']}/{p['id']}": p.get("resource") for p in plan if p.get("id")}
        for r in resources:
            check_structure(r)
        for doc in docs:
            self._check_document(doc, in_bundle)
        for entry in lists[0].get("entry") or []:
            ref = str((entry.get("item") or {}).get("reference", ""))
            if ref and ref not in in_bundle and not _exists(self.app.store, ref):
                raise HttpError(
                    422, "business-rule", f"SubmissionSet entry {ref} is neither in the bundle nor on the server"
                )

    def _check_document(self, doc: Resource, in_bundle: dict[str, Resource | None]) -> None:
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

    def _apply(self, p: dict) -> dict:
        store = self.app.store
        method = p["method"]
        if method == "GET":
            if not p["id"]:
                raise HttpError(400, "not-supported", "searches inside a transaction are not supported")
            resource = store.read(p["type"], p["id"])
            return {
                "resource": self.app.hooks.outgoing(resource),
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


def check_structure(resource: Resource) -> None:
    """What the server refuses to store whatever the profile: a non-object meta, a Binary without contentType,
    a DocumentReference without content or with an unknown status."""
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
