"""The headline figures of a phase as the report shows them, for CI outputs and comments.

One place makes them, so ``$GITHUB_OUTPUT``, the comment and GitLab's coverage line agree
with the report's Metrics section to the digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phasectl.model.coverage_change import shown_figures
from phasectl.model.phase import PhaseMetrics


def passing(part: Mapping[str, Any]) -> str:
    """``passed/total``, as the report's Tests Passing line shows a run."""
    return f"{part['passed']}/{part['total']}"


def patch_percent(patch: Mapping[str, Any]) -> str | None:
    """Patch coverage with one decimal, as the report's Patch Coverage line shows it;
    ``None`` when no changed line is measurable."""
    percent = patch.get("percent")
    return None if percent is None else f"{percent:.1f}"


@dataclass(frozen=True)
class Figures:
    """Each figure as text without ``%``; ``None`` when it was not collected (or, for the
    ``before`` side and the change, when there is no baseline)."""

    tests_before: str | None
    tests_after: str | None
    coverage_before: str | None
    coverage_after: str | None
    coverage_change: str | None
    coverage_basis: str | None
    patch: str | None
    patch_covered: int | None
    patch_total: int | None

    @classmethod
    def of(cls, metrics: PhaseMetrics) -> Figures:
        tests, coverage = metrics.tests, metrics.coverage
        shown = shown_figures(coverage) if coverage is not None else {}
        patch = (coverage or {}).get("patch")
        return cls(
            tests_before=passing(tests["before"]) if tests and tests.get("before") else None,
            tests_after=passing(tests["after"]) if tests else None,
            coverage_before=shown.get("before"),
            coverage_after=shown.get("after"),
            coverage_change=shown.get("change"),
            coverage_basis=shown.get("basis"),
            patch=patch_percent(patch) if patch else None,
            patch_covered=patch["lines_covered"] if patch else None,
            patch_total=patch["lines_total"] if patch else None,
        )


def points(change: str) -> str:
    """``+3 points``, ``-1 point``: a coverage change as the report shows it, with its unit."""
    return f"{change} point" if change.lstrip("+-±") == "1" else f"{change} points"
