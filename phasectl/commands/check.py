"""``phasectl check``: the release gates, for a pre-release hook or CI."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from phasectl.commands.collect import (
    collect_options,
    range_options,
    regenerate_args,
    run_collect,
)
from phasectl.commands.report import regenerate_command, render_phase_report, report_options
from phasectl.context import AppContext
from phasectl.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED

_LABELS = {"pass": "PASS", "fail": "FAIL", "unmeasured": "N/A "}


@click.command()
@range_options
@report_options
@click.option(
    "--report-current/--no-report-current",
    default=None,
    help="Require the report's regions to equal a fresh render [config: report_current].",
)
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Minimum coverage, percent.")
@click.option(
    "--max-coverage-drop", type=click.FloatRange(0, 100), help="Largest coverage drop, points."
)
@click.option(
    "--min-patch-coverage",
    type=click.FloatRange(0, 100),
    help="Minimum coverage of the changed lines, percent.",
)
@click.option(
    "--allow-new-failures/--no-allow-new-failures",
    default=None,
    help="Accept tests that newly fail [config: allow_new_failures, default no].",
)
@click.option(
    "--allow-removed-tests/--no-allow-removed-tests",
    default=None,
    help="Accept tests that were removed [config: allow_removed_tests, default yes].",
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
    """
    from phasectl.workflow.gates import Gate, judge

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
    options = collect_options(params, skip_reports=True, debt=True, recorded_head=True)
    metrics = run_collect(app, options)
    gates: list[Gate] = []
    if settings.report_current:
        repo = app.repository
        tip = repo.resolve_commit(metrics.head.ref)
        # A tag being pushed from elsewhere: judge the report as committed there.
        committed_at = tip if tip != repo.head_sha() else None
        rendered = render_phase_report(app, metrics, output, name, committed_at=committed_at)
        if rendered.current:
            gates.append(Gate("report current", str(rendered.path), "pass"))
        else:
            state = "missing" if rendered.old is None else "stale"
            fix = regenerate_command(app, args)
            gates.append(Gate("report current", f"{rendered.path} {state}; run {fix}", "fail"))
    gates.extend(judge(metrics, settings))
    if not gates:
        click.echo("No gates are switched on: set them in [tool.phasectl.check].")
    width = max((len(g.name) for g in gates), default=0)
    for gate in gates:
        click.echo(f"{_LABELS[gate.verdict]}  {gate.name:<{width}}  {gate.figure}")
    verdicts = {g.verdict for g in gates}
    if "fail" in verdicts:
        raise SystemExit(EXIT_CHECK_FAILED)
    if "unmeasured" in verdicts:
        click.echo("Error: some gates could not be measured (N/A above)", err=True)
        raise SystemExit(EXIT_BAD_INPUT)
