"""Read pytest-benchmark's ``--benchmark-json`` output: the median of each benchmark."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasectl.collectors.reading import untrusted
from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from phasectl.config import Config


@dataclass(frozen=True)
class Benchmark:
    """One benchmark's median time in seconds."""

    name: str
    median_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "median_s": self.median_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Benchmark:
        return cls(data["name"], float(data["median_s"]))


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


def compare_benchmarks(
    before: tuple[Benchmark, ...] | None, after: tuple[Benchmark, ...] | None
) -> list[dict[str, Any]]:
    """Per benchmark: before and after medians and the relative change (after/before - 1)."""
    old = {b.name: b.median_s for b in before or ()}
    new = {b.name: b.median_s for b in after or ()}
    rows = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        change = None if a is None or b is None or a == 0 else b / a - 1
        rows.append({"name": name, "before_s": a, "after_s": b, "change": change})
    return rows


def read_configured_benchmarks(
    root: Path, config: Config, since: float
) -> tuple[tuple[Benchmark, ...] | None, list[str]]:
    if not config.benchmark_json:
        return None, []
    path = root / config.benchmark_json
    if not path.exists():
        return None, [f"benchmark_json {config.benchmark_json} was not written by the test run"]
    warnings = []
    if path.stat().st_mtime < since:
        warnings.append(f"benchmark_json {config.benchmark_json} is older than this test run")
    return read_benchmark_json(path), warnings
