"""`conformance compare RUN_A RUN_B`: new, fixed and unchanged findings between two runs (terminal or JSON).

Exit codes: 0 no new finding; 1 the second run has new findings; 2 a folder is not a readable run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from conformance.cli._click_language import lang_option
from conformance.evidence.sanitize import for_terminal
from conformance.i18n import typography


@click.command(name="compare")
@click.argument("run_a", type=click.Path(file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@lang_option()
def command(run_a: Path, run_b: Path, as_json: bool, lang: str) -> None:
    """Compare two runs: findings new in RUN_B, fixed since RUN_A, unchanged; tests whose outcome changed."""
    from conformance.reports.compare import CompareError, compare_runs, diff_lines, load_run

    try:
        diff = compare_runs(load_run(run_a), load_run(run_b))
    except CompareError as exc:
        click.echo(typography(exc.message(lang), lang), err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(diff.to_dict(), ensure_ascii=False, indent=2))
    else:
        for line in diff_lines(diff, lang):
            click.echo(for_terminal(typography(line, lang)))
    sys.exit(1 if diff.new else 0)
