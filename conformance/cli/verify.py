"""`conformance verify DIR`: exit 0 when the sealed run is intact; non-zero, naming each file, otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import click

from conformance.cli._click_language import lang_option
from conformance.evidence.sanitize import for_terminal
from conformance.i18n import count, text, typography

_FRENCH = (
    (
        re.compile(r"^(.*): modified \(SHA-256 differs from the manifest\)$"),
        r"\1 : modifié (SHA-256 différent du manifeste)",
    ),
    (re.compile(r"^(.*): missing \(removed or renamed\)$"), r"\1 : absent (supprimé ou renommé)"),
    (
        re.compile(r"^(.*): added after sealing \(not in the manifest\)$"),
        r"\1 : ajouté après le scellement (absent du manifeste)",
    ),
    (
        re.compile(r"^(.*): symbolic link \(not allowed in a sealed run\)$"),
        r"\1 : lien symbolique (interdit dans une exécution scellée)",
    ),
    (re.compile(r"^incomplete run, not sealed$"), "exécution incomplète, non scellée"),
    (re.compile(r"^not sealed: manifest.json missing$"), "non scellé : manifest.json absent"),
    (
        re.compile(r"^manifest.json: sealed with another key than the expected one \((.*)\)$"),
        r"manifest.json : scellé avec une clé qui n'est pas une clé de confiance (\1)",
    ),
    (
        re.compile(r"^(.*): not a regular file \(FIFO, socket or device: not allowed in a sealed run\)$"),
        r"\1 : pas un fichier ordinaire (FIFO, socket ou périphérique : interdit dans une exécution scellée)",
    ),
    (
        re.compile(r"^manifest.json: signature does not match (.*)$"),
        r"manifest.json : la signature ne correspond pas \1",
    ),
    (
        re.compile(r"^(.*): unreadable \(cannot be checked against the manifest\)$"),
        r"\1 : illisible (impossible de le comparer au manifeste)",
    ),
    (re.compile(r"^(.*): unreadable \((\w+)\)$"), r"\1 : illisible (\2)"),
    (
        re.compile(r"^manifest.json: not valid JSON \(edited or damaged\)$"),
        "manifest.json : JSON invalide (modifié ou abîmé)",
    ),
    (
        re.compile(r"^manifest.json: not a hopen-conformance manifest \(edited or damaged\)$"),
        "manifest.json : pas un manifeste hopen-conformance (modifié ou abîmé)",
    ),
    (
        re.compile(r"^manifest.json: not a regular file or larger than (\d+) bytes$"),
        r"manifest.json : pas un fichier ordinaire, ou plus de \1 octets",
    ),
    (re.compile(r"^manifest.sig: missing \(removed\)$"), "manifest.sig : absent (supprimé)"),
    (
        re.compile(r"^manifest.json/manifest.sig: unreadable key or signature \(edited\)$"),
        "manifest.json/manifest.sig : clé ou signature illisible (modifiée)",
    ),
    (
        re.compile(r"^results.json: says the run is incomplete, yet it is sealed$"),
        "results.json : indique une exécution incomplète, pourtant scellée",
    ),
)


def _localize(problem: str, lang: str) -> str:
    if lang != "fr":
        return problem
    for pattern, replacement in _FRENCH:
        if pattern.match(problem):
            return typography(pattern.sub(replacement, problem), lang)
    return problem


@click.command(name="verify")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--trust",
    "trust",
    multiple=True,
    metavar="FINGERPRINT|KEYFILE",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@lang_option()
def command(run_dir: Path, trust: tuple[str, ...], public_key: Path | None, lang: str) -> None:
    """Check that the run in RUN_DIR is sealed, by a trusted key, and that no file was changed, added, removed
    or renamed."""
    from conformance.evidence.sealing import read_trusted_keys, verify_details

    if not run_dir.is_dir():
        raise click.UsageError(text("verify.not_a_run", lang, path=for_terminal(run_dir, one_line=True)))
    trusted = _trusted(trust + ((str(public_key),) if public_key else ()), lang)
    trust_source = "" if trusted else None
    if not trusted:
        trusted = read_trusted_keys()
        trust_source = None if not trusted else _trust_file()
    result = verify_details(run_dir, trusted=trusted)
    if result.renderings:
        click.echo(text("verify.renderings", lang, files=count("noun.file", len(result.renderings), lang)))
    if result.intact:
        _print_intact(result, lang, trust_source)
        return
    problems = count("noun.problem", len(result.problems), lang)
    click.echo(for_terminal(text("verify.broken", lang, problems=problems)), err=True)
    for problem in result.problems:
        click.echo(f"  {for_terminal(_localize(problem, lang), one_line=True)}", err=True)
    if trust_source:
        click.echo("  " + text("verify.trust_file", lang, file=for_terminal(trust_source, one_line=True)), err=True)
    raise SystemExit(1)


def _trusted(values: tuple[str, ...], lang: str = "fr") -> dict[str, str]:
    from conformance.evidence.sealing import TrustError, trust_entry

    trusted: dict[str, str] = {}
    for value in values:
        try:
            trusted[trust_entry(value)] = ""
        except TrustError:
            raise click.UsageError(for_terminal(text("keys.not_a_key", lang, key=value))) from None
    return trusted


def _trust_file() -> str:
    from conformance.evidence.sealing import trusted_keys_file

    return str(trusted_keys_file())


def _print_intact(result, lang: str, trust_source: str | None) -> None:
    files = count("noun.file", result.files, lang)
    if result.key_source == "trusted":
        label = f" ({for_terminal(result.trusted_label, one_line=True)})" if result.trusted_label else ""
        click.echo(text("verify.trusted", lang, files=files, fp=result.key_fingerprint, label=label))
        if trust_source:
            click.echo("  " + text("verify.trust_file", lang, file=for_terminal(trust_source, one_line=True)))
        return
    click.echo(text("verify.untrusted", lang, files=files, fp=result.key_fingerprint))
    click.echo(text("verify.untrusted_note", lang))
