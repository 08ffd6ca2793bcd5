"""`conformance serve` (being built: see the issue tracker)."""

from __future__ import annotations

import click


@click.command(name="serve")
def command() -> None:
    """Not available yet."""
    raise click.ClickException("'serve' is not available yet")
