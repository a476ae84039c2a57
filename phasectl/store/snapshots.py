"""Snapshots: the test, coverage and benchmark figures measured at one commit.

A snapshot is stored as a git note on its commit under ``refs/notes/phasectl``, so the
next phase's "before" costs nothing and travels with ``git push origin refs/notes/phasectl``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from phasectl.model.benchmarks import Benchmark
from phasectl.model.coverage_data import CoverageSummary
from phasectl.model.results import OUTCOMES, TestResults

if TYPE_CHECKING:
    from phasectl.model.measurement import Measurement
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

    @classmethod
    def of(cls, measured: Measurement, commit: str, source: str) -> Snapshot:
        """The figures of a measurement of ``commit``, stamped with the time."""
        return cls(
            commit=commit,
            source=source,
            tests=measured.tests,
            coverage=measured.coverage,
            benchmarks=measured.benchmarks,
            measured_at=now_iso(),
        )

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


def check_snapshot(data: object) -> None:
    """Raise ``ValueError`` naming the first value of ``data`` that does not fit the snapshot
    schema (the types ``Snapshot.from_dict`` and its readers rely on). Extra keys are allowed:
    later versions may add them."""
    top = _object(data, "the note")
    if top.get("schema") != SNAPSHOT_SCHEMA:
        raise ValueError(f"unsupported snapshot schema {top.get('schema')!r}")
    _text(top, "commit")
    _text(top, "source")
    _text(top, "measured_at", optional=True)
    _text(top, "measured_by", optional=True)
    if top.get("tests") is not None:
        tests = _object(top["tests"], "tests")
        for key in ("passed", "failed", "errors", "skipped"):
            _count(tests, key)
        for key in ("xfailed", "xpassed"):
            _count(tests, key, optional=True)
        _number(tests, "duration_s", optional=True)
        for case in _list(tests, "cases"):
            case = _object(case, "tests.cases[]")
            _text(case, "id")
            if case.get("outcome") not in OUTCOMES:
                raise ValueError(f"unknown test outcome {case.get('outcome')!r}")
            _number(case, "duration_s", optional=True)
    if top.get("coverage") is not None:
        coverage = _object(top["coverage"], "coverage")
        _number(coverage, "percent")
        _text(coverage, "percent_display")
        _count(coverage, "lines_covered")
        _count(coverage, "lines_total")
        _count(coverage, "branches_covered", optional=True)
        _count(coverage, "branches_total", optional=True)
        for item in _list(coverage, "files"):
            item = _object(item, "coverage.files[]")
            _text(item, "path")
            _count(item, "lines_covered")
            _count(item, "lines_total")
            _number(item, "percent")
    if top.get("benchmarks") is not None:
        for item in _list(top, "benchmarks"):
            item = _object(item, "benchmarks[]")
            _text(item, "name")
            _number(item, "median_s")
    if top.get("phase") is not None:
        _check_phase(_object(top["phase"], "phase"))


def _check_phase(phase: Mapping[str, Any]) -> None:
    # history tolerates bad totals and patch_percent on its own (it recounts with git).
    for end in ("base", "head"):
        if phase.get(end) is not None:
            _text(_object(phase[end], f"phase.{end}"), "sha", optional=True)
    if phase.get("patch") is not None:
        patch = _object(phase["patch"], "phase.patch")
        _number(patch, "percent", optional=True)
        _count(patch, "lines_covered")
        _count(patch, "lines_total")
        for item in _list(patch, "files"):
            item = _object(item, "phase.patch.files[]")
            _text(item, "path")
            _count(item, "lines_covered")
            _count(item, "lines_total")
            for run in _list(item, "uncovered"):
                if not (isinstance(run, list) and len(run) == 2 and all(_is_int(n) for n in run)):
                    raise ValueError("phase.patch.files[].uncovered holds a bad line range")
        for item in _list(patch, "not_measured"):
            item = _object(item, "phase.patch.not_measured[]")
            _text(item, "path")
            _count(item, "lines_changed")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is {type(value).__name__}, not an object")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"'{key}' is {type(value).__name__}, not a list")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(data: Mapping[str, Any], key: str, *, optional: bool = False) -> None:
    value = data.get(key)
    if not (isinstance(value, str) or (optional and value is None)):
        raise ValueError(f"'{key}' is {type(value).__name__}, not a string")


def _count(data: Mapping[str, Any], key: str, *, optional: bool = False) -> None:
    value = data.get(key)
    counted = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if not (counted or (optional and value is None)):
        raise ValueError(f"'{key}' is {value!r}, not a count")


def _number(data: Mapping[str, Any], key: str, *, optional: bool = False) -> None:
    value = data.get(key)
    if optional and value is None:
        return
    if not (_is_int(value) or (isinstance(value, float) and math.isfinite(value))):
        raise ValueError(f"'{key}' is {value!r}, not a finite number")


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
    return parse_note(raw, commit)


def parse_note(raw: bytes, commit: str) -> tuple[Snapshot | None, str | None]:
    """The snapshot a note on ``commit`` holds; or ``None`` and a warning naming the commit
    when the note does not fit the snapshot schema."""
    try:
        data = json.loads(raw)
        check_snapshot(data)
        stored = Snapshot.from_dict(data)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        # Notes are fetched from remotes: anyone's bad note reaches everyone, so a bad one
        # is a warning and counts as absent, never a crash.
        reason = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
        return None, (
            f"the phasectl note on {commit[:12]} is unreadable ({reason[:200]}); treated as "
            f"absent; run 'phasectl snapshot {commit[:12]}' to replace it"
        )
    return replace(stored, source="note", measured_by=stored.source), None


# When both sides stored a note on the same commit, the one being pushed wins: it is the
# snapshot this repository just measured (or its tag recorded); notes on different commits
# merge without conflict.
NOTES_MERGE_STRATEGY = "ours"


def fetched_notes_ref(remote: str) -> str:
    """Where the notes of ``remote`` are fetched to (as ``phasectl init --notes`` sets up)."""
    return f"refs/notes/remotes/{remote}/{NOTES_REF.rsplit('/', 1)[-1]}"


def merge_remote_notes(repo: Repository, remote: str) -> None:
    """Fetch ``remote``'s snapshots and merge them into the local ones, so that a push of
    ``refs/notes/phasectl`` is a fast-forward even when others stored snapshots meanwhile."""
    fetched = fetched_notes_ref(remote)
    if repo.fetch_ref(remote, NOTES_REF, fetched) and repo.ref_sha(NOTES_REF) is not None:
        repo.merge_notes(NOTES_REF, fetched, NOTES_MERGE_STRATEGY)


def store_snapshot(repo: Repository, snapshot: Snapshot) -> None:
    """Write ``snapshot`` as the note on its commit (replacing an older one)."""
    data = json.dumps(snapshot.to_dict(), sort_keys=True).encode("utf-8", "backslashreplace")
    repo.write_note(NOTES_REF, snapshot.commit, data)
