"""Collect a whole phase: the diff, and test/coverage/benchmark figures before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imports of the heavier modules are inside the functions: the collect command builds
# CollectOptions before it starts the test run, and that start should not wait on them.
if TYPE_CHECKING:
    from phasectl.collectors.diff import DiffRange
    from phasectl.collectors.measurement import BackgroundMeasurement, Measurement
    from phasectl.collectors.process import Echo
    from phasectl.config import Config, RunBase
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.diff import PendingDiff
    from phasectl.repo.repository import Repository
    from phasectl.store.snapshots import Snapshot


@dataclass(frozen=True)
class CollectOptions:
    """What the user asked ``collect`` for; ``None`` fields fall back to the config."""

    base: str | None = None
    head: str | None = None
    merge_base: bool = False
    tests: bool = True
    quiet: bool = False
    # Artifact globs from the command line, already absolute (relative to the current folder).
    junit: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()
    base_junit: tuple[str, ...] = ()
    base_coverage: tuple[str, ...] = ()
    run_base: RunBase | None = None
    skip_reports: bool = False
    """Skip head back past commits that only change reports (report, check, tag)."""
    debt: bool = False
    """Read the technical debt from the diff's changed lines (the commands that render a
    report); ``collect`` leaves it out to stay as fast as git's own diff."""
    recorded_head: bool = False
    """Take head's figures from the snapshot ``phasectl tag`` stored for this very range,
    when there is one, instead of running the tests (check)."""


def measure_commit(
    repo: Repository, config: Config, sha: str, *, quiet: bool, echo: Echo,
    junit: tuple[str, ...] = (), coverage: tuple[str, ...] = (),
    started: BackgroundMeasurement | None = None, tip: str | None = None,
) -> tuple[Measurement | None, str]:  # fmt: skip
    """Measure ``sha``: in the user's checkout when it is the checked-out commit, else in a
    temporary worktree. Returns the measurement and how it was taken.

    ``started`` is a measurement of the work tree already running (see ``collect``);
    ``tip`` a commit that differs from ``sha`` only in reports (so measures the same).
    """
    from phasectl.collectors.measurement import measure, measure_in_worktree

    root = repo.work_tree
    how = "artifacts" if (junit or coverage or config.junit) else "work tree"
    if root is not None and repo.head_sha() in (sha, tip):
        if started is not None:
            return started.result(), how
        found = measure(root, config, quiet=quiet, echo=echo, junit=junit, coverage=coverage)
        return found, how
    if started is not None:
        started.cancel()
    return measure_in_worktree(repo, sha, config, quiet=quiet, echo=echo), "worktree run"


def find_baseline(
    repo: Repository, config: Config, span: DiffRange, options: CollectOptions, echo: Echo
) -> tuple[Snapshot | None, list[str]]:
    """The "before" figures, in order: git note, named artifacts, a worktree run, or none."""
    from phasectl.collectors.diff import EMPTY_TREE_REF
    from phasectl.collectors.measurement import read_artifacts
    from phasectl.collectors.pytest_run import project_python
    from phasectl.store.snapshots import load_snapshot, store_snapshot

    if span.base.ref == EMPTY_TREE_REF:
        return None, []
    base = span.base.sha
    run_base = options.run_base or config.run_base
    stored, problem = load_snapshot(repo, base)
    warnings = [problem] if problem else []
    if stored is not None and run_base != "always":
        return stored, warnings
    if options.base_junit or options.base_coverage:
        root = repo.work_tree or Path.cwd()
        found = read_artifacts(
            root, options.base_junit, options.base_coverage,
            python=project_python(config, root),
        )  # fmt: skip
        return found.snapshot(base, "artifacts"), warnings
    if run_base == "never":
        warnings.append(
            f"no baseline for {span.base.ref} ({base[:12]}): run 'phasectl snapshot "
            f"{span.base.ref}' to store one, pass --base-junit/--base-coverage, or use "
            "--run-base auto"
        )
        return None, warnings
    from phasectl.collectors.measurement import measure_in_worktree
    from phasectl.errors import PhasectlError

    try:
        measured = measure_in_worktree(repo, base, config, quiet=options.quiet, echo=echo)
    except PhasectlError as exc:
        # The figures at head are still worth reporting: the base becomes "no baseline".
        warnings.append(f"could not measure the base {span.base.ref} ({base[:12]}): {exc}")
        return None, warnings
    if measured is None:
        return None, warnings
    warnings.extend(f"at base: {w}" for w in measured.warnings)
    snapshot = measured.snapshot(base, "worktree run")
    store_snapshot(repo, snapshot)
    return snapshot, warnings


def _with_origin(part: dict[str, Any] | None, snapshot: Snapshot) -> dict[str, Any] | None:
    if part is None:
        return None
    origin = {"source": snapshot.source, "commit": snapshot.commit}
    if snapshot.measured_by:
        origin["measured_by"] = snapshot.measured_by
    return {**part, **origin}


@dataclass(frozen=True)
class _Recorded:
    measurement: Measurement
    patch: Mapping[str, Any] | None


def _recorded_head(repo: Repository, span: DiffRange) -> _Recorded | None:
    """The figures ``phasectl tag`` recorded for exactly this base and head, if any."""
    from phasectl.collectors.measurement import Measurement
    from phasectl.store.snapshots import load_snapshot

    for commit in dict.fromkeys((span.tip, span.head.sha)):
        stored, _ = load_snapshot(repo, commit)
        phase = stored.phase if stored is not None else None
        if (
            stored is not None
            and phase is not None
            and phase.get("head", {}).get("sha") == span.head.sha
            and phase.get("base", {}).get("sha") == span.base.sha
        ):
            measured = Measurement(stored.tests, stored.coverage, None, stored.benchmarks)
            return _Recorded(measured, phase.get("patch"))
    return None


def collect_phase(
    repo: Repository,
    config: Config,
    options: CollectOptions,
    echo: Echo,
    pending: PendingDiff | None = None,
    started: BackgroundMeasurement | None = None,
) -> PhaseMetrics:
    """Everything measurable for the range. Warnings are echoed as they appear, and kept.

    ``pending`` is the diff of ``options.base`` and ``options.head``, already started;
    ``started`` the test run of the work tree, already started.
    """
    from phasectl.collectors.benchmarks import compare_benchmarks
    from phasectl.collectors.debt import collect_debt
    from phasectl.collectors.diff import collect_diff, resolve_range
    from phasectl.model.coverage_data import patch_coverage
    from phasectl.model.phase import PhaseMetrics
    from phasectl.model.results import compare_tests
    from phasectl.repo.diff import added_line_numbers, parse_patch

    span = resolve_range(
        repo, config, options.base, options.head,
        merge_base=options.merge_base, skip_reports=options.skip_reports,
    )  # fmt: skip
    dirty = len(repo.dirty_files()) if repo.head_sha() in (span.head.sha, span.tip) else 0
    diff, warnings = collect_diff(repo, config, span, pending)
    if dirty:
        noun = "file has" if dirty == 1 else "files have"
        warnings.append(
            f"{dirty} {noun} uncommitted changes, which are not in the diff; "
            "commit them to include them"
        )
    for message in warnings:
        echo(f"Warning: {message}")
    # The changed lines, for the debt and for patch coverage (while tests run, if they do).
    patch = (
        parse_patch(repo.patch(span.base.sha, span.head.sha, similarity=config.rename_similarity))
        if options.debt or options.tests
        else []
    )
    debt = collect_debt(patch, diff) if options.debt else None
    tests = coverage = benchmarks = None
    if options.tests:
        added = added_line_numbers(patch)
        recorded = _recorded_head(repo, span) if options.recorded_head else None
        after: Measurement | None
        if recorded is not None:
            if started is not None:
                started.cancel()
            after, how = recorded.measurement, "note"
            echo(f"phasectl: figures of {span.head.sha[:12]} from the snapshot its tag stored")
        else:
            after, how = measure_commit(
                repo, config, span.head.sha, quiet=options.quiet, echo=echo,
                junit=options.junit, coverage=options.coverage, started=started, tip=span.tip,
            )  # fmt: skip
        before, base_warnings = find_baseline(repo, config, span, options, echo)
        late = [*(after.warnings if after else ()), *base_warnings]
        if after is None:
            late.append(
                "tests not collected: not a Python project and no test_command or "
                "--junit/--coverage given"
            )
        for message in late:
            echo(f"Warning: {message}")
        warnings.extend(late)
        if after is not None:
            head_snapshot = after.snapshot(span.head.sha, how)
            if after.tests is not None:
                before_tests = before.tests if before else None
                tests = {
                    "before": _with_origin(before_tests.to_dict(), before)
                    if before and before_tests
                    else None,
                    "after": _with_origin(after.tests.to_dict(), head_snapshot),
                    "changes": compare_tests(before_tests, after.tests) if before_tests else None,
                }
            if after.coverage is not None:
                before_cov = before.coverage if before else None
                coverage = {
                    "before": _with_origin(before_cov.to_dict(), before)
                    if before and before_cov
                    else None,
                    "after": _with_origin(after.coverage.to_dict(), head_snapshot),
                    "change": after.coverage.percent - before_cov.percent if before_cov else None,
                    "patch": recorded.patch
                    if recorded is not None
                    else patch_coverage(added, after.lines)
                    if after.lines is not None
                    else None,
                }
            if after.benchmarks is not None:
                old = before.benchmarks if before else None
                benchmarks = {
                    "before": [b.to_dict() for b in old] if old is not None else None,
                    "after": [b.to_dict() for b in after.benchmarks],
                    "changes": compare_benchmarks(old, after.benchmarks),
                }
    return PhaseMetrics(
        base=span.base,
        head=span.head,
        diff=diff,
        tests=tests,
        coverage=coverage,
        benchmarks=benchmarks,
        debt=debt,
        warnings=tuple(warnings),
    )
