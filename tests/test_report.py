"""``phasectl report`` end to end: real repositories, the real CLI, the report file's bytes."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from phasectl.report import document

from conftest import commit, git, outside, run_cli
from support.projects import coverage_report_total, pytest_summary, python_project

# A copy of the team's seed report (shared/seed/phase-template.md), byte for byte.
SEED = Path(__file__).resolve().parent / "fixtures" / "phase-template.md"
REGIONS = (
    "objectives",
    "accomplishments",
    "metrics",
    "technical-debt",
    "documentation",
    "code-changes",
    "testing-impact",
    "test-results",
)


def report(repo: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = run_cli("--repo", str(repo), "report", *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def last_line(err: str) -> str:
    """The error line: warnings about the range come before it."""
    return err.strip().splitlines()[-1]


def two_phases(repo: Path) -> None:
    commit(
        repo,
        {
            "src/app.py": '"""The application."""\n\nVALUE = 1\n',
            "src/old.py": "# Going away.\nX = 1\nY = 2\n",
            "README.md": "# App\n",
        },
    )
    git(repo, "tag", "phase/1")
    commit(
        repo,
        {
            "src/app.py": '"""The application."""\n\nVALUE = 2\nOTHER = 3\n',
            "src/old.py": None,
            "src/helpers.py": '"""Small helpers for the app."""\n',
            "tests/test_helpers.py": "def test_one():\n    assert True\n",
            "docs/guide.md": "Guide\n=====\n\nHow to use it.\n",
        },
    )


def region_text(path: Path, name: str) -> str:
    return document.region_contents(document.decode(path.read_bytes()))[name]


def test_creates_the_report_from_the_full_template(git_repo: Path) -> None:
    two_phases(git_repo)
    out, _ = report(git_repo, "--no-tests")
    path = git_repo / "docs" / "phases" / "main.md"
    assert out == f"{path}: created\n"
    text = path.read_text()
    assert [r.name for r in document.find_regions(text)] == list(REGIONS)
    assert text.startswith("# Phase: main\n\n## Date: ")
    assert "## Summary\n[Brief description" in text  # people's sections keep the prompts
    changes = region_text(path, "code-changes")
    assert "- `src/helpers.py` (+1 -0) — Small helpers for the app.\n" in changes
    assert "- `src/app.py` (+2 -1)\n" in changes
    assert "- `src/old.py` (+0 -3)\n" in changes
    numstat = git(git_repo, "diff", "--numstat", "phase/1", "HEAD")
    added = sum(int(line.split("\t")[0]) for line in numstat.splitlines())
    removed = sum(int(line.split("\t")[1]) for line in numstat.splitlines())
    metrics = region_text(path, "metrics")
    assert f"- Lines Added: {added}\n- Lines Removed: {removed}\n" in metrics
    assert "- Files Created: 3\n- Files Modified: 1\n- Files Deleted: 1\n" in metrics
    assert "- Tests Passing: not collected\n- Coverage: not collected\n" in metrics
    assert "- `docs/guide.md` (+4 -0) — Guide\n" in region_text(path, "documentation")
    assert "### Tests Added\n- `tests/test_helpers.py` (+2 -0)\n" in region_text(
        path, "testing-impact"
    )
    before = path.read_bytes()
    out, _ = report(git_repo, "--no-tests")
    assert out == f"{path}: already current\n"
    assert path.read_bytes() == before


def test_update_keeps_every_byte_people_wrote(git_repo: Path) -> None:
    two_phases(git_repo)
    report(git_repo, "--no-tests")
    path = git_repo / "docs" / "phases" / "main.md"
    text = path.read_text()
    text = text.replace(
        "[Brief description of what this phase accomplished and why it was important]",
        "We shipped the helpers.   \r\nÜnïcödé, tabs\tand trailing spaces  ",
    )
    text = text.replace(
        "- `src/app.py` (+2 -1)\n", "- `src/app.py` (+2 -1) — bumped VALUE for the release\n"
    )
    text = text.rstrip("\n")  # no final newline
    path.write_bytes(text.encode())
    commit(git_repo, {"src/more.py": "# More code.\nZ = 1\n"}, "more")
    report(git_repo, "--no-tests")
    new = document.decode(path.read_bytes())
    assert outside(new) == outside(text)
    assert "helpers.   \r\nÜnïcödé" in new
    changes = region_text(path, "code-changes")
    assert "- `src/more.py` (+2 -0) — More code.\n" in changes
    assert "- `src/app.py` (+2 -1) — bumped VALUE for the release\n" in changes
    assert not new.endswith("\n")
    again = path.read_bytes()
    report(git_repo, "--no-tests")
    assert path.read_bytes() == again


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_seed_report_without_markers_gets_regions_under_its_headings(
    git_repo: Path, newline: str
) -> None:
    two_phases(git_repo)
    seed = SEED.read_text(encoding="utf-8").replace("\n", newline)
    path = git_repo / "notes" / "phase-2.md"
    path.parent.mkdir()
    path.write_bytes(seed.encode())
    out, _ = report(git_repo, "--no-tests", "--output", str(path))
    assert out.endswith("updated\n")
    new = document.decode(path.read_bytes())
    regions = document.find_regions(new)
    assert sorted(r.name for r in regions) == sorted(REGIONS)
    # Removing the inserted blocks gives the seed back, byte for byte.
    stripped = new
    for region in reversed(regions):
        begin = stripped.rfind(newline, 0, region.content_start - len(newline)) + len(newline)
        end = stripped.index(newline, region.content_end) + len(newline)
        stripped = stripped[:begin] + stripped[end:]
    assert stripped == seed
    assert f"## Metrics{newline}<!-- phasectl:begin metrics -->{newline}" in new
    assert f"### Test Results{newline}<!-- phasectl:begin test-results -->{newline}```" in new
    assert f"## Technical Debt Introduced{newline}<!-- phasectl:begin technical-debt -->" in new
    assert "\n" not in new.replace("\r\n", "") if newline == "\r\n" else True
    before = path.read_bytes()
    report(git_repo, "--no-tests", "--output", str(path))
    assert path.read_bytes() == before


def test_document_without_regions_or_headings_is_an_error(git_repo: Path) -> None:
    two_phases(git_repo)
    path = git_repo / "free.md"
    path.write_text("# Just notes\n\nNothing to fill.\n")
    _, err = report(git_repo, "--no-tests", "--output", str(path), code=2)
    assert last_line(err).startswith("Error: ")
    assert "no phasectl regions" in err
    assert path.read_text() == "# Just notes\n\nNothing to fill.\n"


def test_check_reports_stale_and_current_and_writes_nothing(git_repo: Path) -> None:
    two_phases(git_repo)
    path = git_repo / "docs" / "phases" / "main.md"
    out, err = report(git_repo, "--no-tests", "--check", code=1)
    assert not path.exists()
    assert "does not exist; regenerate it with: phasectl --repo" in err
    report(git_repo, "--no-tests")
    before = path.read_bytes()
    out, _ = report(git_repo, "--no-tests", "--check")
    assert out == f"{path}: current\n"
    commit(git_repo, {"src/new.py": "N = 1\n"}, "another")
    out, err = report(git_repo, "--no-tests", "--check", code=1)
    assert path.read_bytes() == before
    assert f"--- {path} (on disk)" in out
    assert "+- `src/new.py` (+1 -0)" in out
    # The report, committed by the helper with everything else, is documentation created
    # in this phase, but not authored lines.
    assert "-- Files Created: 3\n+- Files Created: 5\n" in out
    lines = before.count(b"\n")  # the report as committed: every line of it added
    assert f"+- `docs/phases/main.md` (+{lines} -0, not authored) — Phase: main\n" in out
    assert err.strip().endswith(f"regenerate it with: phasectl --repo {git_repo} report --no-tests")


def test_broken_markers_are_an_error_and_the_file_is_untouched(git_repo: Path) -> None:
    two_phases(git_repo)
    path = git_repo / "docs" / "phases" / "main.md"
    path.parent.mkdir(parents=True)
    cases = {
        "unbalanced": "## Metrics\n<!-- phasectl:begin metrics -->\nold\n",
        "duplicated": "<!-- phasectl:begin metrics -->\n<!-- phasectl:end metrics -->\n" * 2,
        "nested": "<!-- phasectl:begin metrics -->\n<!-- phasectl:begin test-results -->\n"
        "<!-- phasectl:end test-results -->\n<!-- phasectl:end metrics -->\n",
    }
    for text in cases.values():
        path.write_text(text)
        _, err = report(git_repo, "--no-tests", code=2)
        assert last_line(err).startswith("Error: ")
        assert "metrics" in last_line(err)
        assert path.read_text() == text


def test_unknown_region_without_a_template_is_an_error(git_repo: Path) -> None:
    two_phases(git_repo)
    path = git_repo / "report.md"
    text = "<!-- phasectl:begin churn -->\n<!-- phasectl:end churn -->\n"
    path.write_text(text)
    _, err = report(git_repo, "--no-tests", "-o", str(path), code=2)
    assert "region 'churn'" in err
    assert "sections/churn.md.j2" in err
    assert path.read_text() == text


def test_project_templates_override_the_built_in_ones(git_repo: Path) -> None:
    two_phases(git_repo)
    sections = git_repo / ".phasectl" / "templates" / "sections"
    sections.mkdir(parents=True)
    (sections / "metrics.md.j2").write_text(
        "Lines: +{{ metrics.measurements[2].value }}\nHead: {{ head.sha[:7] }}\n"
    )
    (sections / "churn.md.j2").write_text(
        "{% for group in code_changes.groups %}{{ group.title }}={{ group.count }}\n{% endfor %}"
    )
    path = git_repo / "report.md"
    path.write_text(
        "# Mine\n<!-- phasectl:begin metrics -->\n<!-- phasectl:end metrics -->\n"
        "<!-- phasectl:begin churn -->\n<!-- phasectl:end churn -->\n"
    )
    report(git_repo, "--no-tests", "-o", str(path))
    head = git(git_repo, "rev-parse", "--short=7", "HEAD").strip()
    assert path.read_text() == (
        "# Mine\n<!-- phasectl:begin metrics -->\n"
        f"Lines: +9\nHead: {head}\n<!-- phasectl:end metrics -->\n"
        "<!-- phasectl:begin churn -->\nFiles Created=3\nFiles Modified=1\nFiles Deleted=1\n"
        "<!-- phasectl:end churn -->\n"
    )


def test_full_template_override_and_templates_dir_setting(git_repo: Path) -> None:
    commit(git_repo, {"pyproject.toml": '[tool.phasectl]\ntemplates_dir = "tpl"\n'})
    folder = git_repo / "tpl"
    folder.mkdir()
    (folder / "phase.md.j2").write_text("# {{ title }}\n\n{{ regions['metrics'] }}")
    out, _ = report(git_repo, "--no-tests", "--name", "alpha")
    path = git_repo / "docs" / "phases" / "alpha.md"
    assert out == f"{path}: created\n"
    text = path.read_text()
    assert text.startswith("# alpha\n\n<!-- phasectl:begin metrics -->\n- **Before**: not")
    assert [r.name for r in document.find_regions(text)] == ["metrics"]


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ metrics.measurements.append(1) }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_a_template_that_reaches_for_python_internals_is_refused(git_repo: Path, body: str) -> None:
    two_phases(git_repo)
    sections = git_repo / ".phasectl" / "templates" / "sections"
    sections.mkdir(parents=True)
    (sections / "metrics.md.j2").write_text(f"ok\n{body}\n")
    _, err = report(git_repo, "--no-tests", code=2)
    assert last_line(err).startswith("Error: template ")
    assert "metrics.md.j2" in err
    assert "Traceback" not in err
    assert not (git_repo / "docs" / "phases").exists()


def test_a_misspelt_variable_names_the_template_and_line(git_repo: Path) -> None:
    two_phases(git_repo)
    sections = git_repo / ".phasectl" / "templates" / "sections"
    sections.mkdir(parents=True)
    template = sections / "code-changes.md.j2"
    template.write_text("first\nsecond\n{{ code_chnages.groups }}\n")
    _, err = report(git_repo, "--no-tests", code=2)
    assert f"{template}:3" in err
    assert "'code_chnages' is undefined" in err
    template.write_text("{% for x in %}\n")
    _, err = report(git_repo, "--no-tests", code=2)
    assert f"template syntax error at {template}:1" in err


def test_write_is_atomic_and_keeps_the_mode(git_repo: Path) -> None:
    two_phases(git_repo)
    report(git_repo, "--no-tests")
    path = git_repo / "docs" / "phases" / "main.md"
    path.chmod(0o640)
    commit(git_repo, {"src/new.py": "N = 1\n"}, "another")
    report(git_repo, "--no-tests")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["main.md"]  # no temporary left


def test_name_defaults_to_the_head_phase_tag(git_repo: Path) -> None:
    two_phases(git_repo)
    git(git_repo, "tag", "phase/2-helpers")
    out, _ = report(git_repo, "--no-tests")
    path = git_repo / "docs" / "phases" / "2-helpers.md"
    assert out == f"{path}: created\n"
    assert path.read_text().startswith("# Phase: 2-helpers\n")
    # The range is phase/1 .. the tagged head.
    assert "`phase/1`" in region_text(path, "metrics")
    git(git_repo, "checkout", "--quiet", "--detach", "HEAD~1")
    git(git_repo, "tag", "-d", "phase/2-helpers")
    out, _ = report(git_repo, "--no-tests", "--head", "main", "--base", "HEAD")
    assert out.endswith("main.md: created\n")


def test_stdout_prints_markdown_or_the_template_values(git_repo: Path) -> None:
    two_phases(git_repo)
    out, _ = report(git_repo, "--no-tests", "--stdout")
    assert out.startswith("# Phase: main\n")
    out, _ = report(git_repo, "--no-tests", "--stdout", "--format", "json")
    data = json.loads(out)
    assert data["schema"] == "phasectl-report/1"
    assert data["base"]["ref"] == "phase/1"
    titles = [g["title"] for g in data["code_changes"]["groups"]]
    assert titles == ["Files Created", "Files Modified", "Files Deleted"]
    assert not (git_repo / "docs" / "phases").exists()


def test_summary_appends_to_the_github_step_summary(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_phases(git_repo)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report(git_repo, "--no-tests", "--summary")
    text = summary.read_text()
    # A heading names the phase and its range, then come the sections.
    assert re.match(
        r"earlier step\n## Phase `main`: `phase/1` → `HEAD` \([0-9a-f]{12}\)\n\n"
        r"## Metrics\n\n- \*\*Before\*\*: not collected\n",
        text,
    ), text
    assert "\n### Test Results\n\n```\nBefore: not collected\n" in text
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    _, err = report(git_repo, "--no-tests", "--summary", "--stdout")
    assert "GITHUB_STEP_SUMMARY is not set" in err


ODD = {
    "we`ird`.py": "A = 1\n",
    "``double.py": "B = 1\n",
    "pipe|star*under_score.py": "C = 1\n",
    "[link](x).md": "# Not a link\n",
    "<script>alert(1)</script>.txt": "D\n",
    "new\nline.py": "E = 1\n",
    "-dash.py": "F = 1\n",
    "ünï cödé.py": "G = 1\n",
}


def test_odd_file_names_render_as_literal_code_spans(git_repo: Path) -> None:
    commit(git_repo, {"keep.py": "K = 1\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, dict(ODD))
    report(git_repo, "--no-tests")
    changes = region_text(git_repo / "docs" / "phases" / "main.md", "code-changes")
    for line in (
        "- ``we`ird`.py`` (+1 -0)",
        "- ``` ``double.py ``` (+1 -0)",
        "- `pipe|star*under_score.py` (+1 -0)",
        "- `<script>alert(1)</script>.txt` (+1 -0)",
        "- `new\\nline.py` (+1 -0)",
        "- `-dash.py` (+1 -0)",
        "- `ünï cödé.py` (+1 -0)",
    ):
        assert line in changes.splitlines()
    assert "- `[link](x).md` (+1 -0) — Not a link" in changes.splitlines()
    assert "<script>" not in re.sub(r"`[^`\n]*`", "", changes)


def test_figures_with_tests_equal_pytest_and_coverage_and_a_second_run_is_current(
    git_repo: Path,
) -> None:
    python_project(git_repo, {"test_calc.py": "from calc import add\n\n"
                                              "def test_add():\n    assert add(1, 2) == 3\n\n"
                                              "def test_gone():\n    assert True\n"})  # fmt: skip
    git(git_repo, "tag", "phase/1")
    python_project(
        git_repo,
        {
            "test_calc.py": "from calc import add, sign\n\n"
            "def test_add():\n    assert add(1, 2) == 3\n\n"
            "def test_sign():\n    assert sign(-3) == -1\n\n"
            "def test_broken():\n    assert sign(3) == 0\n"
        },
    )
    before_cov = coverage_at(git_repo, "phase/1")
    report(git_repo, "--quiet")
    path = git_repo / "docs" / "phases" / "main.md"
    expected = pytest_summary(git_repo)
    total, _, _ = coverage_report_total(git_repo)
    metrics = region_text(path, "metrics")
    passed = expected["passed"]
    count = sum(expected.values())
    assert f"- Tests Passing: 2/2 → {passed}/{count}\n" in metrics
    assert f"- Coverage: {before_cov}% → {total}% (" in metrics
    assert "baseline: tests run in a temporary worktree at `" in metrics
    results = region_text(path, "test-results")
    assert results.startswith(
        "```\nBefore: 2 passed, 0 failed, 0 skipped\n"
        f"After:  {passed} passed, {expected['failed']} failed, 0 skipped\n```\n"
    )
    assert "**Newly failing (1)**\n- `tests/test_calc.py::test_broken`\n" in results
    assert "**Removed (1)**\n- `tests/test_calc.py::test_gone`\n" in results
    # The baseline now comes from the note the first run stored: the report must not change.
    out, err = report(git_repo, "--quiet", "--check")
    assert out == f"{path}: current\n"
    assert "temporary worktree" not in err


def coverage_at(repo: Path, ref: str) -> str:
    """``coverage report``'s total at ``ref``, measured in a separate checkout."""
    other = repo.parent / f"at-{ref.replace('/', '-')}"
    git(repo, "worktree", "add", "--quiet", "--detach", str(other), ref)
    try:
        total, _, _ = coverage_report_total(other)
    finally:
        git(repo, "worktree", "remove", "--force", str(other))
    return total


def test_nothing_else_in_the_repository_changes(git_repo: Path) -> None:
    two_phases(git_repo)
    (git_repo / "scratch.txt").write_text("uncommitted\n")
    git(git_repo, "stash", "list")
    status = git(git_repo, "status", "--porcelain=v2", "-uall")
    head = git(git_repo, "rev-parse", "HEAD")
    report(git_repo, "--no-tests")
    after = git(git_repo, "status", "--porcelain=v2", "-uall")
    assert after.replace("? docs/phases/main.md\n", "") == status
    assert git(git_repo, "rev-parse", "HEAD") == head
    assert [p.name for p in (git_repo / "docs" / "phases").iterdir()] == ["main.md"]


def test_committing_the_report_alone_keeps_it_current(git_repo: Path) -> None:
    two_phases(git_repo)
    report(git_repo, "--no-tests")
    path = git_repo / "docs" / "phases" / "main.md"
    git(git_repo, "add", "docs/phases/main.md")
    git(git_repo, "commit", "--quiet", "-m", "the report")
    # The report describes the work before it was committed: still current.
    out, _ = report(git_repo, "--no-tests", "--check")
    assert out == f"{path}: current\n"
    # Work committed after it makes it stale.
    commit(git_repo, {"src/late.py": "L = 1\n"}, "late work")
    report(git_repo, "--no-tests", "--check", code=1)


def test_unusable_output_paths_are_clear_errors(git_repo: Path, tmp_path: Path) -> None:
    two_phases(git_repo)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target, said in (
        (blocker / "sub" / "r.md", "Not a directory"),
        (fifo, "not a regular file; use --stdout"),
        (tmp_path, "is a directory"),
    ):
        _, err = report(git_repo, "--no-tests", "-o", str(target), code=2)
        assert last_line(err).startswith("Error: ")
        assert said in err
        assert "Traceback" not in err


def test_an_unwritable_step_summary_is_a_warning(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_phases(git_repo)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    _, err = report(git_repo, "--no-tests", "--summary")
    assert "Warning: cannot append to $GITHUB_STEP_SUMMARY" in err
    assert (git_repo / "docs" / "phases" / "main.md").exists()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"caf\xe9 {{ name }}\n", "is not UTF-8"),
        (b"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}\n", "metrics.md.j2"),
    ],
)
def test_templates_that_cannot_render_are_clear_errors(
    git_repo: Path, body: bytes, said: str
) -> None:
    two_phases(git_repo)
    sections = git_repo / ".phasectl" / "templates" / "sections"
    sections.mkdir(parents=True)
    (sections / "metrics.md.j2").write_bytes(body)
    _, err = report(git_repo, "--no-tests", code=2)
    assert last_line(err).startswith("Error: template")
    assert said in err


def test_a_full_template_without_regions_is_refused(git_repo: Path) -> None:
    two_phases(git_repo)
    folder = git_repo / ".phasectl" / "templates"
    folder.mkdir(parents=True)
    (folder / "phase.md.j2").write_text("# {{ title }}\n")
    _, err = report(git_repo, "--no-tests", code=2)
    assert "places no region" in err
    assert not (git_repo / "docs" / "phases").exists()


def test_templates_stay_inside_the_repository(git_repo: Path, tmp_path: Path) -> None:
    two_phases(git_repo)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not publish\n")
    sections = git_repo / ".phasectl" / "templates" / "sections"
    sections.mkdir(parents=True)
    (sections / "metrics.md.j2").symlink_to(secret)
    _, err = report(git_repo, "--no-tests", code=2)
    assert "leads outside its templates folder" in err
    (sections / "metrics.md.j2").unlink()
    commit(git_repo, {".phasectl.toml": f'templates_dir = "{tmp_path}"\n'})
    _, err = report(git_repo, "--no-tests", code=2)
    assert "is outside the repository" in err


def test_a_bare_repository_needs_an_output_file(git_repo: Path, tmp_path: Path) -> None:
    two_phases(git_repo)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(git_repo), str(bare))
    _, err = report(bare, "--no-tests", code=2)
    assert "pass --output FILE" in err
    out, _ = report(bare, "--no-tests", "-o", str(tmp_path / "r.md"))
    assert out.endswith("created\n")


def test_purposes_are_read_past_a_submodule_entry(git_repo: Path) -> None:
    first = commit(git_repo, {"a.py": "A = 1\n"})
    git(git_repo, "tag", "phase/1")
    # A gitlink to a commit this repository has: cat-file prints that commit's object too.
    git(git_repo, "update-index", "--add", "--cacheinfo", f"160000,{first},aaa")
    commit(git_repo, {"z.py": '"""Last in line."""\n'})
    report(git_repo, "--no-tests")
    changes = region_text(git_repo / "docs" / "phases" / "main.md", "code-changes")
    assert "- `z.py` (+1 -0) — Last in line.\n" in changes


def test_a_report_folder_that_cannot_be_created_is_a_clear_error(
    git_repo: Path, tmp_path: Path
) -> None:
    two_phases(git_repo)
    (git_repo / "docs" / "phases").write_text("a file where the folder should be\n")
    _, err = report(git_repo, "--no-tests", "--name", "x", code=2)
    assert last_line(err).startswith("Error: ")
    assert "Traceback" not in err
