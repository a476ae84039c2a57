"""Benchmarks from files, the format told by the content: the median of each benchmark.

pytest-benchmark's ``--benchmark-json``, Go's benchmark lines (``go test -bench``, plain or
``-json``) and hyperfine's ``--export-json``. Times are seconds (Go's ``ns/op`` per op).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phasectl.collectors.reading import untrusted
from phasectl.errors import PhasectlError


@dataclass(frozen=True)
class Benchmark:
    """One benchmark's median time in seconds, and its fastest and slowest run when known."""

    name: str
    median_s: float
    min_s: float | None = None
    max_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.min_s is None else {"min_s": self.min_s, "max_s": self.max_s}
        return {"name": self.name, "median_s": self.median_s, **extra}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Benchmark:
        low, high = data.get("min_s"), data.get("max_s")
        return cls(
            data["name"],
            float(data["median_s"]),
            None if low is None else float(low),
            None if high is None else float(high),
        )


@untrusted("benchmark file")
def read_benchmark_json(path: Path) -> tuple[Benchmark, ...]:
    """Benchmarks from a pytest-benchmark JSON file, keyed by their full name."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise PhasectlError(
            f"benchmark file {path} does not exist; run the benchmarks with "
            f"--benchmark-json={path.name} first"
        ) from None
    except (OSError, ValueError) as exc:
        raise PhasectlError(f"cannot read benchmark file {path}: {exc}") from None
    try:
        items = [
            Benchmark(str(b.get("fullname") or b["name"]), float(b["stats"]["median"]))
            for b in data["benchmarks"]
        ]
    except (KeyError, TypeError, ValueError):
        raise PhasectlError(
            f"{path} is not pytest-benchmark JSON (expected benchmarks[].stats.median)"
        ) from None
    return tuple(sorted(items, key=lambda b: b.name))


def _go_benchmarks(path: Path) -> list[Benchmark]:
    from phasectl.collectors.go_bench import read_go_bench

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
    from phasectl.collectors.hyperfine import read_hyperfine_json

    return [Benchmark(r.command, r.median_s, r.min_s, r.max_s) for r in read_hyperfine_json(path)]


def read_benchmark_file(path: Path) -> list[Benchmark]:
    """The benchmarks of one file of any supported format."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PhasectlError(
            f"benchmark file {path} does not exist; run the benchmarks first"
        ) from None
    except OSError as exc:
        raise PhasectlError(f"cannot read benchmark file {path}: {exc.strerror}") from None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = None  # Go's output, plain lines or a -json event stream
    if isinstance(document, dict) and "benchmarks" in document:
        return list(read_benchmark_json(path))
    if isinstance(document, dict):
        return _hyperfine(path)
    if document is not None:
        raise PhasectlError(
            f"{path}:1: JSON that is neither pytest-benchmark's nor hyperfine's export; "
            "name the file your benchmark tool writes"
        )
    return _go_benchmarks(path)


def read_benchmarks(paths: Sequence[Path]) -> tuple[Benchmark, ...]:
    """Benchmarks from every file, sorted by name."""
    items = {b.name: b for path in paths for b in read_benchmark_file(path)}
    return tuple(sorted(items.values(), key=lambda b: b.name))


def compare_benchmarks(
    before: tuple[Benchmark, ...] | None, after: tuple[Benchmark, ...] | None
) -> list[dict[str, Any]]:
    """Per benchmark: before and after medians, the relative change (after/before - 1), and
    each side's fastest and slowest run (``[min, max]``) when the source gives them."""
    old = {b.name: b for b in before or ()}
    new = {b.name: b for b in after or ()}
    rows = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        a_s = a.median_s if a else None
        b_s = b.median_s if b else None
        change = None if a_s is None or b_s is None or a_s == 0 else b_s / a_s - 1
        rows.append(
            {
                "name": name,
                "before_s": a_s,
                "after_s": b_s,
                "change": change,
                "before_range_s": _range(a),
                "after_range_s": _range(b),
            }
        )
    return rows


def _range(bench: Benchmark | None) -> list[float] | None:
    if bench is None or bench.min_s is None or bench.max_s is None:
        return None
    return [bench.min_s, bench.max_s]


def read_configured_benchmarks(
    root: Path, patterns: Sequence[str], since: float | None
) -> tuple[tuple[Benchmark, ...] | None, list[str]]:
    """The benchmarks a test run (started at ``since``) wrote to the files ``patterns`` name.

    A pattern that matches nothing is a warning, not an error: the run may have failed.
    """
    from phasectl.collectors.junit import expand_globs

    paths: list[Path] = []
    warnings = []
    for pattern in patterns:
        try:
            paths.extend(expand_globs([pattern], root))
        except PhasectlError:
            warnings.append(f"benchmarks {pattern} was not written by the test run")
    for path in paths:
        if since is not None and path.stat().st_mtime < since:
            warnings.append(f"benchmark file {path.name} is older than this test run")
    return (read_benchmarks(sorted(set(paths))) if paths else None), warnings
