"""The README's "Where things live" names every module and folder of the package, and only those."""

from __future__ import annotations

import re
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def _documented() -> set[str]:
    text = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Where things live", 1)[1]
    block = section.split("```", 2)[1]
    return set(re.findall(r"^  ([a-z_0-9]+(?:/|\.py))", block, re.M))


def _package() -> set[str]:
    entries = set()
    for entry in (CHECKOUT / "conformance").iterdir():
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and any(entry.iterdir()):
            entries.add(entry.name + "/")
        elif entry.suffix == ".py":
            entries.add(entry.name)
    return entries


def test_where_things_live_matches_the_package() -> None:
    documented, package = _documented(), _package()
    assert not package - documented, f"not in README's Where things live: {sorted(package - documented)}"
    assert not documented - package, (
        f"in README's Where things live, not in conformance/: {sorted(documented - package)}"
    )
