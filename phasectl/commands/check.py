"""``phasectl check``: the release gates, for a pre-release hook or CI."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import click

from phasectl.commands.collect import (
    STDOUT,
    collect_options,
    range_options,
    regenerate_args,
    run_collect,
)
from phasectl.commands.report import regenerate_command, render_phase_report, report_options
from phasectl.context import AppContext
from phasectl.errors import EXIT_BAD_INPUT, PhasectlError


class _Percent(click.FloatRange):
    """A number from 0 to 100; NaN (which compares false with every bound, so it passed
    every gate) and infinity are refused, as the config refuses them."""

    name = "percent"

    def __init__(self) -> None:
        super().__init__(0, 100)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        number: float = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number from 0 to 100.", param, ctx)
        return number


PERCENT = _Percent()


@click.command()
@range_options
@report_options
@click.option(
    "--report-current/--no-report-current",
    default=None,
    show_default="config report_current, else yes",
    help="Require the report's regions to equal a fresh render.",
)
@click.option("--fail-under", type=PERCENT, help="Minimum coverage, percent.")
@click.option("--max-coverage-drop", type=PERCENT, help="Largest coverage drop, points.")
@click.option(
    "--min-patch-coverage",
    type=PERCENT,
    help="Minimum coverage of the changed lines, percent.",
)
@click.option(
    "--allow-new-failures/--no-allow-new-failures",
    default=None,
    show_default="config allow_new_failures, else no",
    help="Accept tests that newly fail.",
)
@click.option(
    "--allow-removed-tests/--no-allow-removed-tests",
    default=None,
    show_default="config allow_removed_tests, else yes",
    help="Accept tests that were removed.",
)
@click.pass_obj
def check(
    app: AppContext,
    /,
    output: Path | None,
    name: str | None,
    report_current: bool | None,
    fail_under: float | None,
    max_coverage_drop: float | None,
    min_patch_coverage: float | None,
    allow_new_failures: bool | None,
    allow_removed_tests: bool | None,
    **params: Any,
) -> None:
    """Judge the phase against the release gates of [tool.phasectl.check].

    Gates: report_current (the report's regions equal a fresh render), fail_under
    (coverage %), max_coverage_drop (points), min_patch_coverage (%), allow_new_failures,
    allow_removed_tests. Options override the config. Prints each gate with its figure;
    exits 1 if any gate fails, 2 if a gate could not be measured. At a tag made by
    `phasectl tag`, the figures it recorded for the phase are judged (no test run).

    \b
    Examples:
      phasectl check                          # gates from [tool.phasectl.check]
      phasectl check --fail-under 80 --min-patch-coverage 70
      phasectl check --head phase/3-auth      # judge a tag before pushing it
    """
    from phasectl.workflow.gates import Gate, exit_status, gate_lines, judge

    flags: dict[str, Any] = {
        "report_current": report_current,
        "fail_under": fail_under,
        "max_coverage_drop": max_coverage_drop,
        "min_patch_coverage": min_patch_coverage,
        "allow_new_failures": allow_new_failures,
        "allow_removed_tests": allow_removed_tests,
    }
    settings = dataclasses.replace(
        app.config.check, **{k: v for k, v in flags.items() if v is not None}
    )
    args = [
        *regenerate_args(params),
        *(["--name", name] if name else []),
        *(["--output", str(output)] if output else []),
    ]
    if output == STDOUT:
        raise PhasectlError("check judges a report file; '-o -' names none (pass its path)")
    options = collect_options(
        params, skip_reports=True, debt=True, commits=True, recorded_head=True
    )
    metrics = run_collect(app, options)
    gates: list[Gate] = []
    if settings.report_current:
        # Judged where `report --check` judges it (judged_report_commit: one rule).
        rendered = render_phase_report(app, metrics, output, name, judged=True)
        if rendered.current:
            gates.append(Gate("report current", rendered.judged, "pass"))
        else:
            state = "missing" if rendered.old is None else "stale"
            fix = regenerate_command(app, args)
            gates.append(Gate("report current", f"{rendered.judged} {state}; run {fix}", "fail"))
    gates.extend(judge(metrics, settings))
    if not gates:
        click.echo("No gates are switched on: set them in [tool.phasectl.check].")
    for line in gate_lines(gates):
        click.echo(line)
    status = exit_status(gates)
    if status == EXIT_BAD_INPUT:
        click.echo("Error: some gates could not be measured (N/A above)", err=True)
    if status:
        raise SystemExit(status)
