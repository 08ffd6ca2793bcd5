"""Type-level search: the store's matching, `_sort`, `_summary=count`, `_count` / `_offset` paging and its links."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from conformance.reference.fhir.app import FhirApp
from conformance.reference.fhir.exchange import HttpError, Request, Response
from conformance.reference.fhir_store import COMMON_PARAMS, SEARCH_PARAMS, Resource, now_instant, values_at

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def search_get(app: FhirApp, request: Request, rtype: str) -> Response:
    return search(app, request, rtype, request.query)


def search_post(app: FhirApp, request: Request, rtype: str) -> Response:
    """POST [base]/Type/_search: the form body's parameters after the URL's."""
    form = urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return search(app, request, rtype, request.query + form)


def search(app: FhirApp, request: Request, rtype: str, query: list[tuple[str, str]]) -> Response:
    if rtype == "Binary":
        raise HttpError(405, "not-supported", "Binary cannot be searched: read it by id (ITI-68)")
    strict = app.hooks.strict("handling=strict" in request.header("Prefer").replace(" ", ""))
    results, used = app.store.search(rtype, app.hooks.search_query(rtype, query), strict=strict)
    results = sort_results(rtype, results, dict(query).get("_sort", ""))
    args = dict(query)
    if args.get("_summary") == "count":
        return Response(200, _searchset(len(results)))
    try:
        count = int(args.get("_count", DEFAULT_PAGE_SIZE))
        offset = int(args.get("_offset", 0))
    except ValueError as exc:
        raise HttpError(400, "invalid", f"_count and _offset must be integers: {exc}") from exc
    if count < 0 or offset < 0:
        raise HttpError(400, "invalid", "_count and _offset must not be negative")
    count = min(count, MAX_PAGE_SIZE)
    count, offset = app.hooks.page(count, offset, len(results))
    page = results[offset : offset + count]
    bundle = _searchset(len(results))
    bundle["link"] = _paging_links(app, rtype, used, args, count, offset, len(results))
    entries = [
        {
            "fullUrl": f"{app.base_url}/{rtype}/{r['id']}",
            "resource": app.hooks.outgoing(r),
            "search": {"mode": "match"},
        }
        for r in page
    ]
    if entries:
        bundle["entry"] = entries
    return Response(200, bundle)


def _searchset(total: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": now_instant()},
        "type": "searchset",
        "total": total,
    }


def _paging_links(
    app: FhirApp,
    rtype: str,
    used: list[tuple[str, str]],
    args: dict[str, str],
    count: int,
    offset: int,
    total: int,
) -> list[dict]:
    keep = [(k, v) for k, v in used]
    keep += [(name, args[name]) for name in ("_sort", "_format") if name in args]

    def url(at: int) -> str:
        return f"{app.base_url}/{rtype}?" + urllib.parse.urlencode(
            [*keep, ("_count", str(count)), ("_offset", str(at))]
        )

    links = [{"relation": "self", "url": url(offset)}, {"relation": "first", "url": url(0)}]
    if offset > 0:
        links.append({"relation": "previous", "url": url(max(offset - count, 0))})
    if count and offset + count < total:
        links.append({"relation": "next", "url": url(offset + count)})
    last = ((total - 1) // count) * count if count and total else 0
    links.append({"relation": "last", "url": url(last)})
    return app.hooks.links(links, app.base_url)


def sort_results(rtype: str, results: list[Resource], spec: str) -> list[Resource]:
    """`_sort=a,-b`: by the first value at each parameter's path (missing values last); unknown keys ignored."""
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
