"""Test results and coverage: the measured figures, as frozen dataclasses with a dict form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
# When one test id is reported more than once (a failing call and an erroring teardown,
# or the same test in two shards), the worst outcome wins.
_SEVERITY: dict[Outcome, int] = {
    "error": 5,
    "failed": 4,
    "xpassed": 3,
    "passed": 2,
    "xfailed": 1,
    "skipped": 0,
}


def worse(a: Outcome, b: Outcome) -> Outcome:
    """The more severe of two outcomes of the same test."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


@dataclass(frozen=True)
class TestCase:
    """One test: a stable id (pytest node id, or ``classname::name`` from JUnit) and outcome."""

    __test__ = False  # not a pytest test class

    id: str
    outcome: Outcome
    duration_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "outcome": self.outcome, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestCase:
        if data["outcome"] not in OUTCOMES:
            raise ValueError(f"unknown test outcome {data['outcome']!r}")
        return cls(data["id"], cast(Outcome, data["outcome"]), data.get("duration_s"))


def merge_cases(cases: Iterable[TestCase]) -> tuple[TestCase, ...]:
    """De-duplicate by id (worst outcome wins, durations add), keeping first-seen order."""
    merged: dict[str, TestCase] = {}
    for case in cases:
        seen = merged.get(case.id)
        if seen is None:
            merged[case.id] = case
            continue
        duration = (
            None
            if seen.duration_s is None and case.duration_s is None
            else (seen.duration_s or 0.0) + (case.duration_s or 0.0)
        )
        merged[case.id] = TestCase(case.id, worse(seen.outcome, case.outcome), duration)
    return tuple(merged.values())


@dataclass(frozen=True)
class TestResults:
    """Counts as the runner reports them, and each test's outcome.

    The counts are the runner's own (pytest's summary line counts reports, so a test that
    fails and then errors in teardown is "1 failed, 1 error"); ``cases`` has one entry per
    test id with its worst outcome.
    """

    __test__ = False

    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    xpassed: int
    duration_s: float | None
    cases: tuple[TestCase, ...] = ()

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped + self.xfailed + self.xpassed

    @classmethod
    def from_cases(cls, cases: Iterable[TestCase], duration_s: float | None) -> TestResults:
        """Counts from de-duplicated cases (one outcome per test id), as for JUnit files."""
        merged = merge_cases(cases)
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for case in merged:
            counts[case.outcome] += 1
        return cls.from_counts(counts, duration_s, merged)

    @classmethod
    def from_counts(
        cls, counts: Mapping[str, int], duration_s: float | None, cases: Iterable[TestCase]
    ) -> TestResults:
        """Results from counts keyed by outcome (as a runner reports them) and the cases."""
        return cls(
            passed=counts["passed"],
            failed=counts["failed"],
            errors=counts["error"],
            skipped=counts["skipped"],
            xfailed=counts["xfailed"],
            xpassed=counts["xpassed"],
            duration_s=duration_s,
            cases=merge_cases(cases),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
            "xpassed": self.xpassed,
            "total": self.total,
            "duration_s": self.duration_s,
            "cases": [c.to_dict() for c in self.cases],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestResults:
        return cls(
            passed=data["passed"],
            failed=data["failed"],
            errors=data["errors"],
            skipped=data["skipped"],
            xfailed=data.get("xfailed", 0),
            xpassed=data.get("xpassed", 0),
            duration_s=data.get("duration_s"),
            cases=tuple(TestCase.from_dict(c) for c in data.get("cases", ())),
        )


@dataclass(frozen=True)
class FileLines:
    """Line-level coverage of one file: measurable lines and those that ran.

    Branch figures are ``None`` when the format or run did not measure branches.
    """

    statements: frozenset[int]
    covered: frozenset[int]
    branches_total: int | None = None
    branches_covered: int | None = None

    def union(self, other: FileLines) -> FileLines:
        """Merge two shards of the same file: a line counts as covered if any shard ran it."""

        def most(a: int | None, b: int | None) -> int | None:
            return b if a is None else a if b is None else max(a, b)

        return FileLines(
            statements=self.statements | other.statements,
            covered=self.covered | other.covered,
            branches_total=most(self.branches_total, other.branches_total),
            branches_covered=most(self.branches_covered, other.branches_covered),
        )


LineData = Mapping[str, FileLines]
"""Coverage by path (slash-separated, relative to the repository root)."""


def merge_line_data(shards: Iterable[LineData]) -> dict[str, FileLines]:
    """Union of several shards' line data, never a sum of percentages."""
    merged: dict[str, FileLines] = {}
    for shard in shards:
        for path, lines in shard.items():
            merged[path] = merged[path].union(lines) if path in merged else lines
    return merged


@dataclass(frozen=True)
class FileCoverage:
    """Summary figures for one file."""

    path: str
    lines_covered: int
    lines_total: int
    percent: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "lines_covered": self.lines_covered,
            "lines_total": self.lines_total,
            "percent": self.percent,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileCoverage:
        return cls(data["path"], data["lines_covered"], data["lines_total"], data["percent"])


@dataclass(frozen=True)
class CoverageSummary:
    """Totals as the coverage tool reports them.

    ``percent`` is the tool's own total (for coverage.py with branch coverage on, that
    includes branches, exactly as ``coverage report`` computes it); ``percent_display``
    is that figure rounded the way the tool prints it.
    """

    percent: float
    percent_display: str
    lines_covered: int
    lines_total: int
    branches_covered: int | None = None
    branches_total: int | None = None
    files: tuple[FileCoverage, ...] = ()

    @classmethod
    def from_lines(cls, data: LineData) -> CoverageSummary:
        """Totals over line data (Cobertura, LCOV, Go): covered lines / measurable lines."""
        files = []
        for path in sorted(data):
            lines = data[path]
            total, covered = len(lines.statements), len(lines.covered & lines.statements)
            files.append(FileCoverage(path, covered, total, _percent(covered, total)))
        lines_total = sum(f.lines_total for f in files)
        lines_covered = sum(f.lines_covered for f in files)
        measured = [v for v in data.values() if v.branches_total is not None]
        branches_total = sum(v.branches_total or 0 for v in measured) if measured else None
        branches_covered = sum(v.branches_covered or 0 for v in measured) if measured else None
        percent = _percent(lines_covered, lines_total)
        return cls(
            percent=percent,
            percent_display=f"{percent:.1f}",
            lines_covered=lines_covered,
            lines_total=lines_total,
            branches_covered=branches_covered,
            branches_total=branches_total,
            files=tuple(files),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "percent": self.percent,
            "percent_display": self.percent_display,
            "lines_covered": self.lines_covered,
            "lines_total": self.lines_total,
            "branches_covered": self.branches_covered,
            "branches_total": self.branches_total,
            "files": [f.to_dict() for f in self.files],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoverageSummary:
        return cls(
            percent=data["percent"],
            percent_display=data["percent_display"],
            lines_covered=data["lines_covered"],
            lines_total=data["lines_total"],
            branches_covered=data.get("branches_covered"),
            branches_total=data.get("branches_total"),
            files=tuple(FileCoverage.from_dict(f) for f in data.get("files", ())),
        )


def _percent(covered: int, total: int) -> float:
    # An empty measurement is 100%, as coverage.py reports it.
    return 100.0 if total == 0 else 100.0 * covered / total


def line_ranges(lines: Iterable[int]) -> list[list[int]]:
    """Collapse line numbers into inclusive ``[start, end]`` runs."""
    runs: list[list[int]] = []
    for number in sorted(set(lines)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return runs


def patch_coverage(added: Mapping[str, set[int]], data: LineData) -> dict[str, Any]:
    """Of the lines added or changed that coverage can measure, how many ran (diff-cover's figure).

    Lines coverage cannot measure (comments, blank lines, files it does not track) are
    left out. ``percent`` is ``None`` when no changed line is measurable.
    """
    files = []
    measurable_total = covered_total = 0
    for path in sorted(added):
        lines = data.get(path)
        if lines is None:
            continue
        measurable = added[path] & lines.statements
        if not measurable:
            continue
        covered = measurable & lines.covered
        measurable_total += len(measurable)
        covered_total += len(covered)
        files.append(
            {
                "path": path,
                "lines_total": len(measurable),
                "lines_covered": len(covered),
                "uncovered": line_ranges(measurable - covered),
            }
        )
    return {
        "percent": 100.0 * covered_total / measurable_total if measurable_total else None,
        "lines_covered": covered_total,
        "lines_total": measurable_total,
        "files": files,
    }


def compare_tests(before: TestResults, after: TestResults) -> dict[str, list[str]]:
    """Test ids added, removed, newly failing, fixed and newly skipped between two runs.

    "Newly failing" includes new tests that fail; "fixed" are tests that failed or
    errored before and pass now.
    """
    old = {c.id: c.outcome for c in before.cases}
    new = {c.id: c.outcome for c in after.cases}
    failing = ("failed", "error")
    return {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "newly_failing": sorted(
            i for i, o in new.items() if o in failing and old.get(i) not in failing
        ),
        "fixed": sorted(i for i, o in new.items() if o == "passed" and old.get(i) in failing),
        "newly_skipped": sorted(
            i for i, o in new.items() if o == "skipped" and i in old and old[i] != "skipped"
        ),
    }
