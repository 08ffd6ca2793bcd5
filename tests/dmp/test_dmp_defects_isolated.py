"""The dmp-repository suite's defective submissions carry only their intended defect: each differs from its clean
twin by exactly that defect, the twin is accepted by the harness's own validators, and the harness's validators
find exactly the defect's rules. A submission that breaks more, or less, is refused before it is sent."""

from __future__ import annotations

import pytest

from conformance.reference.dmp.endpoints import REFERENCE_PATIENT
from conformance.reference.dmp.source import vihf_for
from conformance.suites.dmp_repository import defects
from conformance.suites.dmp_repository.defects import DefectNotIsolated, check_isolated, differences
from conformance.validation.xds.build import provide_request
from conformance.validation.xds.ebrim import NS
from conformance.validation.xds.rules import XdsRules

UNKNOWN = "299999999999945"


@pytest.fixture
def rules(dmp_pki) -> XdsRules:
    return XdsRules(trusted_ca=dmp_pki.ca_cert.read_bytes())


def _pairs(cda: bytes):
    return {
        "hash": defects.wrong_hash(cda, vihf_for),
        "missing": defects.missing_metadata(cda, vihf_for),
        "unknown-patient": defects.unknown_patient(cda, vihf_for, UNKNOWN),
    }


def _check(dmp, pair, rules) -> None:
    check_isolated(pair, dmp.source.sign, dmp.source.security, rules)


@pytest.mark.parametrize("name", ["hash", "missing", "unknown-patient"])
def test_each_suite_defect_is_isolated(dmp, cda_bytes, rules, name):
    assert REFERENCE_PATIENT.encode() in cda_bytes
    pair = _pairs(cda_bytes)[name]
    _check(dmp, pair, rules)  # no exception
    assert differences(pair.clean, pair.defective) >= pair.defect.required


def test_the_isolated_defect_is_the_only_refusal_reason(dmp, cda_bytes):
    """Sent to the judging simulator, the clean twin is registered and the defective one refused only for its
    defect's rules."""
    from conformance.reference.dmp.source import registry_status

    pair = _pairs(cda_bytes)["hash"]
    assert registry_status(dmp.source.provide(pair.clean.request, pair.clean.vihf)) == ("Success", [])
    status, errors = registry_status(dmp.source.provide(pair.defective.request, pair.defective.vihf))
    assert status == "Failure"
    assert {context.split("]")[0].strip("[") for _, context in errors} == set(pair.defect.rules)


def test_a_second_defect_is_refused_before_sending(dmp, cda_bytes, rules):
    pair = _pairs(cda_bytes)["hash"]
    entry = pair.defective.request.entry
    entry.remove(entry.find("rim:Slot[@name='languageCode']", NS))
    with pytest.raises(DefectNotIsolated) as raised:
        _check(dmp, pair, rules)
    message = raised.value.message("fr")
    assert "entry/slot/languageCode" in message and "xds-entry-languagecode-missing" in message
    assert message.startswith("Soumission défectueuse « hash/size » mal construite par le banc")
    assert raised.value.kind == "defect-not-isolated"


def test_an_absent_defect_is_refused_before_sending(dmp, cda_bytes, rules):
    pair = _pairs(cda_bytes)["missing"]
    document = pair.clean.request.content()
    pair.defective = defects.Submission(provide_request(document), vihf_for(document))  # the clean one again
    with pytest.raises(DefectNotIsolated) as raised:
        _check(dmp, pair, rules)
    assert "le défaut annoncé est absent" in raised.value.message("fr")
    assert "xds-entry-legalauthenticator-missing" in raised.value.message("fr")


def test_a_vihf_change_is_a_second_defect(dmp, cda_bytes, rules):
    pair = _pairs(cda_bytes)["missing"]
    pair.defective.vihf.activity_sector = "SA99^1.2.250.1.71.4.2.4"
    with pytest.raises(DefectNotIsolated) as raised:
        _check(dmp, pair, rules)
    assert "vihf/activity_sector" in raised.value.message("en")


def test_a_clean_twin_the_harness_refuses_makes_the_test_inconclusive(dmp, cda_bytes, rules):
    broken = cda_bytes.replace(b'root="1.2.250.1.213.1.4.10"', b'root="1.2.250.1.213.1.4.99"')
    pair = defects.wrong_hash(broken, vihf_for)
    with pytest.raises(DefectNotIsolated) as raised:
        _check(dmp, pair, rules)
    message = raised.value.message("fr")
    assert "le lot sain de référence est refusé par les validateurs du banc" in message
    assert "xds-patientid-ins-unknown-oid" in message


def test_in_a_campaign_a_defect_that_cannot_be_isolated_is_inconclusive(tmp_path, cda_bytes):
    """The configured document itself breaks a rule (an INS under an unknown OID): the refusal tests cannot
    prove their defect is the only one, so they are inconclusive, saying why, instead of passing or failing."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    document = tmp_path / "cda.xml"
    document.write_bytes(cda_bytes.replace(b'root="1.2.250.1.213.1.4.10"', b'root="1.2.250.1.213.1.4.99"'))
    config = tmp_path / "campaign.toml"
    config.write_text(f"[dmp]\ndocument = '{document}'\n", encoding="utf-8")
    out = tmp_path / "run"
    command = [str(Path(sys.executable).parent / "conformance"), "run", "--reference", "--config", str(config)]
    command += ["--suite", "dmp-repository", "--output", str(out), "--lang", "fr", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    tests = {t["id"]: t for t in json.loads((out / "results.json").read_text(encoding="utf-8"))["tests"]}
    for name in ("refuses-wrong-hash", "refuses-unknown-patient", "refuses-missing-metadata"):
        test = tests[f"dmp-repository/register/{name}"]
        assert test["outcome"] == "error", (name, test["outcome"], test["messages"])
        assert "mal construite par le banc" in test["messages"][0]
        assert "xds-patientid-ins-unknown-oid" in test["messages"][0]
