"""Property tests: a configured secret never survives redaction, whatever surrounds it; the pseudonymiser
and the redactor never raise on arbitrary input."""

from __future__ import annotations

import base64
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.evidence.pseudonymize import Pseudonymizer
from conformance.evidence.redaction import Redactor

secrets_strategy = st.text(
    alphabet=st.characters(blacklist_characters="[]", blacklist_categories=("Cs", "Cc")), min_size=6, max_size=40
).filter(lambda s: s.strip() == s and len(set(s)) > 2)
surroundings = st.text(max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secrets_strategy,
    before=surroundings,
    after=surroundings,
    encoding=st.sampled_from(["plain", "url", "b64", "basic"]),
)
def test_secret_never_survives(secret: str, before: str, after: str, encoding: str) -> None:
    forms = {
        "plain": secret,
        "url": quote(secret, safe=""),
        "b64": base64.b64encode(secret.encode()).decode(),
        "basic": "Basic " + base64.b64encode(f"user:{secret}".encode()).decode(),
    }
    text = f"{before} {forms[encoding]} {after}"
    cleaned = Redactor([secret]).redact_text(text)
    assert secret not in cleaned
    assert forms[encoding] not in cleaned


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=500), prefix=st.sampled_from([b"", b"MSH|^~\\&|", b"{", b"<", b"PID|"]))
def test_redactor_and_pseudonymiser_never_raise(data: bytes, prefix: bytes) -> None:
    body = prefix + data
    Redactor(["some-secret"]).redact_bytes(body)
    pseudonymizer = Pseudonymizer()
    pseudonymizer.learn(body)
    pseudonymizer.learn_from_url(body.decode("latin-1"))
    pseudonymizer.apply_bytes(body)
