"""Attacks on the guarantees the README lists: each class of bad input, signal and shared
note is attacked with real repositories, real processes and real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phasectl.store.snapshots import NOTES_REF

from conftest import commit, git, run_cli

JUNIT = (
    '<testsuite name="s" time="0.5">'
    '<testcase classname="t" name="one" time="0.2"/>'
    '<testcase classname="t" name="two" time="0.3"><failure message="x"/></testcase>'
    "</testsuite>"
)


def junit_phase(repo: Path) -> tuple[str, str]:
    """A phase from tag phase/1 to HEAD whose test results come from a committed JUnit file."""
    base = commit(repo, {"a.py": "x = 1\n", "junit.xml": JUNIT})
    git(repo, "tag", "phase/1")
    head = commit(repo, {"a.py": "x = 2\n"})
    return base, head


# --- 1. notes are untrusted input --------------------------------------------------------

BAD_NOTES = [
    "[]",
    "null",
    "5",
    '"text"',
    '{"schema": "phasectl-snapshot/1"}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", "tests": []}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", '
    '"tests": {"passed": "1", "failed": 0, "errors": 0, "skipped": 0}}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", '
    '"coverage": {"percent": NaN, "percent_display": "x", "lines_covered": 1, "lines_total": 2}}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", "phase": {"head": []}}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", "benchmarks": [5]}',
    "[" * 100_000,
]


@pytest.mark.parametrize("note", BAD_NOTES, ids=lambda n: n[:40])
def test_a_bad_note_is_a_warning_naming_the_commit_and_counts_as_absent(
    git_repo: Path, note: str
) -> None:
    base, head = junit_phase(git_repo)
    for sha in (base, head):
        git(git_repo, "notes", f"--ref={NOTES_REF}", "add", "-f", "-m", note, sha)
    repo = str(git_repo)
    collected = run_cli(
        "--repo", repo, "collect", "--format", "json", "--junit", str(git_repo / "junit.xml"),
        "--run-base", "never",
    )  # fmt: skip
    assert collected.exit_code == 0, collected.output
    assert f"note on {base[:12]} is unreadable" in collected.stderr
    data = json.loads(collected.stdout)
    assert data["tests"]["before"] is None
    assert data["tests"]["after"]["total"] == 2
    reported = run_cli(
        "--repo",
        repo,
        "report",
        "--stdout",
        "--junit",
        str(git_repo / "junit.xml"),
        "--run-base",
        "never",
    )
    assert reported.exit_code == 0, reported.output
    checked = run_cli(
        "--repo", repo, "check", "--junit", str(git_repo / "junit.xml"), "--run-base", "never",
        "--no-report-current",
    )  # fmt: skip
    # Without the note there is no baseline: the new-failures gate cannot be measured.
    assert checked.exit_code == 2, checked.output
    assert f"note on {base[:12]} is unreadable" in checked.stderr
    assert "could not be measured" in checked.stderr
    git(git_repo, "tag", "phase/2")
    history = run_cli("--repo", repo, "history", "--format", "json")
    assert history.exit_code == 0, history.output
    assert f"note on {head[:12]} is unreadable" in history.stderr
    rows = json.loads(history.stdout)["phases"]
    assert [row["snapshot"] for row in rows] == [False, False]
