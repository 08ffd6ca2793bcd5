"""Each seeded fault makes exactly the tests of the requirements it declares fail, and no other.

One clean campaign (every suite) must pass entirely; then, per fault, the campaign runs the suites that talk to
the endpoint the fault acts on, and the tests that do not pass (failed, warning, error) must be exactly those
whose requirement the fault declares. A fault that fails more tests (one defect hiding behind another) or fewer
(a requirement whose test cannot see it) is a defect of the reference endpoint or of the fault's declaration.

Every fault runs in `make test-long` (marked slow); the default run keeps one or two per endpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.reference.faults import FAULTS

from .fault_campaign import NOT_DETECTED, Verdict, run_reference_campaign, suites_of

# the default run: a representative per endpoint and per kind of hook
QUICK = {
    "ins-wrong-oid",  # FHIR and the MLLP sender at once
    "organization-not-annuaire",
    "metadata-not-r4",
    "docref-second-bad",
    "zbe-missing",
    "ack-wrong-msa2",
    "xdm-hash-tampered",
    "dmp-hash-wrong",
    "dmp-repo-find-empty",
    "mss-nil-missing",
    "mss-receiver-accepts-unknown",
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Verdict]:
    return run_reference_campaign(Path(tmp_path_factory.mktemp("clean")) / "run")


def test_quick_subset_names_seeded_faults() -> None:
    assert set(FAULTS) >= QUICK


def test_clean_reference_passes_every_test(clean: dict[str, Verdict]) -> None:
    assert {v.suite for v in clean.values()} >= {s for f in FAULTS.values() for s in suites_of(f.endpoint)}
    not_passed = {test: (v.outcome, v.messages) for test, v in clean.items() if v.outcome != "passed"}
    # the reference serves plain http://: the TLS test has nothing to judge
    assert not_passed.keys() <= {"fhir-basics/security/tls"}, not_passed
    assert all(v.outcome in NOT_DETECTED for v in clean.values())


@pytest.mark.parametrize("name", [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow) for n in sorted(FAULTS)])
def test_fault_fails_exactly_its_requirements(name: str, clean: dict[str, Verdict], tmp_path: Path) -> None:
    fault = FAULTS[name]
    suites = suites_of(fault.endpoint)
    verdicts = run_reference_campaign(tmp_path / "run", faults=[name], suites=suites)
    assert verdicts.keys() == {t for t, v in clean.items() if v.suite in suites}, "the fault changed which tests ran"
    declared = set(fault.requirements)
    assert declared, f"{name} declares no requirement it breaks"
    assert declared <= {v.requirement for v in verdicts.values()}, "a declared requirement has no test here"
    detecting = {t: (v.outcome, v.requirement) for t, v in verdicts.items() if v.detects}
    expected = {t for t, v in verdicts.items() if v.requirement in declared}
    extra = {t: detecting[t] for t in detecting.keys() - expected}
    missed = {t: (verdicts[t].outcome, verdicts[t].requirement) for t in expected - detecting.keys()}
    assert not extra and not missed, f"{name}: fails beyond its requirements {extra}; does not fail {missed}"
