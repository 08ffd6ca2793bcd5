"""Per-event overrides of a YAML profile set: an event's override changes that event only (the definitions it
does not touch are shared by every event, so a change must never reach them)."""

from __future__ import annotations

import os
from pathlib import Path

from conformance.validation.hl7v2 import load_profile_set, profile
from conformance.validation.hl7v2.profile import forget_profile_sets

PROFILE = """id: overrides-test
title: overrides
hl7_version: "2.5"
segments: [segments.yaml]
structures:
  ADT_A01: ["MSH R 1..1", "PID R 1..1"]
messages:
  ADT^A01:
    structure: ADT_A01
    overrides: {PID-5.2: R, PID-7: {usage: R, note: birth}}
  ADT^A04:
    structure: ADT_A01
"""
SEGMENTS = """PID:
  fields:
    5: {name: Patient Name, usage: R, components: {1: {usage: R}, 2: {usage: O}}}
    7: {name: Birth, usage: O}
    8: {name: Sex, usage: O}
"""


def test_an_override_changes_its_event_only(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    (tmp_path / "segments.yaml").write_text(SEGMENTS, encoding="utf-8")
    profiles = load_profile_set(tmp_path / "profile.yaml").messages
    a01, a04 = profiles["ADT^A01"].segments["PID"], profiles["ADT^A04"].segments["PID"]
    assert (a01.fields[5].components[2].usage, a01.fields[7].usage, a01.fields[7].note) == ("R", "R", "birth")
    assert (a04.fields[5].components[2].usage, a04.fields[7].usage, a04.fields[7].note) == ("O", "O", "")
    assert a01.fields[7].min == 1 and a04.fields[7].min == 0
    assert a01.fields[5].components[1] is a04.fields[5].components[1]  # untouched: shared
    assert a01.fields[8] is a04.fields[8]


def test_an_edited_profile_file_is_read_again(tmp_path: Path, monkeypatch) -> None:
    """The mtime of a profile file is checked at most once per RECHECK_SECONDS (or at once after
    forget_profile_sets): a long-lived process sees an edited profile."""
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    (tmp_path / "segments.yaml").write_text(SEGMENTS, encoding="utf-8")
    assert load_profile_set(path).title == "overrides"

    def edit(title: str, mtime: int) -> None:
        path.write_text(PROFILE.replace("title: overrides", f"title: {title}"), encoding="utf-8")
        os.utime(path, (mtime, mtime))

    edit("edited", 2_000_000_000)
    forget_profile_sets()
    assert load_profile_set(path).title == "edited"
    edit("edited again", 2_000_000_100)
    monkeypatch.setattr(profile, "RECHECK_SECONDS", 0.0)  # as if the interval had passed
    assert load_profile_set(path).title == "edited again"
