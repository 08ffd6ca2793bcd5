"""`conformance run`: run the conformance campaign described by a TOML configuration.

Exit codes (stable): 0 every executed SHALL test passed (SHOULD tests not met are warnings); 1 a SHALL test
failed; 2 the harness could not run (bad configuration, unusable output folder, broken suites), an endpoint was
unreachable at preflight, or the run is inconclusive (tests the harness could not judge, none failed; or no test
ran); 130 interrupted (partial, unsealed run folder).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from conformance.cli._click_language import current_language
from conformance.cli._names import reference_names_problem
from conformance.config import LANGUAGES, SUITES
from conformance.i18n import text


@click.command(name="run")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--suite",
    "suites",
    multiple=True,
    type=click.Choice(SUITES),
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--lang", type=click.Choice(LANGUAGES))
@click.option("--pdf", is_flag=True)
@click.option(
    "--reference",
    is_flag=True,
)
@click.option("--faults", default="")
@click.option(
    "--hostile",
    default=None,
)
@click.option("--no-preflight", is_flag=True)
@click.option("--quiet", is_flag=True)
@click.option(
    "--suppressions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
def command(
    config_path: Path | None,
    suites: tuple[str, ...],
    output: Path | None,
    lang: str | None,
    pdf: bool,
    reference: bool,
    faults: str,
    hostile: str | None,
    quiet: bool,
    suppressions: Path | None = None,
    no_preflight: bool = False,
) -> None:
    """Run the conformance campaign and write a sealed report (résultats, rapport, preuves)."""
    from conformance.campaign import EXIT_HARNESS, CampaignError, run_campaign
    from conformance.campaign.console import print_summary
    from conformance.config import ConfigError, RunConfig, load_config

    message_lang = lang or "fr"
    problem = reference_names_problem(faults, hostile, lang or current_language())
    if problem:
        raise click.UsageError(problem)
    try:
        if config_path is None and not reference:
            raise click.UsageError(text("run.config_required", message_lang))
        config = (
            load_config(config_path) if config_path else RunConfig(source=text("run.reference_source", message_lang))
        )
        message_lang = lang or config.run.language
        if suppressions:
            config.run.suppressions = suppressions.resolve()
        with contextlib.ExitStack() as stack:
            callbacks, dmp_callbacks = [], []
            mss_peer = None
            if reference:
                config, callback, mss_peer = _start_reference(stack, config, faults, hostile, message_lang)
                callbacks.append(callback)
                config, dmp_callback = _start_reference_dmp(stack, config, faults, message_lang)
                dmp_callbacks.append(dmp_callback)
            elif faults or hostile:
                raise click.UsageError(text("run.faults_need_reference", message_lang))
            result = run_campaign(
                config,
                suites=list(suites) or None,
                output=output,
                lang=lang,
                pdf=pdf,
                listener_callbacks=callbacks,
                mss_peer=mss_peer,
                dmp_callbacks=dmp_callbacks,
                progress=None if quiet else sys.stdout,
                preflight=not no_preflight,
            )
        if quiet:
            print_summary(result, message_lang)
    except ConfigError as exc:
        click.echo(exc.render(message_lang), err=True)
        sys.exit(EXIT_HARNESS)
    except CampaignError as exc:
        click.echo(exc.render(message_lang), err=True)
        sys.exit(EXIT_HARNESS)
    except click.ClickException:
        raise
    except Exception as exc:  # the harness itself failed: exit 2, never a verdict
        click.echo(text("run.internal_error", message_lang, error=f"{type(exc).__name__}: {exc}"), err=True)
        sys.exit(EXIT_HARNESS)
    sys.exit(result.exit_code)


def _start_reference(stack: contextlib.ExitStack, config, faults: str, hostile: str | None = None, lang: str = "fr"):
    from conformance.campaign import CampaignError
    from conformance.campaign.reference import reference_config, sender_callback
    from conformance.reference import ReferenceEndpoints

    try:
        ref = stack.enter_context(ReferenceEndpoints(faults=faults or frozenset(), hostile=hostile))
    except ValueError as exc:
        raise CampaignError(
            text("run.reference_error", "fr", error=exc), text("run.reference_error", "en", error=exc)
        ) from None
    shown_faults = text("run.reference_faults", lang, faults=faults) if faults else ""
    mllp = f"{ref.mllp_receiver[0]}:{ref.mllp_receiver[1]}"
    click.echo(text("run.reference_endpoints", lang, fhir=ref.fhir_base_url, mllp=mllp, faults=shown_faults))
    if not config.run.name:
        config.run.name = text("serve.template_name", lang)
    return reference_config(ref, config), sender_callback(ref), ref.mss


def _start_reference_dmp(stack: contextlib.ExitStack, config, faults: str, lang: str = "fr"):
    """The reference DMP parts: a conformant repository, and the DMP-feeding client sending to the harness."""
    from conformance.reference.dmp.endpoints import ReferenceDmp
    from conformance.reference.faults import parse_faults

    dmp = stack.enter_context(ReferenceDmp(parse_faults(faults or None)))
    click.echo(text("run.reference_dmp", lang, url=dmp.base_url))
    return dmp.configure(config), dmp.feed_callback()
