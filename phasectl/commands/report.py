"""``phasectl report``: render the phase report and keep its generated regions current."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from phasectl.commands.collect import (
    absolute_globs,
    echo_err,
    start_early_diff,
    start_early_tests,
    test_options,
)
from phasectl.context import AppContext
from phasectl.errors import EXIT_CHECK_FAILED


def _regenerate_command(app: AppContext, args: list[str]) -> str:
    repo = [] if app.repo_path == Path() else ["--repo", str(app.repo_path)]
    return shlex.join(["phasectl", *repo, "report", *args])


@click.command()
@click.option("--base", metavar="REF", help="Start of the range [default: the previous tag].")
@click.option("--head", metavar="REF", help="End of the range [default: HEAD].")
@click.option(
    "--merge-base", is_flag=True, help="Diff from the merge base of BASE and HEAD (three-dot)."
)
@test_options
@click.option("--base-junit", multiple=True, metavar="GLOB", help="JUnit XML files for the base.")
@click.option("--base-coverage", multiple=True, metavar="FILE", help="Coverage files for the base.")
@click.option(
    "--run-base",
    type=click.Choice(["auto", "always", "never"]),
    help="Run the tests at the base in a temporary worktree [default: config run_base].",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The report file [default: <report_dir>/<name>.md in the repository].",
)
@click.option(
    "--name",
    help="Phase name, for the title and the default file name [default: the head's phase "
    "tag without its prefix, else its branch].",
)
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
    base: str | None,
    head: str | None,
    merge_base: bool,
    no_tests: bool,
    quiet: bool,
    junit: tuple[str, ...],
    coverage: tuple[str, ...],
    base_junit: tuple[str, ...],
    base_coverage: tuple[str, ...],
    run_base: str | None,
    output: Path | None,
    name: str | None,
    to_stdout: bool,
    fmt: str,
    check: bool,
    summary: bool,
) -> None:
    """Render the phase report: fill its Metrics, Code Changes, Testing Impact, Test
    Results and Documentation regions from the repository.

    A missing report is created from the full template. An existing one gets only its
    generated regions (between `<!-- phasectl:begin NAME -->` and
    `<!-- phasectl:end NAME -->`) replaced; one written before phasectl gets them inserted
    under its matching headings. Every byte outside the regions stays as it is.
    """
    from phasectl.fileio import write_atomic
    from phasectl.output import to_json
    from phasectl.phase import CollectOptions, collect_phase
    from phasectl.report import phase_name, render_report, report_path, step_summary

    options = CollectOptions(
        base=base,
        head=head,
        merge_base=merge_base,
        tests=not no_tests,
        quiet=quiet,
        junit=absolute_globs(junit),
        coverage=absolute_globs(coverage),
        base_junit=absolute_globs(base_junit),
        base_coverage=absolute_globs(base_coverage),
        run_base=run_base,  # type: ignore[arg-type]  # click.Choice checked it
    )
    pending = start_early_diff(app, base, head) if not merge_base else None
    started = start_early_tests(app, options) if head is None else None
    try:
        metrics = collect_phase(app.repository, app.config, options, echo_err, pending, started)
    finally:
        if started is not None:
            started.cancel()
        if pending is not None:
            pending.cancel()
    repo, config = app.repository, app.config
    phase = name or phase_name(repo, config, metrics)
    path = output.absolute() if output is not None else None
    if path is None:
        path = report_path(repo.work_tree or Path.cwd(), config, phase)
    rendered = render_report(repo, config, metrics, path, phase)
    for message in rendered.warnings:
        echo_err(f"Warning: {message}")
    if summary:
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if target:
            with Path(target).open("a", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(step_summary(rendered.regions))
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
        args = [
            *(["--base", base] if base else []),
            *(["--head", head] if head else []),
            *(["--merge-base"] if merge_base else []),
            *(["--no-tests"] if no_tests else []),
            *(["--name", name] if name else []),
            *(["--output", str(output)] if output else []),
        ]
        state = "does not exist" if rendered.old is None else "is stale"
        click.echo(rendered.diff(), nl=False)
        click.echo(
            f"{path} {state}; regenerate it with: {_regenerate_command(app, args)}", err=True
        )
        raise SystemExit(EXIT_CHECK_FAILED)
    if rendered.current:
        click.echo(f"{path}: already current")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, rendered.new)
    click.echo(f"{path}: {'created' if rendered.old is None else 'updated'}")
