"""Benchmarks: one median time each, and the comparison of two sides."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The longest a benchmark's run may take: a year. A figure outside 0..this (negative, or
# 1e308 s, which prints as 309 digits) is no time a run took, whatever the file says.
MAX_SECONDS = 365 * 86400.0


def plausible_seconds(value: float) -> bool:
    """True for a time a benchmark's run can take: finite, not negative, at most a year."""
    return math.isfinite(value) and 0 <= value <= MAX_SECONDS


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
