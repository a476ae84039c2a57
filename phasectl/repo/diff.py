"""The diff between two trees (run in the background as git prints it), patches, and
files read from trees.

The bulk diff is one ``git diff --raw --numstat -z`` process started with ``subprocess``
(not through GitPython's handle: it starts before GitPython is imported), read by a thread
as git prints it.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING

from phasectl.errors import GitCommandError
from phasectl.repo.base import PINNED_CONFIG, GitBase, git_env, give_way
from phasectl.repo.patch import parse_added_lines
from phasectl.repo.pending import PendingGit, PendingGrep, PendingOutput

if TYPE_CHECKING:
    from phasectl.config import Config

_RENAME_LIMIT_HINT = re.compile(r"at least (\d+)")

DEFAULT_SIMILARITY = 50
DEFAULT_RENAME_LIMIT = 1000


def diff_args(
    base: str,
    head: str,
    similarity: int = DEFAULT_SIMILARITY,
    rename_limit: int = DEFAULT_RENAME_LIMIT,
    copies: bool = False,
) -> list[str]:
    """The arguments of the pinned ``git diff --raw --numstat -z`` between two revisions."""
    args = [
        "diff", "--no-color", "--no-ext-diff", "--no-textconv",
        "--no-relative", "--ignore-submodules=none", "--diff-algorithm=myers",
        "--full-index", "--raw", "--numstat", "-z",
        f"-M{similarity}%", f"-l{rename_limit}",
    ]  # fmt: skip
    if copies:
        args.append(f"-C{similarity}%")
    # --end-of-options: a revision such as "--output=x" is a revision, never an option.
    return [*args, "--end-of-options", base, head, "--"]


@dataclass(frozen=True)
class DiffOutput:
    """What ``git diff --raw --numstat -z`` printed, undecoded, and git's warnings."""

    data: bytes
    warnings: tuple[str, ...]
    rename_limit_needed: int | None


@dataclass(frozen=True)
class DiffSettings:
    """The settings that change what ``git diff`` detects."""

    similarity: int = DEFAULT_SIMILARITY
    rename_limit: int = DEFAULT_RENAME_LIMIT
    copies: bool = False

    @classmethod
    def of(cls, config: Config) -> DiffSettings:
        """The settings ``config`` gives the diff."""
        return cls(config.rename_similarity, config.rename_limit, config.detect_copies)


def raw_section_end(data: bytes | bytearray, start: int = 0) -> tuple[int, bool]:
    """How far ``data`` (``git diff --raw --numstat -z`` output, as much as has come) holds
    whole raw records from ``start`` on; and whether the raw section is known to end there,
    because a numstat record begins.

    A raw record is ``:<modes> <shas> <status>\\0path\\0``, with a second path for a rename
    (``R``) or copy (``C``); a numstat record starts with a count or ``-``, never ``:``.
    """
    at = start
    while at < len(data):
        if data[at] != 0x3A:  # ":"
            return at, True
        header_end = data.find(b"\0", at)
        if header_end < 0:
            return at, False
        status = data[data.rfind(b" ", at, header_end) + 1]
        end = header_end
        for _ in range(2 if status in b"RC" else 1):
            end = data.find(b"\0", end + 1)
            if end < 0:
                return at, False
        at = end + 1
    return at, False


class PendingDiff(PendingGit):
    """A ``git diff --raw --numstat -z`` running in the background.

    The diff is the slow part of ``collect``; starting it first lets everything else
    (Python imports, ref checks, ``git status``) happen while git works. git prints the raw
    records (paths and statuses) as soon as renames are found, and the line counts only at
    the end; ``raw_pieces`` hands the first part over while git computes the second.
    """

    # Room for a 5,000-file diff's whole output (about 0.5 MB): git never waits for phasectl
    # to read, even when phasectl's threads (or a busy machine) keep its reader waiting.
    _pipe_size = 1 << 20

    def __init__(self, cwd: Path, base: str, head: str, settings: DiffSettings) -> None:
        from queue import SimpleQueue

        self._pieces: SimpleQueue[bytes | None] = SimpleQueue()
        self._scanned, self._raw_complete = 0, False
        args = diff_args(base, head, settings.similarity, settings.rename_limit, settings.copies)
        super().__init__(cwd, args, f"git diff {base} {head}")

    def _received(self, output: bytearray) -> None:
        """Hand on each run of whole raw records as it comes."""
        if not self._raw_complete:
            start = self._scanned
            self._scanned, self._raw_complete = raw_section_end(output, start)
            if self._scanned > start:
                self._pieces.put(bytes(output[start : self._scanned]))

    def _ended(self) -> None:
        # The raw section has ended: at a numstat record, or at the end of the output
        # (git failed or was stopped, or the diff has no line counts).
        self._pieces.put(None)

    def raw_pieces(self) -> Iterator[bytes]:
        """The raw records, in runs of whole records, as git prints them; the runs end where
        the raw section ends (or git ends). Their lengths add up to the raw section's."""
        while (piece := self._pieces.get()) is not None:
            yield piece

    def result(self) -> DiffOutput:
        """Wait for git; its output, or ``GitCommandError`` if it failed."""
        out, err = self._finished()
        warnings = tuple(
            line.removeprefix("warning: ").strip()
            for line in err.splitlines()
            if line.startswith("warning:")
        )
        needed = None
        for line in warnings:
            found = _RENAME_LIMIT_HINT.search(line)
            if found and "renameLimit" in line:
                needed = int(found.group(1))
        return DiffOutput(out, warnings, needed)


def start_diff(cwd: Path, base: str, head: str, settings: DiffSettings) -> PendingDiff:
    """Start the pinned diff between two revisions (names or SHAs) in the repository at cwd."""
    return PendingDiff(cwd, base, head, settings)


class Trees(GitBase):
    """Diffs between trees and the files in them."""

    def start_diff(self, base: str, head: str, settings: DiffSettings) -> PendingDiff:
        """Start the pinned tree-to-tree ``git diff --raw --numstat -z`` between two revisions."""
        return start_diff(self.work_tree or self.git_dir, base, head, settings)

    def changed_paths(self, base: str, head: str) -> tuple[set[str], set[str]]:
        """The regular files whose contents differ between ``base`` and ``head``: their paths
        at base (modified, deleted, type-changed) and at head (created, modified,
        type-changed), renames not followed; git's quick tree comparison, no line diff."""
        out = self.run(
            "diff", "--no-ext-diff", "--no-textconv", "--no-relative", "--no-renames",
            "--raw", "-z", "--end-of-options", base, head, "--",
        )[1]  # fmt: skip
        tokens = out.split(b"\0")[:-1]  # each record ends with a NUL
        sides: tuple[set[str], set[str]] = (set(), set())
        for header, raw in zip(tokens[::2], tokens[1::2], strict=True):
            modes = header[1:].split(b" ")[:2]  # ":old_mode new_mode old_sha new_sha status"
            path = raw.decode("utf-8", "surrogateescape")
            for side, mode in zip(sides, modes, strict=False):
                if mode in (b"100644", b"100755"):
                    side.add(path)
        return sides

    def tree_paths(self, rev: str) -> list[str]:
        """Every file path in ``rev``'s tree."""
        out = self.run("ls-tree", "-r", "-z", "--name-only", "--full-tree", rev)[1]
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def read_file(self, rev: str, path: str) -> bytes:
        """The bytes of ``path`` at ``rev``."""
        return self.run("cat-file", "blob", f"{rev}:{path}")[1]

    def tree_path(self, path: Path) -> str | None:
        """``path`` as git names it in a tree (relative to the work tree's top, with ``/``),
        or ``None`` when it lies outside the work tree."""
        root = self.work_tree
        if root is None or not path.resolve().is_relative_to(root.resolve()):
            return None
        return path.resolve().relative_to(root.resolve()).as_posix()

    def read_files(self, rev: str, paths: list[str], *, limit: int = 1 << 20) -> dict[str, bytes]:
        """The first ``limit`` bytes of each of ``paths`` at ``rev``, read in one ``git`` call.

        Paths missing at ``rev`` (or not files) are left out.
        """
        found: dict[str, bytes] = {}
        batch = [p for p in paths if "\n" not in p]
        for path in paths:
            if "\n" in path:  # cat-file --batch reads one name per line
                status, data, _ = self.run("cat-file", "blob", f"{rev}:{path}", check=False)
                if status == 0:
                    found[path] = data[:limit]
        if not batch:
            return found
        names = "".join(f"{rev}:{p}\n" for p in batch).encode("utf-8", "surrogateescape")
        found.update(self._read_batch(batch, names, limit))
        return found

    def read_blobs(self, blobs: dict[str, str], *, limit: int, aside: bool) -> dict[str, bytes]:
        """The first ``limit`` bytes of each blob of ``blobs`` (path -> blob id), by path,
        read in one ``git`` call (``aside``: one that gives way to the diff, see
        ``give_way``). A blob id needs no lookup in a tree, as a ``rev:path`` name does."""
        if not blobs:
            return {}
        names = "".join(f"{sha}\n" for sha in blobs.values()).encode("ascii")
        return self._read_batch(list(blobs), names, limit, aside)

    def _read_batch(
        self, batch: list[str], names: bytes, limit: int, aside: bool = False
    ) -> dict[str, bytes]:
        """``git cat-file --batch`` for ``names`` (one per path in ``batch``), read as it
        comes: of each blob only the first ``limit`` bytes are kept, so memory holds the
        heads of the files, never all their contents at once."""
        import threading

        found: dict[str, bytes] = {}
        proc = subprocess.Popen(
            ["git", *PINNED_CONFIG, "cat-file", "--batch"], cwd=self.work_tree or self.git_dir,
            env=git_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if aside:
            give_way(proc.pid)
        assert proc.stdin is not None
        assert proc.stdout is not None

        def feed(pipe: IO[bytes]) -> None:
            with contextlib.suppress(BrokenPipeError):
                pipe.write(names)
            with contextlib.suppress(BrokenPipeError):
                pipe.close()

        writer = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
        writer.start()
        out = proc.stdout
        try:
            for path in batch:
                header = out.readline().split()
                if len(header) != 3 or not header[2].isdigit():
                    continue  # "<name> missing" (or ambiguous): no contents follow
                size = int(header[2])
                head = out.read(min(size, limit))
                if header[1] == b"blob":
                    found[path] = head
                # The rest, and the newline after it: a tree or commit is printed too.
                rest = size - len(head) + 1
                while rest > 0:
                    skipped = len(out.read(min(rest, 1 << 16)))
                    if not skipped:
                        break
                    rest -= skipped
        except BaseException:
            proc.kill()
            raise
        finally:
            out.close()
            status = proc.wait()
            writer.join()
        if status != 0:
            raise GitCommandError(f"git cat-file --batch failed in {self.description}")
        return found

    def patch(self, base: str, head: str, *, similarity: int) -> bytes:
        """The pinned ``git diff -U0`` between two revisions: changed lines, no context."""
        return self.run(*_patch_args(base, head, f"-M{similarity}%"))[1]

    @cached_property
    def started_logs(self) -> dict[tuple[str | None, str, str], PendingOutput]:
        """``git log`` readers started ahead of need (``changes.start_range_commits``), by
        what they read."""
        return {}

    def start_git(self, args: list[str], what: str, *, aside: bool = False) -> PendingOutput:
        """A git command started in the background; ``aside``: one that gives way to the
        diff (``give_way``)."""
        return PendingOutput(self.work_tree or self.git_dir, args, what, aside=aside)

    def start_grep(
        self, strings: Sequence[str], revs: Sequence[str], paths: Sequence[str]
    ) -> PendingGrep:
        """``git grep -n -z`` for lines holding any of ``strings`` (fixed strings, matched
        with case) in ``paths`` at each of ``revs`` (full ids), started in the background
        (aside, see ``give_way``). Binary files are skipped as ``git diff`` finds them."""
        args = [
            # Not the ref lookups git makes for an id that could also be a ref's name.
            "-c", "core.warnAmbiguousRefs=false", "grep", "--no-color", "--no-column",
            "--no-textconv", "-I", "-n", "-z", "-F", *(a for s in strings for a in ("-e", s)),
            *revs, "--", *(f":(top,literal){p}" for p in paths),
        ]  # fmt: skip
        return PendingGrep(self.work_tree or self.git_dir, args, "git grep", aside=True)

    def files_patch(self, base: str, head: str, paths: Sequence[str]) -> bytes:
        """The pinned ``git diff -U0`` of ``paths`` between two revisions, renames not
        followed."""
        args = _patch_args(base, head, "--no-renames")
        return self.run(*args, *(f":(top,literal){p}" for p in paths))[1]

    def pair_patch(self, old: str, new: str) -> bytes:
        """The pinned ``git diff -U0`` of two blobs, each named as ``<rev>:<path>``: a
        renamed or copied file's change, whatever git would pair it with."""
        return self.run(*_patch_args(old, new))[1]

    def added_lines(self, base: str, head: str, *, similarity: int) -> dict[str, set[int]]:
        """Line numbers (in head's version) of lines added or changed, per path.

        Parsed from ``git diff -U0``: every ``+c,d`` hunk range is a run of new lines.
        """
        return parse_added_lines(self.patch(base, head, similarity=similarity))


def _patch_args(base: str, head: str, *detect: str) -> list[str]:
    return [
        "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
        "--diff-algorithm=myers", "-U0", "--src-prefix=a/", "--dst-prefix=b/", *detect,
        "--end-of-options", base, head, "--",
    ]  # fmt: skip
