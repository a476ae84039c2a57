"""Phase history: one row per phase tag, in the order of the work in history.

Each row describes the work a phase tag measured (the commit its note records: the tagged
commit for ``tag --at``, the one before the report's commit otherwise), dated by that
commit: its tests and coverage from the snapshot stored on the tag's commit
(``refs/notes/phasectl``), its patch coverage and diff totals from the ``phase`` part of
that snapshot (written by ``phasectl tag``). Each phase starts where its note says it was
measured from (``tag --base``, the previous tag then), as its committed report says; else
where the phase before it in history ends. When a snapshot has no diff totals, they are
computed with git from that start (or the empty tree), exactly as
``git diff --numstat -M50%`` counts them.

A tag whose commit has no snapshot has no test or coverage figures: they are ``None``
(shown as "no snapshot"), never zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phasectl.model.diff import DiffTotals, RefInfo
from phasectl.quoting import display_path, shell_word
from phasectl.store.snapshots import NOTES_REF, Snapshot, load_snapshot
from phasectl.workflow.thread import phase_timing

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.repository import Repository

HISTORY_SCHEMA = "phasectl-history/1"
CHART_TEMPLATE = "history.svg.j2"
NO_SNAPSHOT = "no snapshot"
NOT_MEASURED = "n/a"


@dataclass(frozen=True)
class PhaseTag:
    """A phase tag and the commit it points at (annotated tags peeled)."""

    tag: str
    name: str
    commit: str


@dataclass(frozen=True)
class PhaseRow:
    """One phase in the history. Note-based figures are ``None`` without a snapshot."""

    tag: str
    name: str
    commit: str
    measured: str
    """The commit whose work the phase describes: the tag's own commit for a phase tagged
    with ``--at``, the one before the report's commit for a phase ``tag`` closed at HEAD."""
    date: str
    snapshot: bool
    tests_passed: int | None
    tests_total: int | None
    coverage_percent: float | None
    coverage_display: str | None
    patch_percent: float | None
    lines_added: int
    lines_removed: int
    files_changed: int
    tests_failed: int | None = None
    """Failed and errors."""
    tests_skipped: int | None = None
    """Skipped, xfailed and xpassed: neither passed nor failed."""
    duration_s: int | None = None
    """Seconds from the phase's first commit to the commit it measured (committer times)."""
    duration: str | None = None
    """That time in the unit of the realistic estimate (days without one)."""
    commit_days: int | None = None
    """Distinct UTC dates with commits (reports-only commits left out)."""
    estimate: str | None = None
    """The realistic estimate the previous phase's report made for this phase."""

    def to_dict(self) -> dict[str, Any]:
        tests = (
            {
                "passed": self.tests_passed,
                "failed": self.tests_failed,
                "skipped": self.tests_skipped,
                "total": self.tests_total,
            }
            if self.tests_total is not None
            else None
        )
        return {
            "tag": self.tag,
            "name": self.name,
            "commit": self.commit,
            "measured_commit": self.measured,
            "date": self.date,
            "tests": tests,
            "coverage_percent": self.coverage_percent,
            "coverage_display": self.coverage_display,
            "patch_percent": self.patch_percent,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
            "files_changed": self.files_changed,
            "snapshot": self.snapshot,
            "duration_s": self.duration_s,
            "duration": self.duration,
            "commit_days": self.commit_days,
            "estimate": self.estimate,
        }


@dataclass(frozen=True)
class History:
    """The rows, oldest first, and warnings for the user (without the ``Warning:`` prefix)."""

    rows: tuple[PhaseRow, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"schema": HISTORY_SCHEMA, "phases": [row.to_dict() for row in self.rows]}


# --- collecting --------------------------------------------------------------------------


def find_phase_tags(repo: Repository, prefix: str) -> tuple[list[PhaseTag], list[str]]:
    """The tags named ``prefix*`` that point at commits, in name order; and warnings."""
    warnings: list[str] = []
    tags: list[PhaseTag] = []
    for tag, oid, kind in repo.tag_targets(prefix):
        if kind == "commit":
            tags.append(PhaseTag(tag, tag[len(prefix) :] or tag, oid))
        elif kind == "missing":
            warnings.append(
                f"tag {display_path(tag)} points at an object missing from this clone; skipped"
            )
        else:
            warnings.append(f"tag {display_path(tag)} points at a {kind}, not a commit; skipped")
    tags.sort(key=lambda t: t.tag)
    return tags, warnings


_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _recorded_sha(phase: Mapping[str, Any] | None, key: str) -> str | None:
    """The ``sha`` of the phase part's ``base`` or ``head``, if it is a well-formed id."""
    part = phase.get(key) if phase is not None else None
    sha = part.get("sha") if isinstance(part, Mapping) else None
    return sha if isinstance(sha, str) and _OBJECT_ID.fullmatch(sha) else None


def _measured_commit(
    repo: Repository, config: Config, phase: Mapping[str, Any] | None, tag: PhaseTag
) -> str:
    """The commit a phase's figures describe: the head its note recorded (when it is the
    tagged commit or one of its ancestors), else the tagged commit before any commits that
    only change reports, as ``phasectl tag`` measures a phase."""
    recorded = _recorded_sha(phase, "head")
    if recorded is not None and repo.is_ancestor(recorded, tag.commit):
        return recorded
    return repo.last_change_outside(tag.commit, config.report_dir)


def _phase_part(snapshot: Snapshot | None, tag: PhaseTag) -> Mapping[str, Any] | None:
    """The snapshot's ``phase`` part if it describes this tag's phase.

    Two tags on one commit share one note: its phase part belongs to the tag it names.
    """
    if snapshot is None or not isinstance(snapshot.phase, Mapping):
        return None
    named = snapshot.phase.get("tag")
    if isinstance(named, str) and named not in (tag.tag, tag.name):
        return None
    return snapshot.phase


class _BadNote(Exception):
    """A note's phase part holds a value of the wrong kind."""


def _stored_totals(phase: Mapping[str, Any] | None, tag: PhaseTag) -> DiffTotals | None:
    raw = phase.get("totals") if phase is not None else None
    if raw is None:
        return None
    try:
        if not isinstance(raw, Mapping):
            raise TypeError("not an object")
        return DiffTotals.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise _BadNote(
            f"the phase totals in the note on {tag.commit[:12]} are unreadable ({exc}); "
            f"counting {display_path(tag.tag)} with git instead"
        ) from None


def _patch_percent(phase: Mapping[str, Any] | None) -> float | None:
    value = phase.get("patch_percent") if phase is not None else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def files_changed(totals: DiffTotals) -> int:
    """How many paths the diff lists (one ``--numstat`` line each)."""
    return (
        totals.files_created
        + totals.files_modified
        + totals.files_deleted
        + totals.files_renamed
        + totals.files_copied
        + totals.files_type_changed
    )


def diff_totals(
    repo: Repository, config: Config, base: str, head: str
) -> tuple[DiffTotals, list[str]]:
    """The totals of the diff collector from ``base`` to ``head``, and its warnings."""
    from phasectl.repo.changes import PhaseRange, collect_diff

    phase_range = PhaseRange(RefInfo(base, base), RefInfo(head, head), head)
    diff, warnings = collect_diff(repo, config, phase_range)
    return diff.totals, [f"{base[:12]}..{head[:12]}: {warning}" for warning in warnings]


@dataclass(frozen=True)
class _Phase:
    tag: PhaseTag
    snapshot: Snapshot | None
    part: Mapping[str, Any] | None
    measured: str


def _ordered_phases(
    repo: Repository, config: Config, tags: list[PhaseTag], warnings: list[str]
) -> list[_Phase]:
    """The phases in the order of the work they measured in history (ancestors first, else
    by committer time), then by tag name; with their snapshots."""
    phases = []
    for tag in tags:
        snapshot, problem = load_snapshot(repo, tag.commit)
        if problem is not None:
            warnings.append(problem)
        part = _phase_part(snapshot, tag)
        phases.append(_Phase(tag, snapshot, part, _measured_commit(repo, config, part, tag)))
    order = repo.history_order(sorted({p.measured for p in phases}))
    position = {sha: i for i, sha in enumerate(order)}
    phases.sort(key=lambda p: (position[p.measured], p.tag.tag))
    return phases


def collect_history(repo: Repository, config: Config) -> History:
    """Every phase tag as a row, oldest first, with the figures described in this module."""
    tags, warnings = find_phase_tags(repo, config.tag_prefix)
    phases = _ordered_phases(repo, config, tags, warnings)
    dates = repo.commit_times(sorted({p.measured for p in phases}))
    rows: list[PhaseRow] = []
    previous: _Phase | None = None
    for phase in phases:
        tag, snapshot, part = phase.tag, phase.snapshot, phase.part
        base = _phase_base(repo, previous, phase)
        try:
            totals = _stored_totals(part, tag)
        except _BadNote as exc:
            warnings.append(str(exc))
            totals = None
        patch = _patch_percent(part)
        recorded_base = _recorded_sha(part, "base")
        start, shown = _phase_start(repo, base, recorded_base)
        if recorded_base is not None and base is not None and not shown:
            # Measured from a commit not here: the phase before it in history is the base.
            warnings.append(
                f"{display_path(tag.tag)} was measured from {recorded_base[:12]}, which is "
                f"not in this repository; its lines are counted with git from {base[:12]} "
                "and its patch coverage is not shown"
            )
            totals, patch = None, None
        elif shown and previous is not None and start != base:
            # The range its note (and committed report) records: tag --base, or phases
            # tagged out of order. It overlaps the phase before it or leaves a gap.
            since = start[:12] if start is not None else "the empty tree"
            warnings.append(
                f"{display_path(tag.tag)} was measured from {since}, not from the phase "
                f"before it ({display_path(previous.tag.tag)}); its row shows that range, "
                "as its note and report record it"
            )
        if totals is None:
            totals, diff_warnings = diff_totals(
                repo, config, start or repo.empty_tree(), phase.measured
            )
            warnings.extend(diff_warnings)
        duration, realistic = phase_timing(
            repo,
            config,
            start,
            phase.measured,
            previous.tag.name if previous is not None else None,
            _report_commit(repo, part) or tag.commit,
        )
        previous = phase
        tests = snapshot.tests if snapshot is not None else None
        coverage = snapshot.coverage if snapshot is not None else None
        rows.append(
            PhaseRow(
                tag=tag.tag,
                name=tag.name,
                commit=tag.commit,
                measured=phase.measured,
                date=dates[phase.measured][1],
                snapshot=snapshot is not None,
                tests_passed=tests.passed if tests is not None else None,
                tests_total=tests.total if tests is not None else None,
                coverage_percent=float(coverage.percent) if coverage is not None else None,
                coverage_display=coverage.percent_display if coverage is not None else None,
                patch_percent=patch,
                lines_added=totals.lines_added,
                lines_removed=totals.lines_removed,
                files_changed=files_changed(totals),
                tests_failed=tests.failed + tests.errors if tests is not None else None,
                tests_skipped=tests.skipped + tests.xfailed + tests.xpassed
                if tests is not None
                else None,
                duration_s=duration.seconds if duration else None,
                duration=duration.text if duration else None,
                commit_days=duration.days if duration else None,
                estimate=realistic.text if realistic else None,
            )
        )
    return History(tuple(rows), tuple(warnings))


def _report_commit(repo: Repository, phase: Mapping[str, Any] | None) -> str | None:
    """Where a phase tagged with ``--at`` had its report committed (the reports of that
    time, the previous one's too, are there); ``None`` for a phase tagged at its report."""
    found = phase.get("report_commit") if phase is not None else None
    if isinstance(found, str) and _OBJECT_ID.fullmatch(found):
        return repo.ref_sha(f"{found}^{{commit}}")
    return None


def _phase_start(
    repo: Repository, base: str | None, recorded: str | None
) -> tuple[str | None, bool]:
    """Where a phase's row starts (``None``: the empty tree), and whether that is the base
    its note records: the recorded base when it is here (a commit, or the empty tree), so
    history shows the range the phase's report says; else ``base``."""
    if recorded is None:
        return base, False
    if recorded == repo.empty_tree():
        return None, True
    found = repo.ref_sha(f"{recorded}^{{commit}}")
    return (found, True) if found is not None else (base, False)


def _phase_base(repo: Repository, previous: _Phase | None, phase: _Phase) -> str | None:
    """Where a phase starts: the phase before it in history (``None`` for the first).

    That is the previous tag's commit, which holds its report, when the work grew from it;
    else (a phase tagged on a commit of its own, as before ``--at`` existed) the work the
    previous phase measured, so the previous report does not count as removed.
    """
    if previous is None:
        return None
    if repo.is_ancestor(previous.tag.commit, phase.measured):
        return previous.tag.commit
    return previous.measured


def no_tags_hint(prefix: str) -> str:
    """What to tell the user when no tag matches ``prefix*``."""
    return (
        f"No phase tags yet: no tag matches '{prefix}*'. Close a phase with "
        f"'phasectl tag NAME' (or tag it yourself: 'git tag {prefix}NAME')."
    )


def notes_elsewhere(repo: Repository) -> str | None:
    """A warning when this repository has no snapshots at all but its remote has them.

    The remote is the current branch's upstream remote, else ``origin``, else the first
    one. Asking it is best effort: offline, no access or a timeout mean no warning.
    """
    if repo.ref_sha(NOTES_REF) is not None or repo.fetched_notes_refs(NOTES_REF):
        return None
    remote = repo.default_remote()
    if remote is None or not repo.remote_has_ref(remote, NOTES_REF):
        return None
    name = shell_word(remote)
    return (
        f"the snapshots are on {display_path(remote)} but not here; fetch them with: "
        f"git fetch {name} {NOTES_REF}:{NOTES_REF}"
    )
