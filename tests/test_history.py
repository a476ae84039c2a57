"""``phasectl history``: real repositories, notes from the snapshot store, the real CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree

from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.results import TestResults
from phasectl.repo.repository import Repository
from phasectl.store.snapshots import NOTES_REF, Snapshot, store_snapshot

from conftest import Content, commit, git, run_cli

SVG = "{http://www.w3.org/2000/svg}"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FETCH = "git fetch origin refs/notes/phasectl:refs/notes/phasectl"


def commit_at(
    monkeypatch: pytest.MonkeyPatch, repo: Path, when: str, files: dict[str, Content]
) -> str:
    """Commit ``files`` with author and committer date ``when`` (ISO 8601 with a zone)."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)
    return commit(repo, files, f"commit at {when}")


def make_snapshot(
    sha: str, passed: int, failed: int, percent: float, phase: dict[str, Any] | None = None
) -> Snapshot:
    return Snapshot(
        commit=sha,
        source="work tree",
        tests=TestResults(
            passed=passed,
            failed=failed,
            errors=0,
            skipped=1,
            xfailed=0,
            xpassed=0,
            duration_s=1.5,
        ),
        coverage=CoverageSummary(percent, f"{percent:.1f}", int(percent), 100),
        measured_at="2026-01-01T00:00:00+00:00",
        phase=phase,
    )


def history(repo: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = run_cli("--repo", str(repo), "history", *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def history_json(repo: Path) -> list[dict[str, Any]]:
    out, _ = history(repo, "--format", "json")
    data = json.loads(out)
    assert data["schema"] == "phasectl-history/1"
    phases: list[dict[str, Any]] = data["phases"]
    return phases


def numstat(repo: Path, base: str, head: str) -> tuple[int, int, int]:
    """(lines added, lines removed, files) as ``git diff --numstat -M50%`` prints them."""
    added = removed = files = 0
    for line in git(repo, "diff", "--numstat", "-M50%", base, head).splitlines():
        plus, minus, _ = line.split("\t", 2)
        added += 0 if plus == "-" else int(plus)
        removed += 0 if minus == "-" else int(minus)
        files += 1
    return added, removed, files


@pytest.fixture
def phases(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Four phase tags (names not in date order) and a release tag; three carry notes.

    setup: annotated, tagged last (its tag date is the newest), phase part with stored
    totals and patch coverage; core: lightweight, snapshot without a phase part; api:
    phase part with patch coverage but no totals; polish: no note at all.
    """
    repo = Repository.open(git_repo)
    shas: dict[str, str] = {}
    shas["setup"] = commit_at(
        monkeypatch,
        git_repo,
        "2026-01-05T10:00:00+00:00",
        {"app.py": "a = 1\nb = 2\nc = 3\n", "README.md": "# App\n"},
    )
    shas["core"] = commit_at(
        monkeypatch,
        git_repo,
        "2026-02-10T10:00:00+00:00",
        {
            "app.py": None,
            "src/app.py": "a = 1\nb = 2\nc = 3\nd = 4\n",  # renamed and changed
            "logo.bin": b"\x00\x01\x02binary",
            "README.md": "# App\n\nMore.\n",
        },
    )
    git(git_repo, "tag", "phase/core")
    # Its zone is five hours behind UTC: the date is the committer's own, 2026-03-01.
    shas["api"] = commit_at(
        monkeypatch,
        git_repo,
        "2026-03-01T23:30:00-05:00",
        {"src/api.py": "def get():\n    return 1\n", "README.md": None},
    )
    git(git_repo, "tag", "phase/api")
    git(git_repo, "tag", "v1.0")  # not a phase tag
    shas["polish"] = commit_at(
        monkeypatch,
        git_repo,
        "2026-04-20T09:00:00+00:00",
        {"src/app.py": "a = 1\nb = 20\nc = 3\nd = 4\n", "src/api.py": None},
    )
    git(git_repo, "tag", "phase/polish")
    # Annotated and tagged after everything else: its tag date is the latest of all.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-05-01T00:00:00+00:00")
    git(git_repo, "tag", "-a", "-m", "first phase", "phase/setup", shas["setup"])
    store_snapshot(
        repo,
        make_snapshot(
            shas["setup"],
            8,
            0,
            72.5,
            phase={
                "name": "setup",
                "tag": "phase/setup",
                "patch_percent": 75.0,
                "totals": {
                    "files_created": 2,
                    "files_modified": 1,
                    "files_deleted": 0,
                    "files_renamed": 0,
                    "lines_added": 111,
                    "lines_removed": 22,
                },
            },
        ),
    )
    store_snapshot(repo, make_snapshot(shas["core"], 10, 2, 80.25))
    store_snapshot(
        repo,
        make_snapshot(
            shas["api"], 15, 0, 91.0, phase={"tag": "phase/api", "patch_percent": 100 / 3}
        ),
    )
    return shas


def test_rows_in_commit_order_with_snapshot_and_git_figures(
    git_repo: Path, phases: dict[str, str]
) -> None:
    rows = history_json(git_repo)
    assert [r["tag"] for r in rows] == ["phase/setup", "phase/core", "phase/api", "phase/polish"]
    assert [r["name"] for r in rows] == ["setup", "core", "api", "polish"]
    assert [r["commit"] for r in rows] == [phases[n] for n in ("setup", "core", "api", "polish")]
    assert [r["date"] for r in rows] == ["2026-01-05", "2026-02-10", "2026-03-01", "2026-04-20"]
    assert [r["snapshot"] for r in rows] == [True, True, True, False]
    assert [r["tests"] for r in rows] == [
        {"passed": 8, "failed": 0, "skipped": 1, "total": 9},
        {"passed": 10, "failed": 2, "skipped": 1, "total": 13},
        {"passed": 15, "failed": 0, "skipped": 1, "total": 16},
        None,
    ]
    # One commit each: no time between a phase's first commit and its last.
    assert [(r["duration_s"], r["duration"], r["commit_days"]) for r in rows] == [
        (0, "under 1 day", 1)
    ] * 4
    assert [r["estimate"] for r in rows] == [None] * 4  # no report, no plan
    assert [r["coverage_percent"] for r in rows] == [72.5, 80.25, 91.0, None]
    assert [r["coverage_display"] for r in rows] == ["72.5", "80.2", "91.0", None]
    assert [r["patch_percent"] for r in rows] == [75.0, None, 100 / 3, None]
    # setup's totals come from its note; the others from git between consecutive tags.
    assert (rows[0]["lines_added"], rows[0]["lines_removed"], rows[0]["files_changed"]) == (
        111,
        22,
        3,
    )
    for row, base in zip(rows[1:], ["phase/setup", "phase/core", "phase/api"], strict=True):
        figures = (row["lines_added"], row["lines_removed"], row["files_changed"])
        assert figures == numstat(git_repo, base, row["tag"])
    # The rename counts as one file, the binary as a file without lines.
    assert rows[1]["files_changed"] == 3


def test_first_phase_without_stored_totals_counts_from_the_empty_tree(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_at(monkeypatch, git_repo, "2026-01-01T00:00:00+00:00", {"a.py": "1\n2\n", "b": "x\n"})
    git(git_repo, "tag", "phase/1")
    [row] = history_json(git_repo)
    assert (row["lines_added"], row["lines_removed"], row["files_changed"]) == (3, 0, 2)
    assert numstat(git_repo, EMPTY_TREE, "phase/1") == (3, 0, 2)


def test_table_output(git_repo: Path, phases: dict[str, str]) -> None:
    out, err = history(git_repo)
    assert err == ""
    lines = out.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == 5
    cells = [re.split(r" {2,}", line.strip()) for line in lines]
    assert cells[0] == [
        "Tag",
        "Phase",
        "Commit",
        "Date",
        "Tests passing",
        "Coverage",
        "Patch coverage",
        "Lines added",
        "Lines removed",
        "Files changed",
        "Duration",
        "Estimate",
    ]
    assert cells[1] == [
        "phase/setup",
        "setup",
        phases["setup"][:12],
        "2026-01-05",
        "8/9",
        "72.5%",
        "75.0%",
        "111",
        "22",
        "3",
        "under 1 day",
        "n/a",
    ]
    assert cells[2][4:7] == ["10/13", "80.2%", "n/a"]
    assert cells[3][4:7] == ["15/16", "91.0%", "33.3%"]
    assert cells[4][:2] == ["phase/polish", "polish"]
    assert cells[4][4:7] == ["no snapshot"] * 3
    # Columns line up: every column starts where its header does (numbers end there).
    assert len({len(line) for line in lines}) == 1
    for header in ("Phase", "Commit", "Date"):
        column = lines[0].index(header)
        assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines)


def test_markdown_output(git_repo: Path, phases: dict[str, str]) -> None:
    out, _ = history(git_repo, "--format", "markdown")
    lines = out.splitlines()
    assert out.endswith("|\n")
    assert lines[0] == (
        "| Tag | Phase | Commit | Date | Tests passing | Coverage | Patch coverage "
        "| Lines added | Lines removed | Files changed | Duration | Estimate |"
    )
    assert lines[1] == (
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    assert lines[2] == (
        f"| `phase/setup` | setup | `{phases['setup'][:12]}` | 2026-01-05 | 8/9 | 72.5% "
        "| 75.0% | 111 | 22 | 3 | under 1 day | n/a |"
    )
    polish = numstat(git_repo, "phase/api", "phase/polish")
    assert lines[5] == (
        f"| `phase/polish` | polish | `{phases['polish'][:12]}` | 2026-04-20 | no snapshot "
        f"| no snapshot | no snapshot | {polish[0]} | {polish[1]} | {polish[2]} "
        "| under 1 day | n/a |"
    )
    assert len(lines) == 6


def test_csv_output_parses_back(git_repo: Path, phases: dict[str, str]) -> None:
    out, _ = history(git_repo, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    as_json = history_json(git_repo)
    assert [r["tag"] for r in rows] == [r["tag"] for r in as_json]
    for row, expected in zip(rows, as_json, strict=True):
        assert row["commit"] == expected["commit"]
        assert row["date"] == expected["date"]
        assert int(row["lines_added"]) == expected["lines_added"]
        assert int(row["lines_removed"]) == expected["lines_removed"]
        assert int(row["files_changed"]) == expected["files_changed"]
        assert row["snapshot"] == ("true" if expected["snapshot"] else "false")
    assert (rows[2]["tests_passed"], rows[2]["tests_total"]) == ("15", "16")
    assert float(rows[2]["patch_percent"]) == pytest.approx(100 / 3)
    assert rows[1]["coverage_display"] == "80.2"
    assert float(rows[1]["coverage_percent"]) == 80.25
    assert rows[1]["patch_percent"] == ""
    none = rows[3]
    assert [
        none[k]
        for k in (
            "tests_passed",
            "tests_total",
            "coverage_percent",
            "coverage_display",
            "patch_percent",
        )
    ] == [""] * 5


def test_tags_on_non_commits_are_skipped(git_repo: Path, phases: dict[str, str]) -> None:
    tree = git(git_repo, "rev-parse", "HEAD^{tree}").strip()
    git(git_repo, "tag", "phase/a-tree", tree)
    rows = history_json(git_repo)
    assert "phase/a-tree" not in [r["tag"] for r in rows]
    assert len(rows) == 4
    _, err = history(git_repo, "--format", "json")
    assert "Warning: tag phase/a-tree points at a tree, not a commit; skipped" in err


def test_same_second_commits_come_ancestor_first(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Names in reverse of history; all three commits share one committer second.
    for n, name in enumerate(["phase/c", "phase/b", "phase/a"]):
        commit_at(monkeypatch, git_repo, "2026-06-01T12:00:00+00:00", {"f": f"{n}\n"})
        git(git_repo, "tag", name)
    git(git_repo, "tag", "phase/b2", "phase/b")  # a second tag on one commit: name order
    assert [r["tag"] for r in history_json(git_repo)] == [
        "phase/c",
        "phase/b",
        "phase/b2",
        "phase/a",
    ]
    b2 = history_json(git_repo)[2]
    assert (b2["lines_added"], b2["lines_removed"], b2["files_changed"]) == (0, 0, 0)


def test_unreadable_note_and_bad_totals_are_warnings(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = commit_at(monkeypatch, git_repo, "2026-01-01T00:00:00+00:00", {"a": "1\n"})
    git(git_repo, "tag", "phase/one")
    two = commit_at(monkeypatch, git_repo, "2026-01-02T00:00:00+00:00", {"a": "2\n"})
    git(git_repo, "tag", "phase/two")
    git(git_repo, "notes", f"--ref={NOTES_REF}", "add", "-m", "not json", one)
    store_snapshot(
        Repository.open(git_repo),
        make_snapshot(two, 1, 0, 50.0, phase={"totals": {"lines_added": "many"}}),
    )
    out, err = history(git_repo, "--format", "json")
    rows = json.loads(out)["phases"]
    assert rows[0]["snapshot"] is False
    assert rows[0]["tests"] is None
    assert f"Warning: the phasectl note on {one[:12]} is unreadable" in err
    assert f"Warning: the phase totals in the note on {two[:12]} are unreadable" in err
    assert rows[1]["snapshot"] is True
    assert (rows[1]["lines_added"], rows[1]["lines_removed"], rows[1]["files_changed"]) == (
        numstat(git_repo, "phase/one", "phase/two")
    )


ODD = 'phase/a&b<c>"d'


def odd_phases(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Four tags, odd names included; the second has no snapshot (a gap in both series)."""
    repo = Repository.open(git_repo)
    names = [ODD, "phase/gap", "phase/x|y", "phase/" + "long-name-" * 4]
    for n, name in enumerate(names):
        sha = commit_at(monkeypatch, git_repo, f"2026-07-0{n + 1}T00:00:00+00:00", {"f": f"{n}\n"})
        git(git_repo, "tag", name)
        if name != "phase/gap":
            store_snapshot(repo, make_snapshot(sha, 10 + n, 0, 60.0 + n))
    return names


def test_markdown_escapes_odd_tag_names(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd_phases(git_repo, monkeypatch)
    out, _ = history(git_repo, "--format", "markdown")
    lines = out.splitlines()
    assert lines[2].startswith('| `phase/a&b<c>"d` | a\\&b\\<c\\>"d | `')
    assert lines[4].startswith("| `phase/x\\|y` | x\\|y | `")
    # Every row has exactly the header's cells: no unescaped "|" splits one.
    unescaped = re.compile(r"(?<!\\)\|")
    assert {len(unescaped.findall(line)) for line in lines} == {13}


def chart(repo: Path, tmp_path: Path, *args: str) -> tuple[str, Any]:
    target = tmp_path / "history.svg"
    _, err = history(repo, "--chart", str(target), *args)
    assert f"Wrote the chart to {target}" in err
    text = target.read_text(encoding="utf-8")
    return text, ElementTree.fromstring(text.encode("utf-8"))


def test_no_phase_tags(git_repo: Path) -> None:
    commit(git_repo, {"a": "1\n"})
    git(git_repo, "tag", "v1.0")
    out, err = history(git_repo)
    assert out == ""
    assert "'phase/*'" in err
    assert "phasectl tag NAME" in err
    out, _ = history(git_repo, "--format", "json")
    assert json.loads(out) == {"schema": "phasectl-history/1", "phases": []}
    out, _ = history(git_repo, "--format", "csv")
    assert out.splitlines() == [
        "tag,name,commit,date,tests_passed,tests_total,coverage_percent,coverage_display,"
        "patch_percent,lines_added,lines_removed,files_changed,snapshot,duration_s,duration,"
        "commit_days,estimate"
    ]
    out, _ = history(git_repo, "--format", "markdown")
    assert len(out.splitlines()) == 2


def test_no_phase_tags_in_a_repository_without_commits(git_repo: Path, tmp_path: Path) -> None:
    out, err = history(git_repo, "--format", "json")
    assert json.loads(out)["phases"] == []
    assert "no tag matches 'phase/*'" in err
    text, root = chart(git_repo, tmp_path)
    assert root.findall(f".//{SVG}polyline") == []
    assert "No phase tags yet" in text


def test_errors_are_one_line(git_repo: Path, tmp_path: Path) -> None:
    result = run_cli("--repo", str(tmp_path / "missing"), "history")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1
    commit(git_repo, {"a": "1\n"})
    git(git_repo, "tag", "phase/1")
    result = run_cli("--repo", str(git_repo), "history", "--chart", str(tmp_path / "no/x.svg"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: cannot write")
    assert "Traceback" not in result.stderr


def test_notes_on_the_remote_but_not_here(
    git_repo: Path, phases: dict[str, str], tmp_path: Path
) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(bare))
    git(git_repo, "remote", "add", "origin", str(bare))
    git(git_repo, "push", "--quiet", "origin", "main", "--tags", NOTES_REF)
    _, err = history(git_repo)
    assert "Warning" not in err  # the notes are here
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    assert git(clone, "for-each-ref", "refs/notes") == ""  # notes are not fetched by default
    out, err = history(clone, "--format", "json")
    assert [r["snapshot"] for r in json.loads(out)["phases"]] == [False] * 4
    text, _ = chart(clone, tmp_path)
    assert "No snapshots on these phases" in text
    expected = f"Warning: the snapshots are on origin but not here; fetch them with: {FETCH}\n"
    assert err == expected
    command = err.rsplit("fetch them with: ", 1)[1].strip()
    done = subprocess.run(shlex.split(command), cwd=clone, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    out, err = history(clone, "--format", "json")
    assert err == ""
    rows = json.loads(out)["phases"]
    assert [r["snapshot"] for r in rows] == [True, True, True, False]
    assert rows == history_json(git_repo)


def test_remote_choice_and_unreachable_remotes(
    git_repo: Path, phases: dict[str, str], tmp_path: Path
) -> None:
    with_notes = tmp_path / "with-notes.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(with_notes))
    git(git_repo, "push", "--quiet", str(with_notes), "main", "--tags", NOTES_REF)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(with_notes), str(clone))
    # "origin" has the notes but the branch's upstream is "team": only "team" is asked.
    git(clone, "remote", "add", "team", str(tmp_path / "nowhere.git"))
    git(clone, "config", "branch.main.remote", "team")
    _, err = history(clone)
    assert err == ""  # an unreachable remote is no error and no warning
    git(clone, "config", "branch.main.remote", "origin")
    _, err = history(clone)
    assert f"the snapshots are on origin but not here; fetch them with: {FETCH}" in err
    # Without an upstream, "origin" is preferred over the first remote.
    git(clone, "config", "--unset", "branch.main.remote")
    git(clone, "remote", "rename", "team", "aaa")
    _, err = history(clone)
    assert FETCH in err
