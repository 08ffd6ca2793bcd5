"""`conformance verify` (being built: see the issue tracker)."""

from __future__ import annotations

import click


@click.command(name="verify")
def command() -> None:
    """Not available yet."""
    raise click.ClickException("'verify' is not available yet")
