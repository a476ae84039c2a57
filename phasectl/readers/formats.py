"""Tell artifact formats apart by content, and read each file with its reader:
test results (JUnit XML, ``go test -json``), coverage files and benchmark files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.benchmarks import Benchmark
from phasectl.model.results import OUTCOMES, TestResults
from phasectl.readers.files import FileStates, reading, untrusted
from phasectl.readers.pytest_benchmark import read_benchmark_json


def detect_results_format(path: Path) -> str:
    """``junit`` or ``go-json``, from the first bytes that are not blank."""
    with reading(path, "test results file"), path.open("rb") as handle:
        head = handle.read(4096)
    text = head.decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if text.startswith("<") or not text:
        return "junit"  # the JUnit reader says what is wrong with an empty file
    other = _other_json(text)
    if other is not None:
        raise PhasectlError(
            f"{path} is {other}, not test results; --results reads JUnit XML and go test "
            "-json streams"
        )
    # A stream may start with lines go prints between its events ("FAIL pkg [build
    # failed]"); the Go reader says so when a file holds no event at all.
    return "go-json"


# Keys that tell which tool wrote a JSON document, in its first 4 KiB.
_JSON_KINDS = (
    ('"machine_info"', "pytest-benchmark JSON (name it with --benchmarks)"),
    ('"benchmarks"', "pytest-benchmark JSON (name it with --benchmarks)"),
    ('"results"', "hyperfine JSON (name it with --benchmarks)"),
    ('"numTotalTests"', "jest's --json output (jest-junit writes JUnit XML)"),
    ('"testResults"', "jest's --json output (jest-junit writes JUnit XML)"),
)


def _other_json(text: str) -> str | None:
    """What a JSON file that is no test2json stream is: a JSON document (not one event a
    line), or lines of objects without an ``Action``; ``None`` for a test2json stream."""
    first = text.split("\n", 1)[0].strip()
    if not first.startswith(("{", "[")):
        return None
    try:
        event = json.loads(first)
    except (ValueError, RecursionError):
        event = None
    if isinstance(event, dict) and "Action" in event:
        return None
    for key, kind in _JSON_KINDS:
        if key in text:
            return kind
    if isinstance(event, dict) and event:
        keys = ", ".join(sorted(str(k) for k in event)[:5])
        return f"JSON whose first object has no Action (keys: {keys})"
    return "a JSON document, not one test2json event a line"


def _combined(parts: Sequence[TestResults]) -> TestResults:
    counts = {
        "passed": sum(p.passed for p in parts),
        "failed": sum(p.failed for p in parts),
        "error": sum(p.errors for p in parts),
        "skipped": sum(p.skipped for p in parts),
        "xfailed": sum(p.xfailed for p in parts),
        "xpassed": sum(p.xpassed for p in parts),
    }
    assert set(counts) == set(OUTCOMES)
    durations = [p.duration_s for p in parts if p.duration_s is not None]
    duration = round(sum(durations), 3) if durations else None
    return TestResults.from_counts(counts, duration, [c for p in parts for c in p.cases])


def read_results(paths: Sequence[Path], checkout: Path | None = None) -> TestResults:
    """Merged results of JUnit XML files and ``go test -json`` streams; pytest's JUnit
    cases are named by node id, found with the help of the files in ``checkout``."""
    from phasectl.readers.go_tests import read_go_results
    from phasectl.readers.junit import read_junit

    junit = [p for p in paths if detect_results_format(p) == "junit"]
    streams = [p for p in paths if p not in junit]
    parts = [read_go_results(p, checkout) for p in streams]
    if junit:
        parts.insert(0, read_junit(junit, checkout))
    if len(parts) == 1:
        return parts[0]
    return _combined(parts)


SQLITE_HEADER = b"SQLite format 3\0"


_GO_MODE = re.compile(r"^mode: (set|count|atomic)\s*$")


def _read_head(path: Path) -> bytes:
    """The file's first bytes, from its first non-blank one on (never the whole file)."""
    with reading(path, "coverage file"), path.open("rb") as handle:
        first = handle.read(len(SQLITE_HEADER))
        if first.startswith(SQLITE_HEADER):
            return first
        head = (first + handle.read(4096)).lstrip()
        while not head and (chunk := handle.read(1 << 16)):
            head = chunk.lstrip()
        return head + handle.read(max(0, 4096 - len(head)))


@untrusted("coverage file")
def detect_format(path: Path) -> str:
    """``coveragepy``, ``cobertura``, ``lcov`` or ``go``, from the file's content."""
    data = _read_head(path)
    if not data.strip():
        raise PhasectlError(f"coverage file {path} is empty; re-run the tests with coverage")
    if data.startswith(SQLITE_HEADER):
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


def _go_benchmarks(path: Path) -> list[Benchmark]:
    from phasectl.readers.go_bench import read_go_bench

    found = read_go_bench(path)
    names = [(b.package, b.name) for b in found]
    items = []
    for bench in found:
        # GOMAXPROCS (the -N suffix) differs between machines: named only when one run
        # holds the same benchmark at several -cpu values.
        several = names.count((bench.package, bench.name)) > 1
        name = f"{bench.package}.{bench.name}" if bench.package else bench.name
        name = f"{name}-{bench.procs}" if several and bench.procs else name
        samples = [ns * 1e-9 for ns in bench.ns_per_op_samples]
        items.append(Benchmark(name, bench.ns_per_op * 1e-9, min(samples), max(samples)))
    return items


def _hyperfine(path: Path) -> list[Benchmark]:
    from phasectl.readers.hyperfine import read_hyperfine_json

    return [Benchmark(r.command, r.median_s, r.min_s, r.max_s) for r in read_hyperfine_json(path)]


def read_benchmark_file(path: Path) -> list[Benchmark]:
    """The benchmarks of one file of any supported format."""
    with reading(path, "benchmark file", "run the benchmarks first"):
        data = path.read_bytes()
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = None  # Go's output, plain lines or a -json event stream
    if isinstance(document, dict) and "benchmarks" in document:
        return list(read_benchmark_json(path))
    if isinstance(document, dict) and "results" in document:
        return _hyperfine(path)
    if document is not None:
        raise PhasectlError(
            f"{path}:1: JSON that is neither pytest-benchmark's nor hyperfine's export; "
            f"{_BENCHMARK_KINDS}"
        )
    if b"Benchmark" not in data:
        found = (
            "XML (test results or coverage?)"
            if data.lstrip().startswith(b"<")
            else "a go test -json stream without benchmarks"
            if data.lstrip().startswith(b'{"')
            else "text without a single Benchmark line"
        )
        raise PhasectlError(f"{path} holds {found}, not benchmarks; {_BENCHMARK_KINDS}")
    return _go_benchmarks(path)


_BENCHMARK_KINDS = (
    "--benchmarks reads pytest-benchmark JSON (--benchmark-json), hyperfine --export-json "
    "files and go test -bench output"
)


def read_benchmarks(paths: Sequence[Path]) -> tuple[Benchmark, ...]:
    """Benchmarks from every file, sorted by name."""
    items = {b.name: b for path in paths for b in read_benchmark_file(path)}
    return tuple(sorted(items.values(), key=lambda b: b.name))


def read_configured_benchmarks(
    root: Path, patterns: Sequence[str], before: FileStates | None, *, passed: bool = False
) -> tuple[tuple[Benchmark, ...] | None, list[str]]:
    """The benchmarks a test run wrote to the files ``patterns`` name; ``before`` holds the
    files as they were before the run, and a file the run did not write is not read.

    A pattern that matches nothing is an error after a run that ``passed``, as for results
    and coverage files; after a failed run, a warning (the run may have stopped first).
    """
    from phasectl.readers.files import matching_files

    paths: list[Path] = []
    warnings = []
    for pattern in patterns:
        found = matching_files(pattern, root)
        if not found and passed:
            raise PhasectlError(
                f"benchmarks '{pattern}' matched no file after the test run; check the path, "
                "or that the run writes it"
            )
        if not found:
            warnings.append(f"benchmarks {pattern} was not written by the test run")
        for path in found:
            if before is not None and before.unchanged(path):
                warnings.append(before.stale(path, "benchmark file"))
            else:
                paths.append(path)
    return (read_benchmarks(sorted(set(paths))) if paths else None), warnings
