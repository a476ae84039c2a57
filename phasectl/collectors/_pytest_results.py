"""A pytest plugin phasectl loads into the project's own test run (``-p``).

It records what pytest's terminal summary counts, from the same ``stats`` the summary
line is built from, so phasectl's figures equal pytest's own; and each test's outcome.
This file is copied into a temporary folder and imported by the project's interpreter,
which may not have phasectl installed: it must only use the standard library and pytest.
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
_finished = 0
_progress_written = 0.0


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
            cases.append(
                {
                    "id": nodeid,
                    "outcome": outcome,
                    "duration_s": getattr(report, "duration", None),
                }
            )
    payload = {
        "counts": counts,
        "cases": cases,
        "duration_s": round(time.perf_counter() - _started, 3),
        "exitstatus": int(exitstatus),
    }
    with Path(target).open("w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    data_file, report = os.environ.get(_COVERAGE_DATA_ENV), os.environ.get(_COVERAGE_JSON_ENV)
    if data_file and report:
        # atexit runs after 'coverage run' has stopped measuring and saved its data.
        atexit.register(_export_coverage, data_file, report)


def _export_coverage(data_file: str, report: str) -> None:
    """Write what ``coverage json --data-file=DATA -o REPORT`` writes, from this process.

    It saves starting a second interpreter and importing coverage.py again. Anything that
    goes wrong leaves no report, and phasectl then runs ``coverage json`` itself.
    """
    try:
        import coverage

        cov = coverage.Coverage(data_file=data_file)
        cov.load()
        cov.json_report(outfile=report)
    except Exception:
        with contextlib.suppress(OSError):
            Path(report).unlink()
