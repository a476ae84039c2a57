"""Read a Go coverage profile (``go test -coverprofile``) into per-file statement and line data.

Profile format: a ``mode: set|count|atomic`` line, then one block a line,
``name.go:L1.C1,L2.C2 STATEMENTS COUNT``. Repeated identical mode lines (profiles joined
with ``cat``) are accepted; a different mode is an error.

Duplicate blocks (the same file and the same range, which ``-coverpkg`` produces once per
test binary) are merged the way ``go tool cover`` does (golang.org/x/tools/cover
``ParseProfiles``): counts are OR-ed in ``set`` mode and added in ``count``/``atomic`` mode;
differing statement counts for one range are an error, as in go.

Total: every statement of every merged block is weighted once, and a block's statements are
covered when its count is > 0. ``total_percent`` returns ``100 * covered / statements``
rounded to one decimal like go's ``%.1f`` (0.0 when there are no statements), which equals
the ``total:`` line of ``go tool cover -func``. (That tool counts only blocks inside function
declarations; blocks of function literals in package-level ``var`` initialisers are the one
case where the two differ.)

Lines, for patch coverage: a line is *measured* when it lies inside (``L1 <= line <= L2``) a
block with at least one statement, and *covered* when at least one such block containing it
has count > 0. A line shared by a covered and an uncovered block (``if x {`` ends one block
and starts the next) therefore counts as covered. Blocks are kept as ranges, never expanded
per line: line ranges are clamped to the file's real line count when ``repo_root`` is given
and the file exists there, else to ``MAX_LINES``; the statement totals use the blocks as
written.

File names: with ``repo_root``, an import-path name (``example.com/svc/store/store.go``) is
mapped through the modules the repository's ``go.mod`` files declare (``GoModules``; by
default only ``repo_root/go.mod``): the module with the longest path that prefixes the name
wins, as in go, so with ``svc/go.mod`` declaring ``example.com/svc`` the name becomes
``svc/store/store.go``. An absolute name (go writes them for ``go test file.go ...`` and in
GOPATH mode) becomes relative when it lies under ``repo_root``, and else, made in another
checkout, the longest tail of it that names a file here (``checkout_path``). Other names are
kept as written.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.coverage_data import CoverageSummary, FileLines
from phasectl.readers.files import (
    MAX_FILES,
    is_absolute_name,
    no_progress,
    untrusted,
)
from phasectl.readers.go_modules import GoModules, module_file, top_module

MAX_LINES = 1_000_000
"""Line cap when the source file is not available: no real Go file is longer."""


_MODES = ("set", "count", "atomic")


# Numbers are capped at 18 digits: go's own parser (strconv.Atoi) rejects more than int64.
_BLOCK = re.compile(
    r"^(.+):(\d{1,18})\.(\d{1,18}),(\d{1,18})\.(\d{1,18}) (\d{1,18}) (\d{1,18})$", re.ASCII
)


_REGENERATE = "regenerate it with go test -coverprofile=FILE"


Range = tuple[int, int]


_FIELDS = 7
"""A block as read, seven signed 64-bit numbers in its file's array: start line, start
column, end line, end column, where it was read (``_where``), statements, count. A 100 MB
profile holds millions of blocks: as numbers in one array per file they weigh 56 bytes
each, where a dict of tuples took several hundred bytes a file more."""


_LINE_BITS = 40


Blocks = dict[str, "array[int]"]
"""The blocks of each file as read, in their order (see ``_FIELDS``)."""


@dataclass(frozen=True, slots=True)
class GoBlock:
    """One merged profile block."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    statements: int
    count: int


@dataclass(frozen=True)
class GoFileCoverage:
    """Coverage of one source file.

    ``measured`` and ``covered`` are sorted, disjoint, inclusive line ranges (see the module
    docstring for what they mean); ``blocks`` are the merged blocks sorted by position.
    """

    name: str
    profile_name: str
    mode: str
    blocks: tuple[GoBlock, ...]
    measured: tuple[Range, ...]
    covered: tuple[Range, ...]

    @property
    def statements(self) -> int:
        return sum(block.statements for block in self.blocks)

    @property
    def covered_statements(self) -> int:
        return sum(block.statements for block in self.blocks if block.count > 0)

    def is_measured(self, line: int) -> bool:
        return _in_ranges(self.measured, line)

    def is_covered(self, line: int) -> bool:
        return _in_ranges(self.covered, line)

    def patch_counts(self, lines: Iterable[int]) -> tuple[int, int]:
        """Return (measured, covered) counts among ``lines`` (each distinct line once)."""
        distinct = set(lines)
        measured = sum(1 for line in distinct if self.is_measured(line))
        covered = sum(1 for line in distinct if self.is_covered(line))
        return measured, covered


def _in_ranges(ranges: tuple[Range, ...], line: int) -> bool:
    index = bisect_right(ranges, line, key=lambda item: item[0]) - 1
    return index >= 0 and ranges[index][0] <= line <= ranges[index][1]


def _union(ranges: list[Range]) -> tuple[Range, ...]:
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _line_count(repo_root: Path | None, name: str) -> int:
    if repo_root is None or Path(name).is_absolute():
        return MAX_LINES
    try:
        data = (repo_root / name).read_bytes()
    except OSError:
        return MAX_LINES
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return min(lines, MAX_LINES)


def read_go_coverprofile(
    path: Path, repo_root: Path | None = None, modules: GoModules | None = None
) -> dict[str, GoFileCoverage]:
    """Read the profile at ``path``; keys are repository paths (see the module docstring)."""
    return read_go_coverprofiles([path], repo_root, modules)


@untrusted("coverage profile")
def _read_profile(
    path: Path, mode: str, files: Blocks, index: int, progress: Callable[[int], None]
) -> str:
    return _read_blocks(path, mode, files, index, progress)


def read_go_coverprofiles(
    paths: Sequence[Path],
    repo_root: Path | None = None,
    modules: GoModules | None = None,
    *,
    progress: Callable[[Path], Callable[[int], None]] | None = None,
) -> dict[str, GoFileCoverage]:
    """Read several profiles as one, as ``go tool cover`` reads profiles joined with ``cat``.

    Keys are repository paths (see the module docstring), import paths mapped through
    ``modules`` (by default the module of ``repo_root/go.mod``, if there is one).
    ``progress``, given a profile, says how far its reading got.
    """
    return {file.name: file for file in _read_files(paths, repo_root, modules, progress)}


def _read_files(
    paths: Sequence[Path],
    repo_root: Path | None,
    modules: GoModules | None,
    progress: Callable[[Path], Callable[[int], None]] | None,
) -> Iterator[GoFileCoverage]:
    """Each file's coverage, made as the previous one is used: memory holds the blocks as
    read and one file's merged ones, never every file's."""
    if modules is None:
        modules = top_module(repo_root)
    mode = ""
    files: Blocks = {}
    for index, path in enumerate(paths):
        try:
            mode = _read_profile(
                path, mode, files, index, no_progress if progress is None else progress(path)
            )
        except PhasectlError:
            # go reads blocks in order: a block that contradicts an earlier one, above
            # what is wrong here, is the first problem.
            for _ in _merged(files, mode, modules, repo_root, paths, lines=False):
                pass
            raise
    yield from _merged(files, mode, modules, repo_root, paths)


def _read_blocks(
    path: Path, mode: str, files: Blocks, index: int, progress: Callable[[int], None]
) -> str:
    """Add the blocks of the profile at ``path`` to ``files``; the profile's mode.

    Read line by line, so memory holds the blocks, never the whole file."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise PhasectlError(f"{path}: cannot read coverage profile ({exc.strerror})") from exc
    with handle:
        return _read_lines(path, handle, mode, files, index, progress)


def _read_lines(
    path: Path,
    handle: Iterable[bytes],
    mode: str,
    files: Blocks,
    index: int,
    progress: Callable[[int], None],
) -> str:
    own_mode = ""
    for lineno, raw in enumerate(handle, 1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        where = f"{path}:{lineno}"
        if not line.strip():
            continue
        if line.startswith("mode:"):
            new_mode = line[len("mode:") :].strip()
            if new_mode not in _MODES:
                raise PhasectlError(
                    f"{where}: unknown coverage mode {_short(new_mode)} (want set, count or "
                    f"atomic); {_REGENERATE}"
                )
            if mode and new_mode != mode:
                raise PhasectlError(
                    f"{where}: mode {new_mode} differs from mode {mode} above; profiles of "
                    "different -covermode cannot be joined, regenerate them with one mode"
                )
            mode = own_mode = new_mode
            continue
        if not own_mode:
            raise PhasectlError(
                f"{where}: a coverage profile starts with `mode: set|count|atomic`; {_REGENERATE}"
            )
        match = _BLOCK.match(line)
        if match is None:
            raise PhasectlError(
                f"{where}: not a coverage block {_short(line)} (want "
                f"file.go:LINE.COL,LINE.COL STATEMENTS COUNT); {_REGENERATE}"
            )
        name = match.group(1)
        start_line, start_col, end_line, end_col, statements, count = (
            int(value) for value in match.groups()[1:]
        )
        if (end_line, end_col) < (start_line, start_col):
            raise PhasectlError(f"{where}: coverage block ends before it starts; {_REGENERATE}")
        blocks = files.get(name)
        if blocks is None:
            if len(files) >= MAX_FILES:
                raise PhasectlError(
                    f"{where}: the profile names more than {MAX_FILES:,} files, the most "
                    "phasectl reads; split it by package"
                )
            blocks = files[name] = array("q")
            if not len(files) & 0xFFF:
                progress(len(files))
        blocks.extend(
            (start_line, start_col, end_line, end_col, _where(index, lineno), statements, count)
        )
    if not own_mode:
        raise PhasectlError(f"{path}:1: empty coverage profile (no mode line); {_REGENERATE}")
    return mode


def _where(index: int, lineno: int) -> int:
    """Where a block was read, as one number that sorts in reading order: the profile's
    index among those read together, and the line in it."""
    return index << _LINE_BITS | lineno


def _merge(flat: array[int], mode: str) -> tuple[list[list[int]], tuple[int, int, int, int] | None]:
    """One file's blocks merged as go merges duplicates (sorted by position; see the module
    docstring), each ``[start line, start column, end line, end column, statements,
    count]``; and the first block, in reading order, whose statements contradict the first
    block of its range: (where it was read, its statements, where and statements of the
    first), or None."""
    merged: list[list[int]] = []
    first_at: list[int] = []
    wrong: tuple[int, int, int, int] | None = None
    rows = sorted(zip(*[iter(flat)] * _FIELDS, strict=True))
    for start_line, start_col, end_line, end_col, at, statements, count in rows:
        if merged and merged[-1][:4] == [start_line, start_col, end_line, end_col]:
            last = merged[-1]
            if last[4] != statements:
                if wrong is None or at < wrong[0]:
                    wrong = (at, statements, first_at[-1], last[4])
                continue
            last[5] = last[5] | count if mode == "set" else last[5] + count
            continue
        merged.append([start_line, start_col, end_line, end_col, statements, count])
        first_at.append(at)
    return merged, wrong


def _merged(
    files: Blocks,
    mode: str,
    modules: GoModules,
    repo_root: Path | None,
    paths: Sequence[Path],
    *,
    lines: bool = True,
) -> Iterator[GoFileCoverage]:
    """Each file's coverage from its blocks as read, which are dropped as it is made;
    the first contradicting block, once all are merged, as ``PhasectlError``. Without
    ``lines``, only that check."""
    wrong: tuple[int, int, int, int] | None = None
    for name in list(files):
        blocks, contradiction = _merge(files.pop(name), mode)
        if contradiction is not None and (wrong is None or contradiction < wrong):
            wrong = contradiction
        if not lines or wrong is not None:
            continue
        repo_name = module_file(name, modules, repo_root)
        limit = _line_count(repo_root, repo_name)
        merged = tuple(GoBlock(*block) for block in blocks)
        measured: list[Range] = []
        covered: list[Range] = []
        for block in merged:
            low, high = max(1, block.start_line), min(block.end_line, limit)
            if block.statements == 0 or low > high:
                continue
            measured.append((low, high))
            if block.count > 0:
                covered.append((low, high))
        yield GoFileCoverage(
            name=repo_name,
            profile_name=name,
            mode=mode,
            blocks=merged,
            measured=_union(measured),
            covered=_union(covered),
        )
    if wrong is not None:
        at, statements, first, first_statements = wrong
        where = f"{paths[at >> _LINE_BITS]}:{at & ((1 << _LINE_BITS) - 1)}"
        raise PhasectlError(
            f"{where}: this block has {statements} statements but line "
            f"{first & ((1 << _LINE_BITS) - 1)} gives the same range {first_statements}; the "
            "profiles come from different sources, regenerate them"
        )


def total_statements(files: Mapping[str, GoFileCoverage]) -> tuple[int, int]:
    """Return (covered statements, statements) over all files."""
    covered = sum(coverage.covered_statements for coverage in files.values())
    return covered, sum(coverage.statements for coverage in files.values())


def total_percent(files: Mapping[str, GoFileCoverage]) -> float:
    """Return ``go tool cover -func``'s total percent, rounded to one decimal as go prints it."""
    covered, statements = total_statements(files)
    percent = 100.0 * covered / (statements or 1)
    return float(f"{percent:.1f}")


def _lines(ranges: tuple[Range, ...]) -> frozenset[int]:
    return frozenset(line for start, end in ranges for line in range(start, end + 1))


def read_go_coverage(
    paths: Sequence[Path],
    root: Path,
    modules: GoModules | None = None,
    *,
    progress: Callable[[Path], Callable[[int], None]] | None = None,
) -> tuple[CoverageSummary, dict[str, FileLines]]:
    """Coverprofiles as ``go tool cover -func`` reads them: the statement-weighted total, and
    line data (a line inside a measured block) for patch coverage. Import paths are mapped
    through ``modules`` (see ``read_go_coverprofiles``)."""
    data: dict[str, FileLines] = {}
    covered = statements = 0
    for file in _read_files(paths, root, modules, progress):
        covered += file.covered_statements
        statements += file.statements
        # A file missing from the checkout (or outside it) has no changed lines to measure:
        # no line data, so a bogus range cannot expand into a million lines. One empty
        # object serves all.
        data[file.name] = (
            FileLines(_lines(file.measured), _lines(file.covered))
            if not is_absolute_name(file.name) and (root / file.name).is_file()
            else _NO_LINES
        )
    # Each line's file figures for the report; the total in Go's unit, statements.
    summary = CoverageSummary.from_lines(data, "go", None, (covered, statements))
    return summary, data


_NO_LINES = FileLines((), ())
