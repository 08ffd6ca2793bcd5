"""`conformance verify DIR`: exit 0 when the sealed run is intact; non-zero, naming each file, otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import click

_MESSAGES = {
    "fr": {
        "intact": "INTÈGRE : {n} fichiers conformes au manifeste signé (clé {fp}, {src}).",
        "broken": "ALTÉRÉ OU NON SCELLÉ : {n} problème(s)",
        "renderings": "Rendus ultérieurs non scellés (renderings/) : {n} fichier(s)",
        "generated": "clé générée pour l'exécution : intégrité prouvée, pas l'origine",
        "configured": "clé configurée",
    },
    "en": {
        "intact": "INTACT: {n} files match the signed manifest (key {fp}, {src}).",
        "broken": "ALTERED OR NOT SEALED: {n} problem(s)",
        "renderings": "Later renderings, not sealed (renderings/): {n} file(s)",
        "generated": "key generated for the run: integrity proven, not origin",
        "configured": "configured key",
    },
}


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
    (re.compile(r"^incomplete run, not sealed$"), "exécution incomplète, non scellée (incomplete run, not sealed)"),
    (re.compile(r"^not sealed: manifest.json missing$"), "non scellé : manifest.json absent"),
    (
        re.compile(r"^manifest.json: signature does not match (.*)$"),
        r"manifest.json : la signature ne correspond pas \1",
    ),
)


def _localize(problem: str, lang: str) -> str:
    if lang != "fr":
        return problem
    for pattern, replacement in _FRENCH:
        if pattern.match(problem):
            return pattern.sub(replacement, problem)
    return problem


@click.command(name="verify")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also require the seal to be made with this key (PEM public or private key).",
)
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
def command(run_dir: Path, public_key: Path | None, lang: str) -> None:
    """Check that the run in RUN_DIR is sealed and that no file was changed, added, removed or renamed."""
    from conformance.evidence.sealing import verify_details

    text = _MESSAGES[lang]
    result = verify_details(run_dir, public_key)
    if result.renderings:
        click.echo(text["renderings"].format(n=len(result.renderings)))
    if result.intact:
        source = text.get(result.key_source or "", result.key_source or "?")
        click.echo(text["intact"].format(n=result.files, fp=result.key_fingerprint, src=source))
        return
    click.echo(text["broken"].format(n=len(result.problems)), err=True)
    for problem in result.problems:
        click.echo(f"  {_localize(problem, lang)}", err=True)
    raise SystemExit(1)
