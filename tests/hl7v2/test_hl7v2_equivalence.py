"""The HL7 v2 validator's findings do not move when its engine is optimised (SHALL: same findings as before).

Every ANS sample of ../shared/hl7v2-samples, and a damaged copy of each (every fifth field replaced by values
that break data types, tables, lengths and component counts, and every third segment given a field beyond
its definition), is validated (embedded CDA documents are the CDA tests' business), and every finding (severity,
rule, location, English text) is compared with `hl7v2_findings.json`, recorded from the engine before its
hot path was reworked. An intended change of findings is recorded by regenerating the file:
`HOPEN_UPDATE_GOLDEN=1 python -m pytest tests/hl7v2/test_hl7v2_equivalence.py -p no:xdist`, and saying why in
the commit message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance import settings
from conformance.validation.hl7v2 import split_messages, validate_message

GOLDEN = Path(__file__).with_name("hl7v2_findings.json")
_DAMAGE = (
    "X^Y~Z",
    "^".join("abcdefghijklmnopqrstuvwxyz"),
    "99999999999999999999999999999999999999999999999999999999999999999999",
    "2024-13-45",
    "^^^^^^^^^^",
)


def _samples() -> list[Path]:
    root = settings.hl7v2_samples_dir()
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".er7", ".hl7") and p.is_file())


def _damaged(data: bytes) -> bytes:
    """Every fifth field of every segment but MSH replaced, in turn, by one of the damaging values; every third
    segment gets a field far beyond its definition."""
    segments = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
    out = []
    turn = 0
    for number, segment in enumerate(segments):
        fields = segment.split(b"|")
        if segment and not segment.startswith(b"MSH"):
            for index in range(5, len(fields), 5):
                fields[index] = _DAMAGE[turn % len(_DAMAGE)].encode()
                turn += 1
            if number % 3 == 1:
                fields += [b""] * 80 + [b"beyond"]
        out.append(b"|".join(fields))
    return b"\r".join(out)


def _findings(data: bytes, name: str) -> list[list[str]]:
    outcomes = [validate_message(message, check_cda=False, name=name) for message in split_messages(data)]
    return [
        [outcome.subject, f.severity, f.rule, f.location, f.message_en]
        for outcome in outcomes
        for f in outcome.findings
    ]


def _current() -> dict[str, list[list[str]]]:
    root = settings.hl7v2_samples_dir()
    current: dict[str, list[list[str]]] = {}
    for path in _samples():
        name = path.relative_to(root).as_posix()
        data = path.read_bytes()
        current[name] = _findings(data, name)
        current[f"{name} (damaged)"] = _findings(_damaged(data), name)
    return current


def test_same_findings_as_recorded_on_the_samples_and_their_damaged_copies() -> None:
    if not _samples():
        pytest.skip(f"no HL7 v2 samples under {settings.hl7v2_samples_dir()}")
    current = _current()
    if os.environ.get("HOPEN_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(current) == sorted(recorded)
    for name in recorded:
        assert current[name] == recorded[name], name
    damaged = [f for name, found in current.items() if name.endswith("(damaged)") for f in found]
    assert len({f[2] for f in damaged}) >= 5  # the damaged copies exercise several kinds of finding
