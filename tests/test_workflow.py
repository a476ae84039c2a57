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
from support.projects import (
    BENCH_TEST,
    CALC_TEST,
    coverage_report_total,
    pytest_summary,
    python_project,
)

TESTS_1 = CALC_TEST
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
    drop = re.search(r"FAIL  coverage drop <= 1 points +(-\d+) points \((\d+)% -> (\d+)%", out)
    assert drop is not None, out
    # The figure is the difference of coverage.py's own totals at the two commits, at
    # coverage.py's precision (0 here), the same decimals on both sides and in the change.
    stored = note(git_repo, "phase/1")["coverage"]["percent_display"]
    data = json.loads(cli(git_repo, "collect", "-q", "--format", "json")[0])
    head = data["coverage"]["after"]["percent_display"]
    assert drop.group(2, 3) == (stored, head)
    assert int(drop.group(1)) == int(head) - int(stored)


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
        "objectives", "accomplishments", "metrics", "technical-debt", "documentation",
        "code-changes", "testing-impact", "test-results",
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


def test_untracked_files_are_not_dirt(git_repo: Path) -> None:
    project_with_phase(git_repo)
    commit(git_repo, {"more.py": "M = 1\n"})
    venv = git_repo / ".venv" / "lib"
    venv.mkdir(parents=True)
    for i in range(5):
        (venv / f"mod{i}.py").write_text("X = 1\n")
    (git_repo / "calc.egg-info").mkdir()
    (git_repo / "calc.egg-info" / "PKG-INFO").write_text("Name: calc\n")
    (git_repo / ".phasectl.toml").write_text('report_dir = "docs/phases"\n')
    _, err = cli(git_repo, "tag", "2", "-q")
    assert "uncommitted" not in err
    assert "egg-info" not in err
    # Only the tracked work is tagged; the untracked files stay untracked.
    assert git(git_repo, "ls-tree", "-r", "--name-only", "phase/2", "--", ".venv") == ""
    assert "?? .phasectl.toml" in git(git_repo, "status", "--porcelain")


def release(repo: Path, monkeypatch: pytest.MonkeyPatch, when: str, tests: str, tag: str) -> str:
    """Commit a release of the calculator dated ``when`` and tag it ``tag``."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)
    sha = python_project(repo, {"test_calc.py": tests})
    git(repo, "tag", tag)
    return sha


def test_tag_at_adopts_past_releases_in_any_order(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shas = {
        "1": release(git_repo, monkeypatch, "2024-01-10T10:00:00+00:00", TESTS_1, "v1"),
        "2": release(git_repo, monkeypatch, "2024-06-10T10:00:00+00:00", TESTS_2, "v2"),
        "3": release(git_repo, monkeypatch, "2025-02-10T10:00:00+00:00", TESTS_2 + "\n", "v3"),
    }
    commit(git_repo, {"today.py": "T = 1\n"}, "today's work")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    main_before = git(git_repo, "rev-parse", "main").strip()
    # Tagged out of order, all from today's checkout, which is never switched.
    for name in ("1", "3", "2"):
        out, _ = cli(git_repo, "tag", name, "--at", f"v{name}", "-q")
        assert out.startswith(f"Tagged phase/{name} at {shas[name][:12]}")
        assert git(git_repo, "rev-parse", f"phase/{name}^{{commit}}").strip() == shas[name]
        assert git(git_repo, "symbolic-ref", "--short", "HEAD") == "main\n"
        assert note(git_repo, f"phase/{name}")["commit"] == shas[name]
    assert git(git_repo, "status", "--porcelain") == ""
    # The reports are committed on today's branch, one commit each, on top of its work.
    log = git(git_repo, "log", "--format=%s", f"{main_before}..main").splitlines()
    assert log == [f"phasectl: report of phase {n}" for n in ("2", "3", "1")]
    report = git(git_repo, "show", "main:docs/phases/2.md")
    assert report.startswith("# Phase: 2\n")
    assert "Tests Passing: 1/1 → 2/2\n" in report

    # The figures of phase 2 are pytest's own at v2 (measured in a worktree, not here).
    checkout = tmp_path / "v2"
    git(git_repo, "worktree", "add", "--quiet", "--detach", str(checkout), "v2")
    summary = pytest_summary(checkout)
    git(git_repo, "worktree", "remove", "--force", str(checkout))
    assert note(git_repo, "phase/2")["tests"]["passed"] == summary["passed"] == 2

    out, err = cli(git_repo, "history", "--format", "json")
    rows = json.loads(out)["phases"]
    assert [r["tag"] for r in rows] == ["phase/1", "phase/2", "phase/3"]
    assert (
        f"phase/3 was measured from {shas['1'][:12]}, not from the phase before it (phase/2)" in err
    )
    assert rows[2]["patch_percent"] == note(git_repo, "phase/3")["phase"]["patch_percent"]
    dates = [git(git_repo, "log", "-1", "--format=%cs", f"v{n}").strip() for n in "123"]
    assert [r["date"] for r in rows] == dates == ["2024-01-10", "2024-06-10", "2025-02-10"]
    assert [r["measured_commit"] for r in rows] == [shas[n] for n in "123"]
    # Phase 3 was measured from phase 1 (phase 2 was not tagged yet): history shows that
    # range, as phase 3's note and committed report do, exactly as git counts v1..v3.
    added, removed = 0, 0
    for line in git(git_repo, "diff", "--numstat", "-M50%", "v1", "v3").splitlines():
        plus, minus, _ = line.split("\t", 2)
        added, removed = added + int(plus), removed + int(minus)
    assert (rows[2]["lines_added"], rows[2]["lines_removed"]) == (added, removed)

    # The pre-push gate at an adopted tag finds its report on today's branch.
    out, _ = cli(git_repo, "check", "-q", "--head", "phase/2")
    assert re.search(r"PASS  report current +.*2\.md", out)


def test_tag_judges_the_gates_before_making_anything(git_repo: Path) -> None:
    project_with_phase(git_repo)
    python_project(git_repo, {"test_calc.py": TESTS_3})  # test_add now fails
    before = state(git_repo)
    notes_before = git(git_repo, "notes", "--ref=phasectl", "list")
    _, err = cli(git_repo, "tag", "2", "-q", code=1)
    assert "FAIL  no new failing tests  1 newly failing: tests/test_calc.py::test_add" in err
    assert err.strip().splitlines()[-1].startswith("Error: a release gate failed")
    assert state(git_repo) == before
    assert git(git_repo, "notes", "--ref=phasectl", "list") == notes_before
    assert not (git_repo / "docs" / "phases" / "2.md").exists()
    out, _ = cli(git_repo, "tag", "2", "-q", "--no-verify")
    assert out.startswith("Tagged phase/2 at ")


def test_tag_refuses_coverage_under_the_configured_gate(git_repo: Path) -> None:
    python_project(
        git_repo, {"test_calc.py": TESTS_1}, **{".phasectl.toml": "[check]\nfail_under = 90\n"}
    )
    total, _, _ = coverage_report_total(git_repo)
    assert float(total) < 90
    _, err = cli(git_repo, "tag", "1", "-q", code=1)
    assert re.search(rf"^FAIL  coverage >= 90% +{total}%$", err, re.MULTILINE)
    assert git(git_repo, "tag", "-l") == ""
    cli(git_repo, "tag", "1", "-q", "--no-verify")
    assert git(git_repo, "tag", "-l") == "phase/1\n"


def test_report_without_tests_at_a_tag_uses_its_note(git_repo: Path) -> None:
    project_with_phase(git_repo)
    path = git_repo / "docs" / "phases" / "1.md"
    tagged = path.read_bytes()
    out, err = cli(git_repo, "report", "--no-tests", "--check")
    assert out == f"{path}: current\n"
    assert "from the snapshot its tag stored" in err
    out, _ = cli(git_repo, "report", "--no-tests", "--stdout", "--format", "json")
    rows = {m["label"]: m["value"] for m in json.loads(out)["metrics"]["measurements"]}
    stored = note(git_repo, "phase/1")["tests"]
    assert rows["Tests Passing"] == f"no baseline → {stored['passed']}/{stored['total']}"
    cli(git_repo, "report", "--no-tests")
    assert path.read_bytes() == tagged
    out, _ = cli(git_repo, "check", "--no-tests")
    assert [line.split()[0] for line in out.splitlines()] == ["PASS", "PASS"]
    # Away from a tag, --no-tests still runs and reads nothing.
    commit(git_repo, {"more.py": "M = 1\n"})
    data = json.loads(cli(git_repo, "collect", "--no-tests", "--format", "json")[0])
    assert data["tests"] is None
    assert data["coverage"] is None


def test_report_json_format_needs_stdout(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "A = 1\n"})
    _, err = cli(git_repo, "report", "--no-tests", "--format", "json", code=2)
    assert err.startswith("Error: --format json prints the values")
    assert err.count("\n") == 1
    assert not (git_repo / "docs").exists()


def test_history_of_phases_tagged_on_checked_out_releases(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before --at, old releases were tagged by checking them out: each tag then sits on a
    report commit that no branch contains, dated today. history still orders and dates the
    phases by the releases, and counts each from the release before it."""
    release(git_repo, monkeypatch, "2024-01-10T10:00:00+00:00", TESTS_1, "v1")
    release(git_repo, monkeypatch, "2024-06-10T10:00:00+00:00", TESTS_2, "v2")
    release(git_repo, monkeypatch, "2025-02-10T10:00:00+00:00", TESTS_2 + "\n", "v3")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    for name in ("2", "3", "1"):
        git(git_repo, "checkout", "--quiet", "--detach", f"v{name}")
        cli(git_repo, "tag", name, "-q")
        git(git_repo, "checkout", "--quiet", "main")
    for name in "123":  # each tag is on a report commit on top of its release
        assert (
            git(git_repo, "rev-parse", f"phase/{name}^{{commit}}^").strip()
            == git(git_repo, "rev-parse", f"v{name}").strip()
        )
    rows = json.loads(cli(git_repo, "history", "--format", "json")[0])["phases"]
    assert [r["tag"] for r in rows] == ["phase/1", "phase/2", "phase/3"]
    assert [r["date"] for r in rows] == [
        git(git_repo, "log", "-1", "--format=%cs", f"v{n}").strip() for n in "123"
    ]
    for row, base, head in zip(rows[1:], ("v1", "v2"), ("v2", "v3"), strict=True):
        numstat = git(git_repo, "diff", "--numstat", "-M50%", base, head).splitlines()
        added = sum(int(line.split("\t")[0]) for line in numstat)
        assert (row["lines_added"], row["files_changed"]) == (added, len(numstat))


def test_tag_at_in_a_dirty_checkout_and_with_bad_refs(git_repo: Path) -> None:
    old = python_project(git_repo, {"test_calc.py": TESTS_1})
    python_project(git_repo, {"test_calc.py": TESTS_2})
    (git_repo / "calc.py").write_text("broken(\n")  # today's work, not committed
    _, err = cli(git_repo, "tag", "1", "--at", "nope", "-q", code=2)
    assert err.startswith("Error: unknown revision 'nope'")
    # At HEAD the checkout itself would be measured: a dirty tree is refused as ever.
    _, err = cli(git_repo, "tag", "1", "--at", "HEAD", "-q", code=2)
    assert "uncommitted changes (calc.py)" in err
    # A past commit runs in a worktree: today's changes neither block nor spoil it.
    before = (git_repo / "calc.py").read_bytes()
    cli(git_repo, "tag", "1", "--at", old[:12], "-q", "--no-commit")
    assert note(git_repo, "phase/1")["tests"]["passed"] == 1
    assert git(git_repo, "rev-parse", "phase/1^{commit}").strip() == old
    assert (git_repo / "calc.py").read_bytes() == before
    assert git(git_repo, "status", "--porcelain") == " M calc.py\n?? docs/\n"


def test_check_and_report_check_judge_the_same_report_of_a_past_head(git_repo: Path) -> None:
    # issue 22 item 6: right after `report --head 2.2.0`, `check --head 2.2.0` said the
    # report was missing (it looked in 2.2.0's tree) while `report --check` said current.
    commit(git_repo, {"a.py": "A = 1\n"}, "one")
    git(git_repo, "tag", "2.1.0")
    commit(git_repo, {"b.py": "B = 1\n"}, "two")
    git(git_repo, "tag", "2.2.0")
    commit(git_repo, {"c.py": "C = 1\n"}, "today's work")  # HEAD is past the release
    check = ("check", "--no-tests", "--allow-new-failures")
    for head in (["--head", "2.2.0"], []):
        name = "2.2.0" if head else "main"
        path = git_repo / "docs" / "phases" / f"{name}.md"
        out, _ = cli(git_repo, "report", "--no-tests", *head)
        assert out == f"{path}: created\n"
        out, _ = cli(git_repo, *check, *head)
        assert re.fullmatch(rf"PASS  report current +{re.escape(str(path))}\n", out)
        out, _ = cli(git_repo, "report", "--no-tests", "--check", *head)
        assert out == f"{path}: current\n"
        # Stale, both say so.
        path.write_text(path.read_text().replace("b.py", "x.py").replace("c.py", "x.py"))
        out, _ = cli(git_repo, *check, *head, code=1)
        assert re.fullmatch(rf"FAIL  report current +{re.escape(str(path))} stale; run .*\n", out)
        _, err = cli(git_repo, "report", "--no-tests", "--check", *head, code=1)
        assert f"{path} is stale" in err
    # A report committed in the head's tree is judged as committed there (a tag pushed
    # from elsewhere carries it), by both, whatever the work tree holds.
    commit(git_repo, {"docs/phases/2.3.0.md": "# Phase 2.3.0\n\n## Metrics\n"}, "seed")
    git(git_repo, "tag", "2.3.0")
    commit(git_repo, {"d.py": "D = 1\n"}, "later")
    path = git_repo / "docs" / "phases" / "2.3.0.md"
    out, _ = cli(git_repo, "report", "--no-tests", "--head", "2.3.0")
    assert out == f"{path}: updated\n"  # in the work tree, not in 2.3.0
    judged = f"{path} (as committed at {git(git_repo, 'rev-parse', '2.3.0')[:12]})"
    out, _ = cli(git_repo, *check, "--head", "2.3.0", code=1)
    assert f"FAIL  report current  {judged} stale; run " in out
    _, err = cli(git_repo, "report", "--no-tests", "--check", "--head", "2.3.0", code=1)
    assert f"{judged} is stale" in err
