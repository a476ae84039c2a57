"""Collect a whole phase: the diff, and test/coverage/benchmark figures before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Imports of the heavier modules are inside the functions: the collect command builds
# CollectOptions before it starts the test run, and that start should not wait on them.
if TYPE_CHECKING:
    from phasectl.collectors.baseline import PendingBaseline
    from phasectl.collectors.measurement import BackgroundMeasurement
    from phasectl.collectors.options import CollectOptions
    from phasectl.config import Config
    from phasectl.model.measurement import Measurement
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.changes import PhaseRange
    from phasectl.repo.debt import DebtScan
    from phasectl.repo.diff import PendingDiff
    from phasectl.repo.repository import Repository
    from phasectl.runners.process import Echo
    from phasectl.store.snapshots import Snapshot


def measure_commit(
    repo: Repository, config: Config, sha: str, *, quiet: bool, echo: Echo,
    results: tuple[str, ...] = (), coverage: tuple[str, ...] = (),
    benchmarks: tuple[str, ...] = (),
    started: BackgroundMeasurement | None = None, tip: str | None = None,
) -> tuple[Measurement | None, str]:  # fmt: skip
    """Measure ``sha``: in the user's checkout when it is the checked-out commit, else in a
    temporary worktree. Returns the measurement and how it was taken.

    ``started`` is a measurement of the work tree already running (see ``collect``);
    ``tip`` a commit that differs from ``sha`` only in reports (so measures the same).
    """
    from phasectl.collectors.measurement import measure, measure_in_worktree, measured_as

    root = repo.work_tree
    how = measured_as(config, results, coverage)
    if root is not None and repo.head_sha() in (sha, tip):
        if started is not None:
            return started.result(), how
        found = measure(
            root, config, quiet=quiet, echo=echo,
            results=results, coverage=coverage, benchmarks=benchmarks,
        )  # fmt: skip
        return found, how
    if started is not None:
        started.cancel()
    return measure_in_worktree(repo, sha, config, quiet=quiet, echo=echo), "worktree run"


def _missing_parts(after: Measurement | None, config: Config, options: CollectOptions) -> list[str]:
    """Say which part was not collected, and what would collect it."""
    if after is None:
        return [
            "tests not collected: not a Python project, and no test_command, results or "
            "coverage configured (or --results/--coverage given)"
        ]
    said = []
    said_why = any(w.startswith("tests not collected") for w in after.warnings)
    if after.tests is None and not (options.results or config.results or said_why):
        said.append("tests not collected: no test results configured (results = [...])")
    configured_run = config.test_command or options.results or config.results
    if after.coverage is None and configured_run and not (options.coverage or config.coverage):
        said.append("coverage not collected: no coverage files configured (coverage = [...])")
    return said


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


def _recorded_head(repo: Repository, phase_range: PhaseRange) -> _Recorded | None:
    """The figures ``phasectl tag`` recorded for exactly this base and head, if any."""
    from phasectl.model.measurement import Measurement
    from phasectl.store.snapshots import load_snapshot

    for commit in dict.fromkeys((phase_range.tip, phase_range.head.sha)):
        stored, _ = load_snapshot(repo, commit)
        phase = stored.phase if stored is not None else None
        if (
            stored is not None
            and phase is not None
            and phase.get("head", {}).get("sha") == phase_range.head.sha
            and phase.get("base", {}).get("sha") == phase_range.base.sha
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

    ``pending`` is the diff of ``options.base`` and ``options.head``, already started (its
    starter stops it); ``started`` the test run of the work tree, already started.
    """
    from phasectl.repo.changes import resolve_range
    from phasectl.repo.diff import DiffSettings

    phase_range = resolve_range(
        repo, config, options.base, options.head,
        merge_base=options.merge_base, skip_reports=options.skip_reports,
    )  # fmt: skip
    if pending is not None and phase_range.tip != phase_range.head.sha:
        pending.cancel()  # started for a head that skip_reports has moved
        pending = None
    own = baseline = debt_scan = log = None
    try:
        if pending is None:
            # No diff was started for the named refs: the range's starts now, before
            # anything else; ours to stop.
            settings = DiffSettings.of(config)
            own = repo.start_diff(phase_range.base.sha, phase_range.head.sha, settings)
        # The debt's lines come from git grep in the changed files, run alongside the diff.
        if options.debt:
            from phasectl.patterns import PathPatterns
            from phasectl.repo.debt import DebtScan

            skip = PathPatterns(config.excluded_globs)
            debt_scan = DebtScan(repo, phase_range.base.sha, phase_range.head.sha, skip)
        if options.commits:
            # The phase thread's git log, read while the diff runs (after the debt's grep).
            from phasectl.repo.changes import EMPTY_TREE_REF, start_range_commits

            base = None if phase_range.base.ref == EMPTY_TREE_REF else phase_range.base.sha
            log = start_range_commits(repo, base, phase_range.head.sha, config.report_dir)
        from phasectl.collectors.baseline import cores, find_baseline

        in_place = repo.head_sha() in (phase_range.head.sha, phase_range.tip)
        if started is not None and not in_place:
            # Stopped before the base's run starts: stopping a run stops every test process.
            started.cancel()
            started = None
        recorded = (
            _recorded_head(repo, phase_range) if options.tests and options.recorded_head else None
        )
        if recorded is not None and (options.results or options.coverage or options.benchmarks):
            # What the user names on the command line wins over what the tag recorded.
            echo("phasectl: head figures from --results/--coverage, not the tag's snapshot")
            recorded = None
        if recorded is not None and started is not None:
            started.cancel()
            started = None
        if options.tests and (recorded is not None or not options.recorded_only):
            # The base's run needs no more than a core of its own (and no test resource its
            # twin holds: run_base_concurrently = false is for suites that hold one).
            alongside = recorded is None and config.run_base_concurrently and cores() >= 2
            baseline = find_baseline(repo, config, phase_range, options, echo, alongside=alongside)
        return _measured_phase(
            repo, config, options, echo, phase_range,
            _Runs(pending or own, started, recorded, baseline, debt_scan, in_place),
        )  # fmt: skip
    except BaseException:
        if log is not None:
            log.cancel()  # else the report takes its commits
        raise
    finally:
        # Nothing left to stop unless an error or Ctrl-C came first.
        for running in (own, baseline, debt_scan):
            if running is not None:
                running.cancel()


@dataclass(frozen=True)
class _Runs:
    """What ``collect_phase`` started or found before measuring."""

    pending: PendingDiff | None
    started: BackgroundMeasurement | None
    recorded: _Recorded | None
    baseline: PendingBaseline | None
    debt_scan: DebtScan | None
    in_place: bool


def _measured_phase(
    repo: Repository,
    config: Config,
    options: CollectOptions,
    echo: Echo,
    phase_range: PhaseRange,
    runs: _Runs,
) -> PhaseMetrics:
    from phasectl.model.benchmarks import compare_benchmarks
    from phasectl.model.coverage_change import (
        compare_coverage,
        not_measured,
        scope_change,
        scope_warning,
    )
    from phasectl.model.coverage_data import patch_coverage
    from phasectl.model.phase import PhaseMetrics
    from phasectl.model.results import compare_tests, ids_unrelated
    from phasectl.repo.changes import collect_diff
    from phasectl.repo.debt import phase_debt

    started, recorded = runs.started, runs.recorded
    dirty = len(repo.dirty_files()) if runs.in_place else 0
    diff, warnings = collect_diff(repo, config, phase_range, runs.pending)
    if dirty:
        noun = "file has" if dirty == 1 else "files have"
        warnings.append(
            f"{dirty} {noun} uncommitted changes, which are not in the diff; "
            "commit them to include them"
        )
    for message in warnings:
        echo(f"Warning: {message}")
    debt = None
    if runs.debt_scan is not None:
        debt = phase_debt(repo, diff, runs.debt_scan)
    tests = coverage = benchmarks = None
    if options.tests and runs.baseline is not None:
        added = None
        if started is not None:
            # The tests are running: find the changed lines now, while waiting costs nothing.
            added = repo.added_lines(
                phase_range.base.sha, phase_range.head.sha, similarity=config.rename_similarity
            )
        after: Measurement | None
        if recorded is not None:
            after, how = recorded.measurement, "note"
            echo(
                f"phasectl: figures of {phase_range.head.sha[:12]} from the snapshot its tag stored"
            )
        else:
            after, how = measure_commit(
                repo, config, phase_range.head.sha, quiet=options.quiet, echo=echo,
                results=options.results, coverage=options.coverage,
                benchmarks=options.benchmarks, started=started, tip=phase_range.tip,
            )  # fmt: skip
        late = [*(after.warnings if after else ()), *_missing_parts(after, config, options)]
        if after is None:
            # Nothing measured at head: a baseline would have nothing to be compared with.
            runs.baseline.cancel()
            before, base_warnings = None, list[str]()
        else:
            wanted = tuple(k for k in ("tests", "coverage") if getattr(after, k) is not None)
            before, base_warnings = runs.baseline.result(wanted)
        late.extend(base_warnings)
        for message in late:
            echo(f"Warning: {message}")
        warnings.extend(late)
        if after is not None:
            from phasectl.store.snapshots import Snapshot

            head_snapshot = Snapshot.of(after, phase_range.head.sha, how)
            if after.tests is not None:
                before_tests = before.tests if before else None
                tests = {
                    "before": _with_origin(before_tests.to_dict(), before)
                    if before and before_tests
                    else None,
                    "after": _with_origin(after.tests.to_dict(), head_snapshot),
                    "changes": compare_tests(before_tests, after.tests) if before_tests else None,
                }
                if before_tests and ids_unrelated(before_tests, after.tests):
                    unrelated = (
                        "the tests before and after share almost no test id (different "
                        "runners or id forms?): which tests changed is not listed"
                    )
                    echo(f"Warning: {unrelated}")
                    warnings.append(unrelated)
                    tests["changes"] = None
            if after.coverage is not None:
                before_cov = before.coverage if before else None
                if added is None and after.lines is not None:
                    added = repo.added_lines(
                        phase_range.base.sha,
                        phase_range.head.sha,
                        similarity=config.rename_similarity,
                    )
                compared, mixed = compare_coverage(before_cov, after.coverage)
                scope = scope_change(before_cov, after.coverage, diff.files) if before_cov else None
                for said in (mixed, scope_warning(scope) if scope else None):
                    if said:
                        echo(f"Warning: {said}")
                        warnings.append(said)
                if scope:
                    compared["scope"] = scope
                coverage = {
                    "before": _with_origin(before_cov.to_dict(), before)
                    if before and before_cov
                    else None,
                    "after": _with_origin(after.coverage.to_dict(), head_snapshot),
                    **compared,
                    "patch": recorded.patch
                    if recorded is not None
                    else {
                        **patch_coverage(added, after.lines),
                        "not_measured": not_measured(added, after.lines, diff.files),
                    }
                    if added is not None and after.lines is not None
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
        base=phase_range.base,
        head=phase_range.head,
        diff=diff,
        tests=tests,
        coverage=coverage,
        benchmarks=benchmarks,
        debt=debt,
        warnings=tuple(warnings),
    )
