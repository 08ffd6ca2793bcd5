"""`conformance report DIR`: render an existing run again (other language, PDF, Allure) into DIR/renderings/.

The sealed files of the run are never touched, so `conformance verify DIR` still passes; verify lists the
renderings separately as unsealed. The seal is checked first: a broken or missing one is refused (exit 2)
unless --force, and a forced rendering says so at its top.
"""

from __future__ import annotations

from pathlib import Path

import click
import jinja2

from conformance.cli._click_language import lang_option
from conformance.cli._names import programme_problem
from conformance.evidence.sanitize import for_terminal
from conformance.i18n import text


@click.command(name="report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@lang_option()
@click.option("--pdf", is_flag=True)
@click.option("--allure", is_flag=True)
@click.option(
    "--programme",
    default=None,
)
@click.option("--force", is_flag=True)
def command(run_dir: Path, lang: str, pdf: bool, allure: bool, programme: str | None, force: bool) -> None:
    """Render the report of the run in RUN_DIR again, into RUN_DIR/renderings/."""
    from conformance.reports import rerender_run
    from conformance.reports.allure import AllureError
    from conformance.reports.indicators import CatalogueError
    from conformance.reports.pdf import PdfError

    run_dir = run_dir.resolve()  # Allure runs in another folder: a relative path would point elsewhere
    if not (run_dir / "results.json").is_file():
        raise click.ClickException(text("report_cli.not_a_run", lang, path=run_dir))
    problem = programme_problem(programme, lang)
    if problem:
        raise click.UsageError(problem)
    problems = _seal_problems(run_dir, lang, force)
    try:
        written = rerender_run(run_dir, lang=lang, pdf=pdf, allure=allure, programme=programme, seal_problems=problems)
    except (PdfError, AllureError) as error:  # the tool's English detail, quoted under a heading in the language
        what = "PDF" if isinstance(error, PdfError) else "Allure"
        raise click.ClickException(text("report_cli.render_failed", lang, what=what, detail=error)) from None
    except CatalogueError as error:
        raise click.ClickException(str(error)) from None
    except (ValueError, KeyError, TypeError, jinja2.TemplateError) as error:
        problem = f"{type(error).__name__}: {error}"
        raise click.ClickException(text("report_cli.cannot_render", lang, path=run_dir, problem=problem)) from None
    for path in written:
        click.echo(str(path))
        if path.name == "allure-report":  # the site loads its data with fetch(), which file:// refuses
            click.echo(for_terminal(text("report_cli.allure_needs_http", lang, path=path)), err=True)


def _seal_problems(run_dir: Path, lang: str, force: bool) -> list[str]:
    """What verify finds wrong with the seal; refused (exit 2) unless forced."""
    from conformance.cli.verify import _localize
    from conformance.evidence.sealing import INCOMPLETE, verify_details

    found = verify_details(run_dir).problems
    if not found or found == [INCOMPLETE]:  # an interrupted run is never sealed: its report says INCOMPLETE
        return []
    problems = [_localize(problem, lang) for problem in found]
    click.echo(for_terminal(text("report_cli.seal_refused", lang)), err=True)
    for problem in problems:
        click.echo(f"  {for_terminal(problem)}", err=True)
    if not force:
        raise SystemExit(2)
    return problems
