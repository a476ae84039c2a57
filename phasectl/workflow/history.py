"""Phase history: one row per phase tag, oldest first, from the notes and git itself.

Each row describes the commit a phase tag points at: its tests and coverage from the
snapshot stored on it (``refs/notes/phasectl``), its patch coverage and diff totals from
the ``phase`` part of that snapshot (written by ``phasectl tag``). When a snapshot has no
diff totals, they are computed with git between the previous phase tag (or the empty
tree) and this one, exactly as ``git diff --numstat -M50%`` counts them.

A tag whose commit has no snapshot has no test or coverage figures: they are ``None``
(shown as "no snapshot"), never zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phasectl.model.diff import DiffTotals, RefInfo
from phasectl.report.output import display_path, shell_word
from phasectl.store.snapshots import NOTES_REF, Snapshot, load_snapshot

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.repository import Repository

HISTORY_SCHEMA = "phasectl-history/1"
CHART_TEMPLATE = "history.svg.j2"
NO_SNAPSHOT = "no snapshot"
NOT_MEASURED = "n/a"
# Ties in committer time are ordered by ancestry; beyond this many distinct commits in one
# second (a scripted import), comparing every pair costs too many git calls: name order.
_MAX_TIE_GROUP = 20


@dataclass(frozen=True)
class PhaseTag:
    """A phase tag and the commit it points at (annotated tags peeled)."""

    tag: str
    name: str
    commit: str
    time: int
    date: str


@dataclass(frozen=True)
class PhaseRow:
    """One phase in the history. Note-based figures are ``None`` without a snapshot."""

    tag: str
    name: str
    commit: str
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

    def to_dict(self) -> dict[str, Any]:
        tests = (
            {"passed": self.tests_passed, "total": self.tests_total}
            if self.tests_total is not None
            else None
        )
        return {
            "tag": self.tag,
            "name": self.name,
            "commit": self.commit,
            "date": self.date,
            "tests": tests,
            "coverage_percent": self.coverage_percent,
            "coverage_display": self.coverage_display,
            "patch_percent": self.patch_percent,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
            "files_changed": self.files_changed,
            "snapshot": self.snapshot,
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
    """The tags named ``prefix*`` that point at commits, oldest first; and warnings.

    Order: the committer date of the tagged commit (``for-each-ref --sort=creatordate``
    would use a lightweight tag's commit but an annotated tag's own date, which is when
    someone tagged, not where the phase sits in history). Commits with the same committer
    second come ancestor first; then tag names break ties (several tags on one commit).
    """
    warnings: list[str] = []
    targets: list[tuple[str, str]] = []
    for tag, oid, kind in repo.tag_targets(prefix):
        if kind == "commit":
            targets.append((tag, oid))
        elif kind == "missing":
            warnings.append(
                f"tag {display_path(tag)} points at an object missing from this clone; skipped"
            )
        else:
            warnings.append(f"tag {display_path(tag)} points at a {kind}, not a commit; skipped")
    times = repo.commit_times(sorted({sha for _, sha in targets}))
    tags = [
        PhaseTag(tag, tag[len(prefix) :] or tag, sha, *times[sha])
        for tag, sha in targets
        if sha in times
    ]
    tags.sort(key=lambda t: (t.time, t.tag))
    ordered: list[PhaseTag] = []
    start = 0
    while start < len(tags):
        end = start
        while end < len(tags) and tags[end].time == tags[start].time:
            end += 1
        ordered.extend(_ancestors_first(repo, tags[start:end]))
        start = end
    return ordered, warnings


def _ancestors_first(repo: Repository, group: list[PhaseTag]) -> list[PhaseTag]:
    """``group`` (same committer second, in name order) with every ancestor before its
    descendants; otherwise the name order is kept."""
    shas = sorted({t.commit for t in group})
    if len(shas) < 2 or len(shas) > _MAX_TIE_GROUP:
        return group
    before = {(a, b) for a in shas for b in shas if a != b and repo.is_ancestor(a, b)}
    remaining, ordered = list(group), []
    while remaining:
        # Ancestry has no cycles, so some remaining tag has no remaining ancestor.
        pick = next(
            i
            for i, t in enumerate(remaining)
            if not any((o.commit, t.commit) in before for o in remaining)
        )
        ordered.append(remaining.pop(pick))
    return ordered


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
    from phasectl.collectors.diff import DiffRange, collect_diff

    span = DiffRange(RefInfo(base, base), RefInfo(head, head), head)
    diff, warnings = collect_diff(repo, config, span)
    return diff.totals, [f"{base[:12]}..{head[:12]}: {warning}" for warning in warnings]


def collect_history(repo: Repository, config: Config) -> History:
    """Every phase tag as a row, oldest first, with the figures described in this module."""
    tags, warnings = find_phase_tags(repo, config.tag_prefix)
    rows: list[PhaseRow] = []
    previous: str | None = None
    for tag in tags:
        snapshot, problem = load_snapshot(repo, tag.commit)
        if problem is not None:
            warnings.append(problem)
        phase = _phase_part(snapshot, tag)
        try:
            totals = _stored_totals(phase, tag)
        except _BadNote as exc:
            warnings.append(str(exc))
            totals = None
        if totals is None:
            base = previous if previous is not None else repo.empty_tree()
            # As 'phasectl tag' measures a phase: up to the work, not its report commit.
            head = repo.last_change_outside(tag.commit, config.report_dir)
            totals, diff_warnings = diff_totals(repo, config, base, head)
            warnings.extend(diff_warnings)
        previous = tag.commit
        tests = snapshot.tests if snapshot is not None else None
        coverage = snapshot.coverage if snapshot is not None else None
        rows.append(
            PhaseRow(
                tag=tag.tag,
                name=tag.name,
                commit=tag.commit,
                date=tag.date,
                snapshot=snapshot is not None,
                tests_passed=tests.passed if tests is not None else None,
                tests_total=tests.total if tests is not None else None,
                coverage_percent=float(coverage.percent) if coverage is not None else None,
                coverage_display=coverage.percent_display if coverage is not None else None,
                patch_percent=_patch_percent(phase),
                lines_added=totals.lines_added,
                lines_removed=totals.lines_removed,
                files_changed=files_changed(totals),
            )
        )
    return History(tuple(rows), tuple(warnings))


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
