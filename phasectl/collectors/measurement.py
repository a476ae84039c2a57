"""Measure tests, coverage and benchmarks at a commit: in place, in a worktree, or from files.

The project's tests run in the project's own environment (the active virtualenv's
``python``, else the interpreter phasectl runs on; config ``python`` overrides) as
``python -m coverage run -m pytest``, with a small plugin that records pytest's own
summary figures. Output streams live to standard error.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from phasectl.collectors.benchmarks import Benchmark
    from phasectl.config import Config
    from phasectl.model.results import CoverageSummary, FileLines, TestResults
    from phasectl.repo.repository import Repository
    from phasectl.store.snapshots import Snapshot

PLUGIN_MODULE = "_phasectl_results"
_PYTHON_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    "conftest.py",
)
_PROGRESS_EVERY_S = 15.0
Echo = Callable[[str], None]


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


def is_python_project(root: Path) -> bool:
    """True when ``root`` looks like a Python project pytest can run."""
    return any((root / marker).exists() for marker in _PYTHON_MARKERS)


def project_python(config: Config, root: Path) -> str:
    """The interpreter that runs the project's tests: config, active virtualenv, or ours."""
    if config.python:
        candidate = Path(config.python).expanduser()
        return str(candidate if candidate.is_absolute() else root / candidate)
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        scripts = "Scripts" if os.name == "nt" else "bin"
        for name in ("python", "python3", "python.exe"):
            found = Path(venv) / scripts / name
            if found.exists():
                return str(found)
    return sys.executable


# Set by pytest and pytest-xdist for their own processes; inherited by the project's run
# (when phasectl itself runs under pytest) they change its behaviour, e.g.
# pytest-benchmark writes no JSON when it believes it is an xdist worker.
_PYTEST_INTERNAL_ENV = (
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _PYTEST_INTERNAL_ENV}


def _plugin_dir(scratch: Path) -> Path:
    folder = scratch / "plugin"
    folder.mkdir()
    source = Path(__file__).with_name("_pytest_results.py")
    shutil.copyfile(source, folder / f"{PLUGIN_MODULE}.py")
    return folder


def _stream(pipe: IO[bytes], tail: collections.deque[str], quiet: bool) -> None:
    out = sys.stderr.buffer if hasattr(sys.stderr, "buffer") else None
    for raw in iter(pipe.readline, b""):
        tail.append(raw.decode("utf-8", "replace").rstrip("\n"))
        if not quiet:
            if out is not None:
                out.write(raw)
                out.flush()
            else:
                sys.stderr.write(raw.decode("utf-8", "replace"))


def run_streaming(
    command: Sequence[str], cwd: Path, env: dict[str, str], *, quiet: bool, echo: Echo
) -> tuple[int, list[str]]:
    """Run ``command``; stream its output to stderr (or show progress if quiet).

    Returns the exit status and the last lines of output. On Ctrl-C the child is
    stopped too and ``KeyboardInterrupt`` propagates, so callers' cleanup runs.
    """
    try:
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    except FileNotFoundError:
        raise PhasectlError(
            f"test command not found: '{command[0]}'; check test_command or python in the "
            "phasectl config"
        ) from None
    except PermissionError:
        raise PhasectlError(f"test command '{command[0]}' is not executable") from None
    tail: collections.deque[str] = collections.deque(maxlen=20)
    assert proc.stdout is not None
    reader = threading.Thread(target=_stream, args=(proc.stdout, tail, quiet), daemon=True)
    reader.start()
    done = threading.Event()
    if quiet:
        threading.Thread(target=_progress, args=(done, echo), daemon=True).start()
    _RUNNING.add(proc)
    try:
        # A blocking wait: Popen.wait(timeout) polls with sleeps and would add latency.
        status = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        done.set()
        _RUNNING.discard(proc)
        reader.join(timeout=5)
        proc.stdout.close()
    return status, list(tail)


def _progress(done: threading.Event, echo: Echo) -> None:
    started = time.monotonic()
    while not done.wait(_PROGRESS_EVERY_S):
        echo(f"phasectl: tests still running ({time.monotonic() - started:.0f} s)")


# Test processes now running, so the main thread can stop them on Ctrl-C even when a
# background thread started them.
_RUNNING: set[subprocess.Popen[bytes]] = set()


def stop_running() -> None:
    """Stop every test process phasectl started that is still running."""
    for proc in list(_RUNNING):
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _last_lines(tail: list[str], count: int = 8) -> str:
    lines = [line for line in tail if line.strip()][-count:]
    return " | ".join(line.strip() for line in lines)


def _results_from_plugin(path: Path) -> TestResults:
    from phasectl.model.results import TestCase, TestResults

    data = json.loads(path.read_text(encoding="utf-8"))
    cases = [TestCase(c["id"], c["outcome"], c.get("duration_s")) for c in data["cases"]]
    return TestResults.from_counts(data["counts"], data.get("duration_s"), cases)


def _read_benchmarks(
    root: Path, config: Config, since: float
) -> tuple[tuple[Benchmark, ...] | None, list[str]]:
    if not config.benchmark_json:
        return None, []
    from phasectl.collectors.benchmarks import read_benchmark_json

    path = root / config.benchmark_json
    if not path.exists():
        return None, [f"benchmark_json {config.benchmark_json} was not written by the test run"]
    warnings = []
    if path.stat().st_mtime < since:
        warnings.append(f"benchmark_json {config.benchmark_json} is older than this test run")
    return read_benchmark_json(path), warnings


def run_pytest(
    root: Path,
    config: Config,
    *,
    quiet: bool,
    echo: Echo,
    extra_paths: Sequence[Path] = (),
) -> Measurement:
    """The managed run: ``python -m coverage run -m pytest`` in ``root``.

    pytest exit statuses 0 and 1 are results; 5 (no tests collected) records zero tests
    with a warning; anything else is an error that shows pytest's last lines.
    """
    python = project_python(config, root)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="phasectl-run-") as scratch_name:
        scratch = Path(scratch_name)
        plugin = _plugin_dir(scratch)
        results_file = scratch / "results.json"
        env = _child_env()
        paths = [str(plugin), *(str(p) for p in extra_paths)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PHASECTL_RESULTS_FILE"] = str(results_file)
        # The plugin writes coverage.py's JSON report as the run ends (see _pytest_results).
        coverage_json = scratch / "coverage.json"
        env["PHASECTL_COVERAGE_DATA"] = str(scratch / ".coverage")
        env["PHASECTL_COVERAGE_JSON"] = str(coverage_json)
        command = [
            python, "-m", "coverage", "run", f"--data-file={scratch / '.coverage'}",
            "-m", "pytest", "-p", PLUGIN_MODULE, *config.pytest_args,
        ]  # fmt: skip
        started = time.time()
        status, tail = run_streaming(command, root, env, quiet=quiet, echo=echo)
        if not results_file.exists():
            raise PhasectlError(
                f"the test run ({python} -m coverage run -m pytest) failed with exit status "
                f"{status} before pytest reported: {_last_lines(tail)}"
            )
        tests = _results_from_plugin(results_file)
        if status == 5:
            warnings.append("pytest collected no tests (exit status 5): recorded as zero tests")
        elif status not in (0, 1):
            raise PhasectlError(
                f"pytest stopped with exit status {status} (usage or internal error): "
                f"{_last_lines(tail)}"
            )
        data_files = sorted(scratch.glob(".coverage*"))
        coverage = lines = None
        if data_files and tests.total:
            from phasectl.collectors.coverage_files import (
                NoCoverageData,
                read_coverage_json,
                read_coveragepy,
            )

            try:
                if data_files == [scratch / ".coverage"] and coverage_json.exists():
                    coverage, lines = read_coverage_json(coverage_json, root)
                else:  # subprocess or parallel data to combine first, or no report written
                    coverage, lines = read_coveragepy(data_files, root, python=python)
            except NoCoverageData:
                warnings.append(
                    "coverage not collected: the run measured none of the project's files "
                    "(check [tool.coverage.run] source; tests in subprocesses, as with "
                    'pytest-xdist, are measured only with patch = ["subprocess"])'
                )
        elif tests.total:
            warnings.append("the test run wrote no coverage data: coverage not collected")
        benchmarks, bench_warnings = _read_benchmarks(root, config, started)
    return Measurement(tests, coverage, lines, benchmarks, (*warnings, *bench_warnings))


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
    junit = tuple(junit) or config.junit
    coverage = tuple(coverage) or config.coverage
    python = project_python(config, root)
    if config.test_command:
        env = _child_env()
        started = time.time()
        status, tail = run_streaming(config.test_command, root, env, quiet=quiet, echo=echo)
        warnings = []
        if status != 0:
            warnings.append(f"test_command exited with status {status}: {_last_lines(tail, 3)}")
        if not junit and not coverage:
            raise PhasectlError(
                "test_command is set but no artifacts are named; set junit/coverage in the "
                "phasectl config or pass --junit/--coverage"
            )
        found = read_artifacts(root, junit, coverage, python=python)
        benchmarks, bench_warnings = _read_benchmarks(root, config, started)
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
        if self._thread.is_alive():
            stop_running()
            self._thread.join(timeout=15)


@contextlib.contextmanager
def temporary_worktree(repo: Repository, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary folder, removed even on Ctrl-C.

    The user's work tree, index, stash, HEAD and branches are not touched: the worktree
    has its own HEAD and index under ``.git/worktrees``, and is pruned afterwards.
    """
    scratch = Path(tempfile.mkdtemp(prefix="phasectl-base-"))
    path = scratch / "worktree"
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (CI cancelling a job) gets the same cleanup as Ctrl-C.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminate)
    try:
        repo.add_worktree(path, commit)
        yield path
    finally:
        try:
            repo.remove_worktree(path)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, previous)


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
