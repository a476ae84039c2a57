"""Results and coverage files a test_command phasectl ran did not write are not this run's.

A failing ``test_command`` that writes nothing leaves "not collected" (with its last lines),
never the figures an earlier run left; files read without a ``test_command`` (downloaded
from an earlier CI job) are taken as given. Files come from the real pytest and coverage.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import commit, git, run_cli
from support.projects import pytest_summary

TESTS = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"
A_2020 = 1577836800  # 2020-01-01 00:00 UTC


def collect(repo: Path, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", "-q", *args)
    data = json.loads(result.stdout_bytes) if result.exit_code == 0 else None
    return result.exit_code, data, result.stderr


def earlier_run(repo: Path) -> Path:
    """What an earlier run left in the work tree: pytest's JUnit and coverage.py's XML,
    last written in 2020."""
    out = repo / "out"
    ran = subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={out / '.coverage'}", "-m",
         "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={out / 'r.xml'}", "tests"],
        cwd=repo, capture_output=True, check=False,
    )  # fmt: skip
    assert ran.returncode in (0, 1), ran.stdout
    subprocess.run(
        [sys.executable, "-m", "coverage", "xml", f"--data-file={out / '.coverage'}",
         "-o", str(out / "cov.xml")],
        cwd=repo, capture_output=True, check=True,
    )  # fmt: skip
    for name in ("r.xml", "cov.xml"):
        os.utime(out / name, (A_2020, A_2020))
    return out


def project(repo: Path, command: str | None) -> None:
    config = 'results = ["out/r.xml"]\ncoverage = ["out/cov.xml"]\n'
    if command is not None:
        config = f"test_command = {json.dumps(command)}\n{config}"
    files = {"tests/test_a.py": TESTS, ".gitignore": "out/\n", ".phasectl.toml": config}
    commit(repo, files, "project")


def test_a_failing_command_does_not_report_an_earlier_runs_results(git_repo: Path) -> None:
    project(git_repo, "echo collecting; echo ERROR: no module named app >&2; exit 1")
    earlier_run(git_repo)
    status, data, stderr = collect(git_repo, "--run-base", "never")
    assert status == 0, stderr
    assert data is not None
    assert data["tests"] is None
    assert data["coverage"] is None
    warning = next(w for w in data["warnings"] if w.startswith("tests not collected"))
    # The command's last lines, each on its own line.
    assert warning.endswith("last lines:\n    collecting\n    ERROR: no module named app")
    for name in ("r.xml", "cov.xml"):
        assert (
            f"{name} was not written by this run (last written 2020-01-01 00:00 UTC, before it "
            "started): not read as this run's"
        ) in "\n".join(data["warnings"])

    # snapshot stores nothing: a note would become every later phase's "before".
    result = run_cli("--repo", str(git_repo), "snapshot", "-q")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: nothing was measured at HEAD")
    assert git(git_repo, "notes", "--ref=phasectl", "list") == ""


def test_files_read_without_a_test_command_are_taken_as_given(git_repo: Path) -> None:
    project(git_repo, None)
    earlier_run(git_repo)
    summary = pytest_summary(git_repo, "-p", "no:cacheprovider", "tests")
    status, data, stderr = collect(git_repo, "--run-base", "never")
    assert status == 0, stderr
    assert data is not None
    assert data["tests"]["after"]["passed"] == summary["passed"] == 2
    assert data["coverage"] is not None


def test_a_failing_command_that_writes_its_results_is_read(git_repo: Path) -> None:
    failing = TESTS + "\ndef test_three():\n    assert False\n"
    command = (
        f"{sys.executable} -m pytest -q -p no:cacheprovider --junitxml=out/r.xml tests"
        f" && {sys.executable} -c pass"
    )
    project(git_repo, command)
    commit(git_repo, {"tests/test_a.py": failing}, "a failing test")
    earlier_run(git_repo)  # out/r.xml from 2020, rewritten by the command
    summary = pytest_summary(git_repo, "-p", "no:cacheprovider", "tests")
    status, data, stderr = collect(git_repo, "--run-base", "never")
    assert status == 0, stderr
    assert data is not None
    after = data["tests"]["after"]
    assert (after["passed"], after["failed"]) == (summary["passed"], summary["failed"]) == (2, 1)
    warnings = "\n".join(data["warnings"])
    assert "test_command exited with status 1; its last lines:\n    " in warnings
    # The coverage file the command did not write is still an earlier run's.
    assert "cov.xml was not written by this run" in warnings
    assert data["coverage"] is None
    assert "r.xml was not written" not in warnings


def test_a_passing_command_that_wrote_nothing_named_is_an_error(git_repo: Path) -> None:
    project(git_repo, "true")
    earlier_run(git_repo)
    status, _, stderr = collect(git_repo, "--run-base", "never")
    assert status == 2
    assert stderr.startswith("Error: test_command exited with status 0 (results file r.xml ")
    assert stderr.count("\n") == 1


# --- pytest's exit status 2 -------------------------------------------------------------


def pytest_output(repo: Path) -> tuple[int, list[str]]:
    """The real pytest in ``repo``: its exit status and its output's non-blank lines."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode, [line.rstrip() for line in done.stdout.splitlines() if line.strip()]


def timeless(lines: list[str]) -> list[str]:
    return [re.sub(r" in [\d.]+s ", " in Ns ", line.strip()) for line in lines]


def test_collection_errors_at_the_base_say_what_is_missing(git_repo: Path, tmp_path: Path) -> None:
    needs = "import pretend_not_installed\n\n" + TESTS
    commit(git_repo, {"pyproject.toml": "", "tests/test_a.py": needs}, "needs a test dependency")
    base = tmp_path / "base"
    git(tmp_path, "clone", "--quiet", str(git_repo), str(base))
    status, printed = pytest_output(base)
    assert status == 2  # pytest: interrupted
    commit(git_repo, {"tests/test_a.py": TESTS}, "dependency dropped")

    code, data, stderr = collect(git_repo, "--base", "HEAD~1", "--run-base", "always")
    assert code == 0, stderr
    assert data is not None
    assert data["tests"]["before"] is None
    warning = next(w for w in data["warnings"] if w.startswith("could not measure the base"))
    # pytest's own last lines, as lines.
    lines = warning.splitlines()
    assert "pytest was interrupted (exit status 2: errors while collecting tests" in lines[0]
    assert lines[0].endswith("its last lines:")
    assert timeless(lines[1:-1]) == timeless(printed[-8:])
    assert lines[-1].startswith("The base's tests run in head's environment (")
    assert "lacks module 'pretend_not_installed'" in lines[-1]
    assert "worktree_setup" in lines[-1]

    # At head the same is an error, with the same lines.
    commit(git_repo, {"tests/test_a.py": needs}, "needs it again")
    result = run_cli("--repo", str(git_repo), "collect", "-q", "--run-base", "never")
    assert result.exit_code == 2
    assert "Error: pytest was interrupted (exit status 2" in result.stderr
    assert "No module named 'pretend_not_installed'" in result.stderr
    assert "The base's tests" not in result.stderr
