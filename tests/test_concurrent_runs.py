"""The base's tests run alongside the head's: the same figures as one after the other,
readable output, and Ctrl-C stops both runs and removes the worktree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from phasectl.collectors.baseline import cores

from conftest import git, run_cli
from support.projects import python_project

# Each run notes when its pytest session started and ended (and where), so the test can
# see whether the two runs overlapped.
STAMPS = """\
import os, time

def _stamp(kind):
    with open(os.environ["STAMP_FILE"], "a") as out:
        out.write(f"{kind} {time.time()} {os.getcwd()}\\n")

def pytest_sessionstart(session):
    _stamp("start")

def pytest_sessionfinish(session, exitstatus):
    _stamp("end")
"""
MIXED = """\
import pytest
from calc import add, sign


def test_add():
    assert add(1, 2) == 3


def test_sign():
    assert sign(-4) == -1


def test_broken():
    assert add(1, 1) == 3


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
"""
SLOW = "import time\n\ndef test_slow():\n    time.sleep(1.5)\n"


def without_times(value: Any) -> Any:
    """``value`` without the keys that hold wall-clock times (they differ run to run)."""
    if isinstance(value, dict):
        return {
            k: without_times(v) for k, v in value.items() if k not in ("duration_s", "measured_at")
        }
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def intervals(stamps: Path) -> dict[str, tuple[float, float]]:
    """Each run's (start, end), keyed 'head' or 'base' by the folder it ran in."""
    found: dict[str, dict[str, float]] = {}
    for line in stamps.read_text().splitlines():
        kind, when, where = line.split(" ", 2)
        found.setdefault("base" if "phasectl-base-" in where else "head", {})[kind] = float(when)
    return {name: (times["start"], times["end"]) for name, times in found.items()}


def first_report(repo: Path, stamps: Path, *, concurrently: bool) -> tuple[dict[str, Any], str]:
    stamps.unlink(missing_ok=True)
    value = "true" if concurrently else "false"
    (repo / ".phasectl.toml").write_text(f"run_base_concurrently = {value}\n")
    result = run_cli(
        "--repo", str(repo), "collect", "--format", "json", "--run-base", "always"
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data, result.stderr


def test_concurrent_first_report_equals_sequential(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cores() < 2:
        pytest.skip("runs alongside each other only with two or more cores")
    stamps = tmp_path / "stamps"
    monkeypatch.setenv("STAMP_FILE", str(stamps))
    conftest = {"tests/conftest.py": STAMPS}
    python_project(git_repo, {"test_calc.py": MIXED, "test_slow.py": SLOW}, **conftest)
    git(git_repo, "tag", "phase/1")
    changed = MIXED.replace("def test_broken", "def test_renamed_broken")
    python_project(git_repo, {"test_calc.py": changed, "test_slow.py": SLOW}, **conftest)

    together, err_together = first_report(git_repo, stamps, concurrently=True)
    head, base = intervals(stamps)["head"], intervals(stamps)["base"]
    assert max(base[0], head[0]) < min(base[1], head[1]), "the runs did not overlap"
    assert "the base's tests run alongside head's" in err_together
    assert "[base] phasectl: base run: the tests at" in err_together
    assert "[base] phasectl: base run done: " in err_together

    apart, err_apart = first_report(git_repo, stamps, concurrently=False)
    head, base = intervals(stamps)["head"], intervals(stamps)["base"]
    assert head[1] <= base[0], "the runs overlapped"
    assert "alongside" not in err_apart

    assert together["tests"]["before"]["source"] == "worktree run"
    assert together["tests"]["changes"]["added"]  # the ranges really differ
    for part in ("diff", "tests", "coverage"):
        assert without_times(together[part]) == without_times(apart[part]), part


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_two_concurrent_runs_stops_both(
    git_repo: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    def slow(name: str) -> str:
        flag = tmp_path / name
        return (
            "import os, pathlib, time\n\n"
            "def test_slow():\n"
            f"    pathlib.Path({str(flag)!r}).write_text(str(os.getpid()))\n"
            "    time.sleep(120)\n"
        )

    python_project(git_repo, {"test_slow.py": slow("base-pid")})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_slow.py": slow("head-pid")})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasectl", "--repo", str(git_repo), "collect", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    flags = [tmp_path / "base-pid", tmp_path / "head-pid"]
    deadline = time.monotonic() + 90
    while not all(f.exists() and f.read_text() for f in flags):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the two runs never ran at the same time"
        time.sleep(0.1)
    pids = [int(f.read_text()) for f in flags]
    assert git(git_repo, "worktree", "list").count("\n") == 2
    proc.send_signal(signum)  # Ctrl-C, or CI cancelling the job
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Traceback" not in err
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert git(git_repo, "worktree", "list").count("\n") == 1
    assert not list((git_repo / ".git").glob("worktrees/*"))
    assert git(git_repo, "status", "--porcelain") == ""
