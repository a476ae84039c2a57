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

from phasectl.collectors.reading import LineBudget, text_lines, untrusted
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


def _read_head(path: Path) -> bytes:
    """The file's first bytes, from its first non-blank one on (never the whole file)."""
    try:
        with path.open("rb") as handle:
            first = handle.read(len(_SQLITE))
            if first.startswith(_SQLITE):
                return first
            head = (first + handle.read(4096)).lstrip()
            while not head and (chunk := handle.read(1 << 16)):
                head = chunk.lstrip()
            return head + handle.read(max(0, 4096 - len(head)))
    except FileNotFoundError:
        raise PhasectlError(f"coverage file {path} does not exist; run the tests first") from None
    except OSError as exc:
        raise PhasectlError(f"cannot read coverage file {path}: {exc.strerror}") from None


@untrusted("coverage file")
def detect_format(path: Path) -> str:
    """``coveragepy``, ``cobertura``, ``lcov`` or ``go``, from the file's content."""
    data = _read_head(path)
    if not data.strip():
        raise PhasectlError(f"coverage file {path} is empty; re-run the tests with coverage")
    if data.startswith(_SQLITE):
        return "coveragepy"
    head = data[:4096].decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if head.startswith("<"):
        return "cobertura"
    if _GO_MODE.match(head.splitlines()[0] if head else ""):
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


def checkout_path(name: str, root: Path, sources: Sequence[str] = ()) -> str:
    """The repository path of a file a coverage artifact names, mapped as diff-cover and
    Codecov map it: joined to each ``<source>`` (Cobertura) first, then as written
    (relative names are relative to the checkout), and for a path from another checkout
    (``/home/runner/work/p/p/src/a.js``) the longest tail of it that names a file here.
    A name that matches no file here is returned as ``_relative`` gives it.
    """
    tried = [f"{source.rstrip('/')}/{name}" for source in sources if not _is_absolute(name)]
    for candidate in (*tried, name):
        mapped = _relative(candidate, root)
        if not _is_absolute(mapped) and (root / mapped).is_file():
            return mapped
        parts = [part for part in re.split(r"[\\/]", candidate) if part]
        for start in range(1, len(parts)):
            tail = "/".join(parts[start:])
            if (root / tail).is_file():
                return tail
    return _relative(name, root)


def _is_absolute(name: str) -> bool:
    # Windows paths too: CI artifacts come from any runner.
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name) is not None


def read_cobertura(path: Path, root: Path) -> dict[str, FileLines]:
    """Lines from Cobertura XML (``coverage xml``, JaCoCo and others), via defusedxml."""
    return _parse_cobertura(path, root)[0]


@untrusted("coverage file")
def _parse_cobertura(path: Path, root: Path) -> tuple[dict[str, FileLines], tuple[int, int] | None]:
    """Line data, and the branch totals the header states (covered, valid) if it does.

    The header's branch totals are the tool's own: istanbul's per-line
    ``condition-coverage`` leaves out branches it cannot place on one line. The file is
    read incrementally, one ``<class>`` at a time (see collectors.reading).
    """
    from phasectl.collectors.reading import stream_elements

    header = None
    sources: list[str] = []
    shards = []
    elements = stream_elements(
        path, ("coverage",), frozenset({"class"}), "Cobertura XML",
        "regenerate it with your coverage tool",
    )  # fmt: skip
    for cls, ancestors in elements:
        if not ancestors:
            try:
                header = (int(cls.get("branches-covered", "")), int(cls.get("branches-valid", "")))
            except ValueError:
                header = None
        if cls.tag == "source" and cls.text and cls.text.strip():
            sources.append(cls.text.strip())
        if cls.tag != "class":
            continue
        filename = cls.get("filename")
        if not filename:
            continue
        name = checkout_path(filename, root, sources)
        statements, covered = set(), set()
        branches_total = branches_covered = 0
        has_branches = False
        # The class's own <lines> only: istanbul (jest) repeats function lines inside
        # <methods>, and counting those too is a figure no tool reports.
        own = cls.find("lines")
        for line in own.iter("line") if own is not None else ():
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
    merged = merge_line_data(shards)
    measured = any(lines.branches_total is not None for lines in merged.values())
    return merged, header if measured and header is not None and header[1] else None


@untrusted("coverage file")
def read_lcov(path: Path, root: Path) -> dict[str, FileLines]:
    """Lines from an LCOV tracefile (``SF``/``DA``/``BRDA``/``end_of_record``)."""
    shards = []
    name: str | None = None
    lines: dict[int, int] = {}
    branches: dict[tuple[str, str, str], int] = {}
    budget = LineBudget(path, root)
    for number, raw in text_lines(path, "coverage file"):
        line = raw.strip()
        try:
            if line.startswith("SF:"):
                name, lines, branches = checkout_path(line[3:], root), {}, {}
            elif line.startswith("DA:"):
                fields = line[3:].split(",")
                if int(fields[0]) not in lines:
                    budget.count(1)
                lines[int(fields[0])] = max(lines.get(int(fields[0]), 0), int(fields[1]))
            elif line.startswith("BRDA:"):
                where, block, branch, taken = line[5:].split(",")
                key = (where, block, branch)
                if key not in branches:
                    budget.count(4)  # a key of three strings weighs about four line numbers
                branches[key] = max(branches.get(key, 0), 0 if taken == "-" else int(taken))
            elif line == "end_of_record":
                if name is None:
                    raise ValueError("end_of_record without SF")
                shards.append({name: _lines_from_hits(lines, branches)})
                name = None
        except (ValueError, IndexError):
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

    coverage.py runs in ``root`` with the project's interpreter, so the project's coverage
    configuration applies and the figures are exactly what ``coverage report`` prints for
    the same data. Data measured in another checkout (CI) is remapped onto this one: by the
    project's ``[paths]``, then by the prefix its files' paths share there.
    """
    for path in paths:
        data = _read_bytes(path)
        if not data.startswith(_SQLITE):
            raise PhasectlError(f"{path} is not a coverage.py data file")
    with tempfile.TemporaryDirectory(prefix="phasectl-cov-") as scratch:
        script = Path(scratch) / "_phasectl_coverage.py"
        script.write_bytes(Path(__file__).with_name("_coverage_export.py").read_bytes())
        report = Path(scratch) / "coverage.json"
        run_coverage_export(python, script, paths, report, root, {"infer_paths": True})
        return read_coverage_json(report, root)


def run_coverage_export(
    python: str,
    script: Path,
    data_files: Sequence[Path],
    report: Path,
    root: Path,
    options: dict[str, object],
) -> None:
    """Run ``_coverage_export.py`` (copied to ``script``) with the project's interpreter."""
    command = [python, str(script), str(report), json.dumps(options), *map(str, data_files)]
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PhasectlError(f"python interpreter not found: {python}") from None
    if done.returncode != 0 or not report.exists():
        said = (done.stderr or done.stdout).strip().splitlines()
        reason = said[-1] if said else f"exit status {done.returncode}"
        names = ", ".join(str(p) for p in data_files)
        if "No data to report" in reason or "No source for code" in reason:
            raise NoCoverageData(
                f"coverage data in {names} does not match any file of this project "
                f"({reason}); was it measured in another checkout?"
            )
        if "No module named 'coverage'" in reason:
            raise PhasectlError(f"coverage.py is not installed for {python}")
        raise PhasectlError(f"reading coverage data {names} failed: {reason}")


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
    formats = set(by_format)
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
    header = None
    if formats == {"cobertura"} and len(by_format["cobertura"]) == 1:
        lines, header = _parse_cobertura(by_format.pop("cobertura")[0], root)
        shards.append(lines)
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
        # Each percent as its tool shows it: istanbul (jest) for LCOV and Cobertura.
        summary = CoverageSummary.from_lines(merged, "istanbul", header)
    return summary, merged
