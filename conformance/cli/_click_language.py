"""The command-line library's own messages (usage errors, help headings) and the help of every command and
option in the user's language.

Click marks its messages with gettext (`_()` and `ngettext()` bound in each of its modules); French is
the default here, so those names are bound to the catalogue's `click_fr.yaml` unless the command line
asks for English (`--lang en`) or HOPEN_LANG does. Unknown ids fall through to Click's English.
The commands' and options' help texts are the catalogue's `cli` section, set on the command tree by
`LocalisedGroup.main` once the language is known (before Click parses, so `--help` is already translated).
"""

from __future__ import annotations

import gettext
import importlib
import sys
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import click

from conformance.i18n import LANGUAGES, catalogue, language, typography
from conformance.yamldoc import load_yaml

_CLICK_MODULES = ("core", "exceptions", "types", "parser", "decorators", "formatting", "termui", "utils")


_current = {"lang": "fr"}


@lru_cache(maxsize=1)
def _french() -> dict[str, Any]:
    data = load_yaml(resources.files("conformance.i18n").joinpath("click_fr.yaml").read_text(encoding="utf-8"))
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


def current_language() -> str:
    """The language asked for on this command line (the default of every `--lang` option)."""
    return _current["lang"]


def lang_option(**kwargs: Any) -> Any:
    """The `--lang` option of a command: French unless the command line or HOPEN_LANG asks for English."""
    return click.option("--lang", type=click.Choice(LANGUAGES), default=current_language, **kwargs)


def localise_help(root: click.Command, lang: str) -> None:
    """Sets the help of `root`, its options and its subcommands from the catalogue's `cli` section."""
    lang = language(lang)
    _localise(root, catalogue(lang)["cli"]["conformance"], lang)


def _localise(command: click.Command, node: dict[str, Any], lang: str) -> None:
    # a missing entry keeps the previous text (tests/i18n requires every entry)
    if node.get("help"):
        command.help = typography(node["help"], lang)
    if node.get("short_help"):
        command.short_help = typography(node["short_help"], lang)
    if getattr(command, "_help_option", None) is not None:
        command._help_option = None  # Click keeps the -h/--help option, with its text, once made
    options = node.get("options") or {}
    value_names = catalogue(lang)["cli_value"]
    for param in command.params:
        if isinstance(param, click.Option) and param.name in options:
            param.help = typography(options[param.name], lang)
        # Click names a value by its type ("TEXT", "INTEGER RANGE") unless the option gives a metavar
        if isinstance(param, click.Option) and (param.metavar is None or getattr(param, "_hopen_metavar", False)):
            param.metavar = value_names.get(param.type.name.replace(" ", "_")) or None
            param._hopen_metavar = True  # type: ignore[attr-defined]
    children = node.get("commands") or {}
    for name, sub in getattr(command, "commands", {}).items():
        if name in children:
            _localise(sub, children[name], lang)


class LocalisedGroup(click.Group):
    """The root group: reads the language from the command line, then translates the help and Click."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        lang = requested_language(sys.argv[1:] if args is None else list(args))
        set_language(lang)
        localise_help(self, lang)
        return super().main(args, *rest, **kwargs)
