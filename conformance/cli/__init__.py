"""The `conformance` command: a thin layer over the library. Each subcommand lives in its own module."""

from __future__ import annotations

import sys

import click

from conformance import __version__
from conformance.cli._click_language import install, requested_language, set_language

install()


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from conformance.versions import describe_versions

    click.echo(f"hopen-conformance {__version__}")
    for line in describe_versions():
        click.echo(f"  {line}")
    ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the tool version and the versions of the FHIR packages and rule sets it loads.",
)
def cli() -> None:
    """Conformance harness for French hospital interoperability (Hop'en, HOP'EN 2, Ségur)."""


def _register() -> None:
    from conformance.cli import keys, packages, report, run, serve, validate, verify

    for module in (packages, validate, run, serve, report, verify, keys):
        cli.add_command(module.command)


_register()


def main() -> None:
    set_language(requested_language(sys.argv[1:]))
    try:
        cli.main(prog_name="conformance", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
