"""The harness as a document source: a valid ITI-41 with a real CI-SIS document, then defective submissions the
system (as repository/registry) must refuse, queries and retrievals back, a status update."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.evidence.exchange import MemorySink
from conformance.sdk import Text, require


@dataclass
class Provided:
    content: bytes
    request: object
    reply: object
    vihf: object


class RecordingSink(MemorySink):
    """Every exchange goes to the run's evidence (through the campaign), and is kept for the test that made it."""

    def __init__(self, campaign) -> None:
        super().__init__()
        self.campaign = campaign

    def record(self, exchange) -> None:
        super().record(exchange)
        self.campaign.record(exchange)


@pytest.fixture(scope="session")
def dmp_source(campaign):
    config = campaign.config
    if not config.dmp.repository_url:
        pytest.skip(
            "[dmp] repository_url non configuré" if campaign.lang == "fr" else "[dmp] repository_url not configured"
        )
    if not (config.dmp.vihf.signing_cert and config.dmp.vihf.signing_key):
        pytest.skip(
            "[dmp.vihf] signing_cert / signing_key non configurés"
            if campaign.lang == "fr"
            else "[dmp.vihf] signing_cert / signing_key not configured"
        )
    from conformance.campaign.dmp import document_source

    source = document_source(config, RecordingSink(campaign))
    yield source
    source.client.close()


@pytest.fixture(scope="session")
def document(campaign) -> bytes:
    from conformance.campaign.dmp import document_path

    path = document_path(campaign.config)
    if not path.is_file():
        pytest.skip(
            f"document CDA introuvable : {path}" if campaign.lang == "fr" else f"CDA document not found: {path}"
        )
    return path.read_bytes()


@pytest.fixture(scope="session")
def provided(dmp_source, document, campaign) -> Provided:
    """The valid submission, sent once for the whole suite."""
    from conformance.campaign.dmp import vihf_content
    from conformance.validation.xds.build import provide_request

    request = provide_request(document)
    vihf = vihf_content(campaign.config, document)
    return Provided(document, request, dmp_source.provide(request, vihf), vihf)


def expect_soap(reply, requirement: str) -> None:
    """Stop the test when the system's answer is not a readable SOAP envelope."""
    from .rules import UNREADABLE

    problem = Text(reply.error.message("fr"), reply.error.message("en")) if reply.error else ""
    require(reply.envelope is not None, UNREADABLE[requirement], "Envelope", status=reply.status, problem=problem)
