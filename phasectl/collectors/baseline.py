"""The "before" figures of a phase: artifacts named on the command line, a stored note,
or a run of the base's tests in a temporary worktree (alongside head's run when it can).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phasectl.collectors.options import CollectOptions
    from phasectl.config import Config
    from phasectl.model.measurement import Measurement
    from phasectl.repo.changes import PhaseRange
    from phasectl.repo.repository import Repository
    from phasectl.runners.process import Echo
    from phasectl.store.snapshots import Snapshot


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
            failed = f"could not measure the base {self._name}: {exc.text()}"
            return self._known, [*self._warnings, failed]
        if measured is None:
            return self._known, self._warnings
        late = [f"at base: {w}" for w in measured.warnings]
        if measured.tests is None and measured.coverage is None and measured.benchmarks is None:
            # Nothing measured (a failed test_command that wrote nothing): no note to store.
            return self._known, [*self._warnings, *late]
        return self._finish(measured), [*self._warnings, *late]

    def cancel(self) -> None:
        """Stop a background run (on an error elsewhere, or Ctrl-C) and wait for its
        worktree to be removed."""
        if self._background is not None:
            self._background.cancel()


def find_baseline(
    repo: Repository,
    config: Config,
    phase_range: PhaseRange,
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
    from phasectl.collectors.artifacts import read_artifacts
    from phasectl.quoting import display_path
    from phasectl.repo.changes import EMPTY_TREE_REF
    from phasectl.runners.pytest_run import project_python
    from phasectl.store.snapshots import Snapshot, load_snapshot, store_snapshot

    if phase_range.base.ref == EMPTY_TREE_REF:
        return PendingBaseline(None, [])
    base = phase_range.base.sha
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
        return PendingBaseline(Snapshot.of(found, base, "artifacts"), warnings)
    name = f"{display_path(phase_range.base.ref)} ({base[:12]})"

    def finish(measured: Measurement) -> Snapshot:
        snapshot = Snapshot.of(measured, base, "worktree run")
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
                    f"'phasectl snapshot {_snapshot_ref(phase_range)}' to measure it again, or use "
                    "--run-base auto"
                )
                return PendingBaseline(stored, [*warnings, missing])
            echo(f"phasectl: the note for {base[:12]} has no {' or '.join(lacking)}; measuring it")
            again = run(options.quiet, echo)
            return PendingBaseline(stored, warnings, again, finish, name=name)

        return PendingBaseline(stored, warnings, later=later)
    if run_base == "never":
        warnings.append(
            f"no baseline for {name}: run 'phasectl snapshot {_snapshot_ref(phase_range)}' to "
            "store one, pass --base-results/--base-coverage, or use --run-base auto"
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


def _snapshot_ref(phase_range: PhaseRange) -> str:
    """The commit a snapshot must be stored on to serve as this range's base: with
    --merge-base that is the merge-base commit, not the ref the user named."""
    from phasectl.quoting import shell_word

    return phase_range.base.sha if phase_range.merge_base else shell_word(phase_range.base.ref)


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
