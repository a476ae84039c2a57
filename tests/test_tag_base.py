"""``tag --base``: the range a phase's note records is the one its report and ``history``
show; and one commit closes one phase (a second tag would overwrite the first's note).

Real repositories, the real pytest and coverage, the real CLI; line counts compared with
``git diff --numstat`` in the same test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_workflow import TESTS_1, TESTS_2, cli, note, release, state

from conftest import commit, git
from support.projects import python_project


def numstat(repo: Path, base: str, head: str) -> tuple[int, int, int]:
    """Lines added, lines removed and files changed, as git's own ``--numstat`` counts them."""
    lines = git(repo, "diff", "--numstat", base, head, "--").splitlines()
    added = sum(int(line.split("\t", 2)[0]) for line in lines)
    removed = sum(int(line.split("\t", 2)[1]) for line in lines)
    return added, removed, len(lines)


def three_releases(repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """v1 (a branch-ish tag, like ``2.0.x``), v2 and v3, each with work in it; then today's."""
    shas = {
        "1": release(repo, monkeypatch, "2024-01-10T10:00:00+00:00", TESTS_1, "v1"),
        "2": release(repo, monkeypatch, "2024-06-10T10:00:00+00:00", TESTS_2, "v2"),
    }
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2025-02-10T10:00:00+00:00")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2025-02-10T10:00:00+00:00")
    extra = "def mul(a, b):\n    return a * b\n"
    shas["3"] = commit(repo, {"mul.py": extra, "calc.py": None}, "v3: mul, calc gone")
    git(repo, "tag", "v3")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    commit(repo, {"today.py": "T = 1\n"}, "today's work")
    return shas


def test_tag_base_is_recorded_and_history_shows_that_range(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shas = three_releases(git_repo, monkeypatch)
    cli(git_repo, "tag", "1", "--at", "v1", "-q", "--no-tests")
    # Phase 3 from v1, chosen with --base (by default it would start at v2, the nearest tag).
    out, _ = cli(git_repo, "tag", "3", "--at", "v3", "--base", "v1", "-q", "--no-tests")
    assert out.startswith(f"Tagged phase/3 at {shas['3'][:12]}")
    phase = note(git_repo, "phase/3")["phase"]
    assert phase["base"]["sha"] == shas["1"]
    assert phase["head"]["sha"] == shas["3"]
    added, removed, files = numstat(git_repo, shas["1"], shas["3"])
    assert numstat(git_repo, shas["2"], shas["3"]) != (added, removed, files)  # a real choice
    assert (phase["totals"]["lines_added"], phase["totals"]["lines_removed"]) == (added, removed)
    # Tagging the release in between afterwards does not change what history says of phase
    # 3: the range its note (and its committed report) records, v1..v3.
    cli(git_repo, "tag", "2", "--at", "v2", "-q", "--no-tests")
    out, err = cli(git_repo, "history", "--format", "json")
    rows = {row["tag"]: row for row in json.loads(out)["phases"]}
    assert [row["tag"] for row in json.loads(out)["phases"]] == ["phase/1", "phase/2", "phase/3"]
    row = rows["phase/3"]
    assert (row["lines_added"], row["lines_removed"], row["files_changed"]) == (
        added,
        removed,
        files,
    )
    assert (
        f"phase/3 was measured from {shas['1'][:12]}, not from the phase before it (phase/2); "
        "its row shows that range" in err
    )
    # Phase 2 starts where its note says: v1, the phase before it.
    assert (rows["phase/2"]["lines_added"], rows["phase/2"]["lines_removed"]) == numstat(
        git_repo, shas["1"], shas["2"]
    )[:2]
    assert "phase/2 was measured" not in err


def test_tag_base_at_head_records_the_base(git_repo: Path) -> None:
    first = python_project(git_repo, {"test_calc.py": TESTS_1})
    git(git_repo, "tag", "start")
    python_project(git_repo, {"test_calc.py": TESTS_2})
    git(git_repo, "tag", "middle")
    head = commit(git_repo, {"notes.md": "# Notes\n"}, "docs")
    cli(git_repo, "tag", "1", "--base", "start", "-q")
    phase = note(git_repo, "phase/1")["phase"]
    assert phase["base"]["sha"] == first
    assert phase["head"]["sha"] == head
    added, removed, _ = numstat(git_repo, first, head)
    assert (phase["totals"]["lines_added"], phase["totals"]["lines_removed"]) == (added, removed)
    out, _ = cli(git_repo, "history", "--format", "json")
    (row,) = json.loads(out)["phases"]
    assert (row["lines_added"], row["lines_removed"]) == (added, removed)
    # A --base that names nothing is one Error: line, and nothing is made.
    before = state(git_repo)
    result_out, err = cli(git_repo, "tag", "2", "--base", "no-such-ref", "-q", code=2)
    assert result_out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("Error: ")
    assert state(git_repo) == before


def test_a_commit_that_closes_a_phase_is_not_tagged_again(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shas = three_releases(git_repo, monkeypatch)
    cli(git_repo, "tag", "2", "--at", "v2", "-q", "--no-tests")
    first_note = note(git_repo, "phase/2")
    before = state(git_repo)
    _, err = cli(git_repo, "tag", "2b", "--at", "v2", "--base", "v1", "-q", code=2)
    assert err.splitlines() == [
        f"Error: {shas['2'][:12]} is already tagged as the phase phase/2, whose note would be "
        "overwritten; choose another commit, or delete that tag first (git tag -d phase/2)"
    ]
    assert state(git_repo) == before
    assert note(git_repo, "phase/2") == first_note
    # At HEAD too (--no-commit tags HEAD itself): refused after measuring, nothing made.
    cli(git_repo, "tag", "today", "-q", "--no-commit", "--no-tests")
    head = git(git_repo, "rev-parse", "HEAD").strip()
    today_note = note(git_repo, "HEAD")
    before = state(git_repo)
    _, err = cli(git_repo, "tag", "again", "-q", "--no-commit", "--no-tests", code=2)
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"Error: {head[:12]} is already tagged as the phase phase/today")
    )
    assert note(git_repo, "HEAD") == today_note
    assert git(git_repo, "tag", "-l", "phase/again") == ""
    # What the message says works: with the first tag deleted, its note may be replaced.
    git(git_repo, "tag", "-d", "phase/2")
    cli(git_repo, "tag", "2b", "--at", "v2", "--base", "v1", "-q", "--no-tests")
    assert note(git_repo, "phase/2b")["phase"]["tag"] == "phase/2b"
    assert note(git_repo, "phase/2b")["phase"]["base"]["sha"] == shas["1"]
