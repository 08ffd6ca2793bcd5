"""The `conformance` command: a thin layer over the library. Each subcommand lives in its own module."""

from __future__ import annotations

import logging
import sys

import click

from conformance import __version__
from conformance.cli._click_language import LocalisedGroup, install, lang_option, requested_language, set_language
from conformance.i18n import typography

install()


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from conformance.versions import describe_versions

    click.echo(f"hopen-conformance {__version__}")
    for line in describe_versions():
        click.echo(f"  {line}")
    ctx.exit(0)


@click.group(cls=LocalisedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@lang_option(expose_value=False, is_eager=True)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
)
def cli() -> None:
    """Conformance harness for French hospital interoperability (Hop'en, HOP'EN 2, Ségur).
    (The help shown to users is the catalogue's `cli` section: conformance/i18n.)"""


def _register() -> None:
    from conformance.cli import compare, keys, packages, report, run, serve, validate, verify

    for module in (packages, validate, run, serve, report, verify, compare, keys):
        cli.add_command(module.command)


_register()


class _FrenchLogMessages(logging.Filter):
    """The harness's own warnings logged in English (e.g. the one-run seal key) shown in French on a French
    console; every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        from conformance.evidence.sealing import GENERATED_KEY_WARNING_EN, GENERATED_KEY_WARNING_FR

        if record.getMessage() == GENERATED_KEY_WARNING_EN:
            record.msg, record.args = typography(GENERATED_KEY_WARNING_FR, "fr"), ()
        return True


def _console_logging(lang: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.WARNING)
    if lang == "fr":
        handler.addFilter(_FrenchLogMessages())
    logging.getLogger("conformance").addHandler(handler)


def main() -> None:
    lang = requested_language(sys.argv[1:])
    set_language(lang)
    _console_logging(lang)
    try:
        cli.main(prog_name="conformance", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
