"""The message catalogue: the harness's user-facing strings, French by default, English on request.

    text("verdict.invalid", "fr", errors=3, warnings=1)  ->  "INVALIDE (3 erreurs, 1 avertissement)"
    text("verdict.invalid", "en", errors=3, warnings=1)  ->  "INVALID (3 errors, 1 warning)"

`fr.yaml` and `en.yaml` hold the same dotted keys with the same named `{parameters}` (a test checks it).
A leaf is a string, or a plural mapping `{one: ..., other: ...}` chosen by the parameter `n` (French
counts 0 and 1 as singular, English only 1). Counts inside a sentence are formatted by `count(...)`.

French text goes through `typography` once, here: a narrow no-break space (U+202F) before « : ; ! ? »
and inside « guillemets », so that the catalogue can be written with ordinary spaces (or none).
`localise(message, lang)` renders in French the English fragments of the harness's own validator texts
(profile notes, parser details) listed in `fragments_fr.yaml`; message ids never change.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from conformance.yamldoc import load_yaml

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
NNBSP = "\u202f"

_FILES = resources.files("conformance.i18n")
# A space (or none) before a French double punctuation mark ending a word: "Rapport:" / "Rapport :".
# Not in URLs, times, OIDs or fingerprints: the mark must be followed by a space or the end of the text.
_DOUBLE_PUNCTUATION = re.compile(r"(?<=[^\s:/\\\u202f\u00a0])[ \u00a0]?([;:!?])(?=\s|$)")
_OPENING_QUOTE = re.compile(r"«[ \u00a0\u202f]?")
_CLOSING_QUOTE = re.compile(r"[ \u00a0\u202f]?»")


class BilingualError(Exception):
    """An error told in both languages: `str()` is the English text, `message(lang)` the one to show."""

    def __init__(self, message_fr: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_fr = message_fr
        self.message_en = message_en

    @property
    def fr(self) -> str:
        return self.message_fr

    @property
    def en(self) -> str:
        return self.message_en

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return self.message_fr if lang == "fr" else self.message_en


def told(error: BaseException, lang: str = DEFAULT_LANGUAGE) -> str | None:
    """The error's own words in `lang`: a BilingualError's, or any error's `message(lang)`; None when it has none
    (then the caller says what it can: the system's `strerror`, the exception's text)."""
    message = getattr(error, "message", None)
    if not callable(message):
        return None
    try:
        return str(message(lang))
    except TypeError:  # a `message` that takes no language
        return None


class CatalogueKeyError(KeyError):
    """A key that the catalogue does not have (a bug in the caller: tests catch it)."""


def language(value: str | None = None) -> str:
    """`value` if it is a supported language, else HOPEN_LANG, else French."""
    for candidate in (value, os.environ.get("HOPEN_LANG")):
        if candidate and candidate.lower()[:2] in LANGUAGES:
            return candidate.lower()[:2]
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, Any]:
    """The whole catalogue of one language, as loaded (nested mappings)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r} (supported: {', '.join(LANGUAGES)})")
    return load_yaml(_FILES.joinpath(f"{lang}.yaml").read_text(encoding="utf-8"))


def flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf (a string, or a plural mapping)."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not _is_plural(value):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _is_plural(value: Mapping[str, Any]) -> bool:
    return set(value) == {"one", "other"}


@lru_cache(maxsize=4)
def _flat(lang: str) -> dict[str, Any]:
    return flatten(catalogue(lang))


def parameters(template: str) -> set[str]:
    """The named fields of a template ("{n} erreurs" -> {"n"})."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def text(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The catalogue's text for `key` in `lang`, formatted with `params` (French typography applied)."""
    lang = language(lang)
    try:
        leaf = _flat(lang)[key]
    except KeyError:
        raise CatalogueKeyError(key) from None
    if isinstance(leaf, Mapping):
        leaf = leaf["one"] if _singular(params.get("n", 0), lang) else leaf["other"]
    rendered = str(leaf).format(**params) if params else str(leaf)
    return typography(rendered, lang)


def both(key: str, /, **params: Any) -> tuple[str, str]:
    """The catalogue's text for `key` in French and in English (the two messages of a `BilingualError`)."""
    return text(key, "fr", **params), text(key, "en", **params)


def count(key: str, n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """`n` with its noun: count("noun.error", 3) -> "3 erreurs"."""
    return text(key, lang, n=n)


def _singular(n: Any, lang: str) -> bool:
    try:
        value = abs(int(n))
    except (TypeError, ValueError):
        return False
    return value <= 1 if lang == "fr" else value == 1


def section(prefix: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """A nested part of the catalogue (e.g. "report" for the HTML template), typography applied."""
    node: Any = catalogue(language(lang))
    for part in prefix.split("."):
        node = node[part]
    return _typeset(node, language(lang))


def _typeset(node: Any, lang: str) -> Any:
    if isinstance(node, str):
        return typography(node, lang)
    if isinstance(node, Mapping):
        return {key: _typeset(value, lang) for key, value in node.items()}
    return node


def typography(value: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """French typography for `value` (other languages unchanged): U+202F before ; : ! ? and inside « »."""
    if lang != "fr" or not value:
        return value
    value = _DOUBLE_PUNCTUATION.sub(NNBSP + r"\1", value)
    value = _OPENING_QUOTE.sub("«" + NNBSP, value)
    return _CLOSING_QUOTE.sub(NNBSP + "»", value)


def severity(value: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A finding's severity as a reader says it: "erreur", "avertissement", "information", "fatale"."""
    return text(f"severity.{value}", lang)


@lru_cache(maxsize=1)
def _fragments() -> tuple[tuple[tuple[re.Pattern[str], str], ...], tuple[tuple[re.Pattern[str], str], ...]]:
    entries = load_yaml(_FILES.joinpath("fragments_fr.yaml").read_text(encoding="utf-8"))

    def compiled(name: str) -> tuple[tuple[re.Pattern[str], str], ...]:
        return tuple((re.compile(entry["en"]), entry["fr"]) for entry in entries.get(name) or ())

    return compiled("fragments"), compiled("notes")


# A profile note: "[PAM FR §5.1.1: ...]", "[CI-SIS: ...]" (a label, then a colon); never a FHIRPath expression
# in brackets, whose "or" / "and" are operators.
_NOTE = re.compile(r"\[((?:[A-Z][\w'’ -]{0,40}?)(?: ?§[\d.]+)?: [^\[\]]{1,200})\]")


def _french_note(match: re.Match[str]) -> str:
    note = match.group(1)
    for pattern, french in _fragments()[1]:
        note = pattern.sub(french, note)
    return f"[{note}]"


_EMPTY_PLACEHOLDER = re.compile(r"\s*:\s*\?\s*$")
# "3 erreur(s)", "0 patients trouvé(s)": the count decides (1 singular, otherwise plural).
_OPTIONAL_PLURAL = re.compile(r"\b(\d+)((?:[ \u00a0]+[^\W\d]+){1,3}?)\(s\)")


def _plural(match: re.Match[str]) -> str:
    words = match.group(2)
    return f"{match.group(1)}{words}" if int(match.group(1)) == 1 else f"{match.group(1)}{words}s"


def localise(message: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A validator's or the tool's message made fully French: known English fragments replaced, typography.
    In both languages, a trailing ": ?" (a detail the producer did not know) is dropped."""
    if not message:
        return message
    message = _EMPTY_PLACEHOLDER.sub("", message)
    if lang != "fr":
        return message
    for pattern, french in _fragments()[0]:
        message = pattern.sub(french, message)
    for _ in range(3):  # "0 patient(s) trouvé(s)": one word per pass
        message, changed = _OPTIONAL_PLURAL.subn(_plural, message)
        if not changed:
            break
    message = _NOTE.sub(_french_note, message)
    return typography(message, lang)
