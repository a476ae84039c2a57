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
    from phasectl.repo.changes import PhaseRange
    from phasectl.repo.diff import PendingDiff

F = TypeVar("F", bound=Callable[..., Any])
STDOUT = Path("-")
"""``-o -``: standard output, as for most command-line tools."""


def absolute_globs(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """Command-line globs are relative to the current folder, as the shell would read them."""
    return tuple(p if Path(p).is_absolute() else str(Path.cwd() / p) for p in patterns)


def start_early_diff(app: AppContext, base: str | None, head: str | None) -> PendingDiff | None:
    """With both refs named, start git's diff before anything else (or take the one
    ``phasectl.early`` started before click loaded): it is the slow part, and imports, ref
    checks and ``git status`` then run while git works. The refs are still checked before
    its output is used."""
    if base is None or head is None:
        return None
    from phasectl import early
    from phasectl.repo.base import find_work_tree
    from phasectl.repo.diff import DiffSettings, start_diff

    root = find_work_tree(app.repo_path)
    if root is None:
        return None
    settings = DiffSettings.of(app.config_for(root))
    return early.take(root, base, head, settings) or start_diff(root, base, head, settings)


def claim_early_diff(app: AppContext) -> Callable[[PhaseRange], PendingDiff | None]:
    """The diff of the default range that ``phasectl.early`` started, for ``collect_phase``
    to take once it has resolved the range (if it is that diff)."""
    from phasectl import early
    from phasectl.repo.diff import DiffSettings

    def claim(phase_range: PhaseRange) -> PendingDiff | None:
        # The repository measured, which --repo may name inside another's work tree (a
        # bare one): its root and settings, so that a diff of the other is refused.
        root = app.repository.work_tree
        if root is None:
            early.discard()
            return None
        settings = DiffSettings.of(app.config)
        return early.take(root, phase_range.base.ref, phase_range.head.sha, settings)

    return claim


def found_default_range(
    app: AppContext, options: CollectOptions
) -> tuple[str, str, str | None] | None:
    """The default range as ``phasectl.early`` looked it up, if it did so for this
    repository and these settings (``resolve_range``'s ``known``)."""
    from phasectl import early

    root, config = app.repository.work_tree, app.config
    if root is None:
        return None
    return early.found_range(root, options.skip_reports, config.tag_prefix, config.report_dir)


def start_early_tests(app: AppContext, options: CollectOptions) -> BackgroundMeasurement | None:
    """Start measuring the work tree at once when head is the checkout: the test run is the
    long pole, and the diff then happens while it runs. Used only if head resolves to the
    checked-out commit; stopped otherwise."""
    if not options.tests:
        return None
    from phasectl.collectors.measurement import BackgroundMeasurement, measure
    from phasectl.repo.base import find_work_tree

    root = find_work_tree(app.repo_path)
    if root is None:
        return None
    config = app.config_for(root)
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
    from phasectl.collectors.phase import collect_phase

    pending = start_early_diff(app, options.base, options.head) if not options.merge_base else None
    default_range = options.base is None and options.head is None and not options.merge_base
    claim = claim_early_diff(app) if default_range else None
    # With recorded_head the tests may not run at all: do not start them before knowing.
    early = options.head is None and not options.recorded_head
    started = start_early_tests(app, options) if early else None
    try:
        if pending is not None and pending.cwd != app.repository.work_tree:
            # The nearest .git above --repo is not the repository git found there (a
            # stray .git folder): the diff was started with another folder's settings.
            pending.cancel()
            pending = None
        known = found_default_range(app, options) if default_range else None
        return collect_phase(
            app.repository, app.config, options, echo_err, pending, started, claim, known
        )
    finally:
        if started is not None:
            started.cancel()
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
    from phasectl.fileio import write_atomic
    from phasectl.report.output import format_text, to_json

    metrics = run_collect(app, collect_options(params, skip_reports=False))
    data = to_json(metrics.to_dict()) if fmt == "json" else format_text(metrics).encode()
    if output is not None and output != STDOUT:
        write_atomic(output, data)
    else:
        click.echo(data, nl=False)
