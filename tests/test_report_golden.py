"""The report's regions for hand-built metrics, compared byte for byte with tests/golden/.

No git and no test runs: each case is a ``PhaseMetrics`` built here, so a golden file changes
only when the report's wording or layout does. Accept a deliberate change with
``pytest --regen-golden tests/test_report_golden.py``, then read the diff.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from phasectl.config import DEFAULT_DOC_GLOBS, DEFAULT_TEST_GLOBS
from phasectl.model.benchmarks import Benchmark, compare_benchmarks
from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.diff import DiffResult, FileChange, RefInfo
from phasectl.model.phase import PhaseMetrics
from phasectl.model.results import Outcome, TestCase, TestResults, compare_tests
from phasectl.quoting import display_path
from phasectl.repo.changes import RangeCommit
from phasectl.report.document import region_contents, render_block
from phasectl.report.markdown import code_span
from phasectl.report.templates import Renderer, region_template
from phasectl.report.values import REGIONS, ReportInputs, build_context, kept_purposes
from phasectl.workflow.commits import group_commits
from phasectl.workflow.plan import read_plan
from phasectl.workflow.thread import Judged, PhaseThread, PreviousPlan, judge, phase_duration

GOLDEN = Path(__file__).parent / "golden"
HINT = "run pytest --regen-golden to accept"


# --- golden files -------------------------------------------------------------------------


def assert_golden(name: str, actual: bytes, request: pytest.FixtureRequest) -> None:
    """``actual`` equals ``tests/golden/<name>`` byte for byte; --regen-golden rewrites it."""
    path = GOLDEN / name
    if request.config.getoption("--regen-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing; {HINT}", pytrace=False)
    expected = path.read_bytes()
    if actual == expected:
        return
    old = expected.decode("utf-8", "backslashreplace").splitlines(keepends=True)
    new = actual.decode("utf-8", "backslashreplace").splitlines(keepends=True)
    diff = difflib.unified_diff(old, new, f"golden/{name}", "actual", n=2)
    # Show what a plain diff hides: carriage returns, and a last line without its newline.
    lines = [
        line.replace("\r", "\\r")[:-1] if line.endswith("\n") else f"{line}  [no newline]"
        for line in diff
    ]
    shown = "\n".join(lines[:60]) + ("\n…" if len(lines) > 60 else "")
    pytest.fail(f"{path} differs from the output; {HINT}\n{shown}", pytrace=False)


# --- building metrics by hand --------------------------------------------------------------


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324 - a fake commit id


def created(path: str, added: int = 10, **extra: Any) -> FileChange:
    return FileChange(path, "created", added, 0, False, new_mode="100644", **extra)


def modified(path: str, added: int = 3, removed: int = 1, **extra: Any) -> FileChange:
    return FileChange(
        path, "modified", added, removed, False, old_mode="100644", new_mode="100644", **extra
    )


def deleted(path: str, removed: int = 10) -> FileChange:
    return FileChange(path, "deleted", 0, removed, False, old_mode="100644")


def renamed(old: str, new: str, similarity: int, added: int = 2, removed: int = 1) -> FileChange:
    return FileChange(
        new,
        "renamed",
        added,
        removed,
        False,
        old_path=old,
        old_mode="100644",
        new_mode="100644",
        similarity=similarity,
    )


def copied(old: str, new: str, similarity: int, added: int) -> FileChange:
    return FileChange(
        new,
        "copied",
        added,
        0,
        False,
        old_path=old,
        old_mode="100644",
        new_mode="100644",
        similarity=similarity,
    )


def results_part(
    cases: Iterable[tuple[str, Outcome]], source: str, commit: str, measured_by: str | None = None
) -> dict[str, Any]:
    """One side of ``metrics.tests`` as ``collect_phase`` builds it."""
    results = TestResults.from_cases([TestCase(i, o, 0.01) for i, o in cases], 2.5)
    part = {**results.to_dict(), "source": source, "commit": commit}
    if measured_by:
        part["measured_by"] = measured_by
    return part


def results_of(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    def results(part: dict[str, Any]) -> TestResults:
        return TestResults.from_dict(part)

    changes = compare_tests(results(before), results(after)) if before else None
    return {"before": before, "after": after, "changes": changes}


def coverage_part(covered: int, total: int, source: str, commit: str) -> dict[str, Any]:
    percent = 100.0 * covered / total
    summary = CoverageSummary(percent, f"{percent:.1f}", covered, total)
    return {**summary.to_dict(), "source": source, "commit": commit}


def patch(covered: int, total: int, *files: dict[str, Any]) -> dict[str, Any]:
    percent = 100.0 * covered / total if total else None
    return {"percent": percent, "lines_covered": covered, "lines_total": total, "files": [*files]}


def patch_file(path: str, covered: int, total: int, *uncovered: list[int]) -> dict[str, Any]:
    return {"path": path, "lines_total": total, "lines_covered": covered, "uncovered": [*uncovered]}


def debt_entry(path: str, line: int, text: str, *kinds: str) -> dict[str, Any]:
    return {"path": path, "line": line, "kinds": [*kinds], "text": text}


def debt_of(
    added: Iterable[dict[str, Any]] = (), removed: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    return {"added": [*added], "removed": [*removed]}


def coverage_of(
    before: dict[str, Any] | None, after: dict[str, Any], patched: dict[str, Any] | None
) -> dict[str, Any]:
    change = after["percent"] - before["percent"] if before else None
    return {"before": before, "after": after, "change": change, "patch": patched}


def benchmarks_of(before: dict[str, float] | None, after: dict[str, float]) -> dict[str, Any]:
    old = tuple(Benchmark(n, s) for n, s in before.items()) if before is not None else None
    new = tuple(Benchmark(n, s) for n, s in after.items())
    return {
        "before": [b.to_dict() for b in old] if old is not None else None,
        "after": [b.to_dict() for b in new],
        "changes": compare_benchmarks(old, new),
    }


def inputs(name: str, max_listed: int = 100, **extra: Any) -> ReportInputs:
    return ReportInputs(
        name=name,
        date="2026-01-02",
        max_listed=max_listed,
        test_globs=DEFAULT_TEST_GLOBS,
        doc_globs=DEFAULT_DOC_GLOBS,
        **extra,
    )


BASE, HEAD = sha("base"), sha("head")


def empty_diff() -> tuple[PhaseMetrics, ReportInputs]:
    metrics = PhaseMetrics(
        RefInfo("phase/1", BASE), RefInfo("HEAD", BASE), DiffResult.of(()), debt=debt_of()
    )
    return metrics, inputs("1")


def no_tests_collected() -> tuple[PhaseMetrics, ReportInputs]:
    files = (
        created("docs/usage.md", 12),
        modified("src/app/core.py", 5, 2),
        created("src/app/cli.py", 40),
        deleted("src/app/old.py", 30),
        created("tests/test_cli.py", 25),
    )
    metrics = PhaseMetrics(
        RefInfo("phase/1", BASE),
        RefInfo("phase/2", HEAD),
        DiffResult.of(files),
        warnings=("tests not collected: not a Python project",),
    )
    purposes = {"src/app/cli.py": "Command-line entry point.", "docs/usage.md": "Usage"}
    return metrics, inputs("2", purposes=purposes)


def no_baseline() -> tuple[PhaseMetrics, ReportInputs]:
    files = (
        modified("README.md", 4, 1),
        created("src/feature.py", 60),
        created("tests/test_feature.py", 30),
    )
    after = results_part(
        [
            ("tests/test_core.py::test_a", "passed"),
            ("tests/test_core.py::test_b", "failed"),
            ("tests/test_feature.py::test_one", "passed"),
            ("tests/test_feature.py::test_two", "passed"),
            ("tests/test_feature.py::test_three", "skipped"),
        ],
        "work tree",
        HEAD,
    )
    metrics = PhaseMetrics(
        RefInfo("main", BASE),
        RefInfo("HEAD", HEAD),
        DiffResult.of(files, merge_base=True),
        tests=results_of(None, after),
        coverage=coverage_of(
            None,
            coverage_part(160, 190, "work tree", HEAD),
            patch(45, 50, patch_file("src/feature.py", 45, 50, [14, 14], [18, 19], [30, 31])),
        ),
    )
    return metrics, inputs("feature", purposes={"src/feature.py": "The new feature."})


def baseline_note() -> tuple[PhaseMetrics, ReportInputs]:
    files = (
        created("docs/design.md", 40),
        modified("src/core.py", 20, 5),
        renamed("src/util.py", "src/helpers.py", 92),
        modified("tests/test_core.py", 10, 3),
        created("tests/test_new.py", 15),
        deleted("tests/test_gone.py", 12),
    )
    before = results_part(
        [
            ("tests/test_gone.py::test_old", "passed"),
            ("tests/test_gone.py::test_older", "passed"),
            ("tests/test_core.py::test_stable", "passed"),
            ("tests/test_core.py::test_removed", "passed"),
            ("tests/test_core.py::test_breaks", "passed"),
            ("tests/test_core.py::test_fixed", "failed"),
            ("tests/test_core.py::test_skip", "passed"),
            ("tests/test_core.py::test_xfail", "xfailed"),
        ],
        "note",
        BASE,
        "worktree run",
    )
    after = results_part(
        [
            ("tests/test_core.py::test_stable", "passed"),
            ("tests/test_core.py::test_breaks", "failed"),
            ("tests/test_core.py::test_fixed", "passed"),
            ("tests/test_core.py::test_skip", "skipped"),
            ("tests/test_core.py::test_xfail", "xfailed"),
            ("tests/test_new.py::test_added", "passed"),
            ("tests/test_new.py::test_added_failing", "failed"),
            *((f"tests/test_new.py::test_sign[{n}-{-n}]", "passed") for n in range(24)),
            ("tests/test_new.py::test_one[only]", "passed"),
        ],
        "work tree",
        HEAD,
    )
    metrics = PhaseMetrics(
        RefInfo("phase/3", BASE),
        RefInfo("phase/4", HEAD),
        DiffResult.of(files),
        tests=results_of(before, after),
        coverage=coverage_of(
            coverage_part(140, 200, "note", BASE) | {"measured_by": "worktree run"},
            coverage_part(151, 200, "work tree", HEAD),
            patch(
                18,
                20,
                patch_file("src/core.py", 10, 10),
                patch_file("src/helpers.py", 8, 10, [14, 14], [18, 18]),
            ),
        ),
        benchmarks=benchmarks_of(
            {
                "bench/test_speed.py::test_parse": 0.0123,
                "bench/test_speed.py::test_render": 4.56e-4,
            },
            {
                "bench/test_speed.py::test_parse": 0.0101,
                "bench/test_speed.py::test_render": 5.12e-4,
            },
        ),
        debt=debt_of(
            [
                debt_entry("src/core.py", 12, "# TODO: retry on timeout", "TODO"),
                debt_entry(
                    "src/helpers.py", 3, "import yaml  # type: ignore[import]", "type: ignore"
                ),
            ],
            [
                debt_entry("src/util.py", 40, "# FIXME: quadratic", "FIXME"),
                debt_entry("tests/test_gone.py", 7, "@pytest.mark.skip", "pytest skip"),
                debt_entry("src/core.py", 9, "# HACK: see #12", "HACK"),
            ],
        ),
    )
    return metrics, inputs("4", purposes={"docs/design.md": "Design of the parser"})


def baseline_artifacts() -> tuple[PhaseMetrics, ReportInputs]:
    files = (
        modified("src/parser.py", 12, 30),
        deleted("src/legacy.py", 80),
        created("tests/test_parser.py", 20),
    )
    before = results_part(
        [(f"tests/test_core.py::test_{n}", "passed") for n in range(10)], "artifacts", BASE
    )
    after = results_part(
        [
            *((f"tests/test_core.py::test_{n}", "passed") for n in range(10)),
            ("tests/test_parser.py::test_parse", "passed"),
            ("tests/test_parser.py::test_teardown", "error"),
        ],
        "artifacts",
        HEAD,
    )
    metrics = PhaseMetrics(
        RefInfo("v1.0", BASE),
        RefInfo("v1.1", HEAD),
        DiffResult.of(files),
        tests=results_of(before, after),
        coverage=coverage_of(
            coverage_part(410, 500, "artifacts", BASE),
            coverage_part(397, 500, "artifacts", HEAD),
            patch(7, 12),
        ),
        benchmarks=benchmarks_of({"test_parse_big": 0.25}, {"test_parse_big": 0.2}),
    )
    return metrics, inputs("v1.1")


def baseline_worktree() -> tuple[PhaseMetrics, ReportInputs]:
    files = (modified("README.md", 3, 3), created("docs/CHANGELOG.md", 9))
    cases: list[tuple[str, Outcome]] = [
        ("tests/test_a.py::test_a", "passed"),
        ("tests/test_a.py::test_b", "skipped"),
    ]
    metrics = PhaseMetrics(
        RefInfo("phase/5", BASE),
        RefInfo("phase/6", HEAD),
        DiffResult.of(files),
        tests=results_of(
            results_part(cases, "worktree run", BASE), results_part(cases, "work tree", HEAD)
        ),
        coverage=coverage_of(
            coverage_part(50, 80, "worktree run", BASE),
            coverage_part(50, 80, "work tree", HEAD),
            patch(0, 0),
        ),
    )
    return metrics, inputs("6")


def _huge_tests() -> tuple[list[FileChange], list[tuple[str, Outcome]]]:
    files = [created(f"tests/test_gen_{n:03}.py", 20) for n in range(110)]
    # 130 new test ids: two in each of the first 20 files, one in the other 90.
    ids = [
        f"tests/test_gen_{n:03}.py::test_{k}" for n in range(110) for k in range(2 if n < 20 else 1)
    ]
    return files, [(i, "passed") for i in ids]


def huge_diff() -> tuple[PhaseMetrics, ReportInputs]:
    test_files, new_cases = _huge_tests()
    old_cases: list[tuple[str, Outcome]] = [
        (f"tests/test_old_{n}.py::test_it", "passed") for n in range(10)
    ]
    files = [
        # 250 created (one binary), 150 modified (one excluded), 120 deleted.
        FileChange("assets/logo.png", "created", None, None, True, new_mode="100644"),
        *(created(f"src/pkg/mod_{n:03}.py", 30) for n in range(119)),
        *test_files,
        *(created(f"docs/page_{n:02}.md", 8) for n in range(20)),
        modified("Cargo.lock", 300, 120, excluded=True),
        *(modified(f"src/pkg/old_{n:03}.py", 4, 2) for n in range(139)),
        *(modified(f"tests/test_old_{n}.py", 6, 1) for n in range(10)),
        *(deleted(f"src/legacy/gone_{n:03}.py", 15) for n in range(120)),
        renamed("src/a.py", "src/b.py", 100, 0, 0),
        renamed("src/c.py", "src/d.py", 61, 9, 7),
        copied("src/orig.py", "src/copy.py", 100, 0),
        FileChange("bin/tool", "type_changed", 1, 40, False, old_mode="100644", new_mode="120000"),
        copied("tests/test_gen_000.py", "tests/test_copied.py", 98, 1),
    ]
    metrics = PhaseMetrics(
        RefInfo("phase/6", BASE),
        RefInfo("phase/7", HEAD),
        DiffResult.of(tuple(files)),
        tests=results_of(
            results_part(old_cases, "note", BASE, "work tree"),
            results_part([*old_cases, *new_cases], "work tree", HEAD),
        ),
        coverage=coverage_of(
            coverage_part(1000, 1500, "note", BASE) | {"measured_by": "work tree"},
            coverage_part(1800, 2400, "work tree", HEAD),
            patch(700, 900),
        ),
    )
    return metrics, inputs("7", max_listed=100, purposes={"src/pkg/mod_000.py": "Module zero."})


CAFE = os.fsdecode(b"caf\xe9.txt")
ODD_PURPOSE = "*bold* <b>html</b> [link](x) | pipe"
ODD_PATHS = (
    "`lead.py",
    "trail.py`",
    "a``b```c.py",
    "```",
    "pipe|name.md",
    "*star*.py",
    "_under_score_.py",
    "[link](x).py",
    "web/<script>alert(1)</script>.js",
    "new\nline.py",
    "tab\there.py",
    " spaced.py ",
    CAFE,
    "-dash.py",
    "ünïcødé/日本語.md",
    "docs/<b>guide</b>.md",
    "&amp;.py",
    "back\\slash.py",
    "tests/test_`odd`|x.py",
)
ODD_RENAME = ("old `name` (x) .py", "new|name (x).py")
ODD_TEST_IDS = (
    "tests/test_`odd`|x.py::test_p[a`b|c*<x>]",
    "tests/test_`odd`|x.py::test_nl[\n]",
    "tests/test_`odd`|x.py::test_u[ünï_*&lt;]",
)


def odd_names() -> tuple[PhaseMetrics, ReportInputs]:
    files = [
        *(modified(p) if p == "```" else created(p) for p in ODD_PATHS),
        renamed(*ODD_RENAME, 75),
    ]
    stable: list[tuple[str, Outcome]] = [("tests/test_a.py::test_a", "passed")]
    metrics = PhaseMetrics(
        RefInfo("phase/`odd`", BASE),
        RefInfo("feat/a`b<b>", HEAD),
        DiffResult.of(tuple(files)),
        tests=results_of(
            results_part(stable, "note", BASE, "work tree"),
            results_part([*stable, *((i, "passed") for i in ODD_TEST_IDS)], "work tree", HEAD),
        ),
        benchmarks=benchmarks_of({"bench::test_`x`|<y>": 0.002}, {"bench::test_`x`|<y>": 0.0019}),
        debt=debt_of([debt_entry(ODD_PATHS[0], 1, "x = `a` | <b>  # TODO: *fix* [me](y)", "TODO")]),
    )
    purposes = {"docs/<b>guide</b>.md": ODD_PURPOSE, CAFE: "Café menu_v2"}
    return metrics, inputs("odd *name* <b>", purposes=purposes)


PLAN = """\
## Next Phase: 4

### Implementation Steps
1. **Parse the new format**
2. **Write the *migration* guide**

### Success Criteria
- [ ] Coverage ≥ 75%
- [ ] Coverage ≥ 80%
- [ ] Patch Coverage ≥ 90%
- [ ] Tests Passing = 100%
- [ ] No new failing tests
- [ ] Performance test_parse < 20ms
- [ ] Performance test_missing < 1s
- [ ] The API is reviewed by `ops` <team>

### Estimated Time
- **Optimistic**: 2 days
- **Realistic**: 4 days
- **Pessimistic**: 2 weeks
"""


def phase_thread() -> tuple[PhaseMetrics, ReportInputs]:
    """The baseline-note phase, judged on a plan, its commits drafted as Accomplishments."""
    metrics, _ = baseline_note()
    plan = read_plan(PLAN)
    assert plan is not None
    day = 86_400
    messages = [
        *(f"feat(parser): support case {n}" for n in range(18)),
        "fix!: reject *empty* input\n\nBREAKING CHANGE: empty input is an error",
        "docs: migration guide",
        "Tidy up <things> | here",
    ]
    commits = [
        RangeCommit(sha(f"c{n}"), 1, 1_767_225_600 + n * day // 5, f"dev{n % 3}@example.com", m)
        for n, m in enumerate(messages)
    ][::-1]
    commits.insert(0, RangeCommit(HEAD, 2, 1_767_225_600 + 5 * day, "dev0@example.com", "Merge"))
    thread = PhaseThread(
        PreviousPlan("3", "docs/phases/3.md", plan, ""),
        tuple(judge(text, metrics) for text in plan.criteria),
        tuple(Judged(step, "people") for step in plan.steps),
        plan.estimate_text(),
        phase_duration(commits, HEAD, plan.realistic),
        group_commits(commits),
    ).to_dict()
    return metrics, inputs("4", thread=thread)


CASES: dict[str, Callable[[], tuple[PhaseMetrics, ReportInputs]]] = {
    "empty-diff": empty_diff,
    "no-tests-collected": no_tests_collected,
    "no-baseline": no_baseline,
    "baseline-note": baseline_note,
    "baseline-artifacts": baseline_artifacts,
    "baseline-worktree": baseline_worktree,
    "huge-diff": huge_diff,
    "odd-names": odd_names,
    "phase-thread": phase_thread,
}


# --- rendering ----------------------------------------------------------------------------


def render_regions(metrics: PhaseMetrics, report_inputs: ReportInputs) -> dict[str, str]:
    """Each region's content as ``report.py`` writes it: ending in exactly one newline."""
    context = build_context(metrics, report_inputs)
    renderer = Renderer(None)
    regions = {}
    for region in REGIONS:
        text = renderer.render(region_template(region), context).rstrip("\n")
        regions[region] = text + "\n" if text else ""
    return regions


def render_document(metrics: PhaseMetrics, report_inputs: ReportInputs) -> str:
    regions = render_regions(metrics, report_inputs)
    return "\n".join(render_block(r, c, "\n") for r, c in regions.items())


@pytest.mark.parametrize("case", list(CASES))
def test_golden(case: str, request: pytest.FixtureRequest) -> None:
    text = render_document(*CASES[case]())
    # Strict UTF-8: a raw surrogate (an undecodable path byte) reaching the report fails here.
    assert_golden(f"{case}.md", text.encode("utf-8"), request)


@pytest.mark.parametrize("case", list(CASES))
def test_regions_read_back(case: str) -> None:
    text = render_document(*CASES[case]())
    assert region_contents(text) == render_regions(*CASES[case]())


# --- explicit checks on the rendered Markdown ---------------------------------------------

_RUN = re.compile(r"`+")


def split_code_spans(line: str) -> tuple[str, list[str]]:
    """The line with its code spans removed, and the spans' contents, per CommonMark.

    A backtick run opens a span closed by the next run of the same length; the content has
    one space stripped from each side when it both starts and ends with one (and is not all
    spaces). A backslash-escaped backtick outside a span is literal.
    """
    outside: list[str] = []
    spans: list[str] = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            outside.append(line[i : i + 2])
            i += 2
            continue
        if line[i] != "`":
            outside.append(line[i])
            i += 1
            continue
        opening = _RUN.match(line, i)
        assert opening is not None
        fence = opening.group()
        closing = next((m for m in _RUN.finditer(line, opening.end()) if m.group() == fence), None)
        if closing is None:
            outside.append(fence)
            i = opening.end()
            continue
        inner = line[opening.end() : closing.start()]
        if inner.startswith(" ") and inner.endswith(" ") and inner.strip(" "):
            inner = inner[1:-1]
        spans.append(inner)
        i = closing.end()
    return "".join(outside), spans


def unescaped(text: str, char: str) -> bool:
    """Whether ``char`` occurs in ``text`` without a backslash escape before it."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == char:
            return True
        i += 1
    return False


def section_items(region: str, heading: str) -> list[str]:
    """The list lines under ``heading`` in ``region``, up to the next heading."""
    lines = region.split("\n")
    start = lines.index(heading) + 1
    items = []
    for line in lines[start:]:
        if line.startswith(("### ", "**")):
            break
        if line.startswith("- "):
            items.append(line)
    return items


def test_split_code_spans_reference() -> None:
    assert split_code_spans("a `b` c ``d`e`` \\`f` g") == ("a  c  \\`f` g", ["b", "d`e"])
    assert split_code_spans("`` ` ``") == ("", ["`"])
    assert split_code_spans("``") == ("``", [])


def test_huge_diff_lists_are_capped() -> None:
    regions = render_regions(*huge_diff())
    changes = regions["code-changes"]
    for heading, listed, more in (
        ("### Files Created", 100, 150),
        ("### Files Modified", 100, 50),
        ("### Files Deleted", 100, 20),
        ("### Files Renamed", 2, 0),
        ("### Files Copied", 2, 0),
        ("### Files Changed Type", 1, 0),
    ):
        items = section_items(changes, heading)
        files = [i for i in items if not i.startswith("- … and")]
        assert len(files) == listed, heading
        tail = [i for i in items if i.startswith("- … and")]
        assert tail == ([f"- … and {more} more"] if more else []), heading
    assert "- `assets/logo.png` (binary)" in changes
    assert "- `Cargo.lock` (+300 -120, not authored)" in changes
    assert "- `bin/tool` (+1 -40, mode 100644 → 120000)" in changes
    assert "- `src/orig.py` → `src/copy.py` (+0 -0, 100% similar)" in changes

    impact = regions["testing-impact"]
    added = section_items(impact, "### Tests Added")
    assert added[-1] == "- … and 11 more"  # 110 created + 1 copied test files
    assert added[0] == "- `tests/test_gen_000.py` (+20 -0, 2 tests)"
    assert "- `tests/test_gen_020.py` (+20 -0, 1 test)" in added
    assert (
        section_items(impact, "### Tests Modified")[-1] == "- `tests/test_old_9.py` (+6 -1, 1 test)"
    )

    results = regions["test-results"]
    assert "**Added (130)**" in results
    assert len(section_items(results, "**Added (130)**")) == 101
    assert "- … and 30 more" in results

    metrics = regions["metrics"]
    assert "- Files Created: 250\n" in metrics
    assert "- Files Modified: 150\n" in metrics
    assert "- Files Deleted: 120\n" in metrics
    assert "- Lines Added: " in metrics
    assert "authored)" in metrics


def test_odd_names_show_every_path_literally() -> None:
    metrics, report_inputs = odd_names()
    regions = render_regions(metrics, report_inputs)
    text = "".join(regions.values())  # the content only: the markers are HTML comments
    spans: list[str] = []
    for line in text.split("\n"):
        if re.fullmatch(r"<details><summary>\d+ more</summary>|</details>", line):
            continue  # the one HTML phasectl writes on purpose: a long list folded
        # A task list's "[ ]" is the one bracket phasectl writes on purpose.
        outside, found = split_code_spans(line.removeprefix("- [ ] "))
        spans.extend(found)
        for char in "<[|&":
            assert not unescaped(outside, char), f"unescaped {char!r} in {line!r}"
        assert "<script>" not in outside
    # The head shows as its commit only (see sections._provenance); the odd base ref shows.
    for path in (*ODD_PATHS, *ODD_RENAME, *ODD_TEST_IDS, "phase/`odd`", "bench::test_`x`|<y>"):
        assert display_path(path) in spans, path
    # One line per file: names with newlines or tabs do not break the list.
    listed = section_items(regions["code-changes"], "### Files Created")
    assert len(listed) == len(ODD_PATHS) - 1  # "```" is the one modified file
    assert "- `caf\\xe9.txt` (+10 -0) — Café menu\\_v2" in listed
    escaped = "\\*bold\\* \\<b\\>html\\</b\\> \\[link\\](x) \\| pipe"
    assert f"- `docs/<b>guide</b>.md` (+10 -0) — {escaped}" in listed
    assert "- `` `lead.py `` (+10 -0)" in listed
    assert "- ```` ``` ```` (+3 -1)" in text


# --- kept purposes -------------------------------------------------------------------------

TYPED = " — typed by a person"
KEPT_FILES = (
    created("src/a.py"),
    created("src/b.py"),
    created("odd `tick` (x) name.py"),
    created("``lead (x) trail``"),
    renamed("old (x) .py", "new `(x)` .py", 80),
    modified("src/c.py"),
)


def _kept_metrics() -> PhaseMetrics:
    return PhaseMetrics(RefInfo("phase/1", BASE), RefInfo("HEAD", HEAD), DiffResult.of(KEPT_FILES))


@pytest.mark.parametrize("change", KEPT_FILES, ids=[display_path(c.path) for c in KEPT_FILES])
def test_kept_purpose_stays_on_its_line(change: FileChange) -> None:
    metrics = _kept_metrics()
    purposes = {"src/a.py": "Derived purpose"}
    first = render_regions(metrics, inputs("1", purposes=purposes))["code-changes"]
    lines = first.split("\n")
    label = (
        f"{code_span(change.old_path)} → {code_span(change.path)}"
        if change.old_path
        else code_span(change.path)
    )
    (number,) = [n for n, line in enumerate(lines) if line.startswith(f"- {label} (")]
    lines[number] += TYPED
    edited = "\n".join(lines)

    kept = kept_purposes({"code-changes": edited})
    again = render_regions(metrics, inputs("1", purposes=purposes, kept=kept))["code-changes"]

    assert again == edited
    # And a third render, from the second, changes nothing.
    kept = kept_purposes({"code-changes": again})
    assert (
        render_regions(metrics, inputs("1", purposes=purposes, kept=kept))["code-changes"] == again
    )


def test_kept_purpose_for_a_path_with_a_dash_after_parentheses() -> None:
    metrics = PhaseMetrics(
        RefInfo("phase/1", BASE), RefInfo("HEAD", HEAD), DiffResult.of((created("a (x) — y.py"),))
    )
    first = render_regions(metrics, inputs("1"))["code-changes"]
    edited = first.replace("(+10 -0)", "(+10 -0)" + TYPED)
    kept = kept_purposes({"code-changes": edited})
    assert render_regions(metrics, inputs("1", kept=kept))["code-changes"] == edited


def test_kept_purpose_replaces_a_derived_one() -> None:
    metrics = _kept_metrics()
    purposes = {"src/a.py": "Derived purpose"}
    first = render_regions(metrics, inputs("1", purposes=purposes))["code-changes"]
    edited = first.replace("— Derived purpose", "— Better words")
    assert edited != first
    kept = kept_purposes({"code-changes": edited})
    assert (
        render_regions(metrics, inputs("1", purposes=purposes, kept=kept))["code-changes"] == edited
    )


def test_slow_benchmark_reads_as_a_plain_number() -> None:
    metrics = PhaseMetrics(
        RefInfo("phase/1", BASE),
        RefInfo("HEAD", HEAD),
        DiffResult.of(()),
        benchmarks=benchmarks_of({"test_slow": 1.5}, {"test_slow": 12.5}),
    )
    (row,) = [
        r
        for r in build_context(metrics, inputs("1"))["metrics"]["measurements"]
        if r["label"] == "Performance"
    ]
    assert "e+" not in row["value"], row["value"]
