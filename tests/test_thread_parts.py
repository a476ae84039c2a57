"""The phase thread's parts, without git: reading a plan, judging a criterion on figures
built by hand, grouping commit subjects, the time in words, and the report's lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_report_golden import (
    BASE,
    HEAD,
    benchmarks_of,
    coverage_of,
    coverage_part,
    created,
    deleted,
    inputs,
    patch,
    results_of,
    results_part,
)

from phasectl.config import parse_config
from phasectl.errors import ConfigError
from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.diff import DiffResult, RefInfo
from phasectl.model.phase import PhaseMetrics
from phasectl.repo.changes import RangeCommit
from phasectl.report.items import FOLD_AFTER, accomplishments, listing, objectives
from phasectl.report.values import build_context
from phasectl.workflow.commits import GROUPS, commit_line, group_commits, read_commit
from phasectl.workflow.plan import Estimate, Plan, in_unit, read_plan
from phasectl.workflow.thread import Duration, judge, phase_duration

SEED = Path("/work/shared/seed/phase-template.md")
TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "phase.md.j2"

# --- reading a plan -----------------------------------------------------------------------

PLAN = """\
# Phase: 3

## Next Phase: Auth

```markdown
## Next Phase: not this one, it is in a fence
### Success Criteria
- [ ] Coverage ≥ 1%
```

### Implementation Steps
1. **Sessions**
   - [Specific action]
   - **Not a step**: nested
2. **Tokens:** signed
3. **[Third Step Name]**

### Success Criteria
- [ ] Coverage ≥ 80%
  - [ ] measured on lines (a note, nested)
* [x] Tests Passing = 100%
- [ ] [Measurable outcome]
- Docs reviewed

### Estimated Time
- **Optimistic**: 6 hours
- **Realistic:** 1.5 days, if nothing breaks
- **Pessimistic**: [Z hours/days]

### Risks
- [ ] Not a criterion

## Commands to Run Next
### Success Criteria
- [ ] Not in the Next Phase section
"""


def test_a_plan_is_read_from_the_next_phase_section() -> None:
    plan = read_plan(PLAN)
    assert plan == Plan(
        criteria=("Coverage ≥ 80%", "Tests Passing = 100%", "Docs reviewed"),
        steps=("Sessions", "Tokens"),
        optimistic=Estimate(6, "hour"),
        realistic=Estimate(1.5, "day"),
        pessimistic=None,
    )
    assert plan.estimate_text() == "1.5 days realistic, 6 hours optimistic"


@pytest.mark.parametrize("template", [SEED, TEMPLATE], ids=["seed", "phasectl"])
def test_the_templates_prompts_are_no_plan(template: Path) -> None:
    if not template.is_file():
        pytest.skip(f"{template} is not here")
    plan = read_plan(template.read_text(encoding="utf-8"))
    assert plan is not None
    assert plan.empty
    assert plan == Plan()


def test_a_report_without_a_next_phase_section_has_no_plan() -> None:
    assert read_plan("# Phase: 1\n\n## Summary\nDone.\n") is None
    assert read_plan("") is None
    crlf = PLAN.replace("\n", "\r\n")
    assert read_plan(crlf) == read_plan(PLAN)


@pytest.mark.parametrize(
    ("line", "estimate"),
    [
        ("- **Realistic**: 2 days", Estimate(2, "day")),
        ("- **Realistic**: 1 day", Estimate(1, "day")),
        ("* **Realistic:** 3h", Estimate(3, "hour")),
        ("- **realistic**: 2 weeks (with review)", Estimate(2, "week")),
        ("- **Realistic**: 10 hrs", Estimate(10, "hour")),
        ("- **Realistic**: 1 wk", Estimate(1, "week")),
        ("- **Realistic**: [Y hours/days]", None),
        ("- **Realistic**: two days", None),
        ("- **Realistic**: 2 dayz", None),
    ],
)
def test_estimates(line: str, estimate: Estimate | None) -> None:
    plan = read_plan(f"## Next Phase\n### Estimated Time\n{line}\n")
    assert plan is not None
    assert plan.realistic == estimate


def test_estimate_text() -> None:
    days = Plan(optimistic=Estimate(1, "day"), realistic=Estimate(2, "day"),
                pessimistic=Estimate(4, "day"))  # fmt: skip
    assert days.estimate_text() == "2 days realistic, 1\u20134 days"
    mixed = Plan(optimistic=Estimate(6, "hour"), pessimistic=Estimate(1, "week"))
    assert mixed.estimate_text() == "6 hours\u20131 week"
    assert not mixed.empty  # an estimate alone is a plan to set the duration beside
    assert Plan().estimate_text() is None


@pytest.mark.parametrize(
    ("seconds", "unit", "text"),
    [
        (0, "day", "under 1 day"),
        (43_199, "day", "under 1 day"),
        (43_200, "day", "1 day"),  # half a day rounds up
        (86_400 * 2.49, "day", "2 days"),
        (86_400 * 2.5, "day", "3 days"),
        (5_400, "hour", "2 hours"),
        (1_000, "hour", "under 1 hour"),
        (86_400 * 10, "week", "1 week"),
        (86_400 * 3, "week", "under 1 week"),
    ],
)
def test_time_in_the_estimates_unit(seconds: float, unit: str, text: str) -> None:
    assert in_unit(seconds, unit) == text


def test_duration_runs_from_the_first_commit_to_head_in_utc() -> None:
    def at(sha: str, iso: str, parents: int = 1) -> RangeCommit:
        from datetime import datetime

        return RangeCommit(sha, parents, int(datetime.fromisoformat(iso).timestamp()), "a@x", "m")

    # Newest first, as git log lists them; one commit's own zone puts it on another UTC date.
    commits = [
        at("c", "2026-03-05T01:00:00+05:00"),  # 2026-03-04 20:00 UTC
        at("b", "2026-03-04T10:00:00+00:00", parents=2),
        at("a", "2026-03-02T09:00:00+00:00"),
    ]
    found = phase_duration(commits, "c", Estimate(3, "hour"))
    assert found == Duration(commits[2].committed, commits[0].committed, 2, "hour")
    assert found.text == "59 hours"
    assert found.line("3 hours realistic") == (
        "59 hours (estimated: 3 hours realistic); commits on 2 days"
    )
    assert phase_duration([], "c", None) is None
    one = phase_duration(commits[2:], "a", None)
    assert one is not None
    assert one.line(None) == "under 1 day; commits on 1 day"


# --- judging a criterion ------------------------------------------------------------------


def metrics_with(**parts: Any) -> PhaseMetrics:
    return PhaseMetrics(RefInfo("phase/1", BASE), RefInfo("HEAD", HEAD), DiffResult.of(()), **parts)


PASSING = [(f"tests/test_a.py::test_{n}", "passed") for n in range(1899)]
FAILING = [(f"tests/test_b.py::test_{n}", "failed") for n in range(101)]
TESTS = results_of(
    results_part(PASSING[:10], "note", BASE),
    results_part([*PASSING, *FAILING], "work tree", HEAD),
)
COVERAGE = coverage_of(
    coverage_part(80, 100, "note", BASE), coverage_part(337, 400, "work tree", HEAD), patch(6, 7)
)


@pytest.mark.parametrize(
    ("text", "verdict", "shown"),
    [
        # coverage 337/400 = 84.25%, shown with one decimal by the tool's rule: 84.2
        ("Coverage ≥ 84.2%", "pass", "84.2%"),
        ("Coverage >= 84.25", "fail", "84.2%"),  # judged on the figure as shown
        ("Coverage = 84.2%", "pass", "84.2%"),
        ("Coverage < 50%", "fail", "84.2%"),
        ("coverage > 84", "pass", "84.2%"),
        ("Patch Coverage ≥ 85.7%", "pass", "85.7%"),
        ("Patch Coverage > 85.7%", "fail", "85.7%"),
        # 1899 of 2000: 94.95%, shown with the decimals the verdict needs
        ("Tests Passing ≥ 95%", "fail", "1899/2000 (94.95%)"),
        ("Tests Passing ≥ 94.9%", "pass", "1899/2000 (95.0%)"),
        ("Tests Passing ≥ 1899/2000", "pass", "1899/2000"),
        ("Tests Passing ≥ 1900/2000", "fail", "1899/2000"),
        ("Tests Passing = 1899", "pass", "1899/2000"),
        ("Tests Passing ≤ 1,000", "fail", "1899/2000"),
        ("No new failing tests", "fail", "101 newly failing"),
        ("All tests passing", "fail", "1899 passed, 101 failed, 0 skipped"),
        ("Lines Added ≤ 1,000", "pass", "0"),
        ("Files Created = 0", "pass", "0"),
        ("Files Modified > 0", "fail", "0"),
        ("Lines Removed < 1", "pass", "0"),
        # the benchmark runs in 1.9ms as shown: 1900µs exactly
        ("Performance test_parse < 2ms", "pass", "1.9ms"),
        ("Performance `bench::test_parse` ≤ 1900µs", "pass", "1.9ms"),
        ("Performance bench::test_parse ≤ 1900 us", "pass", "1.9ms"),
        ("Performance test_parse < 1.9ms", "fail", "1.9ms"),
        ("Performance test_parse > 0.001s", "pass", "1.9ms"),
        ("Performance test_other < 1s", "unmeasured", ""),
    ],
)
def test_a_criterion_is_judged_on_the_figure_as_shown(text: str, verdict: str, shown: str) -> None:
    metrics = metrics_with(
        tests=TESTS, coverage=COVERAGE,
        benchmarks=benchmarks_of(None, {"bench::test_parse": 0.0019}),
    )  # fmt: skip
    judged = judge(text, metrics)
    assert (judged.verdict, judged.shown) == (verdict, shown)
    # The Metrics region shows the same figure.
    rows = {r["label"]: r["value"] for r in build_context(metrics, inputs("2"))["metrics"][
        "measurements"]}  # fmt: skip
    if text.startswith("Coverage"):
        assert f"\u2192 {shown} (" in rows["Coverage"]
    if text.startswith("Patch"):
        assert rows["Patch Coverage"].startswith(f"{shown} (")
    if text.startswith("Performance") and shown:
        assert f"\u2192 {shown}" in rows["Performance"]


@pytest.mark.parametrize(
    "text",
    [
        "Coverage ≥ 80% (stretch goal)",
        "Coverage goes up",
        "Deploy to staging",
        "Coverage ≥ +2 points",
        "Tests Passing ≥ many",
        "Performance test_parse < 2 minutes",
        "Lines Added < 5k",
        "**Coverage** ≥ 80%",
    ],
)
def test_a_line_phasectl_cannot_read_is_left_to_people(text: str) -> None:
    judged = judge(text, metrics_with(tests=TESTS, coverage=COVERAGE))
    assert (judged.verdict, judged.shown) == ("people", "")


def test_a_figure_not_collected_is_not_measured() -> None:
    bare = metrics_with()
    for text in ("Coverage ≥ 50%", "Patch Coverage ≥ 50%", "Tests Passing ≥ 95%",
                 "No new failing tests", "All tests passing", "Performance x < 1s"):  # fmt: skip
        assert judge(text, bare).verdict == "unmeasured", text
    no_baseline = metrics_with(tests=results_of(None, results_part(PASSING[:3], "w", HEAD)))
    assert judge("No new failing tests", no_baseline).verdict == "unmeasured"
    assert judge("All tests passing", no_baseline).verdict == "pass"
    unmeasurable = metrics_with(coverage=coverage_of(None, coverage_part(1, 2, "w", HEAD),
                                                     patch(0, 0)))  # fmt: skip
    assert judge("Patch Coverage ≥ 1%", unmeasurable).verdict == "unmeasured"


# --- grouping commits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "group", "description", "scope", "breaking"),
    [
        ("feat: add x", "Features", "add x", None, False),
        ("feature(ui): a dialog", "Features", "a dialog", "ui", False),  # git-cliff's ^feat
        ("Feat: Capital", "Features", "Capital", None, False),
        ("fix!: drop y", "Bug Fixes", "drop y", None, True),
        ("fix(api)!: drop z", "Bug Fixes", "drop z", "api", True),
        ("docs(readme): usage", "Documentation", "usage", "readme", False),
        ("doc: notes", "Documentation", "notes", None, False),
        ("perf: faster", "Performance", "faster", None, False),
        ("refactor: split", "Refactor", "split", None, False),
        ("style: format", "Styling", "format", None, False),
        ("test: cover", "Testing", "cover", None, False),
        ("tests: more", "Testing", "more", None, False),
        ("chore: tidy", "Miscellaneous Tasks", "tidy", None, False),
        ("ci: cache", "Miscellaneous Tasks", "cache", None, False),
        ("build(deps): bump", "Miscellaneous Tasks", "bump", "deps", False),
        ("security: patch CVE", "Security", "patch CVE", None, False),
        ("wip: x\n\nCloses a security hole", "Security", "x", None, False),  # git-cliff's body rule
        ("fix: y\n\nA security fix", "Bug Fixes", "y", None, False),  # the type comes first
        ("revert: feat: add x", "Revert", "feat: add x", None, False),
        ("wip: half done", "Other", "wip: half done", None, False),
        ("Add a readme", "Other", "Add a readme", None, False),
        ("feat:no space", "Other", "feat:no space", None, False),
        ("Merge pull request #1 from x/y", "Other", "Merge pull request #1 from x/y", None, False),
        ("feat: api\n\nBody.\n\nBREAKING CHANGE: gone", "Features", "api", None, True),
        ("feat: api\n\nBREAKING-CHANGE: gone", "Features", "api", None, True),
        ("feat: api\n\nnot a BREAKING CHANGE: footer", "Features", "api", None, False),
    ],
)
def test_commits_are_read_as_git_cliff_reads_them(
    message: str, group: str, description: str, scope: str | None, breaking: bool
) -> None:
    read = read_commit("a" * 40, message + "\n")
    assert (read.group, read.description, read.scope, read.breaking) == (
        group,
        description,
        scope,
        breaking,
    )


def test_groups_come_in_git_cliffs_order_oldest_first() -> None:
    messages = ["chore: c", "feat: b", "Other thing", "fix: a", "feat: a", "revert: r"]
    commits = [
        RangeCommit(f"{n:040x}", 1, 1_000 + n, f"Dev{n % 2}@Example.com", m)
        for n, m in enumerate(messages)
    ][::-1]  # newest first, as git log lists them
    merge = RangeCommit("f" * 40, 2, 9_999, "merger@example.com", "Merge branch 'x'")
    grouped = group_commits([merge, *commits])
    titles = [title for title, _ in grouped.groups]
    assert titles == ["Features", "Bug Fixes", "Miscellaneous Tasks", "Revert", "Other"]
    assert titles == [g for g in GROUPS if g in titles]
    assert [c.description for c in dict(grouped.groups)["Features"]] == ["b", "a"]
    assert (grouped.count, grouped.authors, grouped.merges) == (6, 2, 1)


def test_a_commit_line_escapes_the_subject() -> None:
    read = read_commit("0123456789" * 4, "feat(a*b): use `x` and <b>\n")
    assert commit_line(read) == "\u2705 **a\\*b:** use \\`x\\` and \\<b\\> (0123456)"
    breaking = read_commit("0123456789" * 4, "fix!: y")
    assert commit_line(breaking) == "\u2705 y \u26a0\ufe0f BREAKING (0123456)"


# --- the report's lists -------------------------------------------------------------------


def thread(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "previous": {"name": "1", "path": "docs/phases/1.md"},
        "note": "",
        "criteria": [
            {"text": "Coverage ≥ 50%", "verdict": "pass", "shown": "84%"},
            {"text": "Coverage ≥ 99%", "verdict": "fail", "shown": "84%"},
            {"text": "Performance x < 1s", "verdict": "unmeasured", "shown": ""},
            {"text": "Docs reviewed", "verdict": "people", "shown": ""},
            {"text": "Docs", "verdict": "people", "shown": ""},
        ],
        "steps": [{"text": "Sessions", "verdict": "people", "shown": ""}],
        "estimate": None,
        "duration": None,
        "duration_line": "under 1 day; commits on 1 day",
        "commits": {"count": 0, "authors": 0, "merges": 0, "groups": []},
    }
    return {**base, **extra}


def lines(values: dict[str, Any]) -> list[str]:
    return [
        f"- [{i['box']}] {i['text']}" + (f" {i['result']}" if i["result"] else "")
        for i in values["criteria"] + values["steps"]
    ]


def test_objectives_keep_peoples_ticks_and_notes_not_their_verdicts() -> None:
    first = objectives(inputs("2", thread=thread()))
    assert lines(first) == [
        "- [x] Coverage ≥ 50% \u2014 84% \u2705",
        "- [ ] Coverage ≥ 99% \u2014 84% \u274c",
        "- [ ] Performance x < 1s \u2014 not measured",
        "- [ ] Docs reviewed",
        "- [ ] Docs",
        "- [ ] Sessions",
    ]
    earlier = "\n".join(
        [
            "- [x] Coverage ≥ 99% \u2014 84% \u2705",  # a verdict is phasectl's: measured again
            "- [X] Docs reviewed \u2014 by Ann",
            "- [x] Sessions",
        ]
    )
    again = objectives(inputs("2", thread=thread(), earlier={"objectives": earlier}))
    assert lines(again) == [
        "- [x] Coverage ≥ 50% \u2014 84% \u2705",
        "- [ ] Coverage ≥ 99% \u2014 84% \u274c",
        "- [ ] Performance x < 1s \u2014 not measured",
        "- [X] Docs reviewed \u2014 by Ann",
        "- [ ] Docs",  # "Docs reviewed" is another line, taken once
        "- [x] Sessions",
    ]
    assert objectives(inputs("2"))["note"] == "not collected"


def test_accomplishments_keep_a_line_people_edited_by_its_commit() -> None:
    commits = [
        {"sha": f"{n:07x}" + "0" * 33, "line": f"\u2705 change {n} ({n:07x})"} for n in range(40)
    ]
    data = {"count": 40, "authors": 1, "merges": 0,
            "groups": [{"title": "Features", "commits": commits}]}  # fmt: skip
    edited = "- \u26a0\ufe0f change 3, behind a flag (0000003)\n- \u2705 change 99 (0000063)"
    values = accomplishments(
        inputs("2", max_listed=30, thread=thread(commits=data), earlier={"accomplishments": edited})
    )
    [group] = values["groups"]
    texts = [item["text"] for item in group["items"]]
    assert texts[3] == "\u26a0\ufe0f change 3, behind a flag (0000003)"
    assert texts[4] == "\u2705 change 4 (0000004)"
    # 40 commits, 30 listed: 15 shown, 15 folded, 10 more.
    assert (len(group["shown"]), len(group["folded"]), group["more"]) == (FOLD_AFTER, 15, 10)
    assert values["summary"] == "40 commits by 1 author."


def test_listing_folds_after_fifteen() -> None:
    items = [{"n": n} for n in range(20)]
    assert listing(items, 100)["folded"] == items[15:]
    assert listing(items, 15) == {"items": items[:15], "shown": items[:15], "folded": [],
                                  "more": 5, "count": 20}  # fmt: skip


# --- words for how tests and coverage moved -----------------------------------------------


def test_a_phase_that_only_removed_tests_says_so() -> None:
    kept = [(f"tests/test_a.py::test_{n}", "passed") for n in range(5)]
    gone = [(f"tests/test_old.py::test_{n}", "passed") for n in range(60)]
    other = [("tests/test_a.py::test_gone", "passed")]
    metrics = PhaseMetrics(
        RefInfo("phase/1", BASE),
        RefInfo("HEAD", HEAD),
        DiffResult.of((deleted("tests/test_old.py", 400), created("src/x.py"))),
        tests=results_of(
            results_part([*kept, *gone, *other], "note", BASE),
            results_part(kept, "work tree", HEAD),
        ),
        coverage=coverage_of(
            coverage_part(80, 100, "note", BASE), coverage_part(81, 100, "work tree", HEAD), None
        ),
    )
    context = build_context(metrics, inputs("2"))
    assert context["metrics"]["improvement"] == (
        "tests removed: 61 (with 1 deleted file), coverage up 1.0 points"
    )
    [removed] = context["test_results"]["changes"]
    assert removed["title"] == "Removed"
    assert [i["label"] for i in removed["items"]] == [
        "`tests/test_old.py`: 60 tests, file deleted",
        "`tests/test_a.py::test_gone`",
    ]
    # One test fewer that failed instead: a loss, worded as one.
    failing = [*kept[:4], (kept[4][0], "failed")]
    lost = PhaseMetrics(
        RefInfo("phase/1", BASE), RefInfo("HEAD", HEAD), DiffResult.of(()),
        tests=results_of(results_part(kept, "note", BASE), results_part(failing, "w", HEAD)),
    )  # fmt: skip
    assert build_context(lost, inputs("2"))["metrics"]["improvement"] == (
        "none (1 fewer passing test)"
    )


def whole_percent(covered: int, total: int, commit: str) -> dict[str, Any]:
    """A coverage part shown as coverage.py shows it by default: a whole percent."""
    summary = CoverageSummary(100.0 * covered / total, f"{100 * covered // total}", covered, total)
    return {**summary.to_dict(), "source": "work tree", "commit": commit}


def test_one_point_and_one_test() -> None:
    one = (("tests/test_a.py::test_a", "passed"),)
    metrics = PhaseMetrics(
        RefInfo("phase/1", BASE), RefInfo("HEAD", HEAD), DiffResult.of(()),
        tests=results_of(results_part((), "note", BASE), results_part(one, "w", HEAD)),
        coverage=coverage_of(whole_percent(80, 100, BASE), whole_percent(79, 100, HEAD), None),
    )  # fmt: skip
    context = build_context(metrics, inputs("2"))
    assert context["metrics"]["improvement"] == "1 more passing test, coverage down 1 point"
    rows = {r["label"]: r["value"] for r in context["metrics"]["measurements"]}
    assert rows["Coverage"] == "80% → 79% (-1 point, lines)"


# --- the lean template --------------------------------------------------------------------


def test_the_template_setting() -> None:
    assert parse_config({"template": "lean"}, "x").template == "lean"
    assert parse_config({}, "x").template == "full"
    with pytest.raises(ConfigError, match="'template' must be one of full, lean, not 'fancy'"):
        parse_config({"template": "fancy"}, "x")
