"""A pytest plugin phasectl loads into the project's own test run (``-p``).

It records what pytest's terminal summary counts, from the same ``stats`` the summary
line is built from, so phasectl's figures equal pytest's own; and each test's outcome.
This file is copied into a temporary folder, with ``_coverage_export.py`` beside it as
``_phasectl_coverage``, and imported by the project's interpreter, which may not have
phasectl installed: it must only use the standard library, pytest and coverage.py
(imported only when the run measures coverage).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

_OUTPUT_ENV = "PHASECTL_RESULTS_FILE"
_COVERAGE_DATA_ENV = "PHASECTL_COVERAGE_DATA"
_COVERAGE_JSON_ENV = "PHASECTL_COVERAGE_JSON"
_PROGRESS_ENV = "PHASECTL_PROGRESS_FILE"
_PROGRESS_EVERY_S = 0.5
_KEYS = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}
_started = time.perf_counter()
_coverage_file: str | None = None
_finished = 0
_progress_written = 0.0


# The reports of pytest-cov that write files (``--cov-report=xml``), and the name each
# writes by default (coverage.py's ``xml_output``, ``html_dir``...).
_REPORT_FILES = {
    "annotate": "annotate",
    "html": "htmlcov",
    "json": "coverage.json",
    "lcov": "coverage.lcov",
    "markdown": "coverage.md",
    "markdown-append": "coverage.md",
    "xml": "coverage.xml",
}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Send the files pytest-cov's reports write into phasectl's temporary folder, so a
    ``--cov-report=xml`` in ``addopts`` leaves the user's own ``coverage.xml`` as it was;
    its terminal report is unchanged, and says where each file went."""
    target = os.environ.get(_OUTPUT_ENV)
    plugin = config.pluginmanager.get_plugin("_cov")  # registered before configure
    reports = getattr(getattr(plugin, "options", None), "cov_report", None)
    if not target or not isinstance(reports, dict):
        return
    for kind, default in _REPORT_FILES.items():
        if kind in reports:
            folder = Path(target).parent / "reports" / kind
            folder.mkdir(parents=True, exist_ok=True)
            # Changed in place: pytest-cov's controller holds the same dict.
            reports[kind] = str(folder / (Path(reports[kind]).name if reports[kind] else default))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Give the tests the ``COVERAGE_FILE`` they would have had without phasectl.

    phasectl sets it so that coverage.py's data files (pytest-cov's, which erases the old
    ones as it starts) go to its temporary folder; by now pytest-cov has taken its paths
    (and pytest-xdist's workers, which do the same, have started), and a test that runs
    coverage itself must not write into this run's data.
    """
    global _coverage_file
    ours = os.environ.pop("PHASECTL_COVERAGE_FILE", None)
    if ours is None or os.environ.get("COVERAGE_FILE") != ours:
        return
    _coverage_file = ours  # where pytest-cov writes (the variable wins over its config)
    was = os.environ.pop("PHASECTL_COVERAGE_FILE_WAS", None)
    if was is None:
        del os.environ["COVERAGE_FILE"]
    else:
        os.environ["COVERAGE_FILE"] = was


def pytest_sessionstart(session: pytest.Session) -> None:
    global _started
    _started = time.perf_counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count finished tests for phasectl's progress line; a worker's count reaches the
    xdist controller as its reports do, so only the controller writes."""
    global _finished, _progress_written
    target = os.environ.get(_PROGRESS_ENV)
    if report.when != "teardown" or not target or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    _finished += 1
    now = time.perf_counter()
    if now - _progress_written >= _PROGRESS_EVERY_S:
        _progress_written = now
        partial = f"{target}.tmp"
        with contextlib.suppress(OSError):
            Path(partial).write_text(str(_finished), encoding="ascii")
            Path(partial).replace(target)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller reports for all
        return
    target = os.environ.get(_OUTPUT_ENV)
    if not target:
        return
    counts: dict[str, int] = {}
    cases: list[dict[str, Any]] = []
    for key, outcome in _KEYS.items():
        reports = [
            r
            for r in terminalreporter.stats.get(key, [])
            if getattr(r, "count_towards_summary", True)
        ]
        counts[outcome] = len(reports)
        for report in reports:
            nodeid = getattr(report, "nodeid", "") or getattr(report, "fspath", "")
            case = {
                "id": nodeid,
                "outcome": outcome,
                "duration_s": getattr(report, "duration", None),
            }
            if outcome in ("failed", "error"):
                case.update(failure(report, config.rootpath))
            cases.append(case)
    data_file, report = os.environ.get(_COVERAGE_DATA_ENV), os.environ.get(_COVERAGE_JSON_ENV)
    export = _pytest_cov_export(config) or {"data_file": data_file}
    export["omit"] = own_files()
    payload = {
        "counts": counts,
        "cases": cases,
        "duration_s": round(time.perf_counter() - _started, 3),
        "exitstatus": int(exitstatus),
        "coverage": export,
    }
    with Path(target).open("w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    if export["data_file"] and report:
        # atexit runs after 'coverage run' has stopped measuring and saved its data.
        atexit.register(_export_quietly, report, export)


_MESSAGE_LIMIT = 200


def failure(report: Any, rootpath: Path) -> dict[str, Any]:
    """What pytest says of a failure, as its JUnit XML says it: the first line of the
    crash message (``failed on setup with "..."`` outside the test's call), bounded;
    the test's file (relative to the root) and the last line of it the traceback passes
    through (the test's own line that failed), else the line of its ``def`` (1-based)."""
    found: dict[str, Any] = {}
    longrepr: Any = getattr(report, "longrepr", None)
    message = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    if message is None and isinstance(longrepr, str):
        message = longrepr
    if isinstance(message, str):
        when = getattr(report, "when", "call")
        if when in ("setup", "teardown"):
            message = f'failed on {when} with "{message}"'
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        if lines:
            first = lines[0]
            cut = first[: _MESSAGE_LIMIT - 1] + "\u2026"
            found["message"] = first if len(first) <= _MESSAGE_LIMIT else cut
    location = getattr(report, "location", None)
    if not location or not isinstance(location[0], str):
        return found
    found["file"] = location[0].replace(os.sep, "/")
    line = location[1] + 1 if isinstance(location[1], int) else None
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        test_file = (rootpath / location[0]).resolve()
        chain = getattr(longrepr, "chain", None) or [(longrepr.reprtraceback, 0, 0)]
        for traceback, _, _ in chain:
            for entry in traceback.reprentries:
                where = getattr(entry, "reprfileloc", None)
                if where is not None and Path(where.path).resolve() == test_file:
                    line = int(where.lineno)
    if line is not None and line > 0:
        found["line"] = line
    return found


def _pytest_cov_export(config: pytest.Config) -> dict[str, Any] | None:
    """How to report what pytest-cov measured, when it measured this run; else None.

    With ``--cov`` active, pytest-cov's own Coverage object measures the session and the
    outer ``coverage run`` is paused meanwhile (coverage.py stacks nested collectors), so
    pytest-cov's data file holds the figures; the report then uses what pytest-cov's does:
    its ``--cov-config`` file, ``--cov-precision`` and ``ignore_errors``.
    """
    plugin = config.pluginmanager.get_plugin("_cov")  # registered by pytest-cov for --cov
    if plugin is None or config.getoption("no_cov", default=False):
        return None
    import coverage

    rcfile = config.getoption("cov_config", default=".coveragerc")
    # pytest-cov measures and reports from the folder pytest started in.
    start = str(config.invocation_params.dir)
    data_file: Any = _coverage_file
    if data_file is None:
        with _export_module().working_directory(start):
            data_file = coverage.Coverage(config_file=rcfile).get_option("run:data_file")
    outer = coverage.Coverage.current()  # 'coverage run', now that pytest-cov has stopped
    if outer is not None:
        # It saw almost nothing; its warnings ("No data was collected") are not the project's.
        quiet: Any = outer.get_option("run:disable_warnings") or []
        outer.set_option(
            "run:disable_warnings", [*quiet, "no-data-collected", "module-not-imported"]
        )
    return {
        "by": "pytest-cov",
        "data_file": str(Path(start, str(data_file))),
        "config_file": rcfile,
        "precision": config.getoption("cov_precision", default=None),
        "ignore_errors": True,
        "directory": start,
    }


def _export_module() -> Any:
    """phasectl's ``_coverage_export.py``, copied beside this file."""
    import importlib

    return importlib.import_module("_phasectl_coverage")


def own_files() -> str:
    """The glob of this plugin's folder: phasectl's files, never the project's.

    coverage.py measures them like any other code when the project names no ``source``
    or ``include`` (files outside the working directory included), so every report
    phasectl takes from a managed run leaves them out.
    """
    return str(Path(__file__).resolve().parent / "*")


def _export_quietly(report: str, export: dict[str, Any]) -> None:
    """Write the run's coverage report in the test process: it saves an interpreter start.

    Anything that goes wrong leaves no report, and phasectl then exports it itself.
    """
    try:
        options = {k: v for k, v in export.items() if k not in ("by", "data_file")}
        _export_module().export_coverage(report, [export["data_file"]], **options)
    except Exception:
        with contextlib.suppress(OSError):
            Path(report).unlink()
