"""display_percent equals coverage.py's own display of a percentage, and the bases split."""

from __future__ import annotations

import pytest
from coverage.results import Numbers

from phasectl.model.coverage_data import CoverageSummary, display_percent, precision_of


@pytest.mark.parametrize("precision", [0, 1, 2, 3])
def test_display_percent_is_coverage_pys(precision: int) -> None:
    for total in range(0, 301):
        for covered in range(0, total + 1):
            numbers = Numbers(precision=precision, n_statements=total, n_missing=total - covered)
            shown = display_percent(covered, total, precision)
            assert shown == numbers.pc_covered_str, (covered, total, precision)
            assert precision_of(shown) == precision


@pytest.mark.parametrize(
    ("covered", "total", "precision", "shown"),
    [
        (1, 1000, 0, "1"),  # never 0 unless nothing is covered
        (999, 1000, 0, "99"),  # never 100 unless everything is
        (9999, 10000, 1, "99.9"),
        (0, 7, 2, "0.00"),
        (0, 0, 1, "100.0"),  # nothing to measure is 100%, as coverage.py says
        (2675, 100000, 2, "2.67"),  # round() of the binary float, not of the decimal
        (1, 8, 0, "12"),  # half to even
        (3, 8, 0, "38"),
    ],
)
def test_display_percent_edges(covered: int, total: int, precision: int, shown: str) -> None:
    assert display_percent(covered, total, precision) == shown


def test_negative_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        display_percent(1, 2, -1)


def test_line_and_branch_bases_split_a_branch_total() -> None:
    # coverage.py's own numbers for 22 statements (3 missed) and 8 branches (1 missed).
    numbers = Numbers(precision=0, n_statements=22, n_missing=3, n_branches=8, n_missing_branches=1)
    summary = CoverageSummary(
        numbers.pc_covered, numbers.pc_covered_str, 19, 22, branches_covered=7, branches_total=8
    )
    assert summary.display(19 + 7, 22 + 8) == summary.percent_display == "87"
    # Each basis alone, as coverage.py computes a total of that basis only.
    assert summary.lines_percent == Numbers(n_statements=22, n_missing=3).pc_covered
    assert summary.branches_percent == 100.0 * 7 / 8
    assert summary.display(19, 22) == "86"
    assert summary.display(7, 8) == "88"
