"""The coverage change of a phase: both sides on one basis, shown with one precision."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from phasectl.model.coverage_data import CoverageSummary, LineData, show_percent
from phasectl.model.diff import FileChange


def compare_coverage(
    before: CoverageSummary | None, after: CoverageSummary
) -> tuple[dict[str, Any], str | None]:
    """``basis``, ``change`` and ``shown`` for the coverage part, and a warning if any.

    Both figures are counted on one basis: the tools' own when they agree, else lines
    (every summary knows its lines). ``shown`` holds both sides and the change as text
    with the same decimals, made by the head's tool rules (coverage.py's ``precision``,
    istanbul's 2 truncated, Go's 1); the change shown is the difference of the two shown
    figures, so the line reads right. ``change`` is the exact difference on the basis.
    """
    if before is None:
        return {
            "basis": after.basis,
            "change": None,
            "shown": {"before": None, "after": after.percent_display, "change": None},
        }, None
    warning = None
    basis = after.basis
    if before.basis != after.basis:
        basis = "lines"
        warning = (
            f"coverage before counts {before.basis} and after counts {after.basis}: "
            "both are compared on lines only"
        )
    old, new = before.on_basis(basis), after.on_basis(basis)
    rule, precision = after.display_rule, after.precision
    shown_before = show_percent(*old, rule, precision)
    shown_after = show_percent(*new, rule, precision)
    exact = 100.0 * new[0] / new[1] if new[1] else 100.0
    exact -= 100.0 * old[0] / old[1] if old[1] else 100.0
    return {
        "basis": basis,
        "change": exact,
        "shown": {
            "before": shown_before,
            "after": shown_after,
            "change": signed(float(shown_after) - float(shown_before), precision),
        },
    }, warning


def signed(value: float, precision: int) -> str:
    """``+1.25`` / ``-0.50`` with ``precision`` decimals; ``±0`` when it shows as zero."""
    text = f"{value:+.{precision}f}"
    return "±0" if float(text) == 0 else text


def shown_figures(coverage: Mapping[str, Any]) -> dict[str, Any]:
    """The ``shown`` texts of a coverage part (before, after, change) and its basis;
    made from the stored figures for a part collected before they were recorded."""
    shown = coverage.get("shown")
    if shown is not None:
        return {**shown, "basis": coverage.get("basis") or coverage["after"].get("basis")}
    before, after = coverage["before"], coverage["after"]
    summaries = [CoverageSummary.from_dict(x) if x else None for x in (before, after)]
    assert summaries[1] is not None
    part, _ = compare_coverage(summaries[0], summaries[1])
    return {**part["shown"], "basis": part["basis"]}


def scope_change(
    before: CoverageSummary, after: CoverageSummary, changes: Iterable[FileChange]
) -> dict[str, list[str]] | None:
    """The files that left or entered measurement (``left``, ``entered``) other than by
    being deleted, created or renamed in the phase: what coverage measures changed
    (``source``, ``include``, ``omit``), so the two percentages count different code.
    ``None`` when nothing changed so, or a side has no per-file figures."""
    # Absolute paths are files outside the project (see readers.files): not its scope.
    old = {f.path for f in before.files if not f.path.startswith("/")}
    new = {f.path for f in after.files if not f.path.startswith("/")}
    if not old or not new:
        return None
    created, deleted, moved_to, moved_from = set(), set(), set(), set()
    for change in changes:
        if change.status in ("created", "copied"):
            created.add(change.path)
        elif change.status == "deleted":
            deleted.add(change.path)
        elif change.status == "renamed" and change.old_path is not None:
            moved_from.add(change.old_path)
            moved_to.add(change.path)
    left = sorted(old - new - deleted - moved_from)
    entered = sorted(new - old - created - moved_to)
    return {"left": left, "entered": entered} if left or entered else None


def scope_warning(scope: Mapping[str, list[str]], shown: int = 5) -> str:
    """The warning that says which files left or entered measurement."""
    parts = []
    for key, verb in (("left", "left"), ("entered", "entered")):
        names = scope.get(key) or []
        if names:
            listed = ", ".join(names[:shown]) + (
                f" and {len(names) - shown} more" if len(names) > shown else ""
            )
            noun = "file" if len(names) == 1 else "files"
            parts.append(f"{len(names)} {noun} {verb} measurement ({listed})")
    return (
        "coverage measures other files than before: " + "; ".join(parts) + ", not by being "
        "deleted or added in this phase; the two percentages count different code, so their "
        "change is no measure of the tests (check the coverage configuration: source, "
        "include, omit)"
    )


# Test files by the runners' own naming (pytest, go test, jest): coverage is not expected to
# measure them, so one it did not measure is not news.
_TEST_FILE = re.compile(
    r"(^|/)(tests?|__tests__|spec|testdata)/"
    r"|(^|/)(test_[^/]*|[^/]*_test\.[^/.]+|[^/]*\.(test|spec)\.[^/]+|conftest\.py)$"
)


def not_measured(
    added: Mapping[str, set[int]], data: LineData, changes: Iterable[FileChange]
) -> list[dict[str, Any]]:
    """The changed source files coverage did not measure, with their changed lines.

    Patch coverage counts, as diff-cover does, only files the coverage data names, so a
    changed file it never measured (outside ``source``, omitted, or never imported) is
    left out of the figure; this names them beside it. A source file is one of a kind
    coverage measures (the extension of a file the data names), not a test file, and not
    one the diff excludes (generated files, lock files).
    """
    kinds = {_extension(name) for name in data if not name.startswith("/")} - {""}
    excluded = {change.path for change in changes if change.excluded}
    return [
        {"path": path, "lines_changed": len(lines)}
        for path, lines in sorted(added.items())
        if lines
        and path not in data
        and path not in excluded
        and _extension(path) in kinds
        and not _TEST_FILE.search(path)
    ]


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[2] if "." in name.lstrip(".") else ""
