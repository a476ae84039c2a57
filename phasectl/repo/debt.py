"""Technical debt a phase's diff adds and pays: TODO-style comments and new suppressions.

Read from the changed lines of the diff (``git diff -U0``), never from whole files: a
TODO that was there before the phase is not this phase's debt. A marked line the phase
removed counts as paid, unless the same line was added elsewhere (code that moved).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phasectl.model.diff import DiffResult, FileChange
    from phasectl.repo.diff import DiffSettings
    from phasectl.repo.patch import PatchFile
    from phasectl.repo.repository import Repository


MAX_TEXT = 120


# A TODO-style marker counts only right after a comment's opening, so a word in a string
# or a sentence ("see the TODO list") is not debt.
_COMMENT_MARKER = re.compile(
    r"(?:#|//|/\*+|<!--|^\s*\*|^\s*--|^\s*;+|^\s*%)\s*[@\\]?(TODO|FIXME|HACK|XXX)\b"
)


# Suppressions: each silences a tool (linter, type checker, coverage, a test runner).
_SUPPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("noqa", re.compile(r"#\s*noqa\b", re.IGNORECASE)),
    ("type: ignore", re.compile(r"#\s*type:\s*ignore\b")),
    ("pragma: no cover", re.compile(r"#\s*pragma:\s*no\s+cover\b")),
    ("pytest skip", re.compile(r"\bpytest\.(?:mark\.)?(?:skip|skipif)\b")),
    ("pytest xfail", re.compile(r"\bpytest\.(?:mark\.)?xfail\b")),
    ("t.Skip", re.compile(r"\bt\.Skip(?:f|Now)?\(")),
    ("nolint", re.compile(r"//\s*nolint\b")),
    ("eslint-disable", re.compile(r"\beslint-disable(?:-next-line|-line)?\b")),
)


# Every line ``debt_kinds`` finds debt in contains one of these words, ignoring case: git
# keeps only the files with such a changed line (``-G``, POSIX extended syntax), and of those
# only the lines that match are decoded and read (``PREFILTER``).
PICKAXE = (
    "todo|fixme|hack|xxx|noqa|type:[[:space:]]*ignore|pragma:[[:space:]]*no|skip|xfail"
    "|nolint|eslint-disable"
)


PREFILTER = re.compile(
    rb"todo|fixme|hack|xxx|noqa|type:\s*ignore|pragma:\s*no|skip|xfail|nolint|eslint-disable",
    re.IGNORECASE,
)


def debt_kinds(text: str) -> list[str]:
    """The kinds of debt a line of source carries: ``TODO``, ``FIXME``, ``HACK``, ``XXX``
    (in a comment) and the suppressions (``noqa``, ``type: ignore``, ...)."""
    kinds = list(dict.fromkeys(m.group(1) for m in _COMMENT_MARKER.finditer(text)))
    kinds += [name for name, pattern in _SUPPRESSIONS if pattern.search(text)]
    return kinds


def _entries(path: str, lines: Iterable[tuple[int, str]]) -> list[dict[str, Any]]:
    found = []
    for number, text in lines:
        kinds = debt_kinds(text)
        if kinds:
            shown = text.strip()
            if len(shown) > MAX_TEXT:
                shown = shown[: MAX_TEXT - 1].rstrip() + "\u2026"
            found.append({"path": path, "line": number, "kinds": kinds, "text": shown})
    return found


def _without_moves(
    added: list[dict[str, Any]], removed: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Drop pairs of an added and a removed line with the same text: moved, not new or paid."""
    moved = Counter(e["text"] for e in added) & Counter(e["text"] for e in removed)
    kept: list[list[dict[str, Any]]] = [[], []]
    for side, entries in enumerate((added, removed)):
        left = Counter(moved)
        for entry in entries:
            if left[entry["text"]]:
                left[entry["text"]] -= 1
            else:
                kept[side].append(entry)
    return kept[0], kept[1]


def collect_debt(patch: list[PatchFile], diff: DiffResult) -> dict[str, Any]:
    """The debt the patch adds (``added``: path, line in head, kinds, text) and pays
    (``removed``: path, line in base, kinds, text).

    Files the diff marks as not authored (lock files, generated files, the reports) are
    left out, as they are from the authored line counts.
    """
    excluded = {c.path for c in diff.files if c.excluded}
    excluded |= {c.old_path for c in diff.files if c.excluded and c.old_path}
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for file in patch:
        if file.path is not None and file.path not in excluded:
            added += _entries(file.path, file.added)
        old = file.old_path
        if old is not None and old not in excluded and file.path not in excluded:
            removed += _entries(old, file.removed)
    new, paid = _without_moves(added, removed)
    return {"added": new, "removed": paid}


# At most this many bytes of paths on one git command line (Linux allows 2 MiB in all).
_PATHS_PER_CALL = 1 << 17


def phase_debt(
    repo: Repository, diff: DiffResult, settings: DiffSettings, patch: bytes, refs: tuple[str, str]
) -> dict[str, Any]:
    """The debt of the range ``refs`` (base, head) whose diff is ``diff``, from ``patch``:
    ``start_patch``'s output, taken without rename detection (that would cost git as much
    again as the diff itself).

    That patch shows each renamed or copied file as a deletion and a creation. Those are
    dropped; the renames and copies whose sides hold a marked line are diffed again as the
    diff paired them (``renames_patch``, among their own paths), so every line and line
    number is the one a diff with rename detection gives.
    """
    from phasectl.repo.patch import parse_patch

    pairs = {c.path: c for c in diff.files if c.status in ("renamed", "copied")}
    sources = {c.old_path: c for c in diff.files if c.status == "renamed"}
    files: list[PatchFile] = []
    again: dict[str, FileChange] = {}
    for file in parse_patch(patch, keep=PREFILTER):
        change = pairs.get(file.path or "") if file.old_path is None else None
        if change is None and file.path is None:
            change = sources.get(file.old_path or "")
        if change is None:
            files.append(file)
        elif change.added or change.removed:
            # Not "similarity 100": git's score hashes chunks of text, and a changed line
            # can score 100%. No line changed only when numstat counts none.
            again[change.path] = change
    for batch in _batches(list(again.values())):
        paths = [p for c in batch for p in (c.old_path or "", c.path)]
        text = repo.renames_patch(*refs, settings, PICKAXE, paths)
        for file in parse_patch(text, keep=PREFILTER):
            change = again.get(file.path or "")
            if change is not None and file.old_path != change.old_path:
                # git paired these paths otherwise than the diff did: the whole patch, then.
                whole = repo.renames_patch(*refs, settings, PICKAXE)
                return collect_debt(parse_patch(whole, keep=PREFILTER), diff)
            if change is not None:
                files.append(file)
    order = {c.path: n for n, c in enumerate(diff.files)}
    files.sort(key=lambda f: order.get(f.path or f.old_path or "", len(order)))
    return collect_debt(files, diff)


def _batches(changes: list[FileChange]) -> Iterator[list[FileChange]]:
    """Whole pairs, as many as keep one git command line under ``_PATHS_PER_CALL`` bytes."""
    batch: list[FileChange] = []
    size = 0
    for change in changes:
        length = len(os.fsencode(change.path)) + len(os.fsencode(change.old_path or "")) + 40
        if batch and size + length > _PATHS_PER_CALL:
            yield batch
            batch, size = [], 0
        batch.append(change)
        size += length
    if batch:
        yield batch
