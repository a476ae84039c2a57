"""Snapshots in git notes: round trip, concurrent writers, unreadable notes; benchmarks."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.results import TestCase, TestResults
from phasectl.repo.repository import Repository
from phasectl.store.snapshots import NOTES_REF, Snapshot, load_snapshot, store_snapshot

from conftest import commit, git, run_cli
from support.projects import BENCH_TEST, python_project


def sample_snapshot(commit_sha: str, passed: int) -> Snapshot:
    return Snapshot(
        commit=commit_sha,
        source="work tree",
        tests=TestResults.from_cases(
            [TestCase(f"t{n}", "passed", 0.1) for n in range(passed)], 1.0
        ),
        coverage=CoverageSummary(50.0, "50", 5, 10),
        measured_at="2026-11-24T00:00:00+00:00",
    )


def test_round_trip_through_a_note(git_repo: Path) -> None:
    sha = commit(git_repo, {"a.py": "1\n"})
    repo = Repository.open(git_repo)
    assert load_snapshot(repo, sha) == (None, None)
    store_snapshot(repo, sample_snapshot(sha, 3))
    loaded, problem = load_snapshot(repo, sha)
    assert problem is None
    assert loaded is not None
    assert loaded.source == "note"
    assert loaded.measured_by == "work tree"
    assert loaded.tests == sample_snapshot(sha, 3).tests
    assert loaded.coverage == sample_snapshot(sha, 3).coverage
    raw = json.loads(git(git_repo, "notes", f"--ref={NOTES_REF}", "show", sha))
    assert raw["schema"] == "phasectl-snapshot/1"
    # Writing again replaces the note; the notes history keeps one commit per write.
    store_snapshot(repo, sample_snapshot(sha, 4))
    assert load_snapshot(repo, sha)[0].tests.passed == 4  # type: ignore[union-attr]
    assert git(git_repo, "rev-list", "--count", NOTES_REF).strip() == "2"
    assert "phasectl-tmp" not in git(git_repo, "for-each-ref")


def test_concurrent_writers_lose_nothing(git_repo: Path) -> None:
    shas = [commit(git_repo, {"a.py": f"{n}\n"}) for n in range(12)]
    errors: list[BaseException] = []

    def write(part: list[str]) -> None:
        repo = Repository.open(git_repo)  # each writer has its own repository object
        try:
            for sha in part:
                store_snapshot(repo, sample_snapshot(sha, 1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(shas[n::3],)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = git(git_repo, "notes", f"--ref={NOTES_REF}", "list").split()
    assert set(shas) <= set(listed)


def test_unreadable_note_is_a_warning_not_a_crash(git_repo: Path) -> None:
    sha = commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "notes", f"--ref={NOTES_REF}", "add", "-m", "not json", sha)
    snapshot, problem = load_snapshot(Repository.open(git_repo), sha)
    assert snapshot is None
    assert problem is not None
    assert "unreadable" in problem
    assert "phasectl snapshot" in problem


def test_without_a_baseline_the_warning_says_how_to_get_one(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": "def test_one():\n    pass\n"})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": "def test_two():\n    pass\n"})
    result = run_cli("--repo", str(git_repo), "collect", "-q", "--run-base", "never")
    assert result.exit_code == 0
    assert "no baseline for phase/1" in result.stderr
    assert "phasectl snapshot phase/1" in result.stderr
    assert "Before: no baseline" in result.stdout


def test_benchmark_medians_before_and_after(git_repo: Path) -> None:
    config = (
        'pytest_args = ["--benchmark-json=bench.json", "--benchmark-min-rounds=3"]\n'
        'benchmark_json = "bench.json"\n'
    )
    extra = {".phasectl.toml": config, ".gitignore": "__pycache__/\n.coverage*\nbench.json\n"}
    python_project(git_repo, {"test_bench.py": BENCH_TEST}, **extra)
    git(git_repo, "tag", "phase/1")
    python_project(
        git_repo, {"test_bench.py": BENCH_TEST + "\n\ndef test_more():\n    pass\n"}, **extra
    )
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout_bytes)
    bench = data["benchmarks"]
    written = json.loads((git_repo / "bench.json").read_text())["benchmarks"][0]
    assert bench["after"] == [{"name": written["fullname"], "median_s": written["stats"]["median"]}]
    assert bench["before"][0]["name"] == written["fullname"]
    change = bench["changes"][0]
    assert change["change"] == change["after_s"] / change["before_s"] - 1
    text = run_cli("--repo", str(git_repo), "collect", "-q").stdout
    assert f"Performance (median):\n  {written['fullname']}: " in text


def test_no_benchmark_config_means_null(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": "def test_one():\n    pass\n"})
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "-q")
    assert json.loads(result.stdout_bytes)["benchmarks"] is None
