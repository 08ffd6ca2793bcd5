"""HTTP helper for the reference tests (stdlib urllib: follows redirects, no retries)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def http(
    url: str,
    method: str = "GET",
    body: bytes | dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    hdrs = {"Accept": "application/fhir+json"} | (headers or {})
    if data is not None and "Content-Type" not in hdrs:
        hdrs["Content-Type"] = "application/fhir+json"
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
