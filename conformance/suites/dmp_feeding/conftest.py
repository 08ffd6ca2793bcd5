"""The harness as the DMP: the system's document source sends ITI-41/18/43/57 to the harness's listener."""

from __future__ import annotations

import json

import pytest

from conformance.campaign.dmp import category
from conformance.sdk import report, resource


@pytest.fixture(scope="session")
def dmp_listener(campaign):
    if getattr(campaign, "dmp_listener_error", None) is not None:
        raise campaign.dmp_listener_error
    if getattr(campaign, "dmp_listener", None) is None:
        if campaign.config.dmp.listener is None:
            pytest.skip("[dmp.listener] non configuré" if campaign.lang == "fr" else "[dmp.listener] not configured")
        from conformance.campaign.dmp import start_dmp_listener

        start_dmp_listener(campaign, force=True)
    return campaign.dmp_listener


@pytest.fixture(scope="session")
def judgements(dmp_listener):
    """Everything the system sent during the listening window, as the simulator judged it."""
    return dmp_listener.wait_quiet()


def skip_without(lang: str, items, fr: str, en: str):
    if not items:
        pytest.skip(fr if lang == "fr" else en)
    return items


def submissions(judgements, lang: str, *, readable: bool = True):
    """The ITI-41 requests whose metadata could be read (`readable`), else every ITI-41 request."""
    found = [j for j in judgements if j.transaction == "ITI-41" and (j.metadata_judged or not readable)]
    return skip_without(lang, found, "aucune requête ITI-41 lisible reçue", "no readable ITI-41 request received")


def expect_category(items, name: str, evidence, *, sources: tuple[str, ...] | None = None) -> None:
    """Fail with the findings of category `name` from the judged requests (one requirement per test)."""
    summary = [
        {
            "transaction": j.transaction,
            "received": j.received,
            "status": j.status,
            "errors": j.errors,
            "findings": [f.to_dict() for f in j.findings if category(f.rule) == name],
        }
        for j in items
    ]
    evidence.attach(f"dmp-{name}.json", json.dumps(summary, ensure_ascii=False, indent=1), "application/json")
    for number, judgement in enumerate(items, start=1):  # each request judged on its own, named
        label = judgement.submission or f"#{number} ({judgement.received})"
        with resource(judgement.transaction or "HTTP", label):
            report(f for f in judgement.failures(sources) if category(f.rule) == name)
