"""`conformance run` (being built: see the issue tracker)."""

from __future__ import annotations

import click


@click.command(name="run")
def command() -> None:
    """Not available yet."""
    raise click.ClickException("'run' is not available yet")
