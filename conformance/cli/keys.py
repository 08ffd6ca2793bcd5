"""`conformance keys`: an organisation's seal key pair, and the keys a verifier trusts.

    conformance keys create cle-sceau.pem --organisation "CH Exemple"   # private key (0600) + cle-sceau.pem.pub
    conformance keys trust cle-sceau.pem.pub --organisation "CH Exemple"  # or: trust SHA256:<fingerprint>
    conformance keys list                                                 # the trusted keys and their file

The signing organisation sets `[run] signing_key` to the private key and publishes the fingerprint (or the
.pub file); whoever receives a run checks it with `conformance verify DIR --trust FINGERPRINT`, or trusts it
once with `keys trust` (the user's trusted-keys file, `HOPEN_TRUSTED_KEYS` to point elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from conformance.cli._click_language import lang_option
from conformance.evidence.sanitize import for_terminal
from conformance.i18n import text

_LANG = lang_option()


@click.group(name="keys")
@lang_option(expose_value=False)
def command() -> None:
    """Seal keys: create an organisation's key pair, trust other organisations' keys."""


@command.command(name="create")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--organisation", "--organization", required=True)
@_LANG
def create(key_file: Path, organisation: str, lang: str) -> None:
    """Create an Ed25519 key pair: KEY_FILE (private, mode 0600; encrypted with $HOPEN_SIGNING_KEY_PASSWORD
    when set) and KEY_FILE.pub (public)."""
    from conformance.evidence.sealing import KEY_PASSWORD_ENV, generate_key_file

    if key_file.exists() or Path(f"{key_file}.pub").exists():
        click.echo(text("keys.exists", lang, key=for_terminal(key_file)), err=True)
        raise SystemExit(2)
    password = os.environ.get(KEY_PASSWORD_ENV)
    fingerprint = generate_key_file(key_file, password.encode("utf-8") if password else None)
    shown = for_terminal(key_file)
    click.echo(text("keys.created", lang, org=for_terminal(organisation), key=shown, pub=f"{shown}.pub"))
    click.echo(text("keys.fingerprint", lang, fp=fingerprint))
    click.echo(text("keys.next", lang, key=shown, fp=fingerprint))


@command.command(name="trust")
@click.argument("key")
@click.option("--organisation", "--organization", default="")
@_LANG
def trust(key: str, organisation: str, lang: str) -> None:
    """Trust KEY (a .pub / PEM key file or a SHA256: fingerprint) in the user's trusted-keys file."""
    from conformance.evidence.sealing import TrustError, add_trusted_key, trust_entry

    try:
        fingerprint = trust_entry(key)
    except TrustError:
        raise click.UsageError(for_terminal(text("keys.not_a_key", lang, key=key))) from None
    path = add_trusted_key(fingerprint, organisation)
    click.echo(text("keys.trusted", lang, fp=fingerprint, org=for_terminal(organisation), file=for_terminal(path)))


@command.command(name="list")
@_LANG
def list_keys(lang: str) -> None:
    """List the trusted keys."""
    from conformance.evidence.sealing import read_trusted_keys, trusted_keys_file

    path = trusted_keys_file()
    trusted = read_trusted_keys(path)
    if not trusted:
        click.echo(text("keys.none", lang, file=for_terminal(path)))
        return
    click.echo(text("keys.list", lang, file=for_terminal(path)))
    for fingerprint, label in trusted.items():
        click.echo(f"  {fingerprint} {for_terminal(label, one_line=True)}".rstrip())
