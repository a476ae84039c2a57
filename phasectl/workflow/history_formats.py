"""Phase history as text: a terminal table, Markdown and CSV (JSON is ``History.to_dict``)."""

from __future__ import annotations

import csv
import io

from phasectl.quoting import display_path
from phasectl.report.markdown import code_span, escape_text
from phasectl.workflow.history import NO_SNAPSHOT, NOT_MEASURED, History, PhaseRow


def tests_cell(row: PhaseRow) -> str:
    if not row.snapshot:
        return NO_SNAPSHOT
    return f"{row.tests_passed}/{row.tests_total}" if row.tests_total is not None else NOT_MEASURED


def coverage_cell(row: PhaseRow) -> str:
    if not row.snapshot:
        return NO_SNAPSHOT
    return f"{row.coverage_display}%" if row.coverage_display is not None else NOT_MEASURED


def patch_cell(row: PhaseRow) -> str:
    if not row.snapshot:
        return NO_SNAPSHOT
    return f"{row.patch_percent:.1f}%" if row.patch_percent is not None else NOT_MEASURED


_HEADERS = (
    "Tag", "Phase", "Commit", "Date", "Tests passing", "Coverage", "Patch coverage",
    "Lines added", "Lines removed", "Files changed", "Duration", "Estimate",
)  # fmt: skip
_NUMERIC = frozenset(range(4, 12))


def _cells(row: PhaseRow) -> list[str]:
    return [
        row.tag,
        row.name,
        row.commit[:12],
        row.date,
        tests_cell(row),
        coverage_cell(row),
        patch_cell(row),
        str(row.lines_added),
        str(row.lines_removed),
        str(row.files_changed),
        row.duration or NOT_MEASURED,
        row.estimate or NOT_MEASURED,
    ]


def format_table(history: History) -> str:
    """Aligned plain-text columns; empty when there are no rows."""
    if not history.rows:
        return ""
    table = [list(_HEADERS)]
    for row in history.rows:
        cells = _cells(row)
        cells[0], cells[1] = display_path(cells[0]), display_path(cells[1])
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADERS))]
    lines = []
    for line in table:
        padded = [
            cell.rjust(widths[i]) if i in _NUMERIC else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def _table_code(text: str) -> str:
    # In a GitHub table a "|" ends the cell even inside a code span unless escaped; the
    # escape is removed before the span is read. (Tag names cannot hold a backslash, so
    # no "\\|" can arise to undo it.)
    return code_span(text).replace("|", "\\|")


def format_markdown(history: History) -> str:
    """A GitHub table: tag names and commits in code spans, the rest escaped."""
    align = ["---:" if i in _NUMERIC else "---" for i in range(len(_HEADERS))]
    lines = [f"| {' | '.join(_HEADERS)} |", f"| {' | '.join(align)} |"]
    for row in history.rows:
        cells = _cells(row)
        cells[0] = _table_code(row.tag)
        cells[1] = escape_text(row.name)
        cells[2] = _table_code(cells[2])
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "tag", "name", "commit", "date", "tests_passed", "tests_total", "coverage_percent",
    "coverage_display", "patch_percent", "lines_added", "lines_removed", "files_changed",
    "snapshot", "duration_s", "duration", "commit_days", "estimate",
)  # fmt: skip


def format_csv(history: History) -> str:
    """A header row, then one row per phase; missing figures are empty cells (the csv
    module writes ``None`` as an empty string)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in history.rows:
        writer.writerow(
            [
                row.tag, row.name, row.commit, row.date,
                row.tests_passed, row.tests_total,
                row.coverage_percent, row.coverage_display, row.patch_percent,
                row.lines_added, row.lines_removed, row.files_changed,
                "true" if row.snapshot else "false",
                row.duration_s, row.duration, row.commit_days, row.estimate,
            ]
        )  # fmt: skip
    return buffer.getvalue()
