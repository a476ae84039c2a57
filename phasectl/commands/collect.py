"""``phasectl collect``: measure a range and print it as JSON or text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from phasectl.context import AppContext

if TYPE_CHECKING:
    from phasectl.collectors.measurement import BackgroundMeasurement
    from phasectl.collectors.options import CollectOptions
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.diff import PendingDiff

F = TypeVar("F", bound=Callable[..., Any])
STDOUT = Path("-")
"""``-o -``: standard output, as for most command-line tools."""


def absolute_globs(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """Command-line globs are relative to the current folder, as the shell would read them."""
    return tuple(p if Path(p).is_absolute() else str(Path.cwd() / p) for p in patterns)


def start_diff_first(app: AppContext, base: str | None, head: str | None) -> PendingDiff | None:
    """With both refs named, start git's diff before anything else: it is the slow part,
    and imports (GitPython's among them), ref checks and ``git status`` then run while git
    works. The refs are still checked before its output is used."""
    if base is None or head is None:
        return None
    from phasectl.repo.diff import DiffSettings, start_diff

    work_tree, git_dir = app.location
    return start_diff(work_tree or git_dir, base, head, DiffSettings.of(app.config))


def start_early_tests(app: AppContext, options: CollectOptions) -> BackgroundMeasurement | None:
    """Start measuring the work tree at once when head is the checkout: the test run is the
    long pole, and the diff then happens while it runs. Used only if head resolves to the
    checked-out commit; stopped otherwise."""
    if not options.tests:
        return None
    from phasectl.collectors.measurement import BackgroundMeasurement, measure

    root = app.location[0]
    if root is None:
        return None
    config = app.config
    return BackgroundMeasurement(
        lambda: measure(
            root,
            config,
            quiet=options.quiet,
            echo=echo_err,
            results=options.results,
            coverage=options.coverage,
            benchmarks=options.benchmarks,
        )
    )


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def _override(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that sets ``key`` of the settings, over the settings file's."""

    def override(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.ensure_object(AppContext).overrides[key] = value

    return override


def test_options(command: F) -> F:
    """Options shared by every command that measures tests (collect, snapshot, report)."""
    for decorator in reversed(
        [
            click.option("--no-tests", is_flag=True, help="Do not run or read tests and coverage."),
            click.option("--quiet", "-q", is_flag=True, help="Do not stream the test output."),
            click.option(
                "--results",
                "--junit",
                "results",
                multiple=True,
                metavar="GLOB",
                help="Read test results from JUnit XML or go test -json files (repeatable; "
                "shards are merged). --junit is an older name.",
            ),
            click.option(
                "--coverage",
                multiple=True,
                metavar="FILE",
                help="Read coverage from coverage.py data, Cobertura XML, LCOV or Go "
                "coverprofile files (repeatable; shards are merged).",
            ),
            click.option(
                "--benchmarks",
                multiple=True,
                metavar="GLOB",
                help="Read benchmarks from pytest-benchmark JSON, go test -bench output or "
                "hyperfine --export-json files (repeatable).",
            ),
            click.option(
                "--test-timeout",
                type=click.FloatRange(min=0, min_open=True, max=1e9),
                metavar="SECONDS",
                expose_value=False,
                callback=_override("test_timeout"),
                help="Stop a test run that takes longer (its tests are then not collected).",
                show_default="config test_timeout, else no limit",
            ),
        ]
    ):
        command = decorator(command)
    return command


def range_options(command: F) -> F:
    """The range and baseline options of every command that collects (collect, report, check)."""
    for decorator in reversed(
        [
            click.option(
                "--base",
                metavar="REF",
                show_default="the previous tag",
                help="Start of the range.",
            ),
            click.option("--head", metavar="REF", show_default="HEAD", help="End of the range."),
            click.option(
                "--merge-base",
                is_flag=True,
                help="Diff from the merge base of BASE and HEAD (git's three-dot meaning).",
            ),
            test_options,
            click.option(
                "--base-results",
                "--base-junit",
                "base_results",
                multiple=True,
                metavar="GLOB",
                help="Test result files for the base (--base-junit is an older name).",
            ),
            click.option(
                "--base-coverage",
                multiple=True,
                metavar="FILE",
                help="Coverage files for the base.",
            ),
            click.option(
                "--base-benchmarks",
                multiple=True,
                metavar="GLOB",
                help="Benchmark files for the base.",
            ),
            click.option(
                "--run-base",
                type=click.Choice(["auto", "always", "never"]),
                help="Run the tests at the base in a temporary worktree: auto = only when no "
                "snapshot is stored.",
                show_default="config run_base, else auto",
            ),
        ]
    ):
        command = decorator(command)
    return command


def collect_options(params: dict[str, Any], **settings: Any) -> CollectOptions:
    """``CollectOptions`` from the parameters ``range_options`` / ``test_options`` added
    (popped from ``params``; those a command lacks keep their defaults), plus ``settings``."""
    from phasectl.collectors.options import CollectOptions

    no_tests = params.pop("no_tests")
    run_base = params.pop("run_base", None)
    if no_tests and settings.get("skip_reports"):
        # A report's figures at a tag phasectl made are the ones it recorded: --no-tests
        # means "run nothing", not "forget them" (else the committed report goes stale).
        settings = {**settings, "recorded_head": True, "recorded_only": True}
        run_base = "never"
    return CollectOptions(
        base=params.pop("base", None),
        head=params.pop("head", None),
        merge_base=params.pop("merge_base", False),
        tests=not no_tests or bool(settings.get("recorded_only")),
        quiet=params.pop("quiet"),
        results=absolute_globs(params.pop("results")),
        coverage=absolute_globs(params.pop("coverage")),
        benchmarks=absolute_globs(params.pop("benchmarks")),
        base_results=absolute_globs(params.pop("base_results", ())),
        base_coverage=absolute_globs(params.pop("base_coverage", ())),
        base_benchmarks=absolute_globs(params.pop("base_benchmarks", ())),
        run_base=run_base,
        **settings,
    )


def regenerate_args(params: dict[str, Any]) -> list[str]:
    """The range options given, as they would be typed again (before ``collect_options``)."""
    return [
        *(["--base", params["base"]] if params.get("base") else []),
        *(["--head", params["head"]] if params.get("head") else []),
        *(["--merge-base"] if params.get("merge_base") else []),
        *(["--no-tests"] if params.get("no_tests") else []),
    ]


def run_collect(app: AppContext, options: CollectOptions) -> PhaseMetrics:
    """Collect the phase, with git's diff and the work tree's tests started as early as can be."""
    pending = None
    try:
        if not options.merge_base:
            pending = start_diff_first(app, options.base, options.head)
        from phasectl.collectors.phase import collect_phase

        # With recorded_head the tests may not run at all: do not start them before knowing.
        early = options.head is None and not options.recorded_head
        started = start_early_tests(app, options) if early else None
        try:
            return collect_phase(app.repository, app.config, options, echo_err, pending, started)
        finally:
            if started is not None:
                started.cancel()
    finally:
        if pending is not None:
            pending.cancel()


@click.command()
@range_options
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
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="Write to FILE (atomically) instead of standard output ('-': standard output).",
)
@click.pass_obj
def collect(app: AppContext, /, fmt: str, output: Path | None, **params: Any) -> None:
    """Measure what changed between BASE and HEAD.

    Files created, modified, deleted, renamed, copied and type-changed, with line
    counts exactly as `git diff --numstat` gives them; the tests and coverage at HEAD
    and at BASE ("before": a stored snapshot, --base-* artifacts, or a run in a
    temporary worktree), patch coverage, and which tests were added, removed, fixed or
    broke. Test output goes to standard error; the figures to standard output.

    \b
    Examples:
      phasectl collect                            # previous phase tag .. HEAD, as text
      phasectl collect --format json -o phase.json
      phasectl collect --base v1.0 --no-tests     # the diff only
    """
    metrics = run_collect(app, collect_options(params, skip_reports=False))
    from phasectl.fileio import write_atomic
    from phasectl.report.output import format_text, to_json

    data = to_json(metrics.to_dict()) if fmt == "json" else format_text(metrics).encode()
    if output is not None and output != STDOUT:
        write_atomic(output, data)
    else:
        click.echo(data, nl=False)
