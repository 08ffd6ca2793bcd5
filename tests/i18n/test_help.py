"""The help of every command and option is in the catalogue, French by default and English with --lang en."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from conformance.cli import cli
from conformance.i18n import catalogue

from .conftest import conformance
from .english import english_fragments


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


COMMANDS = [path for path, _ in _commands(cli)]


def _node(lang: str, path: tuple[str, ...]) -> dict:
    node = catalogue(lang)["cli"]["conformance"]
    for name in path:
        node = node["commands"][name]
    return node


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_command_and_option_has_its_help_in_the_catalogue(lang: str) -> None:
    """SHALL: no command or option shows an untranslated (or empty) help; no catalogue entry is dead."""
    missing, dead = [], []
    for path, command in _commands(cli):
        node = _node(lang, path)
        if not node.get("help") or not node.get("short_help"):
            missing.append(" ".join(path) or "conformance")
        options = {p.name for p in command.params if isinstance(p, click.Option)}
        missing += [f"{' '.join(path)} --{name}" for name in options - set(node.get("options") or {})]
        dead += [f"{' '.join(path)} --{name}" for name in set(node.get("options") or {}) - options]
        dead += [
            f"{' '.join(path)} {name}"
            for name in set(node.get("commands") or {}) - set(getattr(command, "commands", {}))
        ]
    assert missing == [] and dead == []


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="conformance")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "conformance")
def test_help_is_french_by_default(path: tuple[str, ...]) -> None:
    """SHALL: `conformance [COMMAND] --help` reads as French: headings, command and option texts."""
    output = _help(*path)
    assert "Utilisation\u202f:" in output and "Options\u202f:" in output
    assert _node("fr", path)["help"].split()[0] in output
    assert english_fragments(output) == [], output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "conformance")
def test_help_is_english_with_lang_en(path: tuple[str, ...]) -> None:
    """SHALL: the same help in English with --lang en (after the command), and French again without it."""
    output = _help(*path, "--lang", "en")
    assert "Usage:" in output and "Show this message and exit." in output
    assert _node("en", path)["help"].split()[0] in output
    assert "Utilisation" in _help(*path)


def test_the_real_command_helps_in_french_and_in_english() -> None:
    french = conformance("validate", "--help")
    assert french.returncode == 0
    assert "Valide des fichiers" in french.stdout and "URL canonique du profil" in french.stdout
    assert english_fragments(french.stdout) == []
    english = conformance("--lang", "en", "validate", "--help")
    assert "Validate files, folders or FHIR packages" in english.stdout
    assert conformance("validate", "--help", env={"HOPEN_LANG": "en"}).stdout == english.stdout
