"""Names given on the command line that the tool does not know (faults, hostile modes, programmes): one usage
error in the user's language, with the closest known name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from conformance.i18n import text


def closest(name: str, known: Iterable[str], lang: str) -> str:
    """ " Vouliez-vous dire « x » ?" for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return text("validate.did_you_mean", lang, name=close[0]) if close else ""


def reference_names_problem(faults: str | None, hostile: str | None, lang: str) -> str | None:
    """What is wrong with --faults / --hostile (None when every name is known)."""
    from conformance.reference.faults import FAULTS
    from conformance.reference.hostile import HOSTILE_MODES

    unknown = [name for name in (n.strip() for n in (faults or "").split(",")) if name and name not in FAULTS]
    if unknown:
        return text(
            "names.unknown_faults",
            lang,
            names=", ".join(unknown),
            n=len(unknown),
            suggestion=closest(unknown[0], FAULTS, lang),
        )
    if hostile and hostile not in HOSTILE_MODES:
        return text("names.unknown_hostile", lang, name=hostile, suggestion=closest(hostile, HOSTILE_MODES, lang))
    return None


def programme_problem(programme: str | None, lang: str) -> str | None:
    from conformance.reports.indicators import available_programmes

    known = list(available_programmes())
    if not programme or programme in known:
        return None
    return text(
        "names.unknown_programme",
        lang,
        name=programme,
        known=", ".join(known),
        suggestion=closest(programme, known, lang),
    )
