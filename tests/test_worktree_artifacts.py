"""Artifacts-only configurations at a commit that is not checked out: phasectl measures it
in a temporary worktree, which holds only committed files, and says so when a configured
file is not there (issue 22)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import commit, git

JUNIT = '<testsuite name="s"><testcase classname="t" name="one"/></testsuite>'


def artifacts_only(repo: Path) -> dict[str, str]:
    """Three commits (tags 2.0.0 and v2.1.0, then main) of a project whose config names
    a results file its CI job writes, never committed; the file exists in the work tree."""
    shas = {
        "2.0.0": commit(repo, {
            "pyproject.toml": '[tool.phasectl]\nresults = ["r.xml"]\n',
            "a.py": "x = 1\n", ".gitignore": "r.xml\n",
        }),
    }  # fmt: skip
    git(repo, "tag", "2.0.0")
    shas["v2.1.0"] = commit(repo, {"a.py": "x = 2\n"})
    git(repo, "tag", "v2.1.0")
    commit(repo, {"a.py": "x = 3\n"})
    (repo / "r.xml").write_text(JUNIT)  # written by "the CI job" in the user's checkout
    return shas


def phasectl(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasectl", "--repo", str(repo), *args],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_tag_at_a_past_commit_says_it_looked_in_the_temporary_worktree(git_repo: Path) -> None:
    shas = artifacts_only(git_repo)
    done = phasectl(git_repo, "tag", "2.1.0", "--at", "v2.1.0", "--no-commit")
    assert done.returncode == 2, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last == (
        f"Error: results 'r.xml' matched no file in the temporary worktree of commit "
        f"{shas['v2.1.0'][:12]}, which holds only committed files: without test_command, "
        "results and coverage name files a test run wrote, and none ran there; set "
        "test_command so phasectl runs the tests there, or check that commit out and run "
        "the tests first"
    )
    assert "Traceback" not in done.stderr
    # Nothing was tagged, and no worktree is left.
    assert git(git_repo, "tag", "--list", "2.1.0") == ""
    assert git(git_repo, "worktree", "list").count("\n") == 1
    # What the message says to do works: with test_command, the tests run there.
    written = git_repo.parent / "junit-of-the-run.xml"
    written.write_text(JUNIT)
    (git_repo / ".phasectl.toml").write_text(
        f'test_command = "cp {written} r.xml"\nresults = ["r.xml"]\n'
    )
    done = phasectl(git_repo, "collect", "--head", "v2.1.0", "--run-base", "never")
    assert done.returncode == 0, done.stderr
    assert "After:  1 passed, 0 failed, 0 skipped" in done.stdout, done.stdout


def test_the_base_run_says_where_it_looked_and_how_else_to_give_the_base(
    git_repo: Path,
) -> None:
    shas = artifacts_only(git_repo)
    done = phasectl(git_repo, "collect", "--base", "2.0.0", "--run-base", "always")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "could not measure the base" in line]
    assert said == [
        f"Warning: could not measure the base 2.0.0 ({shas['2.0.0'][:12]}): results 'r.xml' "
        f"matched no file in the base's temporary worktree of commit {shas['2.0.0'][:12]}, "
        "which holds only committed files: without test_command, results and coverage name "
        "files a test run wrote, and none ran there; set test_command so phasectl runs the "
        "tests there, or pass the base's files with --base-results/--base-coverage, or store "
        "a snapshot of the base (phasectl snapshot at that commit)"
    ]
    assert git(git_repo, "worktree", "list").count("\n") == 1
