"""A test run reads nothing from phasectl's stdin, and one that hangs is stopped after
``test_timeout`` / ``--test-timeout``: its whole process group, and that side is not collected.
Each case runs the real pytest and compares with what pytest itself reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli
from support.projects import pytest_summary, python_project

HANGS = """\
import subprocess
import time
from pathlib import Path


def test_quick():
    pass


def test_hangs(tmp_path):
    child = subprocess.Popen(["sleep", "600"])
    Path(__file__).with_name("child.pid").write_text(str(child.pid))
    time.sleep(600)
"""


def phasectl(repo: Path, *args: str, stdin: int) -> subprocess.CompletedProcess[str]:
    """The real phasectl in a process of its own, with ``stdin`` as its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "phasectl", "--repo", str(repo), *args],
        stdin=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_test_command_reads_devnull_not_phasectls_stdin(git_repo: Path) -> None:
    # cat copies its stdin until the end: phasectl's, if the command inherited it.
    command = (
        f"mkdir -p out && cat > out/stdin.txt && {sys.executable} -m pytest -q "
        "-p no:cacheprovider --junitxml=out/r.xml tests"
    )
    config = f'test_command = "{command}"\nresults = ["out/r.xml"]\n'
    tests = {"test_x.py": "def test_x():\n    pass\n"}
    python_project(git_repo, tests, **{".phasectl.toml": config})
    # phasectl's own stdin is a pipe nobody closes: a command that read it would never end.
    read_end, write_end = os.pipe()
    try:
        done = phasectl(git_repo, "collect", "--format", "json", "-q", "--run-base", "never",
                        stdin=read_end)  # fmt: skip
    finally:
        os.close(read_end)
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert (git_repo / "out" / "stdin.txt").read_bytes() == b""
    after = json.loads(done.stdout)["tests"]["after"]
    assert after["passed"] == pytest_summary(git_repo, "-p", "no:cacheprovider")["passed"] == 1


def test_a_hanging_run_is_stopped_and_not_collected(git_repo: Path) -> None:
    python_project(git_repo, {"test_hang.py": HANGS})
    # 12 s: long enough for pytest to reach the hanging test on a busy machine.
    started = time.monotonic()
    result = run_cli(
        "--repo", str(git_repo), "collect", "--format", "json", "-q", "--run-base", "never",
        "--test-timeout", "12",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout_bytes)
    assert data["tests"] is None
    assert data["coverage"] is None
    [said] = [w for w in data["warnings"] if w.startswith("tests not collected")]
    assert said.startswith("tests not collected (timed out after 12 s, the test_timeout)")
    # Stopped as Ctrl-C stops pytest: its last lines are pytest's own, naming the test.
    assert "KeyboardInterrupt" in said
    line = HANGS.splitlines().index("    time.sleep(600)") + 1
    assert f"tests/test_hang.py:{line}: KeyboardInterrupt" in said
    assert elapsed < 12 + 30
    # The whole process group went: the test's own child process too.
    child = int((git_repo / "tests" / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        state = Path(f"/proc/{child}/stat").read_text().split()[2]
        if state == "Z":  # a zombie: dead, waiting for its (re)parent
            break
        time.sleep(0.1)
    else:
        assert not Path(f"/proc/{child}").exists()


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "true", '"10"'])
def test_test_timeout_must_be_positive_seconds(git_repo: Path, value: str) -> None:
    python_project(git_repo, {"test_x.py": "def test_x():\n    pass\n"},
                   **{".phasectl.toml": f"test_timeout = {value}\n"})  # fmt: skip
    result = run_cli("--repo", str(git_repo), "collect", "-q")
    assert result.exit_code == 2
    assert "'test_timeout' must be a" in result.stderr
    assert result.stderr.count("\n") == 1
