"""The route table: each path pattern under the base with the methods it serves and the room that answers.

Patterns are segment lists; `{type}` matches a supported resource type, `{id}` and `{vid}` any segment. The first
route matching both path and method answers; a path that some route matches with another method gets 405 with
that route's Allow (404 for the routes that declare none); any other path gets 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.reference.fhir import interactions, search, transaction
from conformance.reference.fhir.app import FhirApp
from conformance.reference.fhir.capability import capability_statement
from conformance.reference.fhir.exchange import HttpError, Request, Response
from conformance.reference.fhir_store import SUPPORTED_TYPES

Handler = Callable[..., Response]  # (app, request, **path parameters)
READ = ("GET", "HEAD")


def metadata(app: FhirApp, request: Request) -> Response:
    return Response(200, app.hooks.capability(capability_statement(app.base_url)))


def system_search(app: FhirApp, request: Request) -> Response:
    raise HttpError(400, "not-supported", "system-level search is not supported: search a resource type")


@dataclass(frozen=True)
class Route:
    pattern: tuple[str, ...]
    methods: tuple[str, ...]
    handler: Handler
    allow: str | None = None  # the Allow header of a 405 on this path (None: another method is a 404)
    refusal: str | None = None  # the 405 diagnostics, `{method}` and `{path}` filled in

    def bind(self, segments: list[str]) -> dict[str, str] | None:
        """The path parameters when `segments` match the pattern, else None."""
        if len(segments) != len(self.pattern):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self.pattern, segments, strict=True):
            if part == "{type}":
                if segment not in SUPPORTED_TYPES:
                    return None
                params["rtype"] = segment
            elif part == "{id}":
                params["rid"] = segment
            elif part == "{vid}":
                params["vid"] = segment
            elif part != segment:
                return None
        return params


ROUTES: tuple[Route, ...] = (
    Route((), ("POST",), transaction.post_bundle, "POST", "{method} is not allowed on the base URL"),
    Route((), READ, system_search),
    Route(("metadata",), READ, metadata, "GET", "metadata is read-only"),
    Route(("{type}",), READ, search.search_get, "GET, POST"),
    Route(("{type}",), ("POST",), interactions.create, "GET, POST"),
    Route(("{type}", "_search"), ("POST",), search.search_post),
    Route(("{type}", "{id}"), READ, interactions.read, "GET, PUT, DELETE, PATCH"),
    Route(("{type}", "{id}"), ("PUT",), interactions.update, "GET, PUT, DELETE, PATCH"),
    Route(("{type}", "{id}"), ("DELETE",), interactions.delete, "GET, PUT, DELETE, PATCH"),
    Route(("{type}", "{id}"), ("PATCH",), interactions.patch, "GET, PUT, DELETE, PATCH"),
    Route(("{type}", "{id}", "_history"), READ, interactions.history),
    Route(("{type}", "{id}", "_history", "{vid}"), READ, interactions.vread),
)


def route(app: FhirApp, request: Request) -> Response:
    segments = request.segments
    refused: Route | None = None
    for candidate in ROUTES:
        params = candidate.bind(segments)
        if params is None:
            continue
        if request.method in candidate.methods:
            return candidate.handler(app, request, **params)
        if refused is None and candidate.allow is not None:
            refused = candidate
    if refused is not None:
        path = "/".join(segments)
        text = (refused.refusal or "{method} is not allowed on {path}").format(method=request.method, path=path)
        raise HttpError(405, "not-supported", text, {"Allow": refused.allow or ""})
    if segments and segments != ["metadata"] and segments[0] not in SUPPORTED_TYPES:
        raise HttpError(404, "not-supported", f"resource type {segments[0]} is not supported by this server")
    raise HttpError(404, "not-found", f"unknown path {'/'.join(segments)}")
