"""Local value set expansion (include/exclude, concepts, filters) and the optional terminology server (off by default)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from conformance.validation.fhir.terminology import Terminology


class FakeContext:
    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.by_url = {r["url"]: r for r in resources}

    def value_set(self, url: str) -> dict[str, Any] | None:
        found = self.by_url.get(url)
        return found if found and found["resourceType"] == "ValueSet" else None

    def code_system(self, url: str) -> dict[str, Any] | None:
        found = self.by_url.get(url)
        return found if found and found["resourceType"] == "CodeSystem" else None


CS = {
    "resourceType": "CodeSystem",
    "url": "http://example.org/cs",
    "content": "complete",
    "concept": [
        {"code": "animal", "concept": [{"code": "dog", "concept": [{"code": "puppy"}]}, {"code": "cat"}]},
        {"code": "plant", "property": [{"code": "kind", "valueCode": "green"}]},
    ],
}


def _vs(url: str, compose: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": url, "compose": compose}


@pytest.fixture
def terminology() -> Terminology:
    system = "http://example.org/cs"
    return Terminology(
        FakeContext(
            [
                CS,
                _vs("http://example.org/vs/all", {"include": [{"system": system}]}),
                _vs(
                    "http://example.org/vs/isa",
                    {
                        "include": [
                            {"system": system, "filter": [{"property": "concept", "op": "is-a", "value": "dog"}]}
                        ]
                    },
                ),
                _vs(
                    "http://example.org/vs/desc",
                    {
                        "include": [
                            {
                                "system": system,
                                "filter": [{"property": "concept", "op": "descendent-of", "value": "animal"}],
                            }
                        ]
                    },
                ),
                _vs(
                    "http://example.org/vs/eq",
                    {"include": [{"system": system, "filter": [{"property": "kind", "op": "=", "value": "green"}]}]},
                ),
                _vs("http://example.org/vs/list", {"include": [{"system": system, "concept": [{"code": "cat"}]}]}),
                _vs(
                    "http://example.org/vs/minus",
                    {"include": [{"system": system}], "exclude": [{"system": system, "concept": [{"code": "cat"}]}]},
                ),
                _vs("http://example.org/vs/import", {"include": [{"valueSet": ["http://example.org/vs/list"]}]}),
                _vs(
                    "http://example.org/vs/national", {"include": [{"system": "https://mos.esante.gouv.fr/NOS/TRE_X"}]}
                ),
            ]
        )
    )


CASES = [
    ("all", "puppy", True),
    ("all", "fish", False),
    ("isa", "dog", True),
    ("isa", "puppy", True),
    ("isa", "cat", False),
    ("desc", "animal", False),
    ("desc", "puppy", True),
    ("eq", "plant", True),
    ("eq", "dog", False),
    ("list", "cat", True),
    ("list", "dog", False),
    ("minus", "dog", True),
    ("minus", "cat", False),
    ("import", "cat", True),
    ("import", "dog", False),
]


@pytest.mark.parametrize(("vs", "code", "expected"), CASES)
def test_expansion_membership(terminology: Terminology, vs: str, code: str, expected: bool) -> None:
    answer, _missing = terminology.check(f"http://example.org/vs/{vs}", "http://example.org/cs", code)
    assert answer is expected


def test_unavailable_code_system_and_value_set_say_what_is_missing(terminology: Terminology) -> None:
    answer, missing = terminology.check("http://example.org/vs/national", "https://mos.esante.gouv.fr/NOS/TRE_X", "01")
    assert answer is None and missing == ["https://mos.esante.gouv.fr/NOS/TRE_X"]
    answer, missing = terminology.check("http://example.org/vs/nowhere|1.0", "http://example.org/cs", "dog")
    assert answer is None and missing == ["http://example.org/vs/nowhere"]


class _Handler(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        _Handler.calls.append(query)
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "result", "valueBoolean": query.get("code") == ["MME"]}],
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tx_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/fhir"
    server.shutdown()
    server.server_close()


def test_terminology_server_is_optional_and_cached(fhir_context: Any, tx_server: str, tmp_path: Path) -> None:
    from conformance.validation.fhir import FhirValidator

    patient = {
        "resourceType": "Patient",
        "meta": {"profile": ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "name": [{"family": "DURAND", "prefix": ["XYZ"]}],
    }
    offline = FhirValidator(fhir_context).validate(patient)
    assert {f.rule for f in offline.findings} >= {"Terminology_TX_ValueSet_NotFound"}
    _Handler.calls.clear()
    validator = FhirValidator(fhir_context, terminology_server=tx_server)
    validator.terminology._server._cache_file = tmp_path / "tx-cache.json"  # type: ignore[union-attr]
    outcome = validator.validate(patient, lang="en")
    issue = [f for f in outcome.findings if f.rule == "Terminology_TX_NoValid_17"]
    assert issue and issue[0].severity.value == "warning" and issue[0].location == "Patient.name[0].prefix[0]"
    assert _Handler.calls and _Handler.calls[0]["code"] == ["XYZ"]
    calls = len(_Handler.calls)
    validator.validate(patient)
    assert len(_Handler.calls) == calls  # answered from the cache
    assert (tmp_path / "tx-cache.json").exists()
