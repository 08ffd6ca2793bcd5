"""The campaign's verdicts are the same as main's before the redesign: clean reference, and each seeded fault.

A structural change must leave every verdict as it was; an intended change goes through the mapping and the
declared changes of golden_verdicts.py (see its docstring), never by editing the JSON.
"""

from __future__ import annotations

import os
from pathlib import Path

import golden_verdicts as golden
import pytest

from conformance.reference.faults import FAULTS, FHIR_FAULTS


def test_every_seeded_fault_is_in_the_golden_file() -> None:
    # MSSanté and DMP faults came after the capture: test_campaign_reference.py, tests/mssante and tests/dmp judge
    # them; FHIR faults added after it are judged by tests/reference/test_fault_exactness.py
    after = {name for name, fault in FAULTS.items() if fault.endpoint.startswith(("mssante", "dmp-"))}
    after |= set(FHIR_FAULTS) - set(golden.FAULT_SUITES)
    assert set(golden.FAULT_SUITES) == set(FAULTS) - after
    assert set(golden.load_golden()) == {golden.CLEAN, *golden.FAULT_SUITES}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> golden.Verdicts:
    return golden.capture(Path(tmp_path_factory.mktemp("golden")))


def test_verdicts_match_the_golden_file(fresh: golden.Verdicts) -> None:
    expected = golden.translate(golden.load_golden())
    if os.environ.get("HOPEN_UPDATE_GOLDEN") and golden.RENAMED | dict.fromkeys(golden.EXPECTED_CHANGES):
        # an update writes only what the declared renames and changes explain
        assert fresh == expected, _differences(expected, fresh)
        golden.write_golden(fresh)
        return
    assert fresh == expected, _differences(expected, fresh)


def _differences(expected: golden.Verdicts, fresh: golden.Verdicts) -> str:
    lines = []
    for scenario in sorted(set(expected) | set(fresh)):
        old, new = expected.get(scenario, {}), fresh.get(scenario, {})
        for test_id in sorted(set(old) | set(new)):
            if old.get(test_id) != new.get(test_id):
                lines.append(f"{scenario}: {test_id}: {old.get(test_id, '(absent)')} -> {new.get(test_id, '(absent)')}")
    return "verdicts changed:\n" + "\n".join(lines)
