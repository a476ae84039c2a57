"""The managed run: the project's own pytest under coverage.py, with phasectl's plugin."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasectl.errors import PhasectlError
from phasectl.fileio import scratch_folder
from phasectl.runners.process import (
    Echo,
    child_env,
    indented_lines,
    run_streaming,
    wants_colour,
)

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.model.measurement import Measurement
    from phasectl.model.results import TestResults


PLUGIN_MODULE = "_phasectl_results"


EXPORT_MODULE = "_phasectl_coverage"


_PYTHON_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    "conftest.py",
)


def looks_like_python(paths: Iterable[str]) -> bool:
    """True when files at these repository paths make a Python project pytest can run:
    a packaging or pytest file at the top, a ``requirements.txt``, or test files by
    pytest's own naming (``tests/test_*.py``, ``*_test.py``)."""
    for path in paths:
        folder, _, name = path.rpartition("/")
        if not folder and name in (*_PYTHON_MARKERS, "requirements.txt"):
            return True
        if name.endswith("_test.py") or (
            name.startswith("test_") and name.endswith(".py") and "tests" in folder.split("/")
        ):
            return True
    return False


def is_python_project(root: Path) -> bool:
    """True when the checkout at ``root`` looks like a Python project pytest can run
    (see ``looks_like_python``; test files count when git tracks them at its HEAD)."""
    if any((root / marker).exists() for marker in (*_PYTHON_MARKERS, "requirements.txt")):
        return True
    from phasectl.repo.repository import Repository

    try:
        repo = Repository.open(root)
        return repo.has_commits() and looks_like_python(repo.tree_paths("HEAD"))
    except PhasectlError:
        return False


def project_python(config: Config, root: Path) -> str:
    """The interpreter that runs the project's tests: config, ``PHASECTL_PYTHON``, the
    active virtualenv, or ours.

    A configured ``python`` is found as a shell finds a command: a bare name
    (``python3.12``) on ``PATH``, a path (``.venv/bin/python``) from ``root``.
    ``PHASECTL_PYTHON`` is how a CI step names the job's interpreter (the GitHub Action
    passes the ``python`` an earlier step put on ``PATH``) without pretending it is an
    active virtualenv, which ``VIRTUAL_ENV`` would tell the test processes too.
    """
    if config.python:
        if os.sep not in config.python and "/" not in config.python:
            return shutil.which(config.python) or config.python
        candidate = Path(config.python).expanduser()
        return str(candidate if candidate.is_absolute() else root / candidate)
    named = os.environ.get("PHASECTL_PYTHON")
    if named:
        return named
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        scripts = "Scripts" if os.name == "nt" else "bin"
        for name in ("python", "python3", "python.exe"):
            found = Path(venv) / scripts / name
            if found.exists():
                return str(found)
    return sys.executable


def _plugin_dir(scratch: Path) -> Path:
    folder = scratch / "plugin"
    folder.mkdir()
    here = Path(__file__).parent
    shutil.copyfile(here / "_pytest_results.py", folder / f"{PLUGIN_MODULE}.py")
    shutil.copyfile(here / "_coverage_export.py", folder / f"{EXPORT_MODULE}.py")
    return folder


def _results_from_plugin(path: Path) -> tuple[TestResults, dict[str, Any]]:
    """pytest's figures, and how the plugin says the run's coverage is to be reported."""
    from phasectl.model.results import TestCase, TestResults

    data = json.loads(path.read_text(encoding="utf-8"))
    cases = [TestCase.from_dict(c) for c in data["cases"]]
    tests = TestResults.from_counts(data["counts"], data.get("duration_s"), cases)
    return tests, data.get("coverage") or {}


def run_pytest(
    root: Path,
    config: Config,
    *,
    quiet: bool,
    echo: Echo,
    extra_paths: Sequence[Path] = (),
    run: str = "head",
) -> Measurement:
    """The managed run: ``python -m coverage run -m pytest`` in ``root``.

    pytest exit statuses 0 and 1 are results; 5 (no tests collected) records zero tests
    with a warning; anything else is an error that shows pytest's last lines.
    """
    from phasectl.model.measurement import Measurement
    from phasectl.readers.files import FileStates
    from phasectl.readers.formats import read_configured_benchmarks

    python = project_python(config, root)
    warnings: list[str] = []
    with scratch_folder("run") as scratch:
        plugin = _plugin_dir(scratch)
        results_file = scratch / "results.json"
        env = child_env()
        paths = [str(plugin), *(str(p) for p in extra_paths)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PHASECTL_RESULTS_FILE"] = str(results_file)
        progress = scratch / "progress"
        env["PHASECTL_PROGRESS_FILE"] = str(progress)
        if wants_colour(quiet):
            # pytest writes into a pipe here, so it would drop its colours: keep them.
            env["PY_COLORS"] = "1"
        # The plugin writes coverage.py's JSON report as the run ends (see _pytest_results).
        coverage_json = scratch / "coverage.json"
        env["PHASECTL_COVERAGE_DATA"] = str(scratch / ".coverage")
        # Data files coverage.py names by configuration (pytest-cov's, whose session start
        # erases the old ones; a subprocess's) go here, not over the user's own .coverage.
        # Not the outer run's file, which pytest-cov's must not be mixed with.
        # The plugin gives the tests back the COVERAGE_FILE they would have had, as they
        # start: a coverage run of their own is no part of this one.
        (scratch / "data").mkdir()
        if "COVERAGE_FILE" in env:
            env["PHASECTL_COVERAGE_FILE_WAS"] = env["COVERAGE_FILE"]
        env["COVERAGE_FILE"] = env["PHASECTL_COVERAGE_FILE"] = str(scratch / "data" / ".coverage")
        env["PHASECTL_COVERAGE_JSON"] = str(coverage_json)
        command = [
            python, "-m", "coverage", "run", f"--data-file={scratch / '.coverage'}",
            "-m", "pytest", "-p", PLUGIN_MODULE, *config.pytest_args,
        ]  # fmt: skip
        started = time.time()
        benchmark_files = FileStates(config.benchmarks, root)
        status, tail = run_streaming(
            command, root, env, quiet=quiet, echo=echo, run=run, progress=progress,
            timeout=config.test_timeout,
        )  # fmt: skip
        if not results_file.exists():
            raise _no_report(python, status, tail, root, env)
        tests, export = _results_from_plugin(results_file)
        if status == 5:
            warnings.append("pytest collected no tests (exit status 5): recorded as zero tests")
        elif status not in (0, 1):
            raise _stopped(status, tail, python, run)
        if export.get("by") == "pytest-cov":
            # pytest-cov measured the session (the outer 'coverage run' was paused): its
            # data file, where it wrote it, holds what 'pytest --cov' printed.
            # (Not one an earlier run left: pytest-cov writes it as the session ends.)
            data_file = Path(export["data_file"])
            fresh = data_file.exists() and data_file.stat().st_mtime >= started - 2  # coarse mtimes
            data_files = [data_file] if fresh else []
        else:
            data_files = sorted([*scratch.glob(".coverage*"), *scratch.glob("data/.coverage*")])
        coverage = lines = None
        if data_files and tests.total:
            from phasectl.readers.coverage_json import read_coverage_json
            from phasectl.runners.coverage_combine import NoCoverageData

            try:
                if not coverage_json.exists() or len(data_files) > 1:
                    # Subprocess or parallel data to combine, or the plugin wrote no report.
                    _export_coverage(python, plugin, data_files, coverage_json, root, export)
                coverage, lines = read_coverage_json(coverage_json, root)
            except NoCoverageData:
                warnings.append(
                    "coverage not collected: the run measured none of the project's files "
                    "(check [tool.coverage.run] source; tests in subprocesses, as with "
                    'pytest-xdist, are measured only with patch = ["subprocess"])'
                )
        elif tests.total:
            warnings.append("the test run wrote no coverage data: coverage not collected")
        benchmarks, bench_warnings = read_configured_benchmarks(
            root, config.benchmarks, benchmark_files, passed=status == 0
        )
    return Measurement(tests, coverage, lines, benchmarks, (*warnings, *bench_warnings))


_NEEDED = ("pytest", "coverage")


# What python prints when 'python -m coverage' or 'coverage run -m pytest' finds no module.
_NOT_INSTALLED = re.compile(r"No module named '?(pytest|coverage)'?$")


def _no_report(
    python: str, status: int, tail: list[str], root: Path, env: dict[str, str]
) -> PhasectlError:
    """Why the run ended before pytest reported: the interpreter lacks pytest or
    coverage.py, is no Python at all, or failed otherwise (its last lines)."""
    if any(_NOT_INSTALLED.search(line) for line in tail):
        # Asked only now: the run fails at its first import, so a check before every run
        # would cost an interpreter start to say what this failure already says.
        import subprocess

        probe = "import importlib.util as u; print(*(m for m in %r if not u.find_spec(m)))"
        found = subprocess.run(
            [python, "-c", probe % (_NEEDED,)], cwd=root, env=env, capture_output=True,
            text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        missing = found.stdout.split() or [m for m in _NEEDED if any(m in t for t in tail)]
        return PhasectlError(
            f"the project's interpreter {python} has no {' and no '.join(missing)}, which "
            f"phasectl's test run needs: install with {python} -m pip install "
            f"{' '.join(missing)} (or set python in the phasectl config to the interpreter "
            "that has them)"
        )
    lines = indented_lines(tail).splitlines()
    if not lines:
        return PhasectlError(
            f"the test run ({python} -m coverage run -m pytest) exited with status {status} "
            f"and printed nothing: is {python} a Python interpreter? Set python in the "
            "phasectl config to the project's interpreter"
        )
    return PhasectlError(
        f"the test run ({python} -m coverage run -m pytest) failed with exit status "
        f"{status} before pytest reported; its last lines:",
        details=lines,
    )


# pytest's exit statuses other than 0 (passed), 1 (tests failed) and 5 (none collected).
_STOPPED = {
    2: "was interrupted (exit status 2: errors while collecting tests, or a stop such as "
    "-x, --maxfail or Ctrl-C)",
    3: "hit an internal error (exit status 3)",
    4: "was called wrongly (exit status 4: a usage error; check pytest_args)",
}


_NO_MODULE = re.compile(r"No module named '([^']+)'")


def _stopped(status: int, tail: list[str], python: str, run: str) -> PhasectlError:
    """What pytest's exit status means, with its last lines, and what to do about a module
    the base's tests import that head's environment lacks."""
    what = _STOPPED.get(status, f"stopped with exit status {status}")
    lines = indented_lines(tail).splitlines()
    missing = _NO_MODULE.search("\n".join(tail))
    if run == "base" and missing:
        module = missing.group(1).split(".")[0]
        lines.append(
            f"The base's tests run in head's environment ({python}), which lacks module "
            f"'{module}' that the base imports: install the base's test dependencies into it "
            f"(e.g. {python} -m pip install {module}, if that is the package's name), or set "
            "worktree_setup to a command that does (it runs in the base's worktree first)"
        )
    return PhasectlError(f"pytest {what}; its last lines:", details=lines)


def _export_coverage(
    python: str,
    plugin: Path,
    data_files: Sequence[Path],
    report: Path,
    root: Path,
    export: dict[str, Any],
) -> None:
    """Combine the run's data files and write ``report``, as the plugin would have.

    Run by the project's interpreter in ``root``, so its coverage.py and configuration
    apply exactly as in the test process; the plugin's folder is left out of the report.
    """
    from phasectl.runners.coverage_combine import run_coverage_export

    options = {k: v for k, v in export.items() if k not in ("by", "data_file")}
    options.setdefault("omit", str(plugin / "*"))
    run_coverage_export(python, plugin / f"{EXPORT_MODULE}.py", data_files, report, root, options)
