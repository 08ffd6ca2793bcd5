"""Transport security: TLS with verified certificates, mutual TLS with the configured client certificate."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from conformance.campaign.checks import expect
from conformance.campaign.fhir import expect_status

TLS = ("ANS Référentiel de sécurité / PGSSI-S", "TLS 1.2 minimum, server authentication, IGC-Santé certificates")


@pytest.mark.requirement(
    *TLS,
    text="The FHIR endpoint is served over TLS 1.2+ with a certificate the configured CA verifies; mutual TLS when a client certificate is configured",
)
@pytest.mark.capability("security.tls")
@pytest.mark.title_en("TLS 1.2+ with a verified certificate (and mutual TLS when configured)")
def test_tls(fhir_client, config, evidence, lang):
    """TLS 1.2 ou plus avec un certificat vérifié (et TLS mutuel si configuré)"""
    url = urlsplit(config.fhir.base_url)
    if url.scheme != "https":
        pytest.skip(
            "fhir.base_url en http:// : TLS non testé"
            if lang == "fr"
            else "fhir.base_url is plain http://: TLS not tested"
        )
    expect(
        config.tls.verify,
        "tls-verify-off",
        "vérification du certificat désactivée (tls.verify = false) : l'identité du serveur n'est pas prouvée",
        "certificate verification turned off (tls.verify = false): the server's identity is not proven",
    )
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
    expect(
        version in ("TLSv1.2", "TLSv1.3"),
        "tls-version",
        f"version négociée {version} (TLS 1.2 minimum)",
        f"negotiated version {version} (TLS 1.2 minimum)",
    )
    # the FHIR exchange itself, with the client certificate when one is configured
    expect_status(fhir_client.metadata(), 200)
