"""The managed run leaves the user's coverage files as they were (issue 22): pytest-cov in
``addopts`` erases and rewrites ``.coverage`` and writes its ``--cov-report`` files where
the tests run, and phasectl runs them in the user's work tree."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import commit, git, run_cli
from support.projects import CALC_TEST

CALC = """\
def add(a, b):
    return a + b


def neg(a):
    if a:
        return -a
    return 0
"""
PYPROJECT = """\
[project]
name = "calc"
version = "0.1"

[tool.pytest.ini_options]
testpaths = ["tests"]
{addopts}
[tool.coverage.run]
branch = true
{run}"""

STYLES = {
    # pytest-cov measures, and writes an XML report for an uploader.
    "pytest-cov": ('addopts = "--cov=calc --cov-report=term-missing --cov-report=xml"\n', ""),
    # phasectl's own 'coverage run', with parallel data files.
    "coverage-parallel": ("", "parallel = true\n"),
}

# What the user had before phasectl ran: their last run's data, a shard, a report.
USERS_FILES = {
    ".coverage": b"SQLite format 3\x00 the user's own data, not a real database",
    ".coverage.ci-host.123.456789": b"a shard from the user's parallel run",
    "coverage.xml": b"<coverage>the user's report for their uploader</coverage>\n",
}


def tool(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("style", sorted(STYLES))
def test_the_managed_run_leaves_the_users_coverage_files_as_they_were(
    git_repo: Path, tmp_path: Path, style: str
) -> None:
    pytest.importorskip("pytest_cov")
    addopts, run = STYLES[style]
    commit(git_repo, {
        "pyproject.toml": PYPROJECT.format(addopts=addopts, run=run),
        ".gitignore": "__pycache__/\n.coverage*\ncoverage.xml\n.pytest_cache/\n.benchmarks/\n",
        "calc.py": CALC,
        "tests/test_calc.py": CALC_TEST,
    })  # fmt: skip
    # The user ran their tests (so pytest's own caches exist, as in any checkout where
    # pytest ran), and then has these files, which phasectl must not touch.
    tool(git_repo, "pytest", "-q")
    for path in git_repo.glob(".coverage*"):
        path.unlink()
    for name, data in USERS_FILES.items():
        (git_repo / name).write_bytes(data)
    status = git(git_repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "--run-base", "never")
    assert result.exit_code == 0, result.stderr
    assert git(git_repo, "status", "--porcelain", "--ignored", "--untracked-files=all") == status
    for name, data in USERS_FILES.items():
        assert (git_repo / name).read_bytes() == data, name
    assert not (git_repo / "htmlcov").exists()
    # The figure is the project's own tool's, run in a copy of the work tree.
    copy = tmp_path / "copy"
    shutil.copytree(git_repo, copy, ignore=shutil.ignore_patterns(".coverage*", ".git"))
    if style == "pytest-cov":
        printed = tool(copy, "pytest")
        totals = [line.split()[-1] for line in printed.splitlines() if line.startswith("TOTAL")]
        assert len(totals) == 1, printed
        own = tool(copy, "coverage", "report", "--format=total").strip()
        assert totals[0] == own + "%"
        assert (copy / "coverage.xml").read_bytes() != USERS_FILES["coverage.xml"]
    else:
        tool(copy, "coverage", "run", "-m", "pytest", "-q")
        tool(copy, "coverage", "combine")
        own = tool(copy, "coverage", "report", "--format=total").strip()
    coverage = json.loads(result.stdout_bytes)["coverage"]["after"]
    assert coverage["percent_display"] == own


SEES = """\
import os
from pathlib import Path

from calc import add


def test_add():
    seen = Path(os.environ["SEEN_DIR"]) / f"{os.getpid()}.txt"
    seen.write_text(os.environ.get("COVERAGE_FILE", "(unset)"))
    assert add(1, 2) == 3
"""


@pytest.mark.parametrize("users", [None, "/elsewhere/their.coverage"])
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_tests_see_the_coverage_file_they_would_have_had(
    git_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    users: str | None,
    workers: list[str],
) -> None:
    # phasectl's COVERAGE_FILE is for pytest-cov's start only: a test that runs coverage
    # itself must not write into the run's data (nor pytest-xdist's workers' tests).
    pytest.importorskip("pytest_cov")
    addopts = 'addopts = "--cov=calc"\n'
    commit(git_repo, {
        "pyproject.toml": PYPROJECT.format(addopts=addopts, run=""),
        ".gitignore": "__pycache__/\n.coverage*\n",
        "calc.py": CALC,
        "tests/test_calc.py": SEES,
        ".phasectl.toml": f"pytest_args = {json.dumps(workers)}\n",
    })  # fmt: skip
    seen = tmp_path / "seen"
    seen.mkdir()
    monkeypatch.setenv("SEEN_DIR", str(seen))
    if users is None:
        monkeypatch.delenv("COVERAGE_FILE", raising=False)
    else:
        monkeypatch.setenv("COVERAGE_FILE", users)
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "--run-base", "never")
    assert result.exit_code == 0, result.stderr
    assert [p.read_text() for p in seen.iterdir()] == [users or "(unset)"]
    monkeypatch.delenv("COVERAGE_FILE", raising=False)
    printed = tool(git_repo, "pytest", *workers)
    totals = [line.split()[-1] for line in printed.splitlines() if line.startswith("TOTAL")]
    coverage = json.loads(result.stdout_bytes)["coverage"]["after"]
    assert [coverage["percent_display"] + "%"] == totals
