"""The phase workflow end to end: ``tag`` closes phases, ``check`` gates a release.

Real repositories, the real pytest and coverage, the real CLI; failures are real git
failures (a rejecting commit hook, a locked ref), never mocks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree

from phasectl.report import document

from conftest import commit, git, run_cli
from projects import BENCH_TEST, coverage_report_total, pytest_summary, python_project

TESTS_1 = """\
from calc import add


def test_add():
    assert add(1, 2) == 3
"""
TESTS_2 = (
    TESTS_1
    + """

def test_sign():
    from calc import sign
    assert sign(-2) == -1
    assert sign(0) == 0
    assert sign(5) == 1
"""
)
TESTS_3 = TESTS_2.replace("assert add(1, 2) == 3", "assert add(1, 2) == 4")


def cli(repo: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = run_cli("--repo", str(repo), *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def state(repo: Path) -> tuple[str, ...]:
    """Everything a failed ``tag`` must leave as it found it."""
    return (
        git(repo, "status", "--porcelain=v2", "-uall"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        # Entries, not bytes: git may rewrite its caches when an entry is staged and reset.
        git(repo, "ls-files", "--stage"),
    )


def note(repo: Path, rev: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        git(repo, "notes", "--ref=phasectl", "show", f"{rev}^{{commit}}")
    )
    return data


def test_three_phases_tagged_then_checked(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": TESTS_1})
    out, _ = cli(git_repo, "tag", "1-start", "-q")
    assert out.startswith("Tagged phase/1-start at ")
    python_project(git_repo, {"test_calc.py": TESTS_2})
    cli(git_repo, "tag", "2-sign", "-q", "-m", "Signs are in")
    commit(git_repo, {"notes.md": "# Notes\n"}, "docs")
    cli(git_repo, "tag", "3-docs", "-q")

    for name in ("1-start", "2-sign", "3-docs"):
        tag = f"phase/{name}"
        assert git(git_repo, "cat-file", "-t", tag).strip() == "tag"  # annotated
        # The report is committed in the tagged tree, and is what a fresh render gives.
        committed = git(git_repo, "show", f"{tag}:docs/phases/{name}.md")
        assert committed.startswith(f"# Phase: {name}\n")
        stored = note(git_repo, tag)
        assert stored["commit"] == git(git_repo, "rev-parse", f"{tag}^{{commit}}").strip()
        assert stored["phase"]["tag"] == tag
    # The tagged commit holds only the report on top of the measured work.
    changed = git(git_repo, "diff", "--name-only", "phase/2-sign^", "phase/2-sign")
    assert changed == "docs/phases/2-sign.md\n"

    message = git(git_repo, "tag", "-l", "--format=%(contents)", "phase/2-sign")
    assert message.startswith("Signs are in\n\nTests Passing: 1/1 → 2/2\n")
    assert "Files Modified: 1\n" in message

    # Figures in the note of phase 2 equal pytest's and coverage.py's on that commit.
    git(git_repo, "checkout", "--quiet", "phase/2-sign")
    summary = pytest_summary(git_repo)
    total, covered, statements = coverage_report_total(git_repo)
    git(git_repo, "checkout", "--quiet", "main")
    stored = note(git_repo, "phase/2-sign")
    assert stored["tests"]["passed"] == summary["passed"] == 2
    assert stored["coverage"]["percent_display"] == total
    assert (stored["coverage"]["lines_covered"], stored["coverage"]["lines_total"]) == (
        covered,
        statements,
    )
    numstat = git(git_repo, "diff", "--numstat", "-M50%", "phase/1-start", "phase/2-sign^")
    added = sum(int(line.split("\t")[0]) for line in numstat.splitlines())
    assert stored["phase"]["totals"]["lines_added"] == added
    assert stored["phase"]["base"]["ref"] == "phase/1-start"

    # The release gate at the last tag passes: the committed report is current.
    out, _ = cli(git_repo, "check", "-q", "--max-coverage-drop", "0")
    assert re.search(r"PASS  report current +.*3-docs\.md", out)

    chart = git_repo.parent / "history.svg"
    out, _ = cli(git_repo, "history", "--format", "json", "--chart", str(chart))
    svg = ElementTree.fromstring(chart.read_bytes())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    labels = [
        "".join(t.itertext())
        for t in svg.iter("{http://www.w3.org/2000/svg}text")
        if t.get("class") == "x-label"
    ]
    assert len(labels) == 3
    for label, name in zip(labels, ("1-start", "2-sign", "3-docs"), strict=True):
        assert name in label
    rows = json.loads(out)["phases"]
    assert [r["tag"] for r in rows] == ["phase/1-start", "phase/2-sign", "phase/3-docs"]
    assert [r["tests"]["passed"] for r in rows] == [1, 2, 2]
    assert rows[1]["coverage_display"] == total
    assert rows[1]["lines_added"] == added


def project_with_phase(repo: Path) -> None:
    python_project(repo, {"test_calc.py": TESTS_2})
    cli(repo, "tag", "1", "-q")


def test_tag_refuses_a_dirty_tree_an_existing_tag_and_a_bad_name(git_repo: Path) -> None:
    project_with_phase(git_repo)
    (git_repo / "calc.py").write_text("changed = True\n")
    before = state(git_repo)
    _, err = cli(git_repo, "tag", "2", "-q", code=2)
    assert "uncommitted changes (calc.py)" in err
    assert "--allow-dirty" in err
    assert state(git_repo) == before
    git(git_repo, "checkout", "--", "calc.py")
    _, err = cli(git_repo, "tag", "1", "-q", code=2)
    assert "tag 'phase/1' already exists" in err
    _, err = cli(git_repo, "tag", "bad..name", "-q", code=2)
    assert "not a valid tag name" in err


def test_the_report_people_are_writing_does_not_count_as_dirty(git_repo: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    cli(git_repo, "report", "--no-tests", "--name", "2")
    path = git_repo / "docs" / "phases" / "2.md"
    path.write_text(path.read_text().replace("[Brief description", "Our story. [Brief"))
    cli(git_repo, "tag", "2", "-q")
    committed = git(git_repo, "show", "phase/2:docs/phases/2.md")
    assert "## Summary\nOur story. [Brief" in committed
    assert git(git_repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("failure", ["commit hook", "notes locked", "tag locked"])
def test_a_failing_step_leaves_nothing_half_done(git_repo: Path, failure: str) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    git_dir = git_repo / ".git"
    if failure == "commit hook":
        hook = git_dir / "hooks" / "pre-commit"
        hook.write_text("#!/bin/sh\necho 'no commits today' >&2\nexit 1\n")
        hook.chmod(0o755)
    elif failure == "notes locked":
        (git_dir / "refs" / "notes").mkdir(parents=True, exist_ok=True)
        (git_dir / "refs" / "notes" / "phasectl.lock").write_text("")
    else:
        (git_dir / "refs" / "tags" / "phase").mkdir(parents=True, exist_ok=True)
        (git_dir / "refs" / "tags" / "phase" / "2.lock").write_text("")
    notes_before = git(git_repo, "notes", "--ref=phasectl", "list")
    before = state(git_repo)
    _, err = cli(git_repo, "tag", "2", "-q", code=2)
    assert err.strip().splitlines()[-1].startswith("Error: ")
    assert state(git_repo) == before
    assert git(git_repo, "notes", "--ref=phasectl", "list") == notes_before
    assert not (git_repo / "docs" / "phases" / "2.md").exists()
    assert git(git_repo, "tag", "-l", "phase/2") == ""


def test_no_commit_tags_head_and_leaves_the_report_to_commit(git_repo: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    head = git(git_repo, "rev-parse", "HEAD").strip()
    cli(git_repo, "tag", "2", "-q", "--no-commit")
    assert git(git_repo, "rev-parse", "phase/2^{commit}").strip() == head
    assert note(git_repo, "phase/2")["commit"] == head
    assert git(git_repo, "status", "--porcelain") == "?? docs/phases/2.md\n"


def test_push_sends_the_tag_and_the_snapshots(git_repo: Path, remote: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    out, _ = cli(git_repo, "tag", "2", "-q", "--push")
    assert "Pushed phase/2 and refs/notes/phasectl to origin" in out
    local = git(git_repo, "rev-parse", "phase/2", "refs/notes/phasectl")
    assert git(remote, "rev-parse", "phase/2", "refs/notes/phasectl") == local


def gates_repo(repo: Path, tests: str, **files: str) -> None:
    """Phase 1 tagged with TESTS_2; phase 2 committed with ``tests`` and its report."""
    project_with_phase(repo)
    python_project(repo, {"test_calc.py": tests}, **files)
    cli(repo, "report", "-q")
    git(repo, "add", "docs")
    git(repo, "commit", "--quiet", "-m", "report")


def test_check_passes_when_every_gate_holds(git_repo: Path) -> None:
    gates_repo(git_repo, TESTS_2, **{"extra.py": "X = 1\n"})
    out, _ = cli(
        git_repo, "check", "-q", "--fail-under", "50", "--max-coverage-drop", "5",
        "--no-allow-removed-tests",
    )  # fmt: skip
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["PASS"] * 5
    assert any(re.match(r"PASS  coverage >= 50% +\d+%$", line) for line in lines)


def test_check_fails_on_a_new_failing_test(git_repo: Path) -> None:
    gates_repo(git_repo, TESTS_3)
    out, _ = cli(git_repo, "check", "-q", code=1)
    assert "FAIL  no new failing tests  1 newly failing: tests/test_calc.py::test_add" in out
    out, _ = cli(git_repo, "check", "-q", "--allow-new-failures")
    assert "FAIL" not in out


def test_check_fails_on_a_coverage_drop(git_repo: Path) -> None:
    weaker = TESTS_2.replace("    assert sign(0) == 0\n    assert sign(5) == 1\n", "")
    gates_repo(git_repo, weaker)
    out, _ = cli(git_repo, "check", "-q", "--max-coverage-drop", "1", code=1)
    drop = re.search(r"FAIL  coverage drop <= 1 points +(-\d+\.\d) points", out)
    assert drop is not None, out
    # The figure is the difference of coverage.py's own totals at the two commits.
    stored = note(git_repo, "phase/1")["coverage"]["percent"]
    data = json.loads(cli(git_repo, "collect", "-q", "--format", "json")[0])
    assert float(drop.group(1)) == round(data["coverage"]["after"]["percent"] - stored, 1)


def test_check_fails_on_a_stale_report(git_repo: Path) -> None:
    gates_repo(git_repo, TESTS_2)
    commit(git_repo, {"late.py": "L = 1\n"}, "late")
    out, _ = cli(git_repo, "check", "-q", code=1)
    assert re.search(r"FAIL  report current +.*main\.md stale; run phasectl --repo .* report", out)
    report = git_repo / "docs" / "phases" / "main.md"
    assert "late.py" not in report.read_text()  # check writes nothing


def test_check_cannot_measure_coverage_without_tests(git_repo: Path) -> None:
    gates_repo(git_repo, TESTS_2)
    out, err = cli(git_repo, "check", "--no-tests", "--no-report-current", "--fail-under", "1",
                   code=2)  # fmt: skip
    assert re.search(r"N/A   coverage >= 1% +coverage not collected", out)
    assert "could not be measured" in err


def test_gates_come_from_the_config(git_repo: Path) -> None:
    gates_repo(git_repo, TESTS_2, **{".phasectl.toml": "[check]\nfail_under = 100\n"})
    out, _ = cli(git_repo, "check", "-q", code=1)
    assert re.search(r"FAIL  coverage >= 100% +\d+%", out)


def test_a_report_region_survives_tagging_byte_for_byte(git_repo: Path) -> None:
    project_with_phase(git_repo)
    path = git_repo / "docs" / "phases" / "1.md"
    text = document.decode(path.read_bytes())
    regions = document.region_contents(text)
    assert set(regions) == {
        "metrics", "technical-debt", "documentation", "code-changes", "testing-impact",
        "test-results",
    }  # fmt: skip
    assert "Tests Passing: no baseline → 2/2\n" in regions["metrics"]


def test_a_clone_reads_the_pushed_snapshots_after_init_notes(
    git_repo: Path, tmp_path: Path, remote: Path
) -> None:
    project_with_phase(git_repo)
    git(git_repo, "push", "--quiet", "origin", "main", "phase/1", "refs/notes/phasectl")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    out, err = cli(clone, "history", "--format", "json")
    assert "git fetch origin refs/notes/phasectl:refs/notes/phasectl" in err
    (counted,) = json.loads(out)["phases"]  # lines from git, without the report's commit
    assert counted["snapshot"] is False
    cli(clone, "init", "--notes")
    git(clone, "fetch", "--quiet")
    out, err = cli(clone, "history", "--format", "json")
    assert "Warning" not in err
    (row,) = json.loads(out)["phases"]
    assert row["snapshot"] is True
    assert row["tests"]["passed"] == 2
    assert (row["lines_added"], row["files_changed"]) == (
        counted["lines_added"],
        counted["files_changed"],
    )


def test_the_hook_lets_a_freshly_tagged_phase_through_with_the_default_gates(
    git_repo: Path, remote: Path
) -> None:
    project_with_phase(git_repo)
    cli(git_repo, "hook", "install")
    commit(git_repo, {"more.py": "M = 1\n"})
    out, _ = cli(git_repo, "tag", "2", "-q", "--push")
    assert "Pushed phase/2" in out
    assert git(remote, "rev-parse", "phase/2") == git(git_repo, "rev-parse", "phase/2")
    # Judged from elsewhere, the tag's committed report is what counts.
    commit(git_repo, {"later.py": "L = 1\n"})
    out, _ = cli(git_repo, "check", "-q", "--head", "phase/2")
    assert re.search(r"PASS  report current +.*2\.md", out)


def test_check_after_tag_uses_the_recorded_figures_so_timings_do_not_go_stale(
    git_repo: Path,
) -> None:
    config = (
        'pytest_args = ["--benchmark-json=bench.json", "--benchmark-min-rounds=3"]\n'
        'benchmark_json = "bench.json"\n'
    )
    extra = {".phasectl.toml": config, ".gitignore": "__pycache__/\n.coverage*\nbench.json\n"}
    python_project(git_repo, {"test_bench.py": BENCH_TEST}, **extra)
    cli(git_repo, "tag", "1", "-q")
    python_project(git_repo, {"test_bench.py": BENCH_TEST + "\n\ndef test_b():\n    pass\n"})
    cli(git_repo, "tag", "2", "-q")
    assert "- Performance: `" in (git_repo / "docs" / "phases" / "2.md").read_text()
    out, err = cli(git_repo, "check", "-q", "--no-allow-removed-tests")
    assert "from the snapshot its tag stored" in err
    assert [line.split()[0] for line in out.splitlines()] == ["PASS"] * 3


def test_a_failed_tag_gives_back_what_was_staged_for_the_report(git_repo: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    cli(git_repo, "report", "--no-tests", "--name", "2")
    git(git_repo, "add", "docs/phases/2.md")
    path = git_repo / "docs" / "phases" / "2.md"
    path.write_text(path.read_text() + "\nMore story.\n")
    hook = git_repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    before = state(git_repo)
    text = path.read_bytes()
    cli(git_repo, "tag", "2", "-q", code=2)
    assert state(git_repo) == before
    assert "AM docs/phases/2.md" in git(git_repo, "status", "--short")
    assert path.read_bytes() == text


def test_tag_starts_from_the_draft_report_and_ignores_phasectl_reports(git_repo: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    cli(git_repo, "report", "--no-tests")  # docs/phases/main.md, untracked
    draft = git_repo / "docs" / "phases" / "main.md"
    draft.write_text(draft.read_text().replace("[Brief description", "Drafted story. [Brief"))
    _, err = cli(git_repo, "tag", "2", "-q")
    assert "2.md starts from" in err
    assert "Drafted story." in git(git_repo, "show", "phase/2:docs/phases/2.md")


def test_tag_report_outside_the_repository_needs_no_commit(git_repo: Path, tmp_path: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    outside = tmp_path / "elsewhere.md"
    _, err = cli(git_repo, "tag", "2", "-q", "--report", str(outside), code=2)
    assert "outside the repository" in err
    assert "Traceback" not in err
    cli(git_repo, "tag", "2", "-q", "--report", str(outside), "--no-commit")
    assert outside.read_text().startswith("# Phase: 2\n")


def test_an_ignored_report_folder_is_a_clear_error(git_repo: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {".gitignore": "docs/\n", "more.py": "M = 1\n"})
    before = state(git_repo)
    _, err = cli(git_repo, "tag", "2", "-q", code=2)
    last = err.strip().splitlines()[-1]
    assert "ignored by one of your .gitignore files" in last
    assert "hint:" not in last
    assert state(git_repo) == before
