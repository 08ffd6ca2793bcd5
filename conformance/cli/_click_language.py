"""The command-line library's own messages (usage errors, help headings) in the user's language.

Click marks its messages with gettext (`_()` and `ngettext()` bound in each of its modules); French is
the default here, so those names are bound to the catalogue's `click_fr.yaml` unless the command line
asks for English (`--lang en`) or HOPEN_LANG does. Unknown ids fall through to Click's English.
"""

from __future__ import annotations

import gettext
import importlib
import sys
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from conformance.i18n import language, typography

_CLICK_MODULES = ("core", "exceptions", "types", "parser", "decorators", "formatting", "termui", "utils")


_current = {"lang": "fr"}


@lru_cache(maxsize=1)
def _french() -> dict[str, Any]:
    data = yaml.safe_load(resources.files("conformance.i18n").joinpath("click_fr.yaml").read_text(encoding="utf-8"))
    return {"messages": data["messages"], "plurals": data["plurals"]}


def gettext_fr(message: str) -> str:
    french = _french()["messages"].get(message) if _current["lang"] == "fr" else None
    return typography(french, "fr") if french else gettext.gettext(message)


def ngettext_fr(singular: str, plural: str, n: int) -> str:
    forms = _french()["plurals"].get(singular) if _current["lang"] == "fr" else None
    if not forms:
        return gettext.ngettext(singular, plural, n)
    return typography(forms["one"] if n <= 1 else forms["other"], "fr")


def requested_language(argv: Sequence[str]) -> str:
    """`--lang en` / `--lang=en` anywhere on the command line, else HOPEN_LANG, else French."""
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return language(argv[index + 1])
        if arg.startswith("--lang="):
            return language(arg.split("=", 1)[1])
    return language()


def set_language(lang: str) -> None:
    _current["lang"] = language(lang)


def install(argv: Sequence[str] | None = None) -> None:
    """Binds Click's message functions to the catalogue (once, before the commands are declared: Click
    translates some names, e.g. "path", when an option is declared)."""
    set_language(requested_language(sys.argv[1:] if argv is None else argv))
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = gettext_fr  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext_fr  # type: ignore[attr-defined]
