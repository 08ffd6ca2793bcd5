"""Detection measured on systems nobody on the product wrote (issue 12, "Done when").

`conformance run --config` against the clean foreign FHIR server and MLLP peers: every SHALL test passes (or is
skipped / not applicable with its reason) and no test is in error. Then against each faulty variant, and
`conformance compare clean faulty --json`: a fault is detected when a test verifying the requirement the fault
breaks newly fails or warns. The full sweep (every fault) is slow; the default run keeps a few.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.foreign.campaign import FHIR_SUITES, MLLP_SUITES, Run, campaign_toml, compare, run_campaign
from tests.foreign.fhir_server import FAULTS as FHIR_FAULTS
from tests.foreign.fhir_server import ForeignFhirServer
from tests.foreign.mllp_peers import RECEIVER_FAULTS, SENDER_FAULTS, ForeignReceiver, ForeignSender

pytestmark = pytest.mark.skipif(
    not ForeignFhirServer.available(), reason="the FHIR packages or the CDA pack of the shared folder are missing"
)

ALL_FAULTS: dict[str, str] = {**FHIR_FAULTS, **RECEIVER_FAULTS, **SENDER_FAULTS}
QUICK = (
    "organization-identifier-ignored",
    "docref-size-of-base64",
    "role-ignores-practitioner",
    "ack-msa2-own-id",
    "emit-ins-nir-prod-oid",
)
DETECTING = frozenset({"failed", "warning"})
EMITTED = 4  # messages the foreign sender emits


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _kind(fault: str) -> str:
    return "fhir" if fault in FHIR_FAULTS else "mllp"


@contextmanager
def _system(kind: str, fault: str | None, folder: Path) -> Iterator[Path]:
    """The foreign system of `kind` (clean, or with `fault`) running; yields the campaign configuration for it."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "campaign.toml"
    if kind == "fhir":
        with ForeignFhirServer(fault) as server:
            config.write_text(campaign_toml(fhir_url=server.base_url, mllp=None, listener_port=None,
                                            suites=FHIR_SUITES), encoding="utf-8")  # fmt: skip
            yield config
        return
    port = _free_port()
    receiver_fault = fault if fault in RECEIVER_FAULTS else None
    sender_fault = fault if fault in SENDER_FAULTS else None
    with ForeignReceiver(receiver_fault) as receiver, ForeignSender(port, sender_fault):
        config.write_text(campaign_toml(fhir_url=None, mllp=receiver.address, listener_port=port,
                                        suites=MLLP_SUITES, expect_messages=EMITTED), encoding="utf-8")  # fmt: skip
        yield config


class Campaigns:
    """Clean runs (one per kind of endpoint) and faulty runs, each made once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clean: dict[str, Run] = {}
        self.verdicts: dict[str, tuple[bool, bool, list[str]]] = {}

    def clean_run(self, kind: str) -> Run:
        if kind not in self.clean:
            folder = self.root / f"clean-{kind}"
            with _system(kind, None, folder) as config:
                self.clean[kind] = run_campaign(config, folder / "run")
        return self.clean[kind]

    def judge(self, fault: str) -> tuple[bool, bool, list[str]]:
        """(detected on its requirement, detected by any test, the newly failing tests with their requirement)."""
        if fault in self.verdicts:
            return self.verdicts[fault]
        kind = _kind(fault)
        clean = self.clean_run(kind)
        folder = self.root / fault
        with _system(kind, fault, folder) as config:
            faulty = run_campaign(config, folder / "run")
        assert faulty.exit_code in (0, 1), f"{fault}: exit {faulty.exit_code}\n{faulty.stderr[-2000:]}"
        exit_code, diff = compare(clean.folder, faulty.folder)
        tests = faulty.tests()
        changed = {row["test"] for row in diff["new"]} | {c["test"] for c in diff["outcome_changes"]}
        newly = sorted(t for t in changed if tests.get(t, {}).get("outcome") in DETECTING)
        requirement = ALL_FAULTS[fault]
        on_requirement = any(requirement in _requirements(tests[t]) for t in newly)
        assert (exit_code == 1) == bool(diff["new"]), f"compare exit {exit_code} with {len(diff['new'])} new findings"
        described = [f"{t} [{', '.join(_requirements(tests[t]))}] {tests[t]['outcome']}" for t in newly]
        self.verdicts[fault] = (on_requirement, bool(newly), described)
        return self.verdicts[fault]


def _requirements(test: dict) -> list[str]:
    return [str(r.get("id")) for r in test.get("requirements") or [] if isinstance(r, dict)]


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory: pytest.TempPathFactory) -> Campaigns:
    return Campaigns(tmp_path_factory.mktemp("foreign"))


def _judgeable(run: Run) -> list[str]:
    """What is wrong with a clean run: a test not passed (a skip or not-applicable needs its reason)."""
    problems = []
    for test_id, test in run.tests().items():
        outcome = test["outcome"]
        if outcome == "passed":
            continue
        if outcome in ("skipped", "not_applicable") and test.get("messages"):
            continue
        problems.append(f"{test_id}: {outcome} {test.get('messages')}")
    return problems


@pytest.mark.parametrize("kind", ["fhir", "mllp"])
def test_clean_foreign_system_passes(campaigns: Campaigns, kind: str) -> None:
    run = campaigns.clean_run(kind)
    assert run.exit_code == 0, f"exit {run.exit_code}\n{run.stderr[-2000:]}\n" + "\n".join(_judgeable(run))
    assert not _judgeable(run)
    suites = FHIR_SUITES if kind == "fhir" else MLLP_SUITES
    assert {t["suite"] for t in run.tests().values()} == set(suites)


def test_fault_names_are_distinct() -> None:
    assert len(ALL_FAULTS) == len(FHIR_FAULTS) + len(RECEIVER_FAULTS) + len(SENDER_FAULTS)
    assert set(QUICK) <= set(ALL_FAULTS)


@pytest.mark.parametrize("fault", QUICK)
def test_quick_fault_detected(campaigns: Campaigns, fault: str) -> None:
    on_requirement, _, newly = campaigns.judge(fault)
    assert on_requirement, f"{fault} ({ALL_FAULTS[fault]}) not detected; newly failing: {newly}"


@pytest.mark.slow
def test_detection_rate(campaigns: Campaigns, capsys: pytest.CaptureFixture[str]) -> None:
    verdicts = {fault: campaigns.judge(fault) for fault in ALL_FAULTS}
    detected = [f for f, (ok, _, _) in verdicts.items() if ok]
    missed = {f: (ALL_FAULTS[f], v[2]) for f, v in verdicts.items() if not v[0]}
    with capsys.disabled():
        print(f"\nforeign systems: {len(detected)}/{len(verdicts)} faults detected on their requirement "
              f"({100 * len(detected) / len(verdicts):.0f} %)")  # fmt: skip
        for fault, (requirement, newly) in missed.items():
            print(f"  missed {fault} ({requirement}); newly failing: {newly or 'nothing'}")
    assert len(detected) >= 0.95 * len(verdicts), missed
