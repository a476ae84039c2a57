"""LCOV tracefiles (``SF``/``DA``/``BRDA``/``end_of_record``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.coverage_data import FileLines
from phasectl.readers.files import LineBudget, checkout_path, no_progress, text_lines, untrusted


@untrusted("coverage file")
def read_lcov(
    path: Path, root: Path, progress: Callable[[int], None] = no_progress
) -> dict[str, FileLines]:
    """Lines from an LCOV tracefile (``SF``/``DA``/``BRDA``/``end_of_record``); a file
    named in several records gets the union of their lines. ``progress`` is told the count
    of files read so far, every 4,096 records."""
    found: dict[str, FileLines] = {}
    name: str | None = None
    lines: dict[int, int] = {}
    branches: dict[tuple[str, str, str], int] = {}
    budget = LineBudget(path, root)
    folders: dict[str, bool] = {}
    alike: dict[FileLines, FileLines] = {}
    records = 0
    for number, raw in text_lines(path, "coverage file"):
        line = raw.strip()
        try:
            if line.startswith("SF:"):
                name, lines, branches = checkout_path(line[3:], root, folders=folders), {}, {}
            elif line.startswith("DA:"):
                fields = line[3:].split(",")
                at = int(fields[0])
                if at < 1:
                    raise PhasectlError(
                        f"{path}, line {number}: LCOV record {line!r} names line {at}; line "
                        "numbers start at 1 (regenerate the tracefile)"
                    )
                if at not in lines:
                    budget.count(1)
                lines[at] = max(lines.get(at, 0), int(fields[1]))
            elif line.startswith("BRDA:"):
                where, block, branch, taken = line[5:].split(",")
                key = (where, block, branch)
                if key not in branches:
                    budget.count(4)  # a key of three strings weighs about four line numbers
                branches[key] = max(branches.get(key, 0), 0 if taken == "-" else int(taken))
            elif line == "end_of_record":
                if name is None:
                    raise ValueError("end_of_record without SF")
                record = _lines_from_hits(lines, branches)
                if not branches and len(lines) <= 2 and max(lines, default=0) < 64:
                    # Files of a line or two recur (a million of them in a monorepo's
                    # tracefile): one object each way they look, a few thousand at most.
                    record = alike.setdefault(record, record)
                earlier = found.get(name)
                if earlier is None:
                    budget.file()
                found[name] = record if earlier is None else earlier.union(record)
                name = None
                records += 1
                if not records & 0xFFF:
                    progress(len(found))
        except (ValueError, IndexError):
            raise PhasectlError(f"{path}, line {number}: malformed LCOV record {line!r}") from None
    if name is not None:
        raise PhasectlError(f"{path}: the record for {name} has no end_of_record (truncated?)")
    return found


def _lines_from_hits(lines: dict[int, int], branches: dict[tuple[str, str, str], int]) -> FileLines:
    return FileLines(
        lines.keys(),
        (n for n, hits in lines.items() if hits > 0),
        len(branches) if branches else None,
        sum(1 for taken in branches.values() if taken > 0) if branches else None,
    )
