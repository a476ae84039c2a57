"""Coverage: line data per file, the summary figures, and patch coverage."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, init=False, repr=False)
class FileLines:
    """Line-level coverage of one file: measurable lines and those that ran.

    Branch figures are ``None`` when the format or run did not measure branches.
    The line sets are stored packed (see ``_pack``): a coverage file can name millions of
    files, and a frozenset of one line weighs 216 bytes where its packed form weighs 37.
    """

    _statements: bytes | frozenset[int]
    _covered: bytes | frozenset[int]
    branches_total: int | None
    branches_covered: int | None

    def __init__(
        self,
        statements: Iterable[int],
        covered: Iterable[int],
        branches_total: int | None = None,
        branches_covered: int | None = None,
    ) -> None:
        packed = _pack(statements)
        ran = _pack(covered)
        # Usually every line ran or none did: one object serves both.
        object.__setattr__(self, "_statements", packed)
        object.__setattr__(self, "_covered", packed if ran == packed else ran)
        object.__setattr__(self, "branches_total", branches_total)
        object.__setattr__(self, "branches_covered", branches_covered)

    @property
    def statements(self) -> frozenset[int]:
        """The measurable lines."""
        return _unpack(self._statements)

    @property
    def covered(self) -> frozenset[int]:
        """The lines that ran."""
        return _unpack(self._covered)

    def counts(self) -> tuple[int, int]:
        """(measurable lines, those of them that ran), without building the sets when
        one packed form says it."""
        statements, covered = self._statements, self._covered
        total = len(statements) // _ITEM if isinstance(statements, bytes) else len(statements)
        if covered is statements:
            return total, total
        if not covered or not statements:
            return total, 0
        return total, len(self.covered & self.statements)

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

    def __repr__(self) -> str:
        return (
            f"FileLines(statements={self.statements!r}, covered={self.covered!r}, "
            f"branches_total={self.branches_total!r}, "
            f"branches_covered={self.branches_covered!r})"
        )


_ITEM = array("I").itemsize


_LARGEST = (1 << (8 * _ITEM)) - 1


# Small packed sets recur across files (line 1 alone, lines 1-2): each is kept once.
# Bounded: at most two lines, each under 64.
_SMALL: dict[bytes, bytes] = {}


def _pack(lines: Iterable[int]) -> bytes | frozenset[int]:
    """Line numbers as one bytes object of sorted unsigned ints, ``_ITEM`` bytes each
    (33 + 4n bytes, where a frozenset takes 216 and up, plus 28 for each int above 256).
    A number no real line has (negative, or past 4 billion) keeps the set as it is."""
    ordered = sorted(lines if isinstance(lines, (set, frozenset)) else set(lines))
    if not ordered:
        return b""
    if ordered[0] < 0 or ordered[-1] > _LARGEST:
        return frozenset(ordered)
    packed = array("I", ordered).tobytes()
    if len(ordered) <= 2 and ordered[-1] < 64:
        return _SMALL.setdefault(packed, packed)
    return packed


def _unpack(packed: bytes | frozenset[int]) -> frozenset[int]:
    if isinstance(packed, frozenset):
        return packed
    return frozenset(memoryview(packed).cast("I"))


LineData = Mapping[str, FileLines]
"""Coverage by path (slash-separated, relative to the repository root)."""


def merge_line_data(shards: Iterable[LineData]) -> dict[str, FileLines]:
    """Union of several shards' line data, never a sum of percentages."""
    merged: dict[str, FileLines] = {}
    for shard in shards:
        for path, lines in shard.items():
            merged[path] = merged[path].union(lines) if path in merged else lines
    return merged


@dataclass(frozen=True, slots=True)
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
    is that figure shown the way the tool prints it (``display_rule``: ``coverage.py``,
    ``istanbul`` for jest/LCOV/Cobertura, ``go``). ``basis`` says what ``percent`` counts:
    ``lines`` or ``statements+branches`` (coverage.py with ``branch = true``).
    """

    percent: float
    percent_display: str
    lines_covered: int
    lines_total: int
    branches_covered: int | None = None
    branches_total: int | None = None
    files: tuple[FileCoverage, ...] = ()
    basis: str = "lines"
    display_rule: str = "coverage.py"

    @property
    def precision(self) -> int:
        """Decimals the tool shows (coverage.py's ``[report] precision``)."""
        return precision_of(self.percent_display)

    @property
    def lines_percent(self) -> float:
        """Statements only, whatever the basis of ``percent`` (coverage.py's
        ``percent_statements_covered``); the same figure a ``branch = false`` run gives."""
        return _percent(self.lines_covered, self.lines_total)

    @property
    def branches_percent(self) -> float | None:
        """Branches only (``percent_branches_covered``); ``None`` without branch data.

        Counted in branches (arcs), not in partial lines: ``num_partial_branches`` (the
        report's BrPart column) counts lines with some branch missed, a different unit.
        """
        if self.branches_total is None or self.branches_covered is None:
            return None
        return _percent(self.branches_covered, self.branches_total)

    def display(self, covered: int, total: int) -> str:
        """covered/total shown as this summary's tool shows its total."""
        return show_percent(covered, total, self.display_rule, self.precision)

    def on_basis(self, basis: str) -> tuple[int, int]:
        """covered and total counted on ``basis`` (``lines`` is always known)."""
        if basis == "statements+branches":
            assert self.branches_covered is not None
            assert self.branches_total is not None
            return (
                self.lines_covered + self.branches_covered,
                self.lines_total + self.branches_total,
            )
        return self.lines_covered, self.lines_total

    @classmethod
    def from_lines(
        cls,
        data: LineData,
        rule: str = "istanbul",
        branches: tuple[int, int] | None = None,
        counted: tuple[int, int] | None = None,
    ) -> CoverageSummary:
        """Totals over line data (Cobertura, LCOV, Go): covered lines / measurable lines,
        shown as ``rule`` shows them. ``branches`` (covered, total) replaces the sum over
        files when the artifact states its own total (Cobertura's header); ``counted``
        replaces the line totals when the tool counts in other units (Go's statements)."""
        files = []
        # A million small files share a few percents: each float once (bounded).
        percents: dict[tuple[int, int], float] = {}
        for path in sorted(data):
            lines = data[path]
            total, covered = lines.counts()
            if total < 64:
                percent = percents.get((covered, total))
                if percent is None:
                    percent = percents[covered, total] = _percent(covered, total)
            else:
                percent = _percent(covered, total)
            files.append(FileCoverage(path, covered, total, percent))
        lines_total = sum(f.lines_total for f in files)
        lines_covered = sum(f.lines_covered for f in files)
        measured = [v for v in data.values() if v.branches_total is not None]
        branches_total = sum(v.branches_total or 0 for v in measured) if measured else None
        branches_covered = sum(v.branches_covered or 0 for v in measured) if measured else None
        if branches is not None:
            branches_covered, branches_total = branches
        if counted is not None:
            lines_covered, lines_total = counted
        precision = 1 if rule == "go" else 2
        return cls(
            percent=_percent(lines_covered, lines_total),
            percent_display=show_percent(lines_covered, lines_total, rule, precision),
            lines_covered=lines_covered,
            lines_total=lines_total,
            branches_covered=branches_covered,
            branches_total=branches_total,
            files=tuple(files),
            basis="lines" if counted is None else "statements",
            display_rule=rule,
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
            "basis": self.basis,
            "display_rule": self.display_rule,
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
            basis=data.get("basis") or _inferred_basis(data),
            display_rule=data.get("display_rule") or "coverage.py",
        )


def _inferred_basis(data: Mapping[str, Any]) -> str:
    """The basis of a summary stored before phasectl recorded it (older notes).

    coverage.py's total includes branches exactly when it differs from lines alone.
    """
    covered, total = data.get("branches_covered"), data.get("branches_total")
    if covered is None or total is None:
        return "lines"
    lines = _percent(data["lines_covered"], data["lines_total"])
    combined = _percent(data["lines_covered"] + covered, data["lines_total"] + total)
    same = abs(data["percent"] - combined) < 1e-9 and abs(data["percent"] - lines) > 1e-9
    return "statements+branches" if same else "lines"


def _percent(covered: int, total: int) -> float:
    # An empty measurement is 100%, as coverage.py reports it. (100.0 * covered) / total
    # in this order, as coverage.py computes it: the last bit decides round-half cases.
    return 100.0 if total == 0 else 100.0 * covered / total


def display_percent(covered: int, total: int, precision: int = 0) -> str:
    """covered/total as ``coverage report`` prints it at ``[report] precision``.

    coverage.py's ``display_covered``: Python's ``round()`` of the float (half-even on its
    binary value: 2.675 shows as 2.67), with fixed decimals; but a figure above 0 never
    shows as 0, nor one below 100 as 100: those show one step, 10**-precision, from the
    end. With branch coverage, covered and total are lines plus branches. Checked against
    coverage.py 6.5, 7.0 and 7.17 for every covered <= total <= 1200, precision 0-5.
    """
    if precision < 0:
        raise ValueError(f"precision {precision} is invalid: it must not be negative")
    pc = _percent(covered, total)
    step = 1.0 / 10**precision
    if 0 < pc < step:
        pc = step
    elif 100.0 - step < pc < 100:
        pc = 100.0 - step
    else:
        pc = round(pc, precision)
    return f"{pc:.{precision}f}"


def show_percent(covered: int, total: int, rule: str, precision: int) -> str:
    """covered/total as the tool named by ``rule`` prints it, with ``precision`` decimals.

    ``coverage.py``: see ``display_percent``. ``istanbul`` (jest, and its LCOV and
    Cobertura): istanbul-lib-coverage's ``Math.floor(1000 * 100 * covered / total / 10) /
    100``, so 15/23 shows 65.21, not 65.22. ``go``: ``go tool cover -func``'s ``%.1f``.
    """
    if rule == "coverage.py":
        return display_percent(covered, total, precision)
    if rule == "istanbul":
        pc = 100.0 if total == 0 else math.floor(1000 * 100 * covered / total / 10) / 100
        return f"{pc:.{precision}f}"
    return f"{_percent(covered, total):.{precision}f}"


def precision_of(display: str) -> int:
    """The precision a coverage.py display string was made with: "87.50" -> 2."""
    return len(display.partition(".")[2])


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
