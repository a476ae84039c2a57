"""``phasectl history``: every phase tag as a row, oldest first, and an optional SVG chart."""

from __future__ import annotations

from pathlib import Path

import click

from phasectl.commands.collect import echo_err
from phasectl.context import AppContext


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE.svg",
    help="Also write an SVG line chart of coverage and tests passing across the phases.",
)
@click.pass_obj
def history(app: AppContext, fmt: str, chart: Path | None) -> None:
    """List the phases, oldest first: one row per phase tag.

    Each row shows the tagged commit, the date of the work it measured, the tests passing,
    coverage and patch coverage from the snapshot stored on it ("no snapshot" when there is
    none), and the lines added and removed and files changed since the phase before it.
    Phases are ordered by the measured work's place in history (ancestors first, else by
    committer date), then by tag name.

    \b
    Examples:
      phasectl history                          # a table in the terminal
      phasectl history --format markdown        # a table for a report or a PR
      phasectl history --chart docs/history.svg
    """
    from phasectl.fileio import write_atomic
    from phasectl.report.output import to_json
    from phasectl.workflow.history import collect_history, no_tags_hint, notes_elsewhere
    from phasectl.workflow.history_chart import render_chart
    from phasectl.workflow.history_formats import format_csv, format_markdown, format_table

    if chart is not None and chart.suffix.lower() != ".svg":
        from phasectl.errors import PhasectlError

        raise PhasectlError(
            f"phasectl draws the chart as SVG only, so {chart} would not be what its name "
            "says; name it FILE.svg (convert it with e.g. 'rsvg-convert -o x.png x.svg')"
        )
    repo, config = app.repository, app.config
    result = collect_history(repo, config)
    for message in result.warnings:
        echo_err(f"Warning: {message}")
    if not result.rows:
        echo_err(no_tags_hint(config.tag_prefix))
    else:
        elsewhere = notes_elsewhere(repo)
        if elsewhere is not None:
            echo_err(f"Warning: {elsewhere}")
    data: bytes | bytearray
    if fmt == "json":
        data = to_json(result.to_dict())
    elif fmt == "csv":
        # Tag names are git's bytes: surrogateescape gives back any that are not UTF-8.
        data = format_csv(result).encode("utf-8", "surrogateescape")
    elif fmt == "markdown":
        data = format_markdown(result).encode("utf-8")
    else:
        data = format_table(result).encode("utf-8")
    if chart is not None:
        write_atomic(chart, render_chart(result))
        echo_err(f"Wrote the chart to {chart}")
    click.echo(data, nl=False)
