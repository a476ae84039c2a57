"""``phasectl collect``: measure a range and print it as JSON or text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from phasectl.context import AppContext

if TYPE_CHECKING:
    from phasectl.model import PhaseMetrics


def gather(
    app: AppContext, base: str | None, head: str | None, *, merge_base: bool
) -> PhaseMetrics:
    """Collect everything measurable for the range; warnings go to stderr as they appear."""
    from phasectl.diffs import collect_diff, resolve_range
    from phasectl.model import PhaseMetrics

    repo, config = app.repository, app.config
    span = resolve_range(repo, config, base, head, merge_base=merge_base)
    diff, warnings = collect_diff(repo, config, span)
    if span.head.sha == repo.head_sha():
        dirty = repo.dirty_paths()
        if dirty:
            noun = "file has" if dirty == 1 else "files have"
            warnings.append(
                f"{dirty} {noun} uncommitted changes, which are not in the diff; "
                "commit them to include them"
            )
    for message in warnings:
        click.echo(f"Warning: {message}", err=True)
    return PhaseMetrics(base=span.base, head=span.head, diff=diff, warnings=tuple(warnings))


@click.command()
@click.option("--base", metavar="REF", help="Start of the range [default: the previous tag].")
@click.option("--head", metavar="REF", help="End of the range [default: HEAD].")
@click.option(
    "--merge-base",
    is_flag=True,
    help="Diff from the merge base of BASE and HEAD (git's three-dot meaning).",
)
@click.option("--no-tests", is_flag=True, help="Do not run or read tests and coverage.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "text"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (atomically) instead of standard output.",
)
@click.pass_obj
def collect(
    app: AppContext,
    base: str | None,
    head: str | None,
    merge_base: bool,
    no_tests: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Measure what changed between BASE and HEAD.

    Files created, modified, deleted, renamed, copied and type-changed, with line
    counts exactly as `git diff --numstat` gives them. Tests and coverage are not
    collected yet: they show as null ("not collected").
    """
    from phasectl.fileio import write_atomic
    from phasectl.output import format_text, to_json

    del no_tests  # tests are not collected yet; the flag is accepted for forward scripts
    metrics = gather(app, base, head, merge_base=merge_base)
    data = to_json(metrics.to_dict()) if fmt == "json" else format_text(metrics).encode()
    if output is not None:
        write_atomic(output, data)
    else:
        click.echo(data, nl=False)
