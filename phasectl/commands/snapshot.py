"""``phasectl snapshot [REF]``: measure a commit and store the figures as a git note."""

from __future__ import annotations

import click

from phasectl.commands.collect import absolute_globs, echo_err, test_options
from phasectl.context import AppContext


@click.command()
@click.argument("ref", default="HEAD", required=False)
@test_options
@click.pass_obj
def snapshot(
    app: AppContext,
    ref: str,
    no_tests: bool,
    quiet: bool,
    results: tuple[str, ...],
    coverage: tuple[str, ...],
    benchmarks: tuple[str, ...],
) -> None:
    """Measure REF (default HEAD) and store its figures on it as a git note.

    Later phases then read their "before" from the note instead of running the tests
    again. Share the notes with `git push origin refs/notes/phasectl`.

    \b
    Examples:
      phasectl snapshot             # the checked-out commit (a clean work tree)
      phasectl snapshot v2.0.0      # a past release, in a temporary worktree
    """
    from phasectl.collectors.phase import measure_commit
    from phasectl.errors import PhasectlError
    from phasectl.store.snapshots import Snapshot, store_snapshot

    if no_tests:
        raise PhasectlError("snapshot measures tests; --no-tests leaves nothing to store")
    repo, config = app.repository, app.config
    repo.require_commits()
    sha = repo.resolve_commit(ref, tag_prefix=config.tag_prefix)
    if sha == repo.head_sha() and not (results or coverage) and repo.dirty_files():
        raise PhasectlError(
            "the work tree has uncommitted changes, so its test results would not describe "
            f"{ref}; commit or stash them, or snapshot another ref"
        )
    measured, how = measure_commit(
        repo, config, sha, quiet=quiet, echo=echo_err,
        results=absolute_globs(results), coverage=absolute_globs(coverage),
        benchmarks=absolute_globs(benchmarks),
    )  # fmt: skip
    if measured is None:
        raise PhasectlError(
            "nothing to measure: not a Python project, and no test_command, results, "
            "coverage, benchmarks or timings configured (or --results/--coverage given)"
        )
    for message in measured.warnings:
        echo_err(f"Warning: {message}")
    if measured.tests is None and measured.coverage is None and measured.benchmarks is None:
        raise PhasectlError(f"nothing was measured at {ref}, so no snapshot is stored (see above)")
    store_snapshot(repo, Snapshot.of(measured, sha, how))
    tests = measured.tests
    summary = (
        f"{tests.passed} passed, {tests.failed} failed, {tests.skipped} skipped"
        if tests
        else "no tests"
    )
    cov = f", coverage {measured.coverage.percent_display}%" if measured.coverage else ""
    click.echo(f"Stored snapshot for {ref} ({sha[:12]}): {summary}{cov}")
