"""Test results: outcomes per test id and pytest-style counts, with a dict form."""

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


def ids_unrelated(before: TestResults, after: TestResults) -> bool:
    """True when the two runs share almost no test id (under a fifth of the smaller
    run, of five tests or more): they name tests differently, and listing every test as
    added and removed would say nothing true."""
    old, new = {c.id for c in before.cases}, {c.id for c in after.cases}
    smaller = min(len(old), len(new))
    return smaller >= 5 and len(old & new) * 5 < smaller
