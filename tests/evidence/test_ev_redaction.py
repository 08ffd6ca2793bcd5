"""Redaction of secrets in bytes, headers and logs, in every encoding they may travel in."""

from __future__ import annotations

import base64
import io
import json
import logging
from urllib.parse import quote

import pytest

from conformance.evidence.redaction import REDACTED, Redactor, install_log_redaction, redact_mapping

SECRET = "s3cr3t/P@ss+word=="


def test_plain_url_json_and_base64_forms_are_redacted() -> None:
    redactor = Redactor([SECRET])
    for form in (SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1], base64.b64encode(SECRET.encode()).decode()):
        cleaned = redactor.redact_text(f"before {form} after")
        assert form not in cleaned and REDACTED in cleaned, form


def test_basic_credentials_containing_a_configured_password_are_redacted_anywhere() -> None:
    redactor = Redactor([SECRET])
    basic = base64.b64encode(f"someone:{SECRET}".encode()).decode()
    body = json.dumps({"echo": f"Authorization: Basic {basic}"}).encode()
    cleaned = redactor.redact_bytes(body)
    assert basic.encode() not in cleaned
    assert SECRET.encode() not in cleaned


def test_credential_headers_keep_only_their_scheme() -> None:
    redactor = Redactor()
    headers = {"Authorization": "Bearer abc.def.ghi", "Cookie": "sid=xyz123", "Accept": "application/fhir+json"}
    cleaned = redactor.redact_headers(headers)
    assert cleaned == {"Authorization": f"Bearer {REDACTED}", "Cookie": REDACTED, "Accept": "application/fhir+json"}


def test_learned_header_credentials_are_redacted_when_echoed_in_a_body() -> None:
    redactor = Redactor()
    redactor.learn_from_headers(
        {"Authorization": "Bearer learned-token-123456", "Cookie": "a=cookievalue99; b=other-cookie-77"}
    )
    cleaned = redactor.redact_text("server says: learned-token-123456 cookievalue99 other-cookie-77")
    for value in ("learned-token-123456", "cookievalue99", "other-cookie-77"):
        assert value not in cleaned


def test_oauth_token_fields_are_redacted_and_learned() -> None:
    redactor = Redactor()
    response = b'{"access_token": "tok-abcdef-98765", "token_type": "Bearer"}'
    redactor.learn_from_body(response)
    assert b"tok-abcdef-98765" not in redactor.redact_bytes(response)
    assert "tok-abcdef-98765" not in redactor.redact_text("later echo of tok-abcdef-98765")
    form = b"grant_type=client_credentials&client_secret=zzz-unknown-secret&client_id=x"
    assert b"zzz-unknown-secret" not in redactor.redact_bytes(form)


def test_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    redactor = Redactor([SECRET])
    stream = io.StringIO()
    logger = logging.getLogger("test-ev-redaction")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    install_log_redaction(redactor, logger)
    try:
        logger.warning("connecting with %s", SECRET)
        try:
            raise ValueError(f"bad password {SECRET}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "connecting with" in output and "bad password" in output
    assert SECRET not in output


def test_configuration_mapping_hides_secret_keys_and_values() -> None:
    redactor = Redactor([SECRET])
    config = {"auth": {"password": "short", "client_secret": "x" * 10, "url": f"http://h/?k={SECRET}"}, "port": 1}
    cleaned = redact_mapping(config, redactor)
    assert cleaned["auth"]["password"] == REDACTED and cleaned["auth"]["client_secret"] == REDACTED
    assert SECRET not in json.dumps(cleaned) and cleaned["port"] == 1


def test_a_recorder_redacts_every_log_record_whatever_the_handler(tmp_path, caplog) -> None:
    from conformance.evidence.recorder import EvidenceRecorder
    from conformance.evidence.redaction import forget_log_redactor

    secret = "recorder-log-secret-5150"
    recorder = EvidenceRecorder(tmp_path, secrets=[secret])
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("conformance.anything").info("sending %s", secret)
            try:
                raise RuntimeError(f"failed with {secret}")
            except RuntimeError:
                logging.getLogger("conformance.anything").exception("boom")
        assert "sending [REDACTED]" in caplog.text
        assert secret not in caplog.text and "failed with [REDACTED]" in caplog.text
    finally:
        forget_log_redactor(recorder.privacy.redactor)


def test_credentials_in_url_userinfo_are_redacted() -> None:
    cleaned = Redactor().redact_text("base_url = https://alice:unlisted-pass@fhir.example.test/fhir")
    assert "unlisted-pass" not in cleaned and "https://[REDACTED]@fhir.example.test/fhir" in cleaned


def test_too_short_configured_secret_is_warned_in_results(tmp_path) -> None:
    from support.sample import fabricate_run

    from conformance.evidence.recorder import EvidenceRecorder
    from conformance.evidence.redaction import forget_log_redactor
    from conformance.reports import write_partial

    recorder = EvidenceRecorder(tmp_path, secrets=["abc", "long-enough-secret"])
    try:
        run, _ = fabricate_run(tmp_path, recorder=recorder)
        write_partial(tmp_path, run)
        codes = [w["code"] for w in json.loads((tmp_path / "results.json").read_text())["warnings"]]
        assert codes == ["short-secret"]
    finally:
        forget_log_redactor(recorder.privacy.redactor)


def test_ordinary_cookie_values_are_not_learned_as_secrets() -> None:
    redactor = Redactor()
    redactor.learn_from_headers({"Cookie": "consent=true; lang=fr; sid=a8F3kL9qZ2xW7mN4"})
    cleaned = redactor.redact_text('{"active": true, "lang": "fr", "echo": "a8F3kL9qZ2xW7mN4"}')
    assert '"active": true' in cleaned and '"lang": "fr"' in cleaned
    assert "a8F3kL9qZ2xW7mN4" not in cleaned


def _wrapped(data: bytes, width: int) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))


ECHOES = {
    "utf-16-le": lambda s: f'{{"echo": "{s}"}}'.encode("utf-16-le"),
    "utf-16-be": lambda s: f'{{"echo": "{s}"}}'.encode("utf-16-be"),
    "utf-16-bom": lambda s: f'{{"echo": "{s}"}}'.encode("utf-16"),
    "lower-percent": lambda s: f"x={quote(s, safe='').replace('%21', '%21').replace('%2F', '%2f')}/%2f".encode(),
    "json-escaped": lambda s: ('{"echo": "' + "".join(f"\\u{ord(c):04x}" for c in s) + '"}').encode(),
    "json-one-escape": lambda s: ('{"echo": "' + s[:3] + f"\\u{ord(s[3]):04X}" + s[4:] + '"}').encode(),
    "xml-references": lambda s: ("<a v='" + "".join(f"&#{ord(c)};" for c in s) + "'/>").encode(),
    "xml-one-reference": lambda s: f"<echo>{s[:2]}&#x{ord(s[2]):x};{s[3:]}</echo>".encode(),
    "mime-base64": lambda s: b"Content-Transfer-Encoding: base64\r\n\r\n" + _wrapped(f"user:{s} ...".encode(), 76),
    "pem-base64": lambda s: _wrapped(b"\x00" * 50 + s.encode(), 64),
    "json-base64-lines": lambda s: b'{"d": "' + _wrapped(f"{s}!".encode(), 8).replace(b"\r\n", b"\\n") + b'"}',
    "hex": lambda s: f"dump: {s.encode().hex()} end".encode(),
}


@pytest.mark.parametrize("encoding", sorted(ECHOES))
def test_a_secret_echoed_in_another_encoding_is_redacted(encoding: str) -> None:
    """SHALL: what a reader of the evidence would decode to the secret is redacted (a hostile server chooses
    how it echoes the credentials it received)."""
    secret = "Pa55w0rd!basic-7f3c"
    body = ECHOES[encoding](secret)
    cleaned = Redactor([secret]).redact_bytes(body)
    assert cleaned != body
    codec = {"utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be", "utf-16-bom": "utf-16"}.get(encoding, "latin-1")
    readable = cleaned.decode(codec)
    assert "REDACTED" in readable or REDACTED in readable
    for decoded in (readable, cleaned.hex()):
        assert secret not in decoded


@pytest.mark.timeout(600)
def test_escape_scanning_stays_linear_on_a_large_escaped_body() -> None:
    """4 MB of JSON escapes, XML references and wrapped base64 (the largest body scanned for mixed escapes).
    About 2 s on an idle machine; a quadratic scan would take hours and fail on the test's timeout."""
    redactor = Redactor(["Pa55w0rd!basic-7f3c"])
    bodies = [
        b'["' + b'\\u00e9t\\u00e9",  "' * 200_000 + b'"]',
        b'<a b="&#65;"/>' * 280_000,
        (b"QUJD" * 19 + b"\r\n") * 50_000,
    ]
    for body in bodies:
        assert redactor.redact_bytes(body) == body
