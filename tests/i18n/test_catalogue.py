"""The message catalogue: both languages have every key with the same parameters; French typography."""

from __future__ import annotations

import inspect
import re
from importlib import resources

import click
import pytest
import yaml

from conformance.i18n import (
    NNBSP,
    BilingualError,
    CatalogueKeyError,
    catalogue,
    count,
    flatten,
    localise,
    parameters,
    severity,
    text,
    told,
    typography,
)


def _leaves(lang: str) -> dict[str, object]:
    return flatten(catalogue(lang))


def _templates(leaf: object) -> list[str]:
    return list(leaf.values()) if isinstance(leaf, dict) else [str(leaf)]


def test_every_key_has_both_languages():
    """SHALL: a key present in one language is present in the other."""
    french, english = set(_leaves("fr")), set(_leaves("en"))
    assert french - english == set(), "keys only in French"
    assert english - french == set(), "keys only in English"


def test_both_languages_take_the_same_named_parameters():
    """SHALL: a message formats with the same parameters whatever the language."""
    english = _leaves("en")
    different = {}
    for key, leaf in _leaves("fr").items():
        french_params = set().union(*(parameters(t) for t in _templates(leaf)))
        english_params = set().union(*(parameters(t) for t in _templates(english[key])))
        if french_params != english_params:
            different[key] = (sorted(french_params), sorted(english_params))
    assert different == {}


def test_plural_forms_follow_each_language():
    """SHALL: French counts 0 and 1 as singular, English only 1; the verdict line reads naturally."""
    assert count("noun.error", 0, "fr") == "0 erreur"
    assert count("noun.error", 3, "fr") == "3 erreurs"
    assert count("noun.error", 0, "en") == "0 errors"
    counts = text("verdict.counts", "fr", errors=count("noun.error", 3), warnings=count("noun.warning", 1))
    assert counts == "3 erreurs, 1 avertissement"


def test_severities_are_french_words():
    """SHALL: no ERROR / WARNING in French output."""
    assert [severity(s) for s in ("fatal", "error", "warning", "information")] == [
        "fatale",
        "erreur",
        "avertissement",
        "information",
    ]
    assert severity("error", "en") == "error"


def test_french_typography_in_one_place():
    """SHOULD: narrow no-break space before : ; ! ? and inside « », never inside URLs, times or fingerprints."""
    assert typography("Rapport: x") == f"Rapport{NNBSP}: x"
    assert typography("Pagination : le lien ; ok ?") == f"Pagination{NNBSP}: le lien{NNBSP}; ok{NNBSP}?"
    assert typography("« conformance verify »") == f"«{NNBSP}conformance verify{NNBSP}»"
    untouched = "http://127.0.0.1:8080/fhir?x=1 SHA256:ab12 10:30"
    assert typography(untouched) == untouched
    assert typography("Report: x", "en") == "Report: x"
    assert text("run.report", "fr", path="/tmp/r") == f"Rapport{NNBSP}: /tmp/r"


def test_unknown_key_is_a_bug_not_a_blank():
    with pytest.raises(CatalogueKeyError):
        text("no.such.key")


def test_validator_english_fragments_are_rendered_in_french():
    """SHALL: the harness's own English details and profile notes read in French; ids are not touched."""
    assert "Not a valid" not in localise("Valeur invalide pour le type date : Not a valid date ('25/12/1974')")
    note = localise("PV1-3 absent [PAM FR §5.1.1: UF d'hébergement required]")
    assert note.endswith("UF d'hébergement requis]"), note
    assert "requis si PV1-2 vaut E, I, O ou R" in localise("x [CI-SIS: required if PV1-2 is E, I, O or R]")
    assert localise("comporte 1 erreur(s)") == "comporte 1 erreur"
    assert localise("comporte 4 erreur(s)") == "comporte 4 erreurs"
    assert localise("Code non vérifié : non disponible localement : ?").endswith("localement")
    assert localise("Not a valid date ('x')", "en") == "Not a valid date ('x')"


def test_click_message_ids_exist_in_the_installed_click():
    """SHALL: every translated id of the command-line library is one it really emits (no dead entry)."""
    data = yaml.safe_load(resources.files("conformance.i18n").joinpath("click_fr.yaml").read_text(encoding="utf-8"))
    source = "".join(
        inspect.getsource(module)
        for module in (click.core, click.exceptions, click.types, click.parser, click.decorators, click.formatting)
    )
    source = re.sub(r'"\s*\n\s*"', "", source)  # implicit concatenations
    missing = [
        msgid
        for msgid in [*data["messages"], *data["plurals"]]
        if msgid.replace("\n", "\\n").replace("\t", "\\t") not in source
    ]
    assert missing == []


def test_an_error_tells_its_own_words_in_the_language_asked() -> None:
    class Legacy(Exception):  # a `message` that takes no language is not the error's words in a language
        def message(self) -> str:
            return "legacy"

    error = BilingualError("connexion refusée", "connection refused")
    assert told(error) == "connexion refusée" and told(error, "en") == "connection refused"
    assert told(Legacy("x"), "fr") is None and told(ValueError("plain"), "fr") is None
