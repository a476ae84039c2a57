"""Collect a whole phase: the diff, and test/coverage/benchmark figures before and after."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    results: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    base_results: tuple[str, ...] = ()
    base_coverage: tuple[str, ...] = ()
    base_benchmarks: tuple[str, ...] = ()
    run_base: RunBase | None = None
    skip_reports: bool = False
    """Skip head back past commits that only change reports (report, check, tag)."""
    debt: bool = False
    """Read the technical debt from the diff's changed lines (the commands that render a
    report); ``collect`` leaves it out to stay as fast as git's own diff."""
    recorded_head: bool = False
    """Take head's figures from the snapshot ``phasectl tag`` stored for this very range,
    when there is one, instead of running the tests (check)."""
    recorded_only: bool = False
    """With ``recorded_head``: collect tests only from that snapshot, never run them
    (``--no-tests`` at a tag phasectl made)."""


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


def cores() -> int:
    """The CPU cores this process may run on."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class PendingBaseline:
    """The "before" figures: known at once (a note, artifacts, none), or a run of the base's
    tests in a temporary worktree, which either is already running alongside the head's run
    or runs when ``result`` is asked for.

    ``fallback`` is what stands when the run fails (a note's parts still are a baseline for
    what they hold); ``later``, given the parts head measured, decides whether a note that
    lacks some of them is measured again (which can only be known once head is measured).
    """

    def __init__(
        self,
        known: Snapshot | None,
        warnings: list[str],
        run: Callable[[], Measurement | None] | None = None,
        finish: Callable[[Measurement], Snapshot] | None = None,
        *,
        name: str = "",
        alongside: bool = False,
        later: Callable[[tuple[str, ...]], PendingBaseline] | None = None,
    ) -> None:
        from phasectl.collectors.measurement import BackgroundMeasurement

        self._known, self._warnings, self._run, self._finish = known, warnings, run, finish
        self._name, self._later = name, later
        self._background = BackgroundMeasurement(run) if run and alongside else None

    @property
    def concurrent(self) -> bool:
        """True when the base's tests run in the background, alongside the head's run."""
        return self._background is not None

    def result(self, wanted: tuple[str, ...] = ()) -> tuple[Snapshot | None, list[str]]:
        """Wait for the run, if any; the snapshot (stored as a note) and warnings.

        ``wanted``: the parts head measured (``tests``, ``coverage``)."""
        from phasectl.errors import PhasectlError

        if self._later is not None:
            return self._later(wanted).result()
        if self._run is None or self._finish is None:
            return self._known, self._warnings
        try:
            measured = self._background.result() if self._background else self._run()
        except PhasectlError as exc:
            # The figures at head are still worth reporting: the base becomes "no baseline".
            failed = f"could not measure the base {self._name}: {exc}"
            return self._known, [*self._warnings, failed]
        if measured is None:
            return self._known, self._warnings
        late = (f"at base: {w}" for w in measured.warnings)
        return self._finish(measured), [*self._warnings, *late]

    def cancel(self) -> None:
        """Stop a background run (on an error elsewhere, or Ctrl-C) and wait for its
        worktree to be removed."""
        if self._background is not None:
            self._background.cancel()


def find_baseline(
    repo: Repository,
    config: Config,
    span: DiffRange,
    options: CollectOptions,
    echo: Echo,
    *,
    alongside: bool = False,
) -> PendingBaseline:
    """The "before" figures, in order: artifacts named on the command line, git note, a
    worktree run, or none.

    A note that lacks a part head measured (``tests``, ``coverage``) is no baseline for that
    part: the base is measured again (after head's run) unless runs are off. With
    ``alongside``, a worktree run starts now in the background: its output is held back,
    and one line sums it up when it ends (the head's run streams meanwhile).
    """
    from phasectl.collectors.diff import EMPTY_TREE_REF
    from phasectl.collectors.measurement import read_artifacts
    from phasectl.collectors.pytest_run import project_python
    from phasectl.report.output import display_path
    from phasectl.store.snapshots import load_snapshot, store_snapshot

    if span.base.ref == EMPTY_TREE_REF:
        return PendingBaseline(None, [])
    base = span.base.sha
    run_base = options.run_base or config.run_base
    stored, problem = load_snapshot(repo, base)
    warnings = [problem] if problem else []
    if options.base_results or options.base_coverage or options.base_benchmarks:
        # What the user names wins over what is stored; say so, since a note exists.
        if stored is not None:
            echo(
                f"phasectl: before figures from --base-results/--base-coverage/"
                f"--base-benchmarks, not the note stored for {base[:12]}"
            )
        root = repo.work_tree or Path.cwd()
        found = read_artifacts(
            root, options.base_results, options.base_coverage,
            python=project_python(config, root), benchmarks=options.base_benchmarks,
        )  # fmt: skip
        return PendingBaseline(found.snapshot(base, "artifacts"), warnings)
    name = f"{display_path(span.base.ref)} ({base[:12]})"

    def finish(measured: Measurement) -> Snapshot:
        snapshot = measured.snapshot(base, "worktree run")
        store_snapshot(repo, snapshot)
        return snapshot

    def finish_alongside(measured: Measurement) -> Snapshot:
        echo(f"[base] phasectl: {_summary(measured)}")
        return finish(measured)

    def run(quiet: bool, base_echo: Echo) -> Callable[[], Measurement | None]:
        from phasectl.collectors.measurement import measure_in_worktree

        return lambda: measure_in_worktree(
            repo, base, config, quiet=quiet, echo=base_echo, run="base"
        )

    if stored is not None and run_base != "always":

        def later(wanted: tuple[str, ...]) -> PendingBaseline:
            lacking = [part for part in wanted if getattr(stored, part) is None]
            if not lacking:
                return PendingBaseline(stored, warnings)
            if run_base != "auto":
                missing = (
                    f"the note stored for {name} has no {' or '.join(lacking)}: run "
                    f"'phasectl snapshot {_snapshot_ref(span)}' to measure it again, or use "
                    "--run-base auto"
                )
                return PendingBaseline(stored, [*warnings, missing])
            echo(f"phasectl: the note for {base[:12]} has no {' or '.join(lacking)}; measuring it")
            again = run(options.quiet, echo)
            return PendingBaseline(stored, warnings, again, finish, name=name)

        return PendingBaseline(stored, warnings, later=later)
    if run_base == "never":
        warnings.append(
            f"no baseline for {name}: run 'phasectl snapshot {_snapshot_ref(span)}' to store "
            "one, pass --base-results/--base-coverage, or use --run-base auto"
        )
        return PendingBaseline(None, warnings)
    if alongside:
        echo(
            "phasectl: the base's tests run alongside head's; their output is held back and "
            "summed up as they end (run_base_concurrently = false: one after the other)"
        )
        runner = run(True, _prefixed(echo, "[base] "))
        return PendingBaseline(
            stored, warnings, runner, finish_alongside, name=name, alongside=True
        )
    return PendingBaseline(stored, warnings, run(options.quiet, echo), finish, name=name)


def _snapshot_ref(span: DiffRange) -> str:
    """The commit a snapshot must be stored on to serve as this range's base: with
    --merge-base that is the merge-base commit, not the ref the user named."""
    from phasectl.report.output import shell_word

    return span.base.sha if span.merge_base else shell_word(span.base.ref)


def _prefixed(echo: Echo, prefix: str) -> Echo:
    return lambda message: echo(prefix + message)


def _summary(measured: Measurement) -> str:
    tests = measured.tests
    parts = [
        f"{tests.passed} passed, {tests.failed} failed, {tests.skipped} skipped"
        if tests is not None
        else "no tests"
    ]
    if tests is not None and tests.duration_s is not None:
        parts.append(f"in {tests.duration_s:.1f} s")
    if measured.coverage is not None:
        parts.append(f"coverage {measured.coverage.percent_display}%")
    return "base run done: " + ", ".join(parts)


def _missing_parts(after: Measurement | None, config: Config, options: CollectOptions) -> list[str]:
    """Say which part was not collected, and what would collect it."""
    if after is None:
        return [
            "tests not collected: not a Python project, and no test_command, results or "
            "coverage configured (or --results/--coverage given)"
        ]
    said = []
    if after.tests is None:
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
    from phasectl.collectors.diff import resolve_range

    span = resolve_range(
        repo, config, options.base, options.head,
        merge_base=options.merge_base, skip_reports=options.skip_reports,
    )  # fmt: skip
    in_place = repo.head_sha() in (span.head.sha, span.tip)
    if started is not None and not in_place:
        # Stopped before the base's run starts: stopping a run stops every test process.
        started.cancel()
        started = None
    recorded = _recorded_head(repo, span) if options.tests and options.recorded_head else None
    if recorded is not None and (options.results or options.coverage or options.benchmarks):
        # What the user names on the command line wins over what the tag recorded.
        echo("phasectl: head figures from --results/--coverage, not the tag's snapshot")
        recorded = None
    if recorded is not None and started is not None:
        started.cancel()
        started = None
    baseline = None
    if options.tests and (recorded is not None or not options.recorded_only):
        # The base's run needs no more than a core of its own (and no test resource its
        # twin holds: run_base_concurrently = false is for suites that hold one).
        alongside = recorded is None and config.run_base_concurrently and cores() >= 2
        baseline = find_baseline(repo, config, span, options, echo, alongside=alongside)
    try:
        return _measured_phase(
            repo, config, options, echo, span,
            _Runs(pending, started, recorded, baseline, in_place),
        )  # fmt: skip
    finally:
        if baseline is not None:
            baseline.cancel()  # nothing left to stop unless an error or Ctrl-C came first


@dataclass(frozen=True)
class _Runs:
    """What ``collect_phase`` started or found before measuring."""

    pending: PendingDiff | None
    started: BackgroundMeasurement | None
    recorded: _Recorded | None
    baseline: PendingBaseline | None
    in_place: bool


def _measured_phase(
    repo: Repository,
    config: Config,
    options: CollectOptions,
    echo: Echo,
    span: DiffRange,
    runs: _Runs,
) -> PhaseMetrics:
    from phasectl.collectors.benchmarks import compare_benchmarks
    from phasectl.collectors.debt import collect_debt
    from phasectl.collectors.diff import collect_diff
    from phasectl.model.coverage_change import compare_coverage
    from phasectl.model.coverage_data import patch_coverage
    from phasectl.model.phase import PhaseMetrics
    from phasectl.model.results import compare_tests, ids_unrelated
    from phasectl.repo.diff import added_line_numbers, parse_patch

    started, recorded = runs.started, runs.recorded
    dirty = len(repo.dirty_files()) if runs.in_place else 0
    diff, warnings = collect_diff(repo, config, span, runs.pending)
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
        if options.debt or (options.tests and started is not None)
        else None
    )
    debt = collect_debt(patch, diff) if patch is not None and options.debt else None
    tests = coverage = benchmarks = None
    if options.tests and runs.baseline is not None:
        # While the tests run, the changed lines are found at no cost; else only when
        # patch coverage needs them.
        added = added_line_numbers(patch) if patch is not None else None
        after: Measurement | None
        if recorded is not None:
            after, how = recorded.measurement, "note"
            echo(f"phasectl: figures of {span.head.sha[:12]} from the snapshot its tag stored")
        else:
            after, how = measure_commit(
                repo, config, span.head.sha, quiet=options.quiet, echo=echo,
                results=options.results, coverage=options.coverage,
                benchmarks=options.benchmarks, started=started, tip=span.tip,
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
                        span.base.sha, span.head.sha, similarity=config.rename_similarity
                    )
                compared, mixed = compare_coverage(before_cov, after.coverage)
                if mixed:
                    echo(f"Warning: {mixed}")
                    warnings.append(mixed)
                coverage = {
                    "before": _with_origin(before_cov.to_dict(), before)
                    if before and before_cov
                    else None,
                    "after": _with_origin(after.coverage.to_dict(), head_snapshot),
                    **compared,
                    "patch": recorded.patch
                    if recorded is not None
                    else patch_coverage(added, after.lines)
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
        base=span.base,
        head=span.head,
        diff=diff,
        tests=tests,
        coverage=coverage,
        benchmarks=benchmarks,
        debt=debt,
        warnings=tuple(warnings),
    )
