"""One failure, one cause: the preflight and a failed FHIR exchange name the same socket failure alike (the same
cause code, the same words), since both go through conformance.transport.failure."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from conformance.campaign.preflight import run_preflight
from conformance.config import Timeouts, parse_config
from conformance.i18n import BilingualError
from conformance.transport.http import FhirClient, TransportError

TIMEOUTS = Timeouts(connect=2, read=2, total=10, retries=0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _preflight(base_url: str):
    config = parse_config(
        {"run": {"suites": ["fhir-basics"]}, "fhir": {"base_url": base_url}, "timeouts": {"connect": 2}}
    )
    session = SimpleNamespace(config=config, suites=["fhir-basics"], listener_error=None, dmp_listener_error=None)
    (check,) = run_preflight(session)  # type: ignore[arg-type]
    return check


def _exchange_error(base_url: str) -> TransportError:
    with pytest.raises(TransportError) as caught:
        FhirClient(base_url, timeouts=TIMEOUTS).metadata()
    return caught.value


@pytest.mark.parametrize(
    ("base_url", "cause", "words_fr", "words_en"),
    [
        ("http://127.0.0.1:{closed}/fhir", "refused", "connexion refusée", "connection refused"),
        (
            "http://hopen-conformance-unreachable.invalid/fhir",
            "name-resolution",
            "ne se résout pas",
            "does not resolve",
        ),
        ("https://127.0.0.1:{plain}/fhir", "tls", "TLS", "TLS"),
    ],
    ids=["refused", "name-resolution", "tls-to-plain-listener"],
)
def test_preflight_and_exchange_name_a_failure_alike(
    base_url: str, cause: str, words_fr: str, words_en: str, plain_http_port: int
) -> None:
    url = base_url.format(closed=_closed_port(), plain=plain_http_port)
    check = _preflight(url)
    error = _exchange_error(url)
    assert not check.ok and check.cause == cause
    assert error.cause == cause
    assert words_fr in check.message_fr and words_fr in error.message("fr")
    assert words_en in check.message_en and words_en in error.message("en")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(98, "Address already in use"), "Address already in use"),
        (BilingualError("port 2575 déjà pris", "port 2575 already taken"), "port 2575 already taken"),
    ],
    ids=["socket-error", "bilingual-error"],
)
def test_a_listener_that_could_not_bind_is_named_with_its_own_words(error: BaseException, words: str) -> None:
    config = parse_config({"run": {"suites": ["pam"]}, "mllp": {"listener": {"port": 2575}}})
    session = SimpleNamespace(config=config, suites=["pam"], listener_error=error, dmp_listener_error=None)
    (check,) = run_preflight(session)  # type: ignore[arg-type]
    assert check.endpoint == "mllp.listener" and not check.ok and check.cause == "bind"
    assert check.message_fr.startswith("Écouteur MLLP du banc injoignable") and words in check.message_fr
    assert check.message_en.startswith("Harness's MLLP listener unreachable") and words in check.message_en
