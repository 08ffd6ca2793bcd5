"""What the suites use of a FHIR server (interactions, search parameters), and what its CapabilityStatement
declares, so that a test can require that everything used is declared.

The suites' `fhir_client` is wrapped in a `UsageRecorder`: every read, vread, search, transaction and relative
GET the tests make is noted with an example request, except during tests marked `fhir_probe` (those send
deliberately invalid requests, e.g. an unknown search parameter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SYSTEM = "*system*"  # the key of system-level interactions (transaction, batch, history-system, search-system)

# result and format parameters: they are not search parameters a CapabilityStatement lists
NOT_SEARCH_PARAMETERS = frozenset(
    {
        "_format",
        "_count",
        "_sort",
        "_include",
        "_revinclude",
        "_summary",
        "_elements",
        "_total",
        "_contained",
        "_containedType",
        "_pretty",
    }
)


@dataclass(slots=True)
class FhirUsage:
    """(resource type, interaction code) and (resource type, search parameter) -> an example request."""

    interactions: dict[tuple[str, str], str] = field(default_factory=dict)
    search_parameters: dict[tuple[str, str], str] = field(default_factory=dict)
    counting: bool = True

    def interaction(self, resource_type: str, code: str, example: str) -> None:
        if self.counting:
            self.interactions.setdefault((resource_type, code), example)

    def search(self, resource_type: str, names: list[str], example: str) -> None:
        if not self.counting:
            return
        self.interaction(resource_type, "search-type", example)
        for name in names:
            base = name.split(":")[0].split(".")[0]
            if base and base not in NOT_SEARCH_PARAMETERS:
                self.search_parameters.setdefault((resource_type, base), example)

    def to_json(self) -> str:
        return json.dumps(
            {
                "interactions": [
                    {"type": t, "code": c, "example": e} for (t, c), e in sorted(self.interactions.items())
                ],
                "search_parameters": [
                    {"type": t, "name": n, "example": e} for (t, n), e in sorted(self.search_parameters.items())
                ],
            },
            ensure_ascii=False,
            indent=1,
        )


def _param_names(params: object) -> list[str]:
    if isinstance(params, Mapping):
        return [str(k) for k in params]
    if isinstance(params, list | tuple):
        return [str(item[0]) for item in params if isinstance(item, tuple | list) and item]
    return []


def _example(resource_type: str, params: object) -> str:
    names = _param_names(params)
    return f"GET {resource_type}?" + "&".join(f"{n}=…" for n in names) if names else f"GET {resource_type}"


class UsageRecorder:
    """A FHIR client that notes what it is asked; everything else goes to the wrapped client unchanged."""

    def __init__(self, client: Any, usage: FhirUsage) -> None:
        self._client = client
        self.usage = usage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def read(self, resource_type: str, resource_id: str, **kwargs: Any) -> Any:
        self.usage.interaction(resource_type, "read", f"GET {resource_type}/[id]")
        return self._client.read(resource_type, resource_id, **kwargs)

    def vread(self, resource_type: str, resource_id: str, version: str, **kwargs: Any) -> Any:
        self.usage.interaction(resource_type, "vread", f"GET {resource_type}/[id]/_history/[vid]")
        return self._client.vread(resource_type, resource_id, version, **kwargs)

    def search(self, resource_type: str, params: Any = None, **kwargs: Any) -> Any:
        self.usage.search(resource_type, _param_names(params), _example(resource_type, params))
        return self._client.search(resource_type, params, **kwargs)

    def transaction(self, bundle: dict[str, Any], **kwargs: Any) -> Any:
        self.usage.interaction(SYSTEM, "transaction", "POST [base] (Bundle transaction)")
        return self._client.transaction(bundle, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        self._note_relative_get(path, kwargs.get("params"))
        return self._client.get(path, **kwargs)

    def _note_relative_get(self, path: str, params: Any) -> None:
        """`Type/id` is a read, `Type?x=` a search; absolute URLs (next links, attachments) are not noted."""
        parts = urlsplit(path)
        if parts.scheme or parts.netloc or path.startswith("/"):
            return
        segments = [s for s in parts.path.split("/") if s]
        if not segments or not segments[0][:1].isupper():
            return
        rtype = segments[0]
        if len(segments) == 1:
            names = [k for k, _ in parse_qsl(parts.query)] + _param_names(params)
            self.usage.search(rtype, names, _example(rtype, names))
        elif len(segments) == 2:
            self.usage.interaction(rtype, "read", f"GET {rtype}/[id]")
        elif len(segments) == 4 and segments[2] == "_history":
            self.usage.interaction(rtype, "vread", f"GET {rtype}/[id]/_history/[vid]")


@dataclass(frozen=True, slots=True)
class DeclaredCapabilities:
    """The server-mode interactions and search parameters of a CapabilityStatement."""

    interactions: dict[str, set[str]]
    search_parameters: dict[str, set[str]]

    def interaction(self, resource_type: str, code: str) -> bool:
        return code in self.interactions.get(resource_type, set())

    def search_parameter(self, resource_type: str, name: str) -> bool:
        return name in self.search_parameters.get(resource_type, set()) or name in self.search_parameters.get(
            SYSTEM, set()
        )


def _codes(items: object, key: str) -> set[str]:
    if not isinstance(items, list):
        return set()
    return {str(i.get(key)) for i in items if isinstance(i, dict) and i.get(key)}


def declared_capabilities(statement: Mapping[str, Any]) -> DeclaredCapabilities:
    interactions: dict[str, set[str]] = {}
    parameters: dict[str, set[str]] = {}
    for rest in statement.get("rest") or []:
        if not isinstance(rest, dict) or rest.get("mode") != "server":
            continue
        for item in rest.get("resource") or []:
            if isinstance(item, dict):
                rtype = str(item.get("type"))
                interactions.setdefault(rtype, set()).update(_codes(item.get("interaction"), "code"))
                parameters.setdefault(rtype, set()).update(_codes(item.get("searchParam"), "name"))
        interactions.setdefault(SYSTEM, set()).update(_codes(rest.get("interaction"), "code"))
        parameters.setdefault(SYSTEM, set()).update(_codes(rest.get("searchParam"), "name"))
    return DeclaredCapabilities(interactions, parameters)
