"""The managed run: the project's own pytest under coverage.py, with phasectl's plugin."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.collectors.process import Echo, child_env, last_lines, run_streaming
from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from phasectl.collectors.measurement import Measurement
    from phasectl.config import Config
    from phasectl.model.results import TestResults

PLUGIN_MODULE = "_phasectl_results"
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


def _plugin_dir(scratch: Path) -> Path:
    folder = scratch / "plugin"
    folder.mkdir()
    source = Path(__file__).with_name("_pytest_results.py")
    shutil.copyfile(source, folder / f"{PLUGIN_MODULE}.py")
    return folder


def _results_from_plugin(path: Path) -> TestResults:
    from phasectl.model.results import TestCase, TestResults

    data = json.loads(path.read_text(encoding="utf-8"))
    cases = [TestCase(c["id"], c["outcome"], c.get("duration_s")) for c in data["cases"]]
    return TestResults.from_counts(data["counts"], data.get("duration_s"), cases)


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
    from phasectl.collectors.benchmarks import read_configured_benchmarks
    from phasectl.collectors.measurement import Measurement

    python = project_python(config, root)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="phasectl-run-") as scratch_name:
        scratch = Path(scratch_name)
        plugin = _plugin_dir(scratch)
        results_file = scratch / "results.json"
        env = child_env()
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
                f"{status} before pytest reported: {last_lines(tail)}"
            )
        tests = _results_from_plugin(results_file)
        if status == 5:
            warnings.append("pytest collected no tests (exit status 5): recorded as zero tests")
        elif status not in (0, 1):
            raise PhasectlError(
                f"pytest stopped with exit status {status} (usage or internal error): "
                f"{last_lines(tail)}"
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
        benchmarks, bench_warnings = read_configured_benchmarks(root, config.benchmarks, started)
    return Measurement(tests, coverage, lines, benchmarks, (*warnings, *bench_warnings))
