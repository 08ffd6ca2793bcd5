"""`conformance validate` (being built: see the issue tracker)."""

from __future__ import annotations

import click


@click.command(name="validate")
def command() -> None:
    """Not available yet."""
    raise click.ClickException("'validate' is not available yet")
