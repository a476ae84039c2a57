"""What one measurement of a checkout found: tests, coverage, its lines, benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phasectl.model.benchmarks import Benchmark
    from phasectl.model.coverage_data import CoverageSummary, FileLines
    from phasectl.model.results import TestResults


@dataclass(frozen=True)
class Measurement:
    """What one run measured. ``lines`` (line-level coverage) feeds patch coverage."""

    tests: TestResults | None = None
    coverage: CoverageSummary | None = None
    lines: dict[str, FileLines] | None = None
    benchmarks: tuple[Benchmark, ...] | None = None
    warnings: tuple[str, ...] = field(default=())
