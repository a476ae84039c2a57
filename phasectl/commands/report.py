"""``phasectl report``: render the phase report and keep its generated regions current."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phasectl.commands.collect import (
    F,
    collect_options,
    echo_err,
    range_options,
    regenerate_args,
    run_collect,
)
from phasectl.context import AppContext
from phasectl.errors import EXIT_CHECK_FAILED

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.report.writer import RenderedReport


def render_phase_report(
    app: AppContext,
    metrics: PhaseMetrics,
    output: Path | None,
    name: str | None,
    **options: Any,
) -> RenderedReport:
    """Render the phase's report (``output``, else its default file), echoing warnings;
    ``options`` go to ``phasectl.report.writer.render_report``."""
    from phasectl.report.writer import render_report, report_file

    repo, config = app.repository, app.config
    path, phase = report_file(repo, config, metrics, output, name)
    rendered = render_report(repo, config, metrics, path, phase, **options)
    for message in rendered.warnings:
        echo_err(f"Warning: {message}")
    return rendered


def regenerate_command(app: AppContext, args: list[str]) -> str:
    repo = [] if app.repo_path == Path() else ["--repo", str(app.repo_path)]
    return shlex.join(["phasectl", *repo, "report", *args])


def report_options(command: F) -> F:
    """``--output`` and ``--name``: which report (report, check, tag)."""
    command = click.option(
        "--name",
        help="Phase name, for the title and the default file name [default: the head's "
        "phase tag without its prefix, else its branch].",
    )(command)
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The report file [default: <report_dir>/<name>.md in the repository].",
    )(command)


@click.command()
@range_options
@report_options
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the report instead of writing it.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="With --stdout: the Markdown report, or the values the templates receive as JSON.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 with a diff if the report's regions are stale, 0 if current.",
)
@click.option(
    "--summary",
    is_flag=True,
    help="Also append the Metrics and Test Results sections to $GITHUB_STEP_SUMMARY.",
)
@click.pass_obj
def report(
    app: AppContext,
    /,
    output: Path | None,
    name: str | None,
    to_stdout: bool,
    fmt: str,
    check: bool,
    summary: bool,
    **params: Any,
) -> None:
    """Render the phase report: fill its Metrics, Code Changes, Testing Impact, Test
    Results and Documentation regions from the repository.

    A missing report is created from the full template. An existing one gets only its
    generated regions (between `<!-- phasectl:begin NAME -->` and
    `<!-- phasectl:end NAME -->`) replaced; one written before phasectl gets them inserted
    under its matching headings. Every byte outside the regions stays as it is.
    """
    from phasectl.fileio import write_atomic
    from phasectl.report.output import to_json
    from phasectl.report.writer import step_summary

    args = [
        *regenerate_args(params),
        *(["--name", name] if name else []),
        *(["--output", str(output)] if output else []),
    ]
    metrics = run_collect(app, collect_options(params, skip_reports=True, debt=True))
    rendered = render_phase_report(app, metrics, output, name)
    path = rendered.path
    if summary:
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if target:
            try:
                with Path(target).open("a", encoding="utf-8", errors="surrogateescape") as handle:
                    handle.write(step_summary(rendered.regions))
            except OSError as exc:
                echo_err(f"Warning: cannot append to $GITHUB_STEP_SUMMARY ({exc}); skipped")
        else:
            echo_err("Warning: --summary given but GITHUB_STEP_SUMMARY is not set; skipped")
    if to_stdout:
        data = to_json(rendered.context) if fmt == "json" else rendered.new
        click.echo(data, nl=False)
        return
    if check:
        if rendered.current:
            click.echo(f"{path}: current")
            return
        state = "does not exist" if rendered.old is None else "is stale"
        click.echo(rendered.diff(), nl=False)
        click.echo(f"{path} {state}; regenerate it with: {regenerate_command(app, args)}", err=True)
        raise SystemExit(EXIT_CHECK_FAILED)
    if rendered.current:
        click.echo(f"{path}: already current")
        return
    write_atomic(path, rendered.new, make_parents=True)
    click.echo(f"{path}: {'created' if rendered.old is None else 'updated'}")
