"""Measure tests, coverage and benchmarks at a commit: in place, in a worktree, or from files.

The project's tests run in the project's own environment (the active virtualenv's
interpreter, or ``python`` from the config), never inside phasectl's process.
"""

from __future__ import annotations

import contextlib
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

    tests = read_junit(expand_globs(junit, root)) if junit else None
    summary = lines = None
    if coverage:
        from phasectl.collectors.coverage_files import read_coverage

        summary, lines = read_coverage(expand_globs(coverage, root), root, python=python)
    return Measurement(tests, summary, lines)


def measure(
    root: Path,
    config: Config,
    *,
    quiet: bool,
    echo: Echo,
    junit: Sequence[str] = (),
    coverage: Sequence[str] = (),
    extra_paths: Sequence[Path] = (),
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
        status, tail = run_streaming(config.test_command, root, env, quiet=quiet, echo=echo)
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
        return run_pytest(root, config, quiet=quiet, echo=echo, extra_paths=extra_paths)
    return None


class BackgroundMeasurement:
    """A measurement started at once in a thread.

    The test run is the long pole of ``collect``; starting it first lets the diff and
    everything else happen while the tests run.
    """

    def __init__(self, work: Callable[[], Measurement | None]) -> None:
        self._result: Measurement | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = work()
            except BaseException as exc:  # re-raised in the main thread by result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self) -> Measurement | None:
        """Wait for the run; its measurement, or the error it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def cancel(self) -> None:
        """Stop the run if it is still going (on an error elsewhere, or Ctrl-C)."""
        # Not "if is_alive()": a join() that a signal interrupted can leave a running
        # thread marked as stopped (CPython before 3.12); stop_running skips finished runs.
        stop_running()
        self._thread.join(timeout=15)


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
    repo: Repository, commit: str, config: Config, *, quiet: bool, echo: Echo
) -> Measurement | None:
    """Run the tests at ``commit`` in a temporary worktree."""
    echo(f"phasectl: running the tests at {commit[:12]} in a temporary worktree")
    with temporary_worktree(repo, commit) as path:
        # An editable install of the project points at the user's checkout; put the
        # worktree's own sources first so the base commit's code is what gets tested.
        extra = [p for p in (path / "src", path) if p.is_dir()]
        return measure(path, config, quiet=quiet, echo=echo, extra_paths=extra)
