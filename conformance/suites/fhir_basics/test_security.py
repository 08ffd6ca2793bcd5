"""Transport security: TLS with verified certificates, mutual TLS with the configured client certificate."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from conformance.sdk import expect, require, verifies
from conformance.sdk.fhir import expect_status
from conformance.suites.fhir_basics.rules import TLS_VERIFY_OFF, TLS_VERSION


@verifies(
    "security.tls", "security.tls", title_en="TLS 1.2+ with a verified certificate (and mutual TLS when configured)"
)
def test_tls(fhir_client, config, evidence, lang):
    """TLS 1.2 ou plus avec un certificat vérifié (et TLS mutuel si configuré)"""
    url = urlsplit(config.fhir.base_url)
    if url.scheme != "https":
        pytest.skip(
            "fhir.base_url en http:// : TLS non testé"
            if lang == "fr"
            else "fhir.base_url is plain http://: TLS not tested"
        )
    require(config.tls.verify, TLS_VERIFY_OFF, "tls.verify")
    from conformance.transport.http import build_ssl_context

    context = build_ssl_context(config.tls)
    port = url.port or 443
    with (
        socket.create_connection((url.hostname, port), timeout=config.timeouts.connect) as raw,
        context.wrap_socket(raw, server_hostname=url.hostname) as tls,
    ):
        version = tls.version() or ""
        certificate = tls.getpeercert() or {}
    details = {
        "version": version,
        "subject": certificate.get("subject"),
        "issuer": certificate.get("issuer"),
        "notAfter": certificate.get("notAfter"),
        "client_certificate": bool(config.tls.client_cert),
    }
    evidence.attach(
        "tls-handshake.json", json.dumps(details, ensure_ascii=False, indent=1, default=str), "application/json"
    )
    expect(version in ("TLSv1.2", "TLSv1.3"), TLS_VERSION, "", version=version)
    # the FHIR exchange itself, with the client certificate when one is configured
    expect_status(fhir_client.metadata(), 200)
