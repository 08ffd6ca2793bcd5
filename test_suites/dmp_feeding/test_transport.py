"""Transport of the DMP-feeding requests: mutual TLS, SOAP 1.2, WS-Addressing, MTOM/XOP."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect

from .conftest import expect_category, skip_without

DMP = "CNAM DMPi / IHE ITI TF-2 (ITI-41, ITI-18, ITI-43, ITI-57)"


@pytest.mark.requirement(
    DMP,
    "PDT-INF-579 : TLS 1.2, certificat ORG_AUTH_CLI (authentification mutuelle)",
    text="The source reaches the DMP over TLS with a client certificate",
    strength="SHALL",
)
@pytest.mark.capability("dmp.feed.transport")
@pytest.mark.title_en("The document source sends over mutual TLS")
def test_mutual_tls(dmp_listener, judgements, evidence, config, lang):
    """La source de documents envoie en TLS mutuel"""
    exchanges = dmp_listener.exchanges()
    for exchange in exchanges:
        evidence.record(exchange)
    failed = [e for e in exchanges if e.error]
    expect(
        exchanges,
        "dmp-nothing-received",
        f"aucune requête reçue sur {dmp_listener.base_url} en {config.dmp.listener.wait_seconds:g} s",
        f"no request received on {dmp_listener.base_url} within {config.dmp.listener.wait_seconds:g} s",
    )
    expect(
        not failed,
        "dmp-transport-failed",
        f"{len(failed)} échange(s) interrompu(s) : {failed[0].error if failed else ''}",
        f"{len(failed)} exchange(s) cut short: {failed[0].error if failed else ''}",
        code="security",
    )
    if config.dmp.listener.tls:
        plain = [j for j in judgements if not j.tls or not j.client_certificate]
        expect(
            not plain,
            "dmp-no-client-certificate",
            "requête reçue sans TLS mutuel",
            "request received without mutual TLS",
            code="security",
        )


@pytest.mark.requirement(
    DMP, "Liaisons WSDL SOAP 1.2 (application/soap+xml)", text="Requests are SOAP 1.2 envelopes", strength="SHALL"
)
@pytest.mark.capability("dmp.feed.transport")
@pytest.mark.title_en("Requests are SOAP 1.2 envelopes")
def test_soap12(judgements, evidence, lang):
    """Les requêtes sont des enveloppes SOAP 1.2"""
    items = skip_without(
        lang,
        [j for j in judgements if j.transaction],
        "aucune enveloppe lisible reçue",
        "no readable envelope received",
    )
    expect_category(items, "soap12", evidence)


@pytest.mark.requirement(
    DMP,
    "WS-Addressing 1.0 : Action (mustUnderstand), MessageID, actions du DMP",
    text="Requests carry the WS-Addressing headers with the DMP actions",
    strength="SHALL",
)
@pytest.mark.capability("dmp.feed.transport")
@pytest.mark.title_en("Requests carry WS-Addressing with the DMP actions")
def test_ws_addressing(judgements, evidence, lang):
    """Les requêtes portent WS-Addressing avec les actions du DMP"""
    items = skip_without(
        lang,
        [j for j in judgements if j.transaction],
        "aucune enveloppe lisible reçue",
        "no readable envelope received",
    )
    expect_category(items, "addressing", evidence)


@pytest.mark.requirement(
    DMP,
    "MTOM/XOP : multipart/related, type application/xop+xml, xop:Include",
    text="Requests are whole MTOM/XOP messages",
    strength="SHALL",
)
@pytest.mark.capability("dmp.feed.transport")
@pytest.mark.title_en("Requests are whole MTOM/XOP messages")
def test_mtom(judgements, evidence, lang):
    """Les requêtes sont des messages MTOM/XOP complets"""
    items = skip_without(lang, judgements, "aucune requête reçue", "no request received")
    expect_category(items, "mtom", evidence)
