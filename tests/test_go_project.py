"""The seed's own kind of project: a Go service with behave scenarios behind ``make test``.

One ``phasectl report`` fills the whole Metrics section; every figure is checked against
the tools' own output in this test: the go test -json stream counted here, behave's JUnit,
``go tool cover -func`` and go's benchmark lines. "Before" is measured in a worktree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from phasectl.report.output import duration

from conftest import commit, git, run_cli
from support.go_project import (
    go_bench_median_ns,
    go_cover_total,
    go_json_counts,
    go_project_files,
    junit_counts,
)
from support.go_tools import go  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("go")


def tools_figures(repo: Path, outputs: Path) -> dict[str, object]:
    """Tests passing, total, skipped and coverage from the tools' outputs in ``outputs``."""
    stream = go_json_counts(outputs / "go-test.json")
    behave = junit_counts(outputs / "reports")
    behave_passed = behave["tests"] - behave["failures"] - behave["errors"] - behave["skipped"]
    return {
        "passed": stream["pass"] + behave_passed,
        "total": sum(stream.values()) + behave["tests"],
        "skipped": stream["skip"] + behave["skipped"],
        "coverage": go_cover_total(repo, outputs / "cover.out"),
    }


SIZE = """
// Size returns how many values are stored.
func (s *Store) Size() int {
	if s == nil {
		return 0
	}
	return len(s.m)
}
"""
SIZE_TEST = """
func TestSize(t *testing.T) {
	if New().Size() != 0 {
		t.Fatal("not empty")
	}
}
"""


def changed_lines_in_blocks(repo: Path, base: str, profile: Path) -> tuple[int, int]:
    """Lines of store.go added since ``base`` that lie in a block of go's profile with
    statements, and those of them in a block that ran."""
    diff = git(repo, "diff", "-U0", base, "HEAD", "--", "store/store.go")
    added: set[int] = set()
    for start, count in re.findall(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, re.MULTILINE):
        added.update(range(int(start), int(start) + int(count or "1")))
    measured: set[int] = set()
    ran: set[int] = set()
    for line in profile.read_text().splitlines()[1:]:
        found = re.match(r".*/store/store\.go:(\d+)\.\d+,(\d+)\.\d+ (\d+) (\d+)$", line)
        if found and int(found.group(3)) > 0:
            span = set(range(int(found.group(1)), int(found.group(2)) + 1)) & added
            measured |= span
            if int(found.group(4)) > 0:
                ran |= span
    return len(measured), len(ran)


def metrics_lines(report: str) -> dict[str, str]:
    region = report.split("<!-- phasectl:begin metrics -->")[1].split("<!-- phasectl:end")[0]
    return dict(re.findall(r"^- (?:\*\*)?([A-Za-z ]+?)(?:\*\*)?: (.*)$", region, re.MULTILINE))


def test_one_report_fills_metrics_for_go_and_behave(git_repo: Path, tmp_path: Path) -> None:
    archive = tmp_path / "outputs"
    commit(git_repo, go_project_files(archive), "phase 1")
    # The tools' own figures at phase 1, from a run of make test by the test itself.
    subprocess.run(["make", "test"], cwd=git_repo, capture_output=True, check=True)
    phase1 = git(git_repo, "rev-parse", "HEAD").strip()
    before = tools_figures(git_repo, archive / phase1)
    shutil.rmtree(archive)
    tagged = run_cli("--repo", str(git_repo), "tag", "1", "-q", "--no-verify")
    assert tagged.exit_code == 0, tagged.stderr

    # Phase 2: Size is new and half tested, Unused gets a test, Broken is fixed, a new
    # subtest fails.
    files = go_project_files(archive)
    store = files["store/store.go"] + SIZE
    store_test = files["store/store_test.go"] + SIZE_TEST
    store_test = store_test.replace('!= "never"', '!= ""').replace(
        "func TestLater",
        'func TestUnused(t *testing.T) {\n\tt.Run("big", func(t *testing.T) {\n'
        "\t\tif Unused(5) != 10 {\n\t\t\tt.Fail()\n\t\t}\n\t})\n"
        '\tt.Run("wrong", func(t *testing.T) {\n\t\tif Unused(1) != 2 {\n'
        '\t\t\tt.Error("1 stays 1")\n\t\t}\n\t})\n}\n\nfunc TestLater',
    )
    commit(git_repo, {"store/store.go": store, "store/store_test.go": store_test}, "phase 2")
    head = git(git_repo, "rev-parse", "HEAD").strip()
    base = git(git_repo, "rev-parse", "phase/1^{commit}").strip()

    result = run_cli("--repo", str(git_repo), "report", "--run-base", "always", "-q")
    assert result.exit_code == 0, result.stderr
    assert f"base run: the tests at {base[:12]} in a temporary worktree" in result.stderr
    after = tools_figures(git_repo, archive / head)
    # The base's outputs are those the worktree run wrote (its make test kept a copy).
    at_base = tools_figures(git_repo, archive / base)
    assert {k: at_base[k] for k in ("passed", "total", "skipped")} == {
        k: before[k] for k in ("passed", "total", "skipped")
    }
    report = (git_repo / "docs" / "phases" / "main.md").read_text()
    lines = metrics_lines(report)
    assert lines["Tests Passing"] == (
        f"{before['passed']}/{before['total']} → {after['passed']}/{after['total']}"
        f" ({after['skipped']} skipped)"
    )
    coverage = re.fullmatch(
        r"([\d.]+)% → ([\d.]+)% \(([+-]?[\d.±]+) points, statements\)", lines["Coverage"]
    )
    assert coverage is not None, lines["Coverage"]
    assert coverage.group(1) == before["coverage"]
    assert coverage.group(2) == after["coverage"]
    # The change is computed from the unrounded figures; go prints each total rounded to
    # 0.1, so the difference of go's two figures may be 0.1 off.
    change = float(coverage.group(3).replace("±", ""))
    go_change = float(str(after["coverage"])) - float(str(before["coverage"]))
    assert abs(change - go_change) <= 0.1 + 1e-9
    assert lines["Before"] == f"{before['passed']}/{before['total']} tests passing, " + (
        f"{before['coverage']}% coverage"
    )
    assert lines["After"] == f"{after['passed']}/{after['total']} tests passing, " + (
        f"{after['coverage']}% coverage"
    )
    gained = int(str(after["passed"])) - int(str(before["passed"]))
    assert gained > 0
    assert change > 0
    assert lines["Improvement"] == (
        f"{gained} more passing tests, coverage up {coverage.group(3).lstrip('+')} points"
    )
    assert f"baseline: tests run in a temporary worktree at `{base[:7]}`" in report
    numstat = git(git_repo, "diff", "--numstat", base, head).split()
    assert lines["Lines Added"] == str(sum(int(n) for n in numstat[0::3]))
    assert lines["Lines Removed"] == str(sum(int(n) for n in numstat[1::3]))
    assert lines["Files Modified"] == str(len(numstat[2::3]))
    # Performance: the medians of go's own ns/op lines, before (worktree) and after.
    old = go_bench_median_ns(archive / base / "bench.txt")["BenchmarkPut"] * 1e-9
    new = go_bench_median_ns(archive / head / "bench.txt")["BenchmarkPut"] * 1e-9
    performance = lines["Performance"]
    assert performance.startswith(
        f"`example.com/shop/store.BenchmarkPut` {duration(old)} → {duration(new)} "
        f"({new / old - 1:+.1%}), range "
    ), performance
    # Patch coverage: the changed lines inside go's measured blocks, and those that ran.
    measured, ran = changed_lines_in_blocks(git_repo, base, archive / head / "cover.out")
    assert lines["Patch Coverage"] == (
        f"{100 * ran / measured:.1f}% ({ran} of {measured} changed lines)"
    )
    data = json.loads(
        run_cli(
            "--repo", str(git_repo), "collect", "--format", "json", "-q", "--base", "phase/1"
        ).stdout
    )
    assert data["tests"]["changes"]["fixed"] == ["example.com/shop/store.TestBroken"]
    assert data["tests"]["changes"]["newly_failing"] == [
        "example.com/shop/store.TestUnused",
        "example.com/shop/store.TestUnused/wrong",
    ]
    assert data["coverage"]["before"]["source"] == "note"
