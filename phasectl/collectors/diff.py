"""The diff collector: what changed between two refs, per file and in total."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from phasectl.collectors.attributes import Attributes
from phasectl.errors import GitCommandError, ShallowCloneError
from phasectl.model.diff import DiffResult, FileChange, RefInfo, Status
from phasectl.patterns import PathPatterns

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.diff import DiffSettings, PendingDiff
    from phasectl.repo.repository import Repository

EMPTY_TREE_REF = "(empty tree)"
_STATUS_LETTERS: dict[str, Status] = {
    "A": "created",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type_changed",
}
_NO_MODE = "000000"


def _decode(raw: bytes) -> str:
    # Paths are git's bytes; surrogateescape keeps non-UTF-8 bytes so fsencode restores them.
    return raw.decode("utf-8", "surrogateescape")


def parse_raw_numstat(data: bytes) -> list[FileChange]:
    """Parse the output of ``git diff --raw --numstat -z``: raw records, then numstat records.

    Raw records look like ``:100644 100644 <sha> <sha> R087\\0old\\0new\\0``; numstat
    records like ``3\\t1\\tpath\\0`` or, for renames and copies, ``3\\t1\\t\\0old\\0new\\0``.
    Binary files have ``-`` counts. Records come in the same order in both sections.
    """
    tokens = data.split(b"\0")
    if tokens and tokens[-1] == b"":
        tokens.pop()
    i = 0
    raw: list[tuple[Status, str | None, str, str, str, int | None]] = []
    while i < len(tokens) and tokens[i].startswith(b":"):
        fields = tokens[i][1:].decode("ascii").split(" ")
        if len(fields) != 5:
            raise GitCommandError(f"unexpected git diff --raw record {tokens[i]!r}")
        old_mode, new_mode, _old_sha, _new_sha, code = fields
        status = _STATUS_LETTERS.get(code[:1])
        if status is None:
            raise GitCommandError(f"unexpected git diff status {code!r}")
        similarity = int(code[1:]) if code[1:] else None
        if status in ("renamed", "copied"):
            old_path: str | None = _decode(tokens[i + 1])
            path = _decode(tokens[i + 2])
            i += 3
        else:
            old_path, path = None, _decode(tokens[i + 1])
            i += 2
        raw.append((status, old_path, path, old_mode, new_mode, similarity))
    changes: list[FileChange] = []
    for status, old_path, path, old_mode, new_mode, similarity in raw:
        if i >= len(tokens):
            raise GitCommandError(f"git diff --numstat gave no record for {path!r}")
        added_raw, removed_raw, inline_path = tokens[i].split(b"\t", 2)
        if inline_path:
            numstat_path = _decode(inline_path)
            i += 1
        else:
            numstat_path = _decode(tokens[i + 2])
            i += 3
        if numstat_path != path:
            raise GitCommandError(
                f"git diff --raw and --numstat disagree: {path!r} vs {numstat_path!r}"
            )
        binary = added_raw == b"-"
        changes.append(
            FileChange(
                path=path,
                status=status,
                added=None if binary else int(added_raw),
                removed=None if binary else int(removed_raw),
                binary=binary,
                old_path=old_path,
                old_mode=None if old_mode == _NO_MODE else old_mode,
                new_mode=None if new_mode == _NO_MODE else new_mode,
                similarity=similarity,
            )
        )
    if i != len(tokens):
        raise GitCommandError("git diff --numstat printed more records than --raw")
    return changes


@dataclass(frozen=True)
class DiffRange:
    """The two commits (or the empty tree) a diff compares, and notes on how they were chosen."""

    base: RefInfo
    head: RefInfo
    tip: str
    """The commit head named, before report-only commits were skipped (else ``head.sha``)."""
    merge_base: bool = False
    notes: tuple[str, ...] = ()


def resolve_range(
    repo: Repository,
    config: Config,
    base: str | None,
    head: str | None,
    *,
    merge_base: bool = False,
    skip_reports: bool = False,
) -> DiffRange:
    """Resolve the user's refs; choose the default base when none is given.

    The default base is the nearest tag reachable from head that matches ``tag_prefix``,
    else the nearest tag of any name, else the empty tree (so the first phase shows every
    file created). Tags pointing at head itself are skipped: they close this phase.

    With ``skip_reports``, head moves back past commits that only change phasectl's
    reports (``report_dir``): a report describes the work before it was committed, so
    committing it (as ``phasectl tag`` does) does not make it stale.
    """
    if head is None:
        repo.require_commits()
    head_ref = head or "HEAD"
    tip = repo.resolve_commit(head_ref, tag_prefix=config.tag_prefix)
    head_sha = repo.last_change_outside(tip, config.report_dir) if skip_reports else tip
    notes: list[str] = []
    if base is None:
        tag = repo.nearest_tag(head_sha, f"{config.tag_prefix}*") or repo.nearest_tag(
            head_sha, None
        )
        if tag is not None:
            base_info = RefInfo(tag, repo.resolve_commit(tag))
        elif repo.is_shallow():
            raise ShallowCloneError(
                "this is a shallow clone, so the first commit and older tags are not here "
                "to diff against; run 'git fetch --unshallow --tags' (in CI: fetch-depth: 0) "
                "or pass --base REF"
            )
        else:
            base_info = RefInfo(EMPTY_TREE_REF, repo.empty_tree())
            notes.append("no tag found before head: diffing against the empty tree")
    else:
        base_info = RefInfo(base, repo.resolve_commit(base, tag_prefix=config.tag_prefix))
    if merge_base and base_info.ref != EMPTY_TREE_REF:
        base_info = RefInfo(base_info.ref, repo.merge_base(base_info.sha, head_sha))
    return DiffRange(base_info, RefInfo(head_ref, head_sha), tip, merge_base, tuple(notes))


def _mark_excluded(
    changes: list[FileChange], excluded_paths: PathPatterns, attributes: Attributes
) -> Iterator[FileChange]:
    for change in changes:
        excluded = excluded_paths.matches(change.path) or attributes.state(
            change.path, "linguist-generated"
        ) in ("set", "true")
        yield replace(change, excluded=excluded) if excluded else change


def diff_settings(config: Config) -> DiffSettings:
    from phasectl.repo.diff import DiffSettings

    return DiffSettings(config.rename_similarity, config.rename_limit, config.detect_copies)


def collect_diff(
    repo: Repository, config: Config, span: DiffRange, pending: PendingDiff | None = None
) -> tuple[DiffResult, list[str]]:
    """Diff ``span.base`` against ``span.head``; return the result and warnings for the user.

    ``pending`` is the same diff already started in the background (see ``start_diff``).
    """
    # Read .gitattributes first: with a diff already running, this overlaps with git's work.
    attributes = Attributes.at(repo, span.head.sha)
    excluded_paths = PathPatterns(config.excluded_globs)
    if pending is not None and span.tip == span.head.sha:
        output = pending.result()
    else:
        if pending is not None:  # started for a head that skip_reports has moved
            pending.cancel()
        output = repo.diff(span.base.sha, span.head.sha, diff_settings(config))
    warnings: list[str] = []
    if output.warnings:
        needed = output.rename_limit_needed
        advice = f"set rename_limit = {needed}" if needed else "raise rename_limit"
        warnings.append(
            "rename detection was skipped for part of this range (too many files for "
            f"rename_limit = {config.rename_limit}): some renames show as a deletion plus a "
            f"creation; {advice} in the phasectl config to detect them"
        )
    changes = parse_raw_numstat(output.data)
    files = tuple(_mark_excluded(changes, excluded_paths, attributes))
    return DiffResult.of(files, merge_base=span.merge_base), warnings
