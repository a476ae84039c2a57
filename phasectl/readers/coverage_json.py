"""coverage.py's JSON report (``coverage json``): its totals and each file's lines."""

from __future__ import annotations

import json
from pathlib import Path

from phasectl.model.coverage_data import CoverageSummary, FileCoverage, FileLines
from phasectl.readers.files import checkout_path


def read_coverage_json(path: Path, root: Path) -> tuple[CoverageSummary, dict[str, FileLines]]:
    """The figures of a ``coverage json`` report."""
    result = json.loads(path.read_text(encoding="utf-8"))
    return _summary_from_json(result), _lines_from_json(result, root)


def _summary_from_json(result: dict[str, object]) -> CoverageSummary:
    totals = result["totals"]
    assert isinstance(totals, dict)
    files_data = result["files"]
    assert isinstance(files_data, dict)
    branches = "num_branches" in totals
    files = tuple(
        FileCoverage(
            Path(name).as_posix(),
            int(info["summary"]["covered_lines"]),
            int(info["summary"]["num_statements"]),
            float(info["summary"]["percent_covered"]),
        )
        for name, info in sorted(files_data.items())
    )
    return CoverageSummary(
        percent=float(totals["percent_covered"]),
        percent_display=str(totals["percent_covered_display"]),
        lines_covered=int(totals["covered_lines"]),
        lines_total=int(totals["num_statements"]),
        branches_covered=int(totals["covered_branches"]) if branches else None,
        branches_total=int(totals["num_branches"]) if branches else None,
        files=files,
        basis="statements+branches" if branches else "lines",
        display_rule="coverage.py",
    )


def _lines_from_json(result: dict[str, object], root: Path) -> dict[str, FileLines]:
    files_data = result["files"]
    assert isinstance(files_data, dict)
    lines = {}
    for name, info in files_data.items():
        summary = info["summary"]
        executed = frozenset(int(n) for n in info["executed_lines"])
        missing = frozenset(int(n) for n in info["missing_lines"])
        lines[checkout_path(name, root)] = FileLines(
            executed | missing,
            executed,
            summary.get("num_branches"),
            summary.get("covered_branches"),
        )
    return lines
