"""Snapshots: the test, coverage and benchmark figures measured at one commit.

A snapshot is stored as a git note on its commit under ``refs/notes/phasectl``, so the
next phase's "before" costs nothing and travels with ``git push origin refs/notes/phasectl``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from phasectl.collectors.benchmarks import Benchmark
from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.results import TestResults

if TYPE_CHECKING:
    from phasectl.repo.repository import Repository

NOTES_REF = "refs/notes/phasectl"
SNAPSHOT_SCHEMA = "phasectl-snapshot/1"


@dataclass(frozen=True)
class Snapshot:
    """Figures measured at ``commit``.

    ``source`` says where they came from: ``work tree`` (tests run in the user's checkout),
    ``worktree run`` (tests run at the commit in a temporary ``git worktree``),
    ``artifacts`` (JUnit/coverage files the user named) or ``note`` (read back from git
    notes; ``measured_by`` then keeps how it was first measured).
    """

    commit: str
    source: str
    tests: TestResults | None = None
    coverage: CoverageSummary | None = None
    benchmarks: tuple[Benchmark, ...] | None = None
    measured_at: str = ""
    measured_by: str | None = None
    phase: Mapping[str, Any] | None = None
    """Set by ``phasectl tag`` on the tagged commit: the phase that ends there (``name``,
    ``tag``, ``base`` ref/sha, diff ``totals``, ``patch_percent``), for ``phasectl history``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SNAPSHOT_SCHEMA,
            "commit": self.commit,
            "source": self.source,
            "measured_by": self.measured_by,
            "measured_at": self.measured_at,
            "tests": self.tests.to_dict() if self.tests else None,
            "coverage": self.coverage.to_dict() if self.coverage else None,
            "benchmarks": (
                [b.to_dict() for b in self.benchmarks] if self.benchmarks is not None else None
            ),
            "phase": dict(self.phase) if self.phase is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        if data.get("schema") != SNAPSHOT_SCHEMA:
            raise ValueError(f"unsupported snapshot schema {data.get('schema')!r}")
        benchmarks = data.get("benchmarks")
        return cls(
            commit=data["commit"],
            source=data["source"],
            tests=TestResults.from_dict(data["tests"]) if data.get("tests") else None,
            coverage=CoverageSummary.from_dict(data["coverage"]) if data.get("coverage") else None,
            benchmarks=(
                tuple(Benchmark.from_dict(b) for b in benchmarks)
                if benchmarks is not None
                else None
            ),
            measured_at=data.get("measured_at", ""),
            measured_by=data.get("measured_by"),
            phase=data.get("phase"),
        )


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def load_snapshot(repo: Repository, commit: str) -> tuple[Snapshot | None, str | None]:
    """The snapshot stored on ``commit``, or ``None``; and a warning if the note is unreadable.

    The local notes come first, then those fetched from remotes (``phasectl init --notes``).
    """
    for ref in (NOTES_REF, *repo.fetched_notes_refs(NOTES_REF)):
        raw = repo.read_note(ref, commit)
        if raw is not None:
            break
    else:
        return None, None
    try:
        stored = Snapshot.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        return None, (
            f"the phasectl note on {commit[:12]} is unreadable ({exc}); "
            f"run 'phasectl snapshot {commit[:12]}' to replace it"
        )
    return replace(stored, source="note", measured_by=stored.source), None


def store_snapshot(repo: Repository, snapshot: Snapshot) -> None:
    """Write ``snapshot`` as the note on its commit (replacing an older one)."""
    data = json.dumps(snapshot.to_dict(), sort_keys=True).encode("utf-8", "backslashreplace")
    repo.write_note(NOTES_REF, snapshot.commit, data)
