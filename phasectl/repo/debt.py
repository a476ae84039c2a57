"""Technical debt a phase's diff adds and pays: TODO-style comments and new suppressions.

Read from the lines the diff changes, never from whole files: a TODO that was there before
the phase is not this phase's debt. A marked line the phase removed counts as paid, unless
the same line was added elsewhere (code that moved).

The cost follows the debt, not the size of the diff. ``DebtScan`` has ``git grep`` hand
over the few lines of the changed files that can carry debt, at base and at head, while the
diff runs. Per changed file the two sides are then compared: a marked line whose text is on
one side only was added (or removed) by any diff of the two, and a text found on both sides
equally often is unchanged or moved within the file, so neither. Only where a text is on
both sides a different number of times does it matter which of its lines the diff pairs:
those few files are diffed (``git diff -U0``, a renamed file against the path the diff
paired it with), so every line and line number is the one a diff with renames gives.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phasectl.model.diff import DiffResult, FileChange
    from phasectl.patterns import PathPatterns
    from phasectl.repo.patch import PatchFile
    from phasectl.repo.pending import PendingGrep
    from phasectl.repo.repository import Repository


MAX_TEXT = 120


# A TODO-style marker counts only right after a comment's opening, so a word in a string
# or a sentence ("see the TODO list") is not debt.
_COMMENT_MARKER = re.compile(
    r"(?:#|//|/\*+|<!--|^\s*\*|^\s*--|^\s*;+|^\s*%)\s*[@\\]?(TODO|FIXME|HACK|XXX)\b"
)


# What is blanked before markers are looked for: a string literal on the line ("...",
# '...' with an optional prefix such as f or rb, `...`; a quote between two letters, as in
# "it's", opens none) and a URL ("http://x/#TODO" holds no comment).
_NOT_COMMENT = re.compile(
    r"\"(?:[^\"\\]|\\.)*\"|(?<!\w)[rRbBuUfF]{0,2}'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`"
    r"|\b[A-Za-z][A-Za-z0-9+.-]*://\S*"
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


# Every line ``debt_kinds`` finds debt in holds one of these strings, with case: TODO FIXME
# HACK XXX; noqa in any case ends in one of qa qA Qa QA; the other suppressions' own
# spellings. git looks for fixed strings (``git grep -F``) faster than for an expression.
GREP_STRINGS = (
    "TODO", "FIXME", "HACK", "XXX", "qa", "qA", "Qa", "QA", "type:", "pragma:", ".skip",
    "xfail", "Skip", "nolint", "-disable",
)  # fmt: skip


# The same, to skip in a patch the lines that cannot carry debt without decoding them.
_MAY_CARRY_DEBT = re.compile(b"|".join(re.escape(s.encode()) for s in GREP_STRINGS))


def _blank(found: re.Match[str]) -> str:
    """A string's insides as spaces (its quotes kept), a URL as letters: neither can then
    hold a comment's opening, nor leave one at the start of the line."""
    text = found.group()
    if text[-1] in "\"'`":
        return text[0] + " " * (len(text) - 2) + text[-1]
    return "u" * len(text)


def debt_kinds(text: str) -> list[str]:
    """The kinds of debt a line of source carries: ``TODO``, ``FIXME``, ``HACK``, ``XXX``
    (in a comment, not in a string or a URL) and the suppressions (``noqa``,
    ``type: ignore``, ...)."""
    code = _NOT_COMMENT.sub(_blank, text) if any(c in text for c in "\"'`:") else text
    kinds = list(dict.fromkeys(m.group(1) for m in _COMMENT_MARKER.finditer(code)))
    kinds += [name for name, pattern in _SUPPRESSIONS if pattern.search(text)]
    return kinds


def _shown(text: str) -> str:
    shown = text.strip()
    if len(shown) > MAX_TEXT:
        shown = shown[: MAX_TEXT - 1].rstrip() + "\u2026"
    return shown


def _entries(path: str, lines: Iterable[tuple[int, str]]) -> list[dict[str, Any]]:
    found = []
    for number, text in lines:
        kinds = debt_kinds(text)
        if kinds:
            found.append({"path": path, "line": number, "kinds": kinds, "text": _shown(text)})
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


_Found = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _total(files: Iterable[_Found]) -> dict[str, Any]:
    """The debt of the files' added and removed entries (in the diff's order): lines moved
    within a file first, then lines moved between files, are neither added nor paid."""
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for file_added, file_removed in files:
        if not file_removed or not file_added:
            added += file_added
            removed += file_removed
            continue
        new, paid = _without_moves(file_added, file_removed)
        added += new
        removed += paid
    new, paid = _without_moves(added, removed)
    return {"added": new, "removed": paid}


def _excluded(diff: DiffResult) -> set[str]:
    """The paths whose lines are not debt: files left out of the authored lines (lock
    files, generated files, the reports), on either side."""
    excluded = {c.path for c in diff.files if c.excluded}
    return excluded | {c.old_path for c in diff.files if c.excluded and c.old_path}


def collect_debt(patch: list[PatchFile], diff: DiffResult) -> dict[str, Any]:
    """The debt a whole ``git diff -U0`` patch adds (``added``: path, line in head, kinds,
    text) and pays (``removed``: path, line in base, kinds, text).

    Files the diff marks as not authored (lock files, generated files, the reports) are
    left out, as they are from the authored line counts.
    """
    excluded = _excluded(diff)
    files: list[_Found] = []
    key: str | None = None
    for file in patch:
        # A type change is two parts (a deletion and a creation) of one path: one file.
        if not files or (file.path or file.old_path) != key:
            files.append(([], []))
            key = file.path or file.old_path
        if file.path is not None and file.path not in excluded:
            files[-1][0].extend(_entries(file.path, file.added))
        old = file.old_path
        if old is not None and old not in excluded and file.path not in excluded:
            files[-1][1].extend(_entries(old, file.removed))
    return _total(files)


_REGULAR = ("100644", "100755")
_HEAD, _BASE = 1, 0  # the sides' places in DebtScan's revisions: (base, head)


@dataclass(frozen=True)
class MarkedLines:
    """The lines of changed files that carry debt, by (side, path): side 0 is the base,
    1 the head. ``searched`` holds every (side, path) that was searched; ``diffed`` the
    patch of each file changed in place whose lines only a diff can tell apart."""

    lines: dict[tuple[int, str], list[tuple[int, str]]]
    searched: set[tuple[int, str]]
    diffed: dict[str, PatchFile]


class DebtScan:
    """``git grep`` for the lines that carry debt in the regular files a range changes, at
    its base and at its head, in the background (while the diff runs)."""

    def __init__(
        self, repo: Repository, base: str, head: str, skip: PathPatterns | None = None
    ) -> None:
        """``base`` and ``head``: full commit (or tree) ids; ``skip``: paths not searched
        (the ``exclude`` globs: lock files), unless ``phase_debt`` finds it needs them."""
        self._repo = repo
        self.revs = (base, head)
        self._skip = skip
        self._lock = threading.Lock()
        self._grep: PendingGrep | None = None  # the one running
        self._cancelled = False
        self._found: MarkedLines | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._scan, daemon=True)
        self._thread.start()

    def _scan(self) -> None:
        try:
            sides = self._repo.changed_paths(*self.revs)
            skip = self._skip
            if skip is not None:
                sides = (
                    {p for p in sides[0] if not skip.matches(p)},
                    {p for p in sides[1] if not skip.matches(p)},
                )
            searched = {(side, p) for side in (_BASE, _HEAD) for p in sides[side]}
            # One command per batch of paths (one after the other), each searching both
            # trees: a path changed at one side only is absent from the other.
            outputs = []
            for batch in _batches(sorted(sides[_BASE] | sides[_HEAD]), _PATHS_PER_GREP):
                with self._lock:
                    if self._cancelled:
                        return
                    self._grep = self._repo.start_grep(GREP_STRINGS, self.revs, batch)
                outputs.append(self._grep.result())
            lines = _marked(self.revs, outputs)
            # A path on both sides is the diff's own pair whatever renames it finds: those
            # to diff are known now, and diffed while the diff still runs.
            unsure = [
                p
                for p in sorted(sides[_BASE] & sides[_HEAD])
                if _unsure(lines.get((_HEAD, p), []), lines.get((_BASE, p), []))
            ]
            diffed = _in_place(self._repo, self.revs, unsure) if not self._cancelled else {}
            self._found = MarkedLines(lines, searched, diffed)
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> MarkedLines:
        """Wait for the scan; its lines, or the error that stopped it."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._found is not None
        return self._found

    def cancel(self) -> None:
        """Stop git if it is still running (on an error elsewhere, or Ctrl-C)."""
        with self._lock:
            self._cancelled = True
            grep = self._grep
        if grep is not None:
            grep.cancel()
        self._thread.join()


def _marked(
    revs: tuple[str, str], outputs: list[bytes]
) -> dict[tuple[int, str], list[tuple[int, str]]]:
    from phasectl.repo.patch import parse_grep

    found: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for output in outputs:
        found.update(parse_grep(output, revs, keep=lambda text: bool(debt_kinds(text))))
    return found


def _unsure(head: list[tuple[int, str]], base: list[tuple[int, str]], both: bool = True) -> bool:
    """Whether which of a file's marked lines are new takes its diff to tell: a text on
    both sides a different number of times (or at all, when one side does not count)."""
    if not head or not base:
        return False
    at_base = Counter(_shown(text) for _, text in base)
    at_head = Counter(_shown(text) for _, text in head)
    return any(at_base[t] != n or not both for t, n in at_head.items() if t in at_base)


def _in_place(repo: Repository, revs: tuple[str, str], paths: list[str]) -> dict[str, PatchFile]:
    """The patch of each of ``paths`` (files at the same path at both revisions), from one
    ``git diff`` per batch of paths."""
    from phasectl.repo.patch import parse_patch

    found: dict[str, PatchFile] = {}
    for batch in _batches(paths):
        patch = parse_patch(repo.files_patch(*revs, batch), keep=_MAY_CARRY_DEBT)
        found.update((p.path, p) for p in patch if p.path)
    return found


@dataclass(frozen=True)
class _Sides:
    """What of one changed file is read: its path at base and at head (``None`` where it is
    no regular file), and whether each side's lines count."""

    change: FileChange
    base: str | None
    head: str | None
    count_base: bool
    count_head: bool


def _sides(diff: DiffResult) -> Iterator[_Sides]:
    excluded = _excluded(diff)
    for change in diff.files:
        if change.binary:
            continue  # git diff shows no lines of a binary file
        head = change.path if change.new_mode in _REGULAR else None
        base = (change.old_path or change.path) if change.old_mode in _REGULAR else None
        count_head = head is not None and head not in excluded
        count_base = base is not None and base not in excluded and change.path not in excluded
        if count_head or count_base:
            yield _Sides(change, base, head, count_base, count_head)


def phase_debt(repo: Repository, diff: DiffResult, scan: DebtScan) -> dict[str, Any]:
    """The debt of the range ``scan`` searched, whose diff (with renames) is ``diff``: as
    ``collect_debt`` reads it from that diff's whole patch, the same items in the same order.
    """
    marked = scan.result()
    files = list(_sides(diff))
    wanted = {(side, path) for f in files for side, path in ((0, f.base), (1, f.head)) if path}
    missing = sorted(wanted - marked.searched)  # skipped, yet renamed to a counted file
    for batch in _batches(sorted({p for _, p in missing}), _PATHS_PER_GREP):
        grep = repo.start_grep(GREP_STRINGS, scan.revs, batch)
        marked.lines.update(_marked(scan.revs, [grep.result()]))
    found: dict[str, _Found] = {}
    unsure: list[_Sides] = []
    for file in files:
        head = marked.lines.get((_HEAD, file.head or ""), []) if file.head else []
        base = marked.lines.get((_BASE, file.base or ""), []) if file.base else []
        if not head and not base:
            continue  # most files: no marked line on either side
        if _unsure(head, base, file.count_head and file.count_base):
            unsure.append(file)  # which of the lines the diff pairs decides
            continue
        at_head = {_shown(text) for _, text in head}
        at_base = {_shown(text) for _, text in base}
        found[file.change.path] = (
            _entries(file.change.path, [line for line in head if _shown(line[1]) not in at_base])
            if file.count_head
            else [],
            _entries(file.base, [line for line in base if _shown(line[1]) not in at_head])
            if file.base and file.count_base
            else [],
        )
    found.update(_diffed(repo, scan.revs, unsure, marked.diffed))
    return _total(found[c.path] for c in diff.files if c.path in found)


def _diffed(
    repo: Repository, revs: tuple[str, str], files: list[_Sides], diffed: dict[str, PatchFile]
) -> dict[str, _Found]:
    """The debt of ``files`` as the diff's patch shows it: the files changed in place from
    ``diffed`` (or one ``git diff`` among their paths), each renamed or copied one diffed
    against its pair."""
    from phasectl.repo.patch import parse_patch

    in_place = [f.change.path for f in files if f.base == f.head and f.change.path not in diffed]
    parts = {**diffed, **_in_place(repo, revs, in_place)}
    found: dict[str, _Found] = {}
    for file in files:
        if file.base == file.head:
            part = parts.get(file.change.path)
        else:
            pair = repo.pair_patch(f"{revs[0]}:{file.base}", f"{revs[1]}:{file.head}")
            part = next(iter(parse_patch(pair, keep=_MAY_CARRY_DEBT)), None)
        if part is None:  # no line changed (a rename, a mode change)
            found[file.change.path] = ([], [])
            continue
        found[file.change.path] = (
            _entries(file.change.path, part.added) if file.count_head else [],
            _entries(file.base or "", part.removed) if file.count_base else [],
        )
    return found


# At most this many bytes of paths on one git command line (Linux allows 2 MiB in all).
_PATHS_PER_CALL = 1 << 17


# At most this many paths in one git grep: git matches each entry of the trees it walks
# against every path given, so the cost grows with their product. Sorted paths in batches
# of 500 keep each walk to a few folders: on a synthetic 5,400-path range, 0.93 s of CPU,
# against 1.14 s in batches of 2,700 and 1.59 s all at once.
_PATHS_PER_GREP = 500


def _batches(paths: list[str], most: int | None = None) -> Iterator[list[str]]:
    """``paths`` in batches that keep one git command line under ``_PATHS_PER_CALL`` bytes
    (and, with ``most``, to that many paths)."""
    batch: list[str] = []
    size = 0
    for path in paths:
        length = len(path.encode("utf-8", "surrogateescape")) + 20
        if batch and (size + length > _PATHS_PER_CALL or len(batch) == most):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch
