"""The sample repository of ``make demo``, measured end to end and checked against git."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import by_path, collect_json, git
from support.sample_repo import build_sample_repo


def test_sample_repo_figures_match_git(tmp_path: Path) -> None:
    sample = build_sample_repo(tmp_path / "inventory")
    data = collect_json(sample.path)
    assert data["base"]["ref"] == sample.tag
    files = by_path(data)
    assert {p: f["status"] for p, f in files.items()} == sample.expected_statuses
    for new, old in sample.renamed_from.items():
        assert files[new]["old_path"] == old
    png = files["docs/architecture.png"]
    assert (png["binary"], png["added"], png["removed"]) == (True, None, None)
    added = removed = lock_added = 0
    numstat = git(sample.path, "diff", "--numstat", "-M50%", sample.tag, "HEAD")
    for line in numstat.splitlines():
        a, r, name = line.split("\t")
        if a != "-":
            added, removed = added + int(a), removed + int(r)
            lock_added += int(a) if name == sample.lock_file else 0
    totals = data["diff"]["totals"]
    assert (totals["lines_added"], totals["lines_removed"]) == (added, removed)
    assert totals["authored_lines_added"] == added - lock_added
    assert lock_added > 0


def test_sample_project_tests_pass(tmp_path: Path) -> None:
    sample = build_sample_repo(tmp_path / "inventory")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=sample.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "5 passed" in done.stdout


def test_demo_runs_phasectl_on_the_sample(tmp_path: Path) -> None:
    script = Path(__file__).parent / "support" / "sample_repo.py"
    done = subprocess.run(
        [sys.executable, str(script), "--demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "src/inventory/pricing.py -> src/inventory/prices.py" in done.stdout
    assert "Before: 2 passed, 0 failed, 0 skipped" in done.stdout
    assert "After:  5 passed, 0 failed, 0 skipped" in done.stdout
    assert "- Tests Passing: 2/2 → 5/5\n" in done.stdout
    assert "baseline: tests run in a temporary worktree at" in done.stdout
    # collect ran the base's tests once; report read them back from the note.
    assert done.stderr.count("phasectl: base run: the tests at") == 1
