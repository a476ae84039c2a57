"""Read coverage artifacts: coverage.py data, Cobertura XML, LCOV and Go coverprofiles.

Each reader returns line data keyed by the file's path relative to the repository root.
Several files are shards of one run: they are merged as a union of covered lines (a line
counts as covered when any shard ran it), never by adding or averaging percentages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.coverage_data import CoverageSummary, FileCoverage, FileLines, merge_line_data

_SQLITE = b"SQLite format 3\0"


class NoCoverageData(PhasectlError):
    """The coverage data measured none of the project's files."""


_GO_MODE = re.compile(r"^mode: (set|count|atomic)\s*$")
_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PhasectlError(f"coverage file {path} does not exist; run the tests first") from None
    except OSError as exc:
        raise PhasectlError(f"cannot read coverage file {path}: {exc.strerror}") from None
    if not data.strip():
        raise PhasectlError(f"coverage file {path} is empty; re-run the tests with coverage")
    return data


def detect_format(path: Path) -> str:
    """``coveragepy``, ``cobertura``, ``lcov`` or ``go``, from the file's content."""
    data = _read_bytes(path)
    if data.startswith(_SQLITE):
        return "coveragepy"
    head = data[:4096].decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if head.startswith("<"):
        return "cobertura"
    if _GO_MODE.match(head.splitlines()[0]):
        return "go"
    if re.search(r"^(TN|SF):", head, re.MULTILINE):
        return "lcov"
    raise PhasectlError(
        f"{path} is not a coverage file phasectl reads (coverage.py data, Cobertura XML, "
        "LCOV or Go coverprofile)"
    )


def _relative(name: str, root: Path) -> str:
    """A path relative to ``root`` when it lies inside it; otherwise as given."""
    path = Path(name)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return Path(os.path.normpath(name)).as_posix()


def read_cobertura(path: Path, root: Path) -> dict[str, FileLines]:
    """Lines from Cobertura XML (``coverage xml``, JaCoCo and others), via defusedxml."""
    import defusedxml
    from defusedxml import ElementTree

    _read_bytes(path)
    try:
        tree = ElementTree.parse(path)
    except defusedxml.DefusedXmlException:
        raise PhasectlError(
            f"refused {path}: it declares XML entities or a DTD (possible entity-expansion "
            "attack); regenerate it with your coverage tool"
        ) from None
    except ElementTree.ParseError as exc:
        raise PhasectlError(f"{path} is not well-formed XML ({exc}); regenerate it") from None
    top = tree.getroot()
    if top is None or top.tag != "coverage":
        tag = "none" if top is None else f"<{top.tag}>"
        raise PhasectlError(f"{path} is not Cobertura XML (root element {tag})")
    sources = [Path(s.text.strip()) for s in top.iter("source") if s.text and s.text.strip()]
    shards = []
    for cls in top.iter("class"):
        filename = cls.get("filename")
        if not filename:
            continue
        candidates = [src / filename for src in sources if (src / filename).exists()]
        name = _relative(str(candidates[0]), root) if candidates else _relative(filename, root)
        statements, covered = set(), set()
        branches_total = branches_covered = 0
        has_branches = False
        for line in cls.iter("line"):
            try:
                number = int(line.get("number", ""))
                hits = int(line.get("hits", "0"))
            except ValueError:
                raise PhasectlError(f"{path}: a <line> has a bad number or hits value") from None
            statements.add(number)
            if hits > 0:
                covered.add(number)
            found = _CONDITION.search(line.get("condition-coverage", ""))
            if line.get("branch") == "true" and found:
                has_branches = True
                branches_covered += int(found.group(1))
                branches_total += int(found.group(2))
        shards.append(
            {
                name: FileLines(
                    frozenset(statements),
                    frozenset(covered),
                    branches_total if has_branches else None,
                    branches_covered if has_branches else None,
                )
            }
        )
    return merge_line_data(shards)


def read_lcov(path: Path, root: Path) -> dict[str, FileLines]:
    """Lines from an LCOV tracefile (``SF``/``DA``/``BRDA``/``end_of_record``)."""
    text = _read_bytes(path).decode("utf-8", "replace")
    shards = []
    name: str | None = None
    lines: dict[int, int] = {}
    branches: dict[tuple[str, str, str], int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        try:
            if line.startswith("SF:"):
                name, lines, branches = _relative(line[3:], root), {}, {}
            elif line.startswith("DA:"):
                fields = line[3:].split(",")
                lines[int(fields[0])] = max(lines.get(int(fields[0]), 0), int(fields[1]))
            elif line.startswith("BRDA:"):
                where, block, branch, taken = line[5:].split(",")
                key = (where, block, branch)
                branches[key] = max(branches.get(key, 0), 0 if taken == "-" else int(taken))
            elif line == "end_of_record":
                if name is None:
                    raise ValueError("end_of_record without SF")
                shards.append({name: _lines_from_hits(lines, branches)})
                name = None
        except ValueError:
            raise PhasectlError(f"{path}, line {number}: malformed LCOV record {line!r}") from None
    if name is not None:
        raise PhasectlError(f"{path}: the record for {name} has no end_of_record (truncated?)")
    return merge_line_data(shards)


def _lines_from_hits(lines: dict[int, int], branches: dict[tuple[str, str, str], int]) -> FileLines:
    return FileLines(
        frozenset(lines),
        frozenset(n for n, hits in lines.items() if hits > 0),
        len(branches) if branches else None,
        sum(1 for taken in branches.values() if taken > 0) if branches else None,
    )


def read_coveragepy(
    paths: Sequence[Path], root: Path, python: str = sys.executable
) -> tuple[CoverageSummary, dict[str, FileLines]]:
    """Combine coverage.py data files as ``coverage combine`` does; report as ``coverage json``.

    coverage.py's own CLI runs in ``root`` with the project's interpreter, so the project's
    coverage configuration applies and the figures are exactly what ``coverage report``
    prints for the same data.
    """
    for path in paths:
        data = _read_bytes(path)
        if not data.startswith(_SQLITE):
            raise PhasectlError(f"{path} is not a coverage.py data file")
    with tempfile.TemporaryDirectory(prefix="phasectl-cov-") as scratch:
        # One file needs no combining (and saves starting coverage.py a second time).
        combined = Path(scratch) / ".coverage" if len(paths) > 1 else paths[0]
        report = Path(scratch) / "coverage.json"
        steps = [
            [python, "-m", "coverage", "json", "--quiet", f"--data-file={combined}",
             "-o", str(report)],
        ]  # fmt: skip
        if len(paths) > 1:
            steps.insert(
                0,
                [python, "-m", "coverage", "combine", "--keep", "--quiet",
                 f"--data-file={combined}", *map(str, paths)],
            )  # fmt: skip
        for step in steps:
            try:
                done = subprocess.run(step, cwd=root, capture_output=True, text=True, check=False)
            except FileNotFoundError:
                raise PhasectlError(f"python interpreter not found: {python}") from None
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip().splitlines()
                reason = said[-1] if said else f"exit status {done.returncode}"
                names = ", ".join(str(p) for p in paths)
                if "No data to report" in reason or "No source for code" in reason:
                    raise NoCoverageData(
                        f"coverage data in {names} does not match any file of this project "
                        f"({reason}); was it measured in another checkout?"
                    )
                raise PhasectlError(f"coverage {step[3]} failed on {names}: {reason}")
        return read_coverage_json(report, root)


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
    )


def _lines_from_json(result: dict[str, object], root: Path) -> dict[str, FileLines]:
    files_data = result["files"]
    assert isinstance(files_data, dict)
    lines = {}
    for name, info in files_data.items():
        summary = info["summary"]
        executed = frozenset(int(n) for n in info["executed_lines"])
        missing = frozenset(int(n) for n in info["missing_lines"])
        lines[_relative(name, root)] = FileLines(
            executed | missing,
            executed,
            summary.get("num_branches"),
            summary.get("covered_branches"),
        )
    return lines


def read_coverage(
    paths: Sequence[Path], root: Path, *, python: str = sys.executable
) -> tuple[CoverageSummary, dict[str, FileLines]]:
    """Read and merge coverage files of any supported format.

    coverage.py data files are combined by coverage.py itself, and its own totals are
    kept when they are the only input. Mixed with other formats, everything is merged
    as line data and the totals are covered lines over measurable lines.
    """
    by_format: dict[str, list[Path]] = {}
    for path in paths:
        by_format.setdefault(detect_format(path), []).append(path)
    shards: list[dict[str, FileLines]] = []
    summary = None
    if "coveragepy" in by_format:
        summary, lines = read_coveragepy(by_format.pop("coveragepy"), root, python)
        shards.append(lines)
    if "go" in by_format:
        from phasectl.collectors.go_coverage import read_go_coverage

        go_summary, lines = read_go_coverage(by_format.pop("go"), root)
        summary = summary or go_summary
        shards.append(lines)
    readers = {"cobertura": read_cobertura, "lcov": read_lcov}
    for kind, files in by_format.items():
        shards.extend(readers[kind](path, root) for path in files)
    merged = merge_line_data(shards)
    # Paths outside root stay absolute (see _relative): they are not this project's files.
    if not any(not Path(name).is_absolute() and (root / name).exists() for name in merged):
        names = ", ".join(str(p) for p in paths)
        raise PhasectlError(
            f"coverage data in {names} does not match any file of this project; "
            "was it measured in another checkout?"
        )
    if summary is None or len(shards) > 1:
        summary = CoverageSummary.from_lines(merged)
    return summary, merged
