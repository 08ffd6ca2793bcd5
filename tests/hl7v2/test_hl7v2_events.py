"""Every event profile of the PAM FR 2.11 set is coherent: a message built from its required segments (with the
ZBE action its movement kind asks for) validates, and dropping a required segment is reported."""

from __future__ import annotations

import pytest

from conformance.validation.hl7v2 import validate_message
from conformance.validation.hl7v2.profile import GroupRef, MessageProfile, SegmentRef, load_profile_set

from .conftest import ADT_A01

PAM = load_profile_set("pam-fr-2.11")
LIBRARY = {raw[:3]: raw for raw in ADT_A01.rstrip("\r").split("\r")}
LIBRARY["MRG"] = "MRG|000002^^^CHU-X&000897406&N^PI"
LIBRARY["MSA"] = "MSA|AA|3975"


def _required(elements: list[SegmentRef | GroupRef]) -> list[str]:
    names: list[str] = []
    for element in elements:
        if element.usage != "R" and element.min == 0:
            continue
        names += _required(element.children) if isinstance(element, GroupRef) else [element.name]
    return names


def build(profile: MessageProfile) -> str:
    code, _, event = profile.event.partition("^")
    structure = profile.msh9.split("^")[2] if profile.msh9.count("^") == 2 else "ACK"
    lines = []
    for name in _required(profile.elements):
        raw = LIBRARY[name]
        if name == "MSH":
            fields = raw.split("|")
            fields[8] = f"{code}^{event}^{structure}" if code != "ACK" else "ACK^A01^ACK"
            raw = "|".join(fields)
        if name == "ZBE":
            raw = _zbe(profile, raw)
        lines.append(raw)
    return "\r".join(lines) + "\r"


def _zbe(profile: MessageProfile, raw: str) -> str:
    fields = raw.split("|")
    movement = profile.settings.get("movement")
    cancels = profile.settings.get("cancels") or ["A01"]
    fields[4] = {"cancel": "CANCEL", "update": "UPDATE"}.get(movement, "INSERT")
    fields[6] = cancels[0] if fields[4] in ("CANCEL", "UPDATE") else ""
    return "|".join(fields)


EVENTS = sorted(PAM.messages)


def test_the_pam_fr_set_covers_the_issue_events() -> None:
    wanted = {f"ADT^A{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 21, 22, 28, 31, 38, 40, 52, 53, 54, 55)}
    assert wanted | {"ACK^*"} <= set(EVENTS)


@pytest.mark.parametrize("event", EVENTS)
def test_minimal_message_of_each_event_validates(event: str) -> None:
    profile = PAM.messages[event]
    message = build(profile)
    outcome = validate_message(message, check_cda=False)
    assert outcome.details["profile"] == profile.id
    assert outcome.is_valid, message.replace("\r", "\n") + outcome.render("en")


@pytest.mark.parametrize("event", [e for e in EVENTS if "PV1" in _required(PAM.messages[e].elements)])
def test_dropping_pv1_is_reported(event: str) -> None:
    message = "".join(f"{s}\r" for s in build(PAM.messages[event]).rstrip("\r").split("\r") if not s.startswith("PV1"))
    outcome = validate_message(message, check_cda=False)
    assert ("hl7v2-usage-R", "PV1") in {(f.rule, f.location) for f in outcome.errors}, outcome.render("en")
