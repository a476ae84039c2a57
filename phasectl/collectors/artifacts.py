"""Figures from files another runner wrote: test results, coverage and benchmarks."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import PhasectlError
from phasectl.model.coverage_data import CoverageSummary, FileLines, merge_line_data
from phasectl.model.measurement import Measurement
from phasectl.readers.cobertura import _parse_cobertura, read_cobertura
from phasectl.readers.formats import detect_format
from phasectl.readers.lcov import read_lcov
from phasectl.runners.coverage_combine import read_coveragepy

if TYPE_CHECKING:
    from phasectl.readers.files import FileStates


def read_artifacts(
    root: Path,
    results: Sequence[str],
    coverage: Sequence[str],
    *,
    python: str,
    benchmarks: Sequence[str] = (),
    before: FileStates | None = None,
    echo: Callable[[str], None] | None = None,
) -> Measurement:
    """Figures from files another runner wrote: test results, coverage and benchmark files.

    Files are taken as given, unless ``before`` holds them as they were before the run
    that should have written them (phasectl ran ``test_command``): then a file that run
    did not write is stale, and is not read (a warning says so), nor is a pattern that
    matches nothing an error. ``echo`` is told how far a long read of coverage got.
    """
    from phasectl.readers.files import expand_globs
    from phasectl.readers.formats import read_benchmarks, read_results

    if before is None:
        result_files, coverage_files = expand_globs(results, root), expand_globs(coverage, root)
        warnings: list[str] = []
    else:
        result_files, warnings = _written(results, root, before, "results")
        coverage_files, stale = _written(coverage, root, before, "coverage")
        warnings.extend(stale)
    tests = read_results(result_files, root) if result_files else None
    summary = lines = None
    if coverage_files:
        summary, lines = read_coverage(
            coverage_files, root, python=python, warnings=warnings, echo=echo
        )
    timed = read_benchmarks(expand_globs(benchmarks, root)) if benchmarks else None
    return Measurement(tests, summary, lines, timed, tuple(warnings))


def _written(
    patterns: Sequence[str], root: Path, before: FileStates, what: str
) -> tuple[list[Path], list[str]]:
    """The files the patterns match that the run wrote, and what is said of the others."""
    from phasectl.readers.files import matching_files

    written: set[Path] = set()
    warnings = []
    for pattern in patterns:
        found = matching_files(pattern, root)
        if not found:
            warnings.append(f"{what} '{pattern}' matched no file after the run")
        for path in found:
            if before.unchanged(path):
                warnings.append(before.stale(path, f"{what} file"))
            else:
                written.add(path)
    return sorted(written), warnings


def read_coverage(
    paths: Sequence[Path],
    root: Path,
    *,
    python: str = sys.executable,
    warnings: list[str] | None = None,
    echo: Callable[[str], None] | None = None,
) -> tuple[CoverageSummary, dict[str, FileLines]]:
    """Read and merge coverage files of any supported format.

    coverage.py data files are combined by coverage.py itself, and its own totals are
    kept when they are the only input. Mixed with other formats, everything is merged
    as line data and the totals are covered lines over measurable lines; when a format's
    own total counts something else (Go's statements, coverage.py's branches), a line
    appended to ``warnings`` says so, with that format's own figure. A read of LCOV or a
    Go profile that takes over 15 s says through ``echo`` how far it got.
    """
    from phasectl.readers.files import Progress, no_progress

    def progress(path: Path) -> Callable[[int], None]:
        return no_progress if echo is None else Progress(path, echo)

    by_format: dict[str, list[Path]] = {}
    for path in paths:
        by_format.setdefault(detect_format(path), []).append(path)
    formats = set(by_format)
    shards: list[dict[str, FileLines]] = []
    summary = None
    own: dict[str, CoverageSummary] = {}
    if "coveragepy" in by_format:
        summary, lines = read_coveragepy(by_format.pop("coveragepy"), root, python)
        own["coveragepy"] = summary
        shards.append(lines)
    if "go" in by_format:
        from phasectl.readers.go_coverage import read_go_coverage

        go_summary, lines = read_go_coverage(
            by_format.pop("go"), root, go_modules(root), progress=progress
        )
        summary = summary or go_summary
        own["go"] = go_summary
        shards.append(lines)
    header = None
    if formats == {"cobertura"} and len(by_format["cobertura"]) == 1:
        lines, header = _parse_cobertura(by_format.pop("cobertura")[0], root)
        shards.append(lines)
    for kind, files in by_format.items():
        for path in files:
            lcov = kind == "lcov"
            shards.append(
                read_lcov(path, root, progress(path)) if lcov else read_cobertura(path, root)
            )
    # One shard is its own union: no copy of a dict of a million files.
    merged = shards[0] if len(shards) == 1 else merge_line_data(shards)
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
    if len(shards) > 1 and warnings is not None:
        warnings.extend(_mixed_bases(own, formats))
    return summary, merged


_KINDS = {
    "coveragepy": ("coverage.py data", "coverage report"),
    "go": ("Go coverprofiles", "go tool cover -func"),
    "lcov": ("LCOV", ""),
    "cobertura": ("Cobertura XML", ""),
}


def _mixed_bases(own: dict[str, CoverageSummary], formats: set[str]) -> list[str]:
    """What a total merged as lines no longer counts: one line for each format whose own
    total counts other units (Go's statements, coverage.py's statements and branches)."""
    said = []
    for kind, alone in own.items():
        if alone.basis == "lines":
            continue
        unit = alone.basis.replace("+", " and ")
        name, tool = _KINDS[kind]
        others = " and ".join(_KINDS[other][0] for other in sorted(formats - {kind}))
        covered, total = alone.on_basis(alone.basis)
        said.append(
            f"coverage mixes {name} (counted in {unit}) with {others} (counted in lines): "
            f"the total counts the lines of all files, not {unit}; the {name} alone give "
            f"{alone.percent_display}% of {unit} ({covered}/{total}), as {tool} counts them"
        )
    return said


def go_modules(root: Path) -> dict[str, tuple[str, ...]] | None:
    """The Go modules of the checkout at ``root``: every ``go.mod`` in it (a module in
    ``svc/``, the modules of a ``go.work``, nested ones), as git lists its files; ``None``
    outside a git work tree, where only ``root/go.mod`` counts."""
    from phasectl.readers.go_modules import read_go_modules
    from phasectl.repo.worktree import checkout_files

    gomods = checkout_files(root, "go.mod")
    return None if gomods is None else read_go_modules(root, gomods)
