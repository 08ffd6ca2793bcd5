"""MSSanté messages read with the standard library: hostile MIME gives findings, MDNs round-trip, and the
[mssante] configuration names its errors."""

from __future__ import annotations

import pytest

from conformance.config import ConfigError, parse_config
from conformance.validation.mssante import (
    RULES,
    MessageContext,
    apply,
    build_mdn,
    check_mdn_outcome,
    check_mdn_structure,
    read_mdn,
    read_message,
)
from conformance.validation.mssante.build import MessageSpec, build_message

ORIGINAL = MessageSpec(
    sender="app@hopital.mssante.test",
    sender_name="Hôpital – plateforme",
    recipients=["integration@cabinet.mssante.test"],
    archives=[],
    subject="XDM/1.0/DDM+Compte rendu DUPONT Jean 01/02/1970",
    mdn_to="app@hopital.mssante.test",
)


def test_broken_mime_structure_is_a_finding_not_a_crash():
    raw = (
        b"From: a@b.test\r\nMessage-ID: <1@b.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbonjour\r\n"
        b"--XYZ\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="IHE_XDM.zip"\r\n\r\n!!!not base64@@@\r\n'
    )  # no closing boundary, bad base64
    message = read_message(raw)
    findings = apply("mss-mime", message, MessageContext())
    assert findings and findings[0].rule == "mss-mime"
    # the rules that need the archive still answer, with a finding instead of an exception
    assert {f.rule for f in apply("mss-one-patient", message, MessageContext())} == {"mss-one-patient"}


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe", b"Subject: =?utf-8?q?broken", b"From:\r\n\r\n" + b"A" * 5000])
def test_every_rule_answers_on_garbage(raw):
    message = read_message(raw)
    for rule in RULES:
        assert isinstance(apply(rule, message, MessageContext()), list)


def test_mdn_round_trip_success_and_error():
    original = build_message(ORIGINAL)
    message_id = read_message(original).header("Message-ID")
    ok = read_mdn(build_mdn(original, reporting_address="integration@cabinet.mssante.test"))
    assert check_mdn_structure(ok, message_id) == [] and check_mdn_outcome(ok, None) == []
    error = read_mdn(build_mdn(original, reporting_address="integration@cabinet.mssante.test", error_code="904"))
    assert (error.error_code, check_mdn_structure(error, message_id)) == ("904", [])
    assert error.subject.startswith("[KO Intégration système !][904]")
    assert check_mdn_outcome(error, "904") == []
    wrong = check_mdn_outcome(error, "902")
    assert wrong and "902" in wrong[0].message_fr and "904" in wrong[0].message_fr


def test_plain_reply_is_not_an_mdn():
    original = build_message(ORIGINAL)
    facts = read_mdn(build_mdn(original, reporting_address="x@cabinet.mssante.test", structured=False))
    findings = check_mdn_structure(facts, "<any@id>")
    assert findings and "multipart/report" in findings[0].message_en


def test_mssante_configuration_is_validated_and_secrets_redacted():
    config = parse_config(
        {
            "mssante": {
                "mailbox_type": "PER",
                "operator": {"port": 587, "tokens": ["psc-token"], "passwords": {"u": "pw"}, "tls_max": "1.3"},
                "correspondent": {"host": "127.0.0.1", "port": 2525, "address": "in@sih.mssante.test"},
            }
        }
    )
    assert config.mssante.operator.port == 587 and config.mssante.mailbox_type == "PER"
    assert {"psc-token", "pw"} <= set(config.secrets())
    assert "psc-token" not in str(config.redacted()) and "pw" not in str(config.redacted()["mssante"])
    for bad, key in (
        ({"mailbox_type": "XYZ"}, "mssante.mailbox_type"),
        ({"operator": {"tls_min": "1.3", "tls_max": "1.2"}}, "mssante.operator.tls_min"),
        ({"operator": {"auth": ["KERBEROS"]}}, "mssante.operator.auth"),
        ({"correspondent": {"host": "127.0.0.1", "port": 25}}, "mssante.correspondent.address"),
        (
            {"correspondent": {"expected_codes": {"unknown-patient": "abc"}}},
            "mssante.correspondent.expected_codes.unknown-patient",
        ),
    ):
        with pytest.raises(ConfigError) as caught:
            parse_config({"mssante": bad})
        assert caught.value.key == key
