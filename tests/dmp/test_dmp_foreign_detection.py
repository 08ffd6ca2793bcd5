"""Detection on document sources nobody here wrote (tests/dmp/foreign_sources.py: raw SOAP/MTOM/ebRIM/VIHF/XAdES
templates from IHE ITI TF vol 2b/3 and the facts sheet, sent with `requests`): their clean submission is
accepted, and at least 90 % of their faults are detected by the harness as the DMP."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from cryptography import x509
from i18n.english import english_fragments

from conformance.reference.dmp.pki import generate_dmp_pki

from .foreign_sources import FAULTS, Draft, Signer, draft, render

GOAL = 0.90


def _signer(cert: Path, key: Path) -> Signer:
    pem = cert.read_bytes()
    return Signer(key.read_bytes(), pem, x509.load_pem_x509_certificate(pem).subject.rfc4514_string())


@pytest.fixture(scope="module")
def stranger():
    material = generate_dmp_pki("1120456789", "Centre de soins du Belvédère")
    yield _signer(material.signing_cert, material.signing_key)
    material.cleanup()


def _send(dmp, d: Draft):
    """POST the foreign request with `requests` over mutual TLS; the simulator's judgement of it."""
    content_type, body = render(d)
    before = len(dmp.simulator.judgements)
    response = requests.post(
        d.repository_url,
        data=body,
        headers={"Content-Type": content_type},
        cert=(str(dmp.pki.client_cert), str(dmp.pki.client_key)),
        verify=str(dmp.pki.ca_cert),
        timeout=10,
    )
    judgements = dmp.simulator.judgements[before:]
    assert len(judgements) == 1, response.status_code
    return response, judgements[0]


def _draft(dmp, cda_bytes, stranger) -> Draft:
    d = draft(cda_bytes, _signer(dmp.pki.signing_cert, dmp.pki.signing_key), f"{dmp.server.base_url}/repository")
    d.stranger = stranger
    return d


def test_the_foreign_clean_submission_is_accepted(dmp, cda_bytes, stranger):
    response, judgement = _send(dmp, _draft(dmp, cda_bytes, stranger))
    assert judgement.failures() == [], [(f.rule, f.message("fr")) for f in judgement.failures()]
    assert judgement.status == "Success" and b"ResponseStatusType:Success" in response.content
    assert judgement.documents["Doc1"] == cda_bytes


def test_foreign_faults_are_detected(dmp, cda_bytes, stranger, capsys):
    missed, detected = [], {}
    for name, fault in FAULTS.items():
        d = _draft(dmp, cda_bytes, stranger)
        fault(d)
        response, judgement = _send(dmp, d)
        failures = judgement.failures()
        if failures or judgement.status != "Success":
            detected[name] = sorted({f.rule for f in failures}) or [judgement.status]
            english = [(f.rule, english_fragments(f.message("fr"))) for f in failures]
            assert not [e for e in english if e[1]], (name, english)  # every finding names the fault in French
            assert response.status_code >= 400 or b"ResponseStatusType:Failure" in response.content, name
        else:
            missed.append(name)
        dmp.simulator.store.clear()  # every foreign source submits the same document
    rate = len(detected) / len(FAULTS)
    with capsys.disabled():
        print(
            f"\nforeign document sources: {len(detected)}/{len(FAULTS)} faults detected ({rate:.0%}); missed: {missed}"
        )
        for name, rules in detected.items():
            print(f"  {name}: {', '.join(rules)}")
    assert rate >= GOAL, missed
