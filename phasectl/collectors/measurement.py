"""Measure tests, coverage and benchmarks at a commit: in place, in a worktree, or from files.

The project's tests run in the project's own environment (the active virtualenv's
interpreter, or ``python`` from the config), never inside phasectl's process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.collectors.process import Echo, child_env, last_lines, run_streaming, stop_running
from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from phasectl.collectors.benchmarks import Benchmark
    from phasectl.config import Config
    from phasectl.model.coverage_data import CoverageSummary, FileLines
    from phasectl.model.results import TestResults
    from phasectl.repo.repository import Repository
    from phasectl.store.snapshots import Snapshot


@dataclass(frozen=True)
class Measurement:
    """What one run measured. ``lines`` (line-level coverage) feeds patch coverage."""

    tests: TestResults | None = None
    coverage: CoverageSummary | None = None
    lines: dict[str, FileLines] | None = None
    benchmarks: tuple[Benchmark, ...] | None = None
    warnings: tuple[str, ...] = field(default=())

    def snapshot(self, commit: str, source: str) -> Snapshot:
        from phasectl.store.snapshots import Snapshot, now_iso

        return Snapshot(
            commit=commit,
            source=source,
            tests=self.tests,
            coverage=self.coverage,
            benchmarks=self.benchmarks,
            measured_at=now_iso(),
        )


def read_artifacts(
    root: Path, junit: Sequence[str], coverage: Sequence[str], *, python: str
) -> Measurement:
    """Figures from files another runner wrote: JUnit XML globs and coverage files."""
    from phasectl.collectors.junit import expand_globs, read_junit

    tests = read_junit(expand_globs(junit, root), root) if junit else None
    summary = lines = None
    if coverage:
        from phasectl.collectors.coverage_files import read_coverage

        summary, lines = read_coverage(expand_globs(coverage, root), root, python=python)
    return Measurement(tests, summary, lines)


def measured_as(config: Config, junit: Sequence[str] = (), coverage: Sequence[str] = ()) -> str:
    """How ``measure`` takes the figures, as the report names it: ``work tree`` when tests
    run there (``test_command``, whose artifacts are then read, or the managed run), else
    ``artifacts`` when it only reads files named by flags or config."""
    if config.test_command:
        return "work tree"
    named = junit or coverage or config.junit or config.coverage
    return "artifacts" if named else "work tree"


def measure(
    root: Path,
    config: Config,
    *,
    quiet: bool,
    echo: Echo,
    junit: Sequence[str] = (),
    coverage: Sequence[str] = (),
    extra_paths: Sequence[Path] = (),
    run: str = "head",
) -> Measurement | None:
    """Measure the checkout at ``root`` the configured way; ``None`` if nothing applies.

    With ``test_command`` configured, that command runs (any language), then the
    artifacts named by flags or config are read. Without it, artifacts named on the
    command line are read as they are, and otherwise a Python project gets the managed
    pytest + coverage run.
    """
    from phasectl.collectors.benchmarks import read_configured_benchmarks
    from phasectl.collectors.pytest_run import is_python_project, project_python, run_pytest

    junit = tuple(junit) or config.junit
    coverage = tuple(coverage) or config.coverage
    python = project_python(config, root)
    if config.test_command:
        env = child_env()
        started = time.time()
        status, tail = run_streaming(
            config.test_command, root, env, quiet=quiet, echo=echo, run=run
        )
        warnings = []
        if status != 0:
            warnings.append(f"test_command exited with status {status}: {last_lines(tail, 3)}")
        if not junit and not coverage:
            raise PhasectlError(
                "test_command is set but no artifacts are named; set junit/coverage in the "
                "phasectl config or pass --junit/--coverage"
            )
        found = read_artifacts(root, junit, coverage, python=python)
        benchmarks, bench_warnings = read_configured_benchmarks(root, config, started)
        return Measurement(
            found.tests, found.coverage, found.lines, benchmarks, (*warnings, *bench_warnings)
        )
    if junit or coverage:
        return read_artifacts(root, junit, coverage, python=python)
    if is_python_project(root):
        return run_pytest(root, config, quiet=quiet, echo=echo, extra_paths=extra_paths, run=run)
    return None


class BackgroundMeasurement:
    """A measurement started at once in a thread.

    The test run is the long pole of ``collect``; starting it first lets the diff and
    everything else happen while the tests run.
    """

    def __init__(self, work: Callable[[], Measurement | None]) -> None:
        self._result: Measurement | None = None
        self._error: BaseException | None = None
        # Set when the work and its cleanup are over. Not Thread.is_alive(): a join() that a
        # signal interrupted can leave a running thread marked as stopped (CPython < 3.12).
        self._finished = threading.Event()

        def run() -> None:
            try:
                self._result = work()
            except BaseException as exc:  # re-raised in the main thread by result()
                self._error = exc
            finally:
                self._finished.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self) -> Measurement | None:
        """Wait for the run; its measurement, or the error it raised."""
        self._finished.wait()
        if self._error is not None:
            raise self._error
        return self._result

    def done(self) -> bool:
        """True once the run has finished (``result`` then returns at once)."""
        return self._finished.is_set()

    def cancel(self) -> None:
        """Stop the run if it is still going (on an error elsewhere, or Ctrl-C), and wait
        for its cleanup (a worktree's removal) to finish."""
        # Stopped again and again: a run still setting up (adding its worktree) starts its
        # test process only after the first stop, and that process must stop too.
        deadline = time.monotonic() + 15
        while not self._finished.is_set() and time.monotonic() < deadline:
            stop_running()
            self._finished.wait(timeout=0.2)


@contextlib.contextmanager
def temporary_worktree(repo: Repository, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary folder, removed even on Ctrl-C.

    The user's work tree, index, stash, HEAD and branches are not touched: the worktree
    has its own HEAD and index under ``.git/worktrees``, and is pruned afterwards.
    """
    # SIGTERM (CI cancelling a job) raises here as Ctrl-C does (collectors.process.
    # interruptible), so this cleanup runs for both; after SIGKILL, the next run prunes it.
    scratch = Path(tempfile.mkdtemp(prefix="phasectl-base-"))
    path = scratch / "worktree"
    try:
        repo.add_worktree(path, commit)
        yield path
    finally:
        try:
            repo.remove_worktree(path)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def measure_in_worktree(
    repo: Repository, commit: str, config: Config, *, quiet: bool, echo: Echo, run: str = "head"
) -> Measurement | None:
    """Run the tests at ``commit`` in a temporary worktree (``run``: "head" or "base")."""
    echo(f"phasectl: {run} run: the tests at {commit[:12]} in a temporary worktree")
    if config.python and repo.work_tree is not None:
        # A relative python (".venv/bin/python") names the user's environment, which is
        # in the user's work tree, not in the temporary one (where it is not checked in).
        from phasectl.collectors.pytest_run import project_python

        config = dataclasses.replace(config, python=project_python(config, repo.work_tree))
    with temporary_worktree(repo, commit) as path:
        # An editable install of the project points at the user's checkout; put the
        # worktree's own sources first so the base commit's code is what gets tested.
        extra = [p for p in (path / "src", path) if p.is_dir()]
        return measure(path, config, quiet=quiet, echo=echo, extra_paths=extra, run=run)
