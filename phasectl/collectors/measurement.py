"""Measure tests, coverage and benchmarks at a commit: in place, in a worktree, or from files.

The project's tests run in the project's own environment (the active virtualenv's
interpreter, or ``python`` from the config), never inside phasectl's process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import PhasectlError
from phasectl.fileio import scratch_folder
from phasectl.model.measurement import Measurement
from phasectl.runners.process import (
    Echo,
    TimedOut,
    child_env,
    indented_lines,
    last_lines,
    run_streaming,
    stop_running,
)

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.repository import Repository


WORKTREE_SETUP_HINT = (
    "the base's temporary worktree has only the committed files; set worktree_setup to "
    'the command that installs what the tests need (e.g. worktree_setup = "npm ci")'
)


# What a test command prints when a dependency is not installed (npm, node, Python, go, sh).
_MISSING_DEPENDENCY = re.compile(
    r"not found|No module named|Cannot find module|ERR_MODULE_NOT_FOUND|cannot find package"
    r"|missing go\.sum entry|No such file or directory|command not found",
    re.IGNORECASE,
)


def shell_words(command: str | Sequence[str]) -> list[str]:
    """A configured command as an argument list: a string is the user's shell command."""
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


def _run_test_command(
    root: Path,
    config: Config,
    paths: tuple[Sequence[str], Sequence[str], Sequence[str]],
    *,
    quiet: bool,
    echo: Echo,
    in_worktree: bool,
    run: str,
) -> Measurement:
    from phasectl.readers.formats import read_configured_benchmarks
    from phasectl.runners.pytest_run import project_python

    assert config.test_command is not None
    results, coverage, benchmarks = paths
    if not (results or coverage or benchmarks):
        raise PhasectlError(
            "test_command is set but no artifacts are named; set results/coverage/benchmarks "
            "in the phasectl config or pass --results/--coverage/--benchmarks"
        )
    from phasectl.readers.files import FileStates

    before = FileStates((*results, *coverage, *benchmarks), root)
    status, tail = run_streaming(
        shell_words(config.test_command), root, child_env(), quiet=quiet, echo=echo, run=run,
        timeout=config.test_timeout,
    )  # fmt: skip
    hint = ""
    missing = status == 127 or _MISSING_DEPENDENCY.search("\n".join(tail))
    if in_worktree and not config.worktree_setup and status != 0 and missing:
        hint = f"; {WORKTREE_SETUP_HINT}"
    from phasectl.collectors.artifacts import read_artifacts

    try:
        found = read_artifacts(
            root, results, coverage, python=project_python(config, root), before=before, echo=echo
        )
    except PhasectlError as exc:
        if status == 0:
            raise
        if in_worktree and not config.worktree_setup:
            hint = f"; {WORKTREE_SETUP_HINT}"
        raise PhasectlError(
            f"test_command exited with status {status} ({last_lines(tail, 3)}), and then: "
            f"{exc}{hint}"
        ) from None
    wrote_nothing = found.tests is None and found.coverage is None
    if wrote_nothing and (status in (126, 127) or (status == 0 and found.warnings)):
        # The shell found no such command (or could not run it), or the command passed
        # and wrote none of the files named: the configuration is what is wrong.
        said = f"{last_lines(tail, 3)}; " if status else ""
        raise PhasectlError(
            f"test_command exited with status {status} ({said}{'; '.join(found.warnings)}){hint}"
        )
    warnings = list(found.warnings)
    if status != 0:
        shown = indented_lines(tail)
        lead = (
            "tests not collected: test_command exited with status "
            f"{status} and wrote none of its results this run"
            if wrote_nothing
            else f"test_command exited with status {status}"
        )
        warnings.insert(0, f"{lead}{hint}; its last lines:\n{shown}" if shown else lead + hint)
    timed, bench_warnings = read_configured_benchmarks(root, benchmarks, before, passed=status == 0)
    warnings.extend(bench_warnings)
    return Measurement(found.tests, found.coverage, found.lines, timed, tuple(warnings))


def measured_as(config: Config, results: Sequence[str] = (), coverage: Sequence[str] = ()) -> str:
    """How ``measure`` takes the figures, as the report names it: ``work tree`` when tests
    run there (``test_command``, whose artifacts are then read, or the managed run), else
    ``artifacts`` when it only reads files named by flags or config."""
    if config.test_command:
        return "work tree"
    named = results or coverage or config.results or config.coverage
    return "artifacts" if named else "work tree"


def measure(
    root: Path,
    config: Config,
    *,
    quiet: bool,
    echo: Echo,
    results: Sequence[str] = (),
    coverage: Sequence[str] = (),
    benchmarks: Sequence[str] = (),
    extra_paths: Sequence[Path] = (),
    run: str = "head",
    in_worktree: bool = False,
) -> Measurement | None:
    """Measure the checkout at ``root`` the configured way; ``None`` if nothing applies.

    With ``test_command`` configured, that command runs (any language), then the
    artifacts named by flags or config are read. Without it, artifacts named on the
    command line are read as they are, and otherwise a Python project gets the managed
    pytest + coverage run. The commands of ``timings`` are timed after all that.
    """
    from phasectl.collectors.artifacts import read_artifacts
    from phasectl.runners.pytest_run import is_python_project, project_python, run_pytest

    named = (
        tuple(results) or config.results,
        tuple(coverage) or config.coverage,
        tuple(benchmarks) or config.benchmarks,
    )
    found: Measurement | None
    try:
        if config.test_command:
            found = _run_test_command(
                root, config, named, quiet=quiet, echo=echo, in_worktree=in_worktree, run=run
            )
        elif named[0] or named[1] or (named[2] and not is_python_project(root)):
            found = read_artifacts(
                root, named[0], named[1], python=project_python(config, root), benchmarks=named[2],
                echo=echo,
            )  # fmt: skip
        elif is_python_project(root):
            # Benchmark files, if named, are what this run writes (pytest-benchmark).
            settings = dataclasses.replace(config, benchmarks=named[2])
            found = run_pytest(
                root, settings, quiet=quiet, echo=echo, extra_paths=extra_paths, run=run
            )
        elif config.timings:
            found = Measurement()
        else:
            return None
    except TimedOut as exc:
        said = f"tests not collected (timed out after {exc.seconds:g} s, the test_timeout)"
        if exc.details:
            said += "; its last lines:\n" + "\n".join(exc.details)
        found = Measurement(warnings=(said,))
    if not config.timings:
        return found
    from phasectl.runners.timings import time_commands

    timed, warnings = time_commands(config.timings, root, echo)
    # Every timing failed, and nothing else was timed: benchmarks were not collected.
    both = None if found.benchmarks is None and not timed else (*(found.benchmarks or ()), *timed)
    return dataclasses.replace(found, benchmarks=both, warnings=(*found.warnings, *warnings))


def would_measure(config: Config, paths: Sequence[str]) -> bool:
    """Whether ``measure`` would find anything to do in a checkout holding ``paths``."""
    from phasectl.runners.pytest_run import looks_like_python

    configured = config.test_command or config.results or config.coverage or config.benchmarks
    return bool(configured or config.timings) or looks_like_python(paths)


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
    # SIGTERM (CI cancelling a job) raises here as Ctrl-C does (runners.process.
    # interruptible), so this cleanup runs for both; after SIGKILL, the next run prunes it.
    with scratch_folder("base") as scratch:
        path = scratch / "worktree"
        try:
            repo.add_worktree(path, commit)
            yield path
        finally:
            repo.remove_worktree(path)


def measure_in_worktree(
    repo: Repository, commit: str, config: Config, *, quiet: bool, echo: Echo, run: str = "head"
) -> Measurement | None:
    """Run the tests at ``commit`` in a temporary worktree (``run``: "head" or "base"),
    after ``worktree_setup``.

    ``config`` is the work tree's configuration (an untracked ``.phasectl.toml``
    included), not the one committed at ``commit``. ``None``, and no worktree made, when
    nothing would be measured there.
    """
    if not would_measure(config, repo.tree_paths(commit)):
        return None
    echo(f"phasectl: {run} run: the tests at {commit[:12]} in a temporary worktree")
    if config.python and repo.work_tree is not None:
        # A relative python (".venv/bin/python") names the user's environment, which is
        # in the user's work tree, not in the temporary one (where it is not checked in).
        from phasectl.runners.pytest_run import project_python

        config = dataclasses.replace(config, python=project_python(config, repo.work_tree))
    with temporary_worktree(repo, commit) as path:
        if config.worktree_setup:
            _set_up(config.worktree_setup, path, quiet=quiet, echo=echo, run=run)
        if not config.test_command:
            _check_artifacts_in_worktree(config, path, commit, run)
        # An editable install of the project points at the user's checkout; put the
        # worktree's own sources first so the base commit's code is what gets tested.
        extra = [p for p in (path / "src", path) if p.is_dir()]
        return measure(
            path, config, quiet=quiet, echo=echo, extra_paths=extra, run=run,
            in_worktree=True,
        )  # fmt: skip


def _check_artifacts_in_worktree(config: Config, path: Path, commit: str, run: str) -> None:
    """Refuse, saying where phasectl looked, artifacts a fresh checkout cannot have.

    Without ``test_command``, the configured ``results`` and ``coverage`` are files an
    earlier test run wrote into the work tree; the temporary worktree holds only what is
    committed at ``commit``, so a relative pattern there matches only a committed file.
    """
    from phasectl.readers.files import matching_files

    for what, patterns in (("results", config.results), ("coverage", config.coverage)):
        for pattern in patterns:
            if Path(pattern).is_absolute() or matching_files(pattern, path):
                continue
            where = "the base's temporary worktree" if run == "base" else "the temporary worktree"
            instead = (
                "pass the base's files with --base-results/--base-coverage, or store a "
                "snapshot of the base (phasectl snapshot at that commit)"
                if run == "base"
                else "check that commit out and run the tests first"
            )
            raise PhasectlError(
                f"{what} '{pattern}' matched no file in {where} of commit {commit[:12]}, "
                "which holds only committed files: without test_command, results and "
                "coverage name files a test run wrote, and none ran there; set test_command "
                f"so phasectl runs the tests there, or {instead}"
            )


def _set_up(command: str, path: Path, *, quiet: bool, echo: Echo, run: str) -> None:
    echo(f"phasectl: worktree_setup: {command}")
    status, tail = run_streaming(
        shell_words(command), path, child_env(), quiet=quiet, echo=echo, run=run
    )
    if status != 0:
        raise PhasectlError(
            f"worktree_setup ({command}) exited with status {status}: {last_lines(tail, 3)}"
        )
