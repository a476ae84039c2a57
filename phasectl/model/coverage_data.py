"""Coverage: line data per file, the summary figures, and patch coverage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


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
    statements_covered: int | None = None
    statements_total: int | None = None
    """Go's figures: ``percent`` is then statements covered over statements, as
    ``go tool cover -func`` computes it; ``None`` for the other tools."""

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
            **(
                {
                    "statements_covered": self.statements_covered,
                    "statements_total": self.statements_total,
                }
                if self.statements_total is not None
                else {}
            ),
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
            statements_covered=data.get("statements_covered"),
            statements_total=data.get("statements_total"),
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
