"""Real loopback SMTP servers and throwaway RSA certificates for the MSSanté tests."""

from __future__ import annotations

import pytest

from conformance.reference.mssante.pki import generate_mss_pki
from conformance.transport.smtp import SmtpOperator, SmtpServerOptions, tls_server_context

TOKEN = "test-psc-token"


@pytest.fixture(scope="session")
def mss_pki():
    pki = generate_mss_pki()
    yield pki
    pki.cleanup()


@pytest.fixture
def make_operator(mss_pki):
    started: list[SmtpOperator] = []

    def make(**overrides) -> SmtpOperator:
        options = SmtpServerOptions(tls_context=tls_server_context(*mss_pki.server), tokens=frozenset({TOKEN}))
        for key, value in overrides.items():
            setattr(options, key, value)
        operator = SmtpOperator(options).start()
        started.append(operator)
        return operator

    yield make
    for operator in started:
        operator.stop()


@pytest.fixture(scope="session")
def reference_data():
    from conformance.reference.test_data import build_test_data

    return build_test_data()
