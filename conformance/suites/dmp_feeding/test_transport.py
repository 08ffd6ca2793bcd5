"""Transport of the DMP-feeding requests: mutual TLS, SOAP 1.2, WS-Addressing, MTOM/XOP."""

from __future__ import annotations

from conformance.i18n import BilingualError
from conformance.sdk import current_verdict, expect, require, verifies

from .conftest import expect_category, skip_without
from .rules import NO_CLIENT_CERTIFICATE, NOTHING_RECEIVED, TRANSPORT_FAILED


@verifies("dmp.feed.mutual-tls", "dmp.feed.transport", title_en="The document source sends over mutual TLS")
def test_mutual_tls(dmp_listener, judgements, evidence, config, lang):
    """La source de documents envoie en TLS mutuel"""
    _note_choices(dmp_listener, evidence)
    exchanges = dmp_listener.exchanges()
    for exchange in exchanges:
        evidence.record(exchange)
    url, seconds = dmp_listener.base_url, f"{config.dmp.listener.wait_seconds:g}"
    exhausted = list(dmp_listener.server.guard.exhaustion)  # connections refused unrecorded, bytes dropped
    if exhausted and not exchanges:
        raise ListenerLimitReached(exhausted)
    require(exchanges, NOTHING_RECEIVED, url, url=url, seconds=seconds)
    limits = list(exhausted)
    for exchange in exchanges:
        fault = dmp_listener.fault_of(exchange)
        if fault is not None and fault.harness_limit:
            limits.append(fault)
        elif fault is not None or exchange.error:
            error = fault.message(lang) if fault is not None else exchange.error
            expect(False, TRANSPORT_FAILED, exchange.request.url, error=error)
    if config.dmp.listener.tls:
        for judgement in judgements:
            expect(
                judgement.tls and judgement.client_certificate,
                NO_CLIENT_CERTIFICATE,
                url,
                transaction=judgement.transaction or "?",
            )
    verdict = current_verdict()
    if limits and not (verdict is not None and verdict.failed):  # a failure found stands; else say what was not judged
        raise ListenerLimitReached(limits)


class ListenerLimitReached(BilingualError):
    """Requests the listener refused for one of the harness's own bounds (a request size, the connection count,
    a byte budget): they were not judged (inconclusive). `faults` carry `fr` and `en`."""

    kind = "dmp-listener-limit"

    def __init__(self, faults: list) -> None:
        super().__init__(
            "requêtes refusées par une limite du banc, non jugées (résultat non concluant) : "
            + " ; ".join(f.fr for f in faults),
            "requests refused by a harness limit, not judged (inconclusive): " + "; ".join(f.en for f in faults),
        )


def _note_choices(dmp_listener, evidence) -> None:
    """The settings applied where the DMP sources disagree, kept on the result (information) and as evidence."""
    import json

    from conformance.findings import finding

    applied = dmp_listener.simulator.rules.applied()
    text = ", ".join(f"{k}={v}" for k, v in applied.items())
    evidence.attach("dmp-choices-applied.json", json.dumps(applied, ensure_ascii=False, indent=1), "application/json")
    evidence.note(
        finding(
            "information",
            "informational",
            "dmp-choices-applied",
            "[dmp]",
            f"Choix appliqués là où les sources du DMP divergent : {text}",
            f"Choices applied where the DMP sources disagree: {text}",
            source="suite",
        )
    )


@verifies("dmp.feed.soap12", "dmp.feed.transport", title_en="Requests are SOAP 1.2 envelopes")
def test_soap12(judgements, evidence, lang):
    """Les requêtes sont des enveloppes SOAP 1.2"""
    items = skip_without(
        lang,
        [j for j in judgements if j.transaction],
        "aucune enveloppe lisible reçue",
        "no readable envelope received",
    )
    expect_category(items, "soap12", evidence)


@verifies("dmp.feed.ws-addressing", "dmp.feed.transport", title_en="Requests carry WS-Addressing with the DMP actions")
def test_ws_addressing(judgements, evidence, lang):
    """Les requêtes portent WS-Addressing avec les actions du DMP"""
    items = skip_without(
        lang,
        [j for j in judgements if j.transaction],
        "aucune enveloppe lisible reçue",
        "no readable envelope received",
    )
    expect_category(items, "addressing", evidence)


@verifies("dmp.feed.mtom", "dmp.feed.transport", title_en="Requests are whole MTOM/XOP messages")
def test_mtom(judgements, evidence, lang):
    """Les requêtes sont des messages MTOM/XOP complets"""
    items = skip_without(lang, judgements, "aucune requête reçue", "no request received")
    expect_category(items, "mtom", evidence)
