"""The reference MSSanté client and receiving system, in-process over loopback SMTP: the conformant client passes
every message rule, each seeded client fault breaks exactly its rule, each TLS fault gives in to exactly its
probe, and the receiving system answers each defect with its integration code."""

from __future__ import annotations

import pytest

from conformance.reference.mssante.system import NIL, PASSWORD, USER, ReferenceMssSystem
from conformance.transport.smtp import tls_server_context
from conformance.validation.mssante import RULES, MessageContext, apply, read_message

from .conftest import TOKEN

# client fault -> the one rule it breaks
RULE_OF_FAULT = {
    "mss-plaintext-first": "mss-starttls",
    "mss-auth-plain": "mss-auth",
    "mss-message-id-missing": "mss-message-id",
    "mss-from-no-display": "mss-from-display",
    "mss-reply-to-missing": "mss-reply-to",
    "mss-latin1-text": "mss-utf8",
    "mss-nil-missing": "mss-nil",
    "mss-ins-header-wrong": "mss-ins",
    "mss-codecda-wrong": "mss-codecda",
    "mss-mdn-not-requested": "mss-mdn-request",
    "mss-subject-wrong": "mss-subject",
    "mss-two-patients": "mss-one-patient",
    "mss-pdf-name-wrong": "mss-pdf",
    "mss-patient-address-ipp": "mss-patient-address",
}


def _broken_rules(make_operator, mss_pki, data, faults=frozenset()):
    operator = make_operator(passwords={USER: PASSWORD})
    system = ReferenceMssSystem(data, frozenset(faults))
    result = system.submit_document(operator.host, operator.port, mss_pki.ca_cert, TOKEN)
    assert result.ok, result
    (mail,) = operator.wait_for(1, timeout=5)
    qualified = frozenset(p.ins for p in data.patients if p.qualified)
    context = MessageContext(
        expected_nil=NIL,
        starttls=mail.session.starttls,
        session_events=mail.session.events,
        auth_mechanism=mail.session.auth_mechanism,
        rcpt_tos=mail.rcpt_tos,
        qualified_ins=qualified,
    )
    message = read_message(mail.data)
    return {rule for rule in RULES if apply(rule, message, context)}


def test_conformant_client_passes_every_rule(make_operator, mss_pki, reference_data):
    assert _broken_rules(make_operator, mss_pki, reference_data) == set()


@pytest.mark.parametrize("fault", sorted(RULE_OF_FAULT))
def test_each_client_fault_breaks_exactly_its_rule(make_operator, mss_pki, reference_data, fault):
    assert _broken_rules(make_operator, mss_pki, reference_data, {fault}) == {RULE_OF_FAULT[fault]}


PROBES = {
    "legacy": {"minimum": "1.0", "maximum": "1.1", "ciphers": ()},
    "cipher": {"ciphers": ("ECDHE-RSA-CHACHA20-POLY1305",)},
    "expired": {},
    "untrusted": {},
}
TLS_FAULT_PROBE = {
    "mss-tls-legacy-accepted": "legacy",
    "mss-tls-any-cipher": "cipher",
    "mss-tls-expired-accepted": "expired",
    "mss-tls-any-ca": "untrusted",
}


def _probe_accepts(make_operator, mss_pki, data, probe, faults):
    cert = {"expired": mss_pki.expired, "untrusted": mss_pki.untrusted}.get(probe, mss_pki.server)
    operator = make_operator(tls_context=tls_server_context(*cert, **PROBES[probe]))
    result = ReferenceMssSystem(data, frozenset(faults)).submit_document(
        operator.host, operator.port, mss_pki.ca_cert, TOKEN
    )
    return result.ok and bool(operator.wait_for(1, timeout=2))


@pytest.mark.parametrize("fault", [None, *sorted(TLS_FAULT_PROBE)])
def test_tls_faults_give_in_to_exactly_their_probe(make_operator, mss_pki, reference_data, fault):
    accepted = {p for p in PROBES if _probe_accepts(make_operator, mss_pki, reference_data, p, {fault} - {None})}
    assert accepted == ({TLS_FAULT_PROBE[fault]} if fault else set())
