"""`conformance report` (being built: see the issue tracker)."""

from __future__ import annotations

import click


@click.command(name="report")
def command() -> None:
    """Not available yet."""
    raise click.ClickException("'report' is not available yet")
