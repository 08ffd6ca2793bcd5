"""A running validation service (`conformance serve --validation`) as a validator: send an input, read the
outcomes back. Used by `conformance validate --server URL` and by a campaign's `[run] validation_server`."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlencode, urlsplit

from conformance.findings import Finding, Outcome
from conformance.i18n import BilingualError
from conformance.validation.options import ValidateOptions

SERVER_ENV = "HOPEN_VALIDATION_SERVER"
MAX_RESPONSE_BYTES = 256 * 1024 * 1024


class ServiceUnavailable(BilingualError):
    """The service could not be reached or did not answer usefully (a harness problem, never a verdict)."""


def query_of(options: ValidateOptions, name: str) -> str:
    pairs: list[tuple[str, str]] = [("format", "outcomes"), ("lang", options.lang), ("name", name)]
    pairs += [("profile", p) for p in options.profiles]
    pairs += [("ig", i) for i in options.igs]
    for key in ("hl7v2_profile", "schematron", "cda_pack"):
        value = getattr(options, key)
        if value:
            pairs.append((key, str(value)))
    return urlencode(pairs)


def outcome_from_dict(data: dict) -> Outcome:
    return Outcome(
        subject=str(data.get("subject", "")),
        kind=str(data.get("kind", "")),
        findings=[Finding.from_dict(f) for f in data.get("findings", [])],
        details=dict(data.get("details") or {}),
    )


def validate_remote(
    url: str, data: bytes, *, name: str, options: ValidateOptions, timeout: float = 600.0
) -> list[Outcome]:
    """The service's outcomes for one input; ServiceUnavailable when it cannot give them."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceUnavailable(f"adresse de service invalide : {url}", f"invalid service address: {url}")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    path = f"{parts.path.rstrip('/')}/validate?{query_of(options, name)}"
    try:
        connection.request("POST", path, body=data, headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE_BYTES + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise ServiceUnavailable(
            f"service de validation injoignable ({url}) : {exc}", f"validation service unreachable ({url}): {exc}"
        ) from exc
    finally:
        connection.close()
    if response.status != 200 or len(body) > MAX_RESPONSE_BYTES:
        detail = body[:300].decode("utf-8", "replace")
        raise ServiceUnavailable(
            f"le service de validation a répondu {response.status} : {detail}",
            f"the validation service answered {response.status}: {detail}",
        )
    try:
        return [outcome_from_dict(o) for o in json.loads(body)["outcomes"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceUnavailable(
            f"réponse illisible du service de validation : {exc}", f"unreadable validation service answer: {exc}"
        ) from exc
