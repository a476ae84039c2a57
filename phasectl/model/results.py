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


# A failure message is kept as its first line, at most this long: enough to say what
# failed in a pull request's comment or annotation, and bounded however long the output.
MESSAGE_LIMIT = 200


def first_line(text: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """The first non-blank line of ``text``, stripped and cut to ``limit`` characters
    (``…`` marks a cut); ``None`` when there is none."""
    if not text:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "\u2026"
    return None


@dataclass(frozen=True)
class TestCase:
    """One test: a stable id (pytest node id, or ``classname::name`` from JUnit) and outcome.

    A failing test may carry the first line of its failure ``message`` and where it failed
    (``file``, a path as the source gives it, and a 1-based ``line``), when the source says.
    """

    __test__ = False  # not a pytest test class

    id: str
    outcome: Outcome
    duration_s: float | None = None
    message: str | None = None
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "outcome": self.outcome,
            "duration_s": self.duration_s,
        }
        data.update(self.details())
        return data

    def details(self) -> dict[str, Any]:
        """``message``, ``file`` and ``line``, each only when known."""
        found = {"message": self.message, "file": self.file, "line": self.line}
        return {key: value for key, value in found.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestCase:
        if data["outcome"] not in OUTCOMES:
            raise ValueError(f"unknown test outcome {data['outcome']!r}")
        # Snapshots come from notes anyone may push: details of the wrong type are dropped.
        message, file, line = data.get("message"), data.get("file"), data.get("line")
        return cls(
            data["id"],
            cast(Outcome, data["outcome"]),
            data.get("duration_s"),
            first_line(message) if isinstance(message, str) else None,
            file[:1000] if isinstance(file, str) and file else None,
            line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None,
        )


def _merged(seen: TestCase, case: TestCase) -> TestCase:
    """One test reported twice: the worse outcome with its details, durations added."""
    duration = (
        None
        if seen.duration_s is None and case.duration_s is None
        else (seen.duration_s or 0.0) + (case.duration_s or 0.0)
    )
    outcome = worse(seen.outcome, case.outcome)
    # The details of the report whose outcome won; of the first one when both have it.
    keep = case.outcome != outcome or (seen.outcome == outcome and seen.details())
    source = seen if keep else case
    return TestCase(seen.id, outcome, duration, source.message, source.file, source.line)


def merge_cases(cases: Iterable[TestCase]) -> tuple[TestCase, ...]:
    """De-duplicate by id (worst outcome wins with its failure details, durations add),
    keeping first-seen order."""
    merged: dict[str, TestCase] = {}
    for case in cases:
        seen = merged.get(case.id)
        merged[case.id] = case if seen is None else _merged(seen, case)
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


def compare_tests(before: TestResults, after: TestResults) -> dict[str, Any]:
    """Test ids added, removed, newly failing, fixed and newly skipped between two runs.

    "Newly failing" includes new tests that fail; "fixed" are tests that failed or
    errored before and pass now. ``failures`` maps each newly failing id to what is known
    of its failure: ``message`` (the first line), ``file`` and ``line``, each key only when
    the source gave it.
    """
    old = {c.id: c.outcome for c in before.cases}
    new = {c.id: c.outcome for c in after.cases}
    failing = ("failed", "error")
    newly_failing = sorted(i for i, o in new.items() if o in failing and old.get(i) not in failing)
    details = {c.id: c.details() for c in after.cases}
    return {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "newly_failing": newly_failing,
        "failures": {i: details[i] for i in newly_failing},
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
