"""A phase's measurements: the diff, tests, coverage and benchmarks, as one JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phasectl.model.diff import SCHEMA, DiffResult, RefInfo


@dataclass(frozen=True)
class PhaseMetrics:
    """Everything measured for one phase: the JSON contract of ``phasectl collect``.

    ``tests`` and ``coverage`` are ``None`` when they were not collected. ``debt`` is
    the technical debt the diff adds and pays (``phasectl.repo.debt``).
    """

    base: RefInfo
    head: RefInfo
    diff: DiffResult
    tests: Mapping[str, Any] | None = None
    coverage: Mapping[str, Any] | None = None
    benchmarks: Mapping[str, Any] | None = None
    debt: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "base": self.base.to_dict(),
            "head": self.head.to_dict(),
            "diff": self.diff.to_dict(),
            "tests": self.tests,
            "coverage": self.coverage,
            "benchmarks": self.benchmarks,
            "debt": self.debt,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseMetrics:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unsupported schema {data.get('schema')!r}; expected {SCHEMA!r}")
        return cls(
            base=RefInfo.from_dict(data["base"]),
            head=RefInfo.from_dict(data["head"]),
            diff=DiffResult.from_dict(data["diff"]),
            tests=data.get("tests"),
            coverage=data.get("coverage"),
            benchmarks=data.get("benchmarks"),
            debt=data.get("debt"),
            warnings=tuple(data.get("warnings", ())),
        )
