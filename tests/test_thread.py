"""The phase thread end to end: phase 2's report judges the plan phase 1's report made.

A real repository, the real pytest and coverage, the real CLI. The plan's criteria are
checked against the figures ``phasectl collect --format json`` measures in the same test,
the duration against the dates the test gave its commits, the Accomplishments against
the commits' subjects as ``git log`` prints them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from phasectl.report import document

from conftest import commit, git, run_cli
from support.projects import CALC, CALC_TEST, python_project

TESTS_1 = CALC_TEST
TESTS_2 = (
    TESTS_1
    + """

def test_sign():
    from calc import sign
    assert sign(-2) == -1
    assert sign(0) == 0
"""
)

CRITERIA = """\
- [ ] Coverage ≥ 50%
- [ ] Coverage ≥ 99.5%
- [ ] Patch Coverage > 10%
- [ ] Tests Passing ≥ 2/2
- [ ] Tests Passing = 100%
- [ ] Lines Added < 5
- [ ] Files Created >= 1
- [ ] Files Modified <= 1
- [ ] No new failing tests
- [ ] All tests passing
- [ ] Performance `test_parse` < 2ms
- [ ] The team has reviewed the API
"""
STEPS = """\
1. **Cover the sign function**
   - Add a test
   - Expected outcome: sign is tested

2. **Write the usage notes**
   - Expected outcome: a page in docs/
"""
ESTIMATE = """\
- **Optimistic**: 1 day
- **Realistic**: 2 days
- **Pessimistic**: 4 days
"""
# Phase 2's work: (when, author, subject, body, files). The branch's commit is merged.
WORK = [
    ("2026-03-02T09:00:00+00:00", "ada@example.com", "test(calc): cover sign", "",
     {"tests/test_calc.py": TESTS_2}),
    ("2026-03-03T15:30:00+02:00", "bob@example.com", "feat(api)!: add mul",
     "Multiplication.\n\nBREAKING CHANGE: mul takes two numbers", {"api.py": "MUL = 1\n"}),
    ("2026-03-03T18:00:00+00:00", "ada@example.com", "fix: handle zero in sign", "",
     {"calc.py": CALC + "\n\ndef zero():\n    return 0\n"}),
    ("2026-03-04T12:00:00+00:00", "ada@example.com", "Add a readme", "",
     {"README.md": "# calc\n"}),
]  # fmt: skip
MERGED = ("2026-03-04T10:00:00+00:00", "docs: usage notes", {"docs/usage.md": "# Usage\n"})
MERGE_AT = "2026-03-04T20:00:00+00:00"


def cli(repo: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = run_cli("--repo", str(repo), *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def dated(monkeypatch: pytest.MonkeyPatch, when: str, email: str = "ada@example.com") -> None:
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", email)


def region(text: str, name: str) -> str:
    return document.region_contents(text)[name]


def write_plan(repo: Path) -> None:
    """Fill the Next Phase section of phase 1's report, as a team lead would."""
    path = repo / "docs/phases/1.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("- [ ] [Measurable outcome]\n" * 3, CRITERIA)
    steps = re.search(r"### Implementation Steps\n(.*?)\n### ", text, re.DOTALL)
    assert steps is not None
    text = text.replace(steps[1], STEPS)
    text = re.sub(r"(### Estimated Time\n)(- .*\n)+", lambda m: m[1] + ESTIMATE, text)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def two_phases(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Phase 1 tagged; its plan written and committed; phase 2's commits on set dates,
    a branch merged among them; phase 2 tagged."""
    dated(monkeypatch, "2026-02-20T10:00:00+00:00")
    python_project(git_repo, {"test_calc.py": TESTS_1})
    cli(git_repo, "tag", "1", "-q")
    dated(monkeypatch, "2026-03-01T08:00:00+00:00")
    write_plan(git_repo)
    commit(git_repo, {}, "docs: plan phase 2")  # only the report: not phase 2's work
    shas = {}
    for when, email, subject, body, files in WORK:
        dated(monkeypatch, when, email)
        message = f"{subject}\n\n{body}" if body else subject
        shas[subject] = commit(git_repo, files, message)
    git(git_repo, "checkout", "--quiet", "-b", "docs", f"{shas['fix: handle zero in sign']}")
    when, subject, files = MERGED
    dated(monkeypatch, when)
    shas[subject] = commit(git_repo, files, subject)
    git(git_repo, "checkout", "--quiet", "main")
    dated(monkeypatch, MERGE_AT)
    git(git_repo, "merge", "--quiet", "--no-ff", "-m", "Merge branch 'docs'", "docs")
    shas["merge"] = git(git_repo, "rev-parse", "HEAD").strip()
    out, _ = cli(git_repo, "tag", "2", "-q")
    assert out.startswith("Tagged phase/2")
    report = (git_repo / "docs/phases/2.md").read_text(encoding="utf-8")
    # What phasectl measures for that range, collected again by the user's own command.
    data = json.loads(cli(git_repo, "collect", "--format", "json", "--base", "phase/1",
                          "--head", shas["merge"])[0])  # fmt: skip
    return {"shas": shas, "report": report, "collect": data}


RESULT = re.compile(
    r"^- \[(?P<box>[ x])\] (?P<text>.+?)(?: — (?P<shown>.+?)(?: (?P<mark>[✅❌]))?)?$"
)


def judged(report: str) -> dict[str, dict[str, str | None]]:
    lines = [line for line in region(report, "objectives").split("\n") if line.startswith("- [")]
    found = {}
    for line in lines:
        match = RESULT.match(line)
        assert match is not None, line
        found[match["text"]] = match.groupdict()
    return found


def test_the_plan_is_judged_on_the_measured_figures(two_phases: dict[str, Any]) -> None:
    report, data = two_phases["report"], two_phases["collect"]
    found = judged(report)
    tests, coverage = data["tests"]["after"], data["coverage"]
    totals, patch = data["diff"]["totals"], coverage["patch"]
    shown_coverage = coverage["after"]["percent_display"]
    shown_patch = f"{patch['percent']:.1f}"
    authored = f"{totals['lines_added']} ({totals['authored_lines_added']} authored)"
    newly_failing = len(data["tests"]["changes"]["newly_failing"])
    expected = {
        "Coverage ≥ 50%": (f"{shown_coverage}%", float(shown_coverage) >= 50),
        "Coverage ≥ 99.5%": (f"{shown_coverage}%", float(shown_coverage) >= 99.5),
        "Patch Coverage > 10%": (f"{shown_patch}%", float(shown_patch) > 10),
        "Tests Passing ≥ 2/2": (
            f"{tests['passed']}/{tests['total']}",
            tests["passed"] >= 2 and tests["total"] >= 2,
        ),
        "Tests Passing = 100%": (
            f"{tests['passed']}/{tests['total']} (100.0%)",
            tests["passed"] == tests["total"],
        ),
        "Lines Added < 5": (authored, totals["lines_added"] < 5),
        "Files Created >= 1": (str(totals["files_created"]), totals["files_created"] >= 1),
        "Files Modified <= 1": (str(totals["files_modified"]), totals["files_modified"] <= 1),
        "No new failing tests": (f"{newly_failing} newly failing", newly_failing == 0),
        "All tests passing": (
            f"{tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped",
            tests["failed"] == 0 and tests["passed"] > 0,
        ),
    }
    assert set(found) == {*expected, "Performance `test_parse` < 2ms",
                          "The team has reviewed the API", "Cover the sign function",
                          "Write the usage notes"}  # fmt: skip
    for text, (shown, ok) in expected.items():
        line = found[text]
        assert line["shown"] == shown, text
        assert line["mark"] == ("✅" if ok else "❌"), text
        assert line["box"] == ("x" if ok else " "), text
    # Both verdicts occur: the plan was met in part.
    assert {line["mark"] for line in found.values()} >= {"✅", "❌"}
    # The figures are the Metrics region's own, character for character.
    metrics = region(report, "metrics")
    before = coverage["before"]["percent_display"]
    assert f"- Coverage: {before}% → {shown_coverage}% " in metrics
    assert f"- Patch Coverage: {shown_patch}% (" in metrics
    assert f"- Lines Added: {authored}\n" in metrics
    # No benchmarks were collected: neither mark. People's lines are left to people.
    assert found["Performance `test_parse` < 2ms"] == {
        "box": " ", "text": "Performance `test_parse` < 2ms", "shown": "not measured", "mark": None
    }  # fmt: skip
    for text in ("The team has reviewed the API", "Cover the sign function"):
        assert found[text] == {"box": " ", "text": text, "shown": None, "mark": None}
    objectives = region(report, "objectives")
    assert objectives.startswith("_From the plan in `docs/phases/1.md`")
    assert "**Implementation Steps**\n- [ ] Cover the sign function\n" in objectives


def test_the_duration_is_measured_from_the_commit_dates(
    two_phases: dict[str, Any], git_repo: Path
) -> None:
    report = two_phases["report"]
    first = datetime.fromisoformat(WORK[0][0])
    last = datetime.fromisoformat(MERGE_AT)
    days = (last - first).total_seconds() / 86400  # 2.46: the plan's commit is not counted
    assert round(days) == 2
    utc_dates = {
        datetime.fromisoformat(when).astimezone(timezone.utc).date()
        for when in [*(w[0] for w in WORK), MERGED[0], MERGE_AT]
    }
    assert len(utc_dates) == 3
    line = "Duration: 2 days (estimated: 2 days realistic, 1\u20134 days); commits on 3 days\n"
    assert f"- {line}" in region(report, "metrics")
    # The tag's message carries it with the other figures; history lists it with the estimate.
    message = git(git_repo, "tag", "-l", "--format=%(contents)", "phase/2")
    assert line in message
    rows = json.loads(cli(git_repo, "history", "--format", "json")[0])["phases"]
    assert [(r["tag"], r["duration"], r["commit_days"], r["estimate"]) for r in rows] == [
        ("phase/1", "under 1 day", 1, None),
        ("phase/2", "2 days", 3, "2 days"),
    ]
    assert rows[1]["duration_s"] == (last - first).total_seconds()


def test_accomplishments_group_the_commits_by_type(
    two_phases: dict[str, Any], git_repo: Path
) -> None:
    shas = two_phases["shas"]
    text = region(two_phases["report"], "accomplishments")
    # The subjects and short ids as git prints them.
    logged = dict(
        line.split(" ", 1)
        for line in git(git_repo, "log", "--format=%h %s", "--abbrev=7", "phase/1..phase/2^")
        .strip()
        .split("\n")
    )
    assert logged[shas["feat(api)!: add mul"][:7]] == "feat(api)!: add mul"
    short = {subject: sha[:7] for subject, sha in shas.items()}
    assert text == (
        "_5 commits by 2 authors; 1 merge not listed._\n\n"
        "### Features\n"
        f"- ✅ **api:** add mul ⚠️ BREAKING ({short['feat(api)!: add mul']})\n\n"
        "### Bug Fixes\n"
        f"- ✅ handle zero in sign ({short['fix: handle zero in sign']})\n\n"
        "### Documentation\n"
        f"- ✅ usage notes ({short['docs: usage notes']})\n\n"
        "### Testing\n"
        f"- ✅ **calc:** cover sign ({short['test(calc): cover sign']})\n\n"
        "### Other\n"
        f"- ✅ Add a readme ({short['Add a readme']})\n"
    )
    # Neither the plan's commit (reports only) nor phasectl's report commits are listed.
    assert "plan phase 2" not in text
    assert "phasectl: report" not in text


def test_a_refresh_is_quiet_and_keeps_what_people_wrote(
    two_phases: dict[str, Any], git_repo: Path
) -> None:
    out, _ = cli(git_repo, "report", "--check")
    assert out.endswith("2.md: current\n")
    path = git_repo / "docs/phases/2.md"
    text = path.read_text(encoding="utf-8")
    short = two_phases["shas"]["Add a readme"][:7]
    edited = (
        text.replace(
            "- [ ] The team has reviewed the API\n",
            "- [x] The team has reviewed the API — in the March review\n",
        )
        .replace("- [ ] Cover the sign function\n", "- [x] Cover the sign function\n")
        .replace(f"- ✅ Add a readme ({short})", f"- ⚠️ Add a readme, still short ({short})")
    )
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    out, _ = cli(git_repo, "report")
    assert out.endswith("2.md: already current\n")
    assert path.read_text(encoding="utf-8") == edited
    # A ✅ or ❌ is phasectl's: a judged line reads as measured again.
    path.write_text(edited.replace("— 2/2 ✅", "— 2/2 ❌"), encoding="utf-8")
    out, _ = cli(git_repo, "report")
    assert out.endswith("2.md: updated\n")
    assert path.read_text(encoding="utf-8") == edited
    # The previous report is never edited by judging it.
    assert git(git_repo, "status", "--porcelain", "--", "docs/phases/1.md") == ""


def test_without_a_previous_plan_the_regions_say_so(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": TESTS_1})
    cli(git_repo, "tag", "1", "-q")
    report = (git_repo / "docs/phases/1.md").read_text(encoding="utf-8")
    assert region(report, "objectives") == (
        "No plan to judge: this is the first phase, with no phase tag before it.\n"
    )
    python_project(git_repo, {"test_calc.py": TESTS_2})
    cli(git_repo, "tag", "2", "-q")
    report = (git_repo / "docs/phases/2.md").read_text(encoding="utf-8")
    assert region(report, "objectives") == (
        "No plan to judge: `docs/phases/1.md` holds no Success Criteria, Implementation "
        "Steps or Estimated Time under its Next Phase heading.\n"
    )
    assert "- Duration: under 1 day; commits on 1 day\n" in region(report, "metrics")


def test_the_lean_template_holds_the_measured_regions_and_no_prompts(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": TESTS_1}, **{".phasectl.toml": 'template = "lean"\n'})
    cli(git_repo, "tag", "1", "-q")
    text = (git_repo / "docs/phases/1.md").read_text(encoding="utf-8")
    names = [r.name for r in document.find_regions(text)]
    assert names == [
        "objectives", "accomplishments", "metrics", "technical-debt", "documentation",
        "code-changes", "testing-impact", "test-results",
    ]  # fmt: skip
    outside = "".join(
        text[a:b]
        for a, b in zip(
            [0, *(r.content_end for r in document.find_regions(text))],
            [r.content_start for r in document.find_regions(text)] + [len(text)],
            strict=True,
        )
    )
    assert "[" not in outside  # no "[Brief description]", no "[NEXT PHASE NAME]"
    headings = re.findall(r"^#+ .*$", outside, re.MULTILINE)
    assert headings == [
        "# Phase: 1", "## Date: " + headings[1][9:], "## Summary", "## Objectives",
        "## Accomplishments", "## Metrics", "## Technical Debt Introduced",
        "## Documentation Created", "## Code Changes", "## Testing Impact", "### Test Results",
        "## Decisions Made", "## Next Phase", "### Implementation Steps", "### Success Criteria",
        "### Estimated Time",
    ]  # fmt: skip
    # What is not measured is headings, markers and the space between them: 47 lines.
    assert len(outside.splitlines()) == 47
    # A plan written into the lean report's Next Phase is read by the next report.
    path = git_repo / "docs/phases/1.md"
    path.write_text(
        text.replace("### Success Criteria\n", "### Success Criteria\n- [ ] Coverage ≥ 10%\n"),
        encoding="utf-8",
    )
    commit(git_repo, {}, "docs: plan")
    python_project(git_repo, {"test_calc.py": TESTS_2}, **{".phasectl.toml": 'template = "lean"\n'})
    cli(git_repo, "tag", "2", "-q")
    report = (git_repo / "docs/phases/2.md").read_text(encoding="utf-8")
    assert re.search(r"^- \[x\] Coverage ≥ 10% — \d+% ✅$", region(report, "objectives"), re.M)


def test_history_times_the_first_phase_from_the_base_its_report_used(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dated(monkeypatch, "2025-12-01T10:00:00+00:00")
    commit(git_repo, {"a.py": "A = 1\n"}, "chore: start")
    git(git_repo, "tag", "v0.1")  # a release before phasectl was adopted
    for day in ("2026-01-05", "2026-01-09"):
        dated(monkeypatch, f"{day}T10:00:00+00:00")
        commit(git_repo, {"a.py": f"A = '{day}'\n"}, f"feat: work of {day}")
    cli(git_repo, "tag", "1", "-q", "--no-tests")
    report = (git_repo / "docs/phases/1.md").read_text(encoding="utf-8")
    assert "- Duration: 4 days; commits on 2 days\n" in region(report, "metrics")
    [row] = json.loads(cli(git_repo, "history", "--format", "json")[0])["phases"]
    assert (row["duration"], row["commit_days"], row["duration_s"]) == ("4 days", 2, 4 * 86_400)
