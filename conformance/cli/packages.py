"""`conformance packages` (being built: see the issue tracker)."""

from __future__ import annotations

import click


@click.command(name="packages")
def command() -> None:
    """Not available yet."""
    raise click.ClickException("'packages' is not available yet")
