"""Random (seeded, bounded) bodies posted to the reference server: a 4xx OperationOutcome, never a 5xx."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from .helpers import http

KEYS = [
    "id",
    "meta",
    "reference",
    "identifier",
    "resource",
    "request",
    "fullUrl",
    "entry",
    "type",
    "subject",
    "content",
    "data",
    "url",
    "method",
    "status",
    "attachment",
    "hash",
    "size",
    "item",
]
TYPES = ["Patient", "DocumentReference", "List", "Binary"]


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randint(0, 7 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.choice([True, False])
    if kind == 2:
        return rnd.choice([3, -1, 0, -1.5])
    if kind in (3, 4):
        return rnd.choice(["x", "", "Patient/pat-trois", "urn:uuid:1", "current", "POST", "Patient", "/gender"])
    if kind == 5:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    return {rnd.choice(KEYS): random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}


def random_request(rnd: random.Random) -> tuple[str, str, Any, str]:
    target = rnd.choice(["", "/Patient", "/DocumentReference", "/Patient/pat-durand", "/List", "/Binary"])
    method = rnd.choice(["POST", "PUT", "PATCH"]) if target else "POST"
    body = random_value(rnd)
    if isinstance(body, dict) and rnd.random() < 0.8:
        body["resourceType"] = rnd.choice(["Bundle", *TYPES])
        if body["resourceType"] == "Bundle":
            body["type"] = rnd.choice(["transaction", "batch"])
            body["entry"] = [
                {
                    "fullUrl": random_value(rnd, 2),
                    "resource": {"resourceType": rnd.choice(TYPES)}
                    | (v if isinstance(v := random_value(rnd, 2), dict) else {}),
                    "request": {
                        "method": rnd.choice(["POST", "PUT", "GET", "DELETE", 3]),
                        "url": rnd.choice(["Patient", "Patient/x", "List", "Binary/1", 5, ""]),
                    },
                }
                for _ in range(rnd.randint(0, 3))
            ]
    if method == "PATCH":
        ops = ["add", "replace", "remove", "test", "move"]
        paths = ["/gender", "/name/0", "/x/y", "", "/id", "/name/-", "/identifier/9"]
        body = [{"op": rnd.choice(ops), "path": rnd.choice(paths), "value": random_value(rnd, 2)} for _ in range(2)]
    ctype = "application/json-patch+json" if method == "PATCH" else "application/fhir+json"
    return method, target, body, ctype


@pytest.mark.parametrize("seed", [1, 4])
def test_random_bodies_never_cause_a_server_error(base: str, seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(250):
        method, target, body, ctype = random_request(rnd)
        reply = http(base + target, method, json.dumps(body).encode(), headers={"Content-Type": ctype})
        assert reply.status < 500, (method, target, body, reply.body[:300])
        if reply.status >= 400:
            assert reply.json["resourceType"] == "OperationOutcome"


def test_garbage_bytes_are_a_400_operation_outcome(base: str) -> None:
    for body in (b"\xff\xfe\x00garbage", b"{", b"[]", b'"just a string"', b"<Patient xmlns='urn:other'/>"):
        reply = http(f"{base}/Patient", "POST", body)
        assert reply.status == 400, body
        assert reply.json["resourceType"] == "OperationOutcome"
