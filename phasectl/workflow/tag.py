"""Close a phase: write its report, commit it, store the snapshot, make the annotated tag.

All or nothing: if any step fails (or the user presses Ctrl-C), the steps already done
are undone in reverse order, so there is never a tag without its note, a note without
its tag, or a stray report commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.repository import Repository
    from phasectl.report.writer import RenderedReport
    from phasectl.store.snapshots import Snapshot


def tag_message(name: str, message: str | None, context: dict[str, Any]) -> str:
    """The tag's message: the user's (or "Phase NAME"), then the headline figures."""
    lines = [message or f"Phase {name}", ""]
    for row in context["metrics"]["measurements"]:
        lines.append(f"{row['label']}: {row['value']}")
        lines.extend(f"  {item['name']}: {item['value']}" for item in row["items"])
    return "\n".join(lines) + "\n"


def phase_record(name: str, tag: str, metrics: PhaseMetrics) -> dict[str, Any]:
    """What ``history`` needs about the phase a tag closes, stored in the tag's note."""
    patch = (metrics.coverage or {}).get("patch")
    return {
        "name": name,
        "tag": tag,
        "base": metrics.base.to_dict(),
        "head": metrics.head.to_dict(),
        "totals": metrics.diff.totals.to_dict(),
        "patch_percent": patch["percent"] if patch else None,
        "patch": patch,
    }


@dataclass
class _Undo:
    """Steps to undo, most recent first."""

    steps: list[Callable[[], None]] = field(default_factory=list)

    def push(self, step: Callable[[], None]) -> None:
        self.steps.insert(0, step)

    def run(self) -> list[str]:
        problems = []
        for step in self.steps:
            try:
                step()
            except (PhasectlError, OSError) as exc:  # keep undoing the rest
                problems.append(str(exc))
        return problems


def close_phase(
    repo: Repository,
    *,
    name: str,
    tag: str,
    message: str | None,
    rendered: RenderedReport,
    metrics: PhaseMetrics,
    measured: Snapshot,
    commit: bool,
    at: str | None = None,
) -> str:
    """Write the report, commit it (``commit``), store the snapshot and create ``tag``.

    The tag and the snapshot go on the report's commit, or on ``at`` (a past commit, the
    report then being committed on today's branch). Returns the tagged commit. On any
    failure everything done so far is undone and the error is raised again.
    """
    from phasectl.fileio import missing_folders, remove_empty_folders, write_atomic
    from phasectl.store.snapshots import NOTES_REF, store_snapshot

    undo = _Undo()
    path = rendered.path
    try:
        if not rendered.current:
            created = missing_folders(path)
            undo.push(lambda: remove_empty_folders(created))
            write_atomic(path, rendered.new, make_parents=True)
            undo.push(lambda: _restore_file(path, rendered.old))
        head = repo.head_sha()
        if head is None:
            raise PhasectlError("the repository has no commits yet; commit something first")
        report_commit = None if at is not None else head
        if commit and _differs_from_commit(repo, path, rendered.new, head):
            old_head = head
            # What the user had staged for the report comes back if anything fails.
            entry = repo.index_entry(path)
            undo.push(lambda: repo.restore_index_entry(path, entry))
            report_commit = repo.commit_file(path, f"phasectl: report of phase {name}")
            new_head = report_commit
            undo.push(lambda: repo.restore_ref("HEAD", new_head, old_head))
        elif commit:
            report_commit = head
        target = at or report_commit or head
        refuse_second_phase(repo, target)
        notes_before = repo.ref_sha(NOTES_REF)
        record = phase_record(name, tag, metrics)
        if report_commit is not None and report_commit != target:
            # check at this tag judges the report where it was committed.
            record["report_commit"] = report_commit
        store_snapshot(repo, replace(measured, commit=target, phase=record))
        notes_after = repo.ref_sha(NOTES_REF)
        if notes_after is not None and notes_after != notes_before:
            undo.push(lambda: repo.restore_ref(NOTES_REF, notes_after, notes_before))
        repo.create_tag(tag, target, tag_message(name, message, rendered.context))
    except BaseException as exc:
        problems = undo.run()
        if problems and isinstance(exc, PhasectlError):
            raise PhasectlError(
                f"{exc}; undoing the steps before it also failed: {'; '.join(problems)}"
            ) from exc
        raise
    return target


def refuse_second_phase(repo: Repository, commit: str) -> None:
    """Raise if ``commit`` is already a phase's tagged commit: its note records that phase,
    and one note holds one phase (a second would overwrite the first's range and figures).

    The phase is the one the note names, while a tag of that name still points at
    ``commit``; a note whose tag was deleted is no longer a phase's and may be replaced.
    """
    from phasectl.quoting import display_path, shell_command
    from phasectl.store.snapshots import load_snapshot

    stored, _ = load_snapshot(repo, commit)
    phase = stored.phase if stored is not None else None
    named = phase.get("tag") if phase is not None else None
    if not isinstance(named, str) or not named or named.startswith("-"):
        return
    if repo.ref_sha(f"refs/tags/{named}^{{commit}}") != commit:
        return
    raise PhasectlError(
        f"{commit[:12]} is already tagged as the phase {display_path(named)}, whose note "
        "would be overwritten; choose another commit, or delete that tag first "
        f"({shell_command(['git', 'tag', '-d', named])})"
    )


def report_commit_of(repo: Repository, tagged: str) -> str | None:
    """Where the report of the phase tagged at ``tagged`` was committed, when that is not
    ``tagged`` itself (a phase tagged with ``--at``); else ``None``."""
    from phasectl.store.snapshots import load_snapshot

    stored, _ = load_snapshot(repo, tagged)
    phase = stored.phase if stored is not None else None
    found = phase.get("report_commit") if phase is not None else None
    # The note is untrusted: only a full object id is looked up.
    if isinstance(found, str) and re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", found):
        return repo.ref_sha(f"{found}^{{commit}}")
    return None


def judged_report_commit(repo: Repository, head_ref: str, path: Path) -> str | None:
    """Where the report ``path`` of the range ending at ``head_ref`` is judged, by ``check``
    and ``report --check`` alike: a commit to read it from, or ``None`` for the file in the
    work tree. The one rule, in order:

    1. a phase tagged with ``--at`` recorded the commit of its report;
    2. else the head, when its tree holds the report (a tag pushed from elsewhere carries
       the report committed in it);
    3. else the work tree: a past head's report is kept on today's branch, as ``tag --at``
       keeps it, so the file ``report --head REF`` wrote is the one judged.

    A commit that is the checkout's own is read from the work tree, uncommitted edits
    included."""
    tip = repo.resolve_commit(head_ref)
    at = report_commit_of(repo, tip)
    if at is None:
        tree_path = repo.tree_path(path)
        if tree_path is not None and tree_path in repo.read_files(tip, [tree_path], limit=0):
            at = tip
    return None if at is None or at == repo.head_sha() else at


def _differs_from_commit(repo: Repository, path: Path, data: bytes, commit: str) -> bool:
    tree_path = repo.tree_path(path)
    return tree_path is None or repo.read_files(commit, [tree_path]).get(tree_path) != data


def _restore_file(path: Path, old: bytes | None) -> None:
    from phasectl.fileio import write_atomic

    if old is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, old)


def head_snapshot(metrics: PhaseMetrics) -> Snapshot:
    """The figures measured at head, as the snapshot to store (empty when none were: the
    note still records the phase for ``history``)."""
    from phasectl.model.benchmarks import Benchmark
    from phasectl.model.coverage_data import CoverageSummary
    from phasectl.model.results import TestResults
    from phasectl.store.snapshots import Snapshot, now_iso

    tests = metrics.tests["after"] if metrics.tests else None
    coverage = metrics.coverage["after"] if metrics.coverage else None
    benchmarks = metrics.benchmarks["after"] if metrics.benchmarks else None
    source = next((p["source"] for p in (tests, coverage) if p), "not measured")
    return Snapshot(
        commit=metrics.head.sha,
        source=source,
        tests=TestResults.from_dict(tests) if tests else None,
        coverage=CoverageSummary.from_dict(coverage) if coverage else None,
        benchmarks=tuple(Benchmark.from_dict(b) for b in benchmarks) if benchmarks else None,
        measured_at=now_iso(),
    )
