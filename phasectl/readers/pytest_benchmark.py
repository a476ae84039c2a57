"""pytest-benchmark's ``--benchmark-json`` files."""

from __future__ import annotations

import json
from pathlib import Path

from phasectl.errors import PhasectlError
from phasectl.model.benchmarks import Benchmark, plausible_seconds
from phasectl.readers.files import untrusted


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
    for item in items:
        if not plausible_seconds(item.median_s):
            raise PhasectlError(
                f"{path}: benchmark {item.name} has the median {item.median_s:g} s, which is "
                "not a time a run can take (negative, not finite, or over a year)"
            )
    return tuple(sorted(items, key=lambda b: b.name))
