"""Reading ``git diff -U0`` patches (the lines each file adds and removes, with their
numbers) and ``git grep -n -z`` output; and git's C-style quoting of paths."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b",
            b"f": b"\f", b"r": b"\r", b"v": b"\v"}  # fmt: skip


def unquote_c_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of a path in patch headers (``"a\\tb\\303\\251"``)."""
    if not (raw.startswith(b'"') and raw.endswith(b'"')):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        if body[i : i + 1] == b"\\":
            nxt = body[i + 1 : i + 2]
            if nxt.isdigit():
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
        else:
            out += body[i : i + 1]
            i += 1
    return bytes(out)


def _header_path(raw: bytes, prefix: bytes) -> str | None:
    """The path of a ``--- a/x`` / ``+++ b/x`` header, or ``None`` for ``/dev/null``."""
    if raw == b"/dev/null":
        return None
    # git ends the header with a tab when the name holds a space, quoted or not (a name
    # with a tab of its own is quoted, so a last tab is always git's).
    if raw.endswith(b"\t") and b" " in raw:
        raw = raw[:-1]
    return unquote_c_path(raw).removeprefix(prefix).decode("utf-8", "surrogateescape")


@dataclass
class PatchFile:
    """The changed lines of one file in a ``-U0`` patch, with their line numbers.

    ``path`` is the new side's path (``None`` for a deleted file), ``old_path`` the old
    side's (``None`` for a created file). Texts are decoded as UTF-8, bad bytes replaced.
    """

    path: str | None
    old_path: str | None
    added: list[tuple[int, str]]
    removed: list[tuple[int, str]]


def parse_patch(patch: bytes, keep: re.Pattern[bytes] | None = None) -> list[PatchFile]:
    """The files of a ``git diff -U0`` patch with the lines each adds and removes (with
    ``keep``, only the lines it finds a match in; the others are counted, not decoded).

    Hunk headers give the number of lines that follow, so a changed line that itself
    starts with ``+++`` or ``---`` is never taken for a file header.
    """
    files: list[PatchFile] = []
    old_path: str | None = None
    old_left = new_left = old_at = new_at = 0
    for line in patch.split(b"\n"):
        if old_left or new_left:
            wanted = keep is None or keep.search(line, 1) is not None
            if line.startswith(b"-") and old_left:
                if wanted:
                    files[-1].removed.append((old_at, line[1:].decode("utf-8", "replace")))
                old_at, old_left = old_at + 1, old_left - 1
            elif line.startswith(b"+") and new_left:
                if wanted:
                    files[-1].added.append((new_at, line[1:].decode("utf-8", "replace")))
                new_at, new_left = new_at + 1, new_left - 1
            continue  # "\ No newline at end of file" and anything unexpected
        if line.startswith(b"--- "):
            old_path = _header_path(line[4:], b"a/")
        elif line.startswith(b"+++ "):
            files.append(PatchFile(_header_path(line[4:], b"b/"), old_path, [], []))
        elif line.startswith(b"@@") and files and (found := _HUNK.match(line)):
            old_at, new_at = int(found.group(1)), int(found.group(3))
            old_left = int(found.group(2) or 1)
            new_left = int(found.group(4) or 1)
        elif line.startswith(b"diff "):
            old_path = None
    return files


def added_line_numbers(files: Iterable[PatchFile]) -> dict[str, set[int]]:
    """Map each new-side path of a parsed patch to the line numbers it adds."""
    result: dict[str, set[int]] = {}
    for file in files:
        if file.path is not None:
            result.setdefault(file.path, set()).update(number for number, _ in file.added)
    return result


def parse_added_lines(patch: bytes) -> dict[str, set[int]]:
    """Map each new-side path of a ``-U0`` patch to the line numbers its hunks add."""
    return added_line_numbers(parse_patch(patch))


def parse_grep(
    output: bytes, revs: tuple[str, ...], keep: Callable[[str], bool] | None = None
) -> dict[tuple[int, str], list[tuple[int, str]]]:
    """The lines of ``git grep -n -z <pattern> <revs> -- <paths>`` output, by (index of the
    rev in ``revs``, path), each with its number; with ``keep``, only the lines it keeps.

    Each record is ``<rev>:<path>\\0<number>\\0<text>\\n``: the path may hold any byte but
    NUL (a newline too), the text any byte but a newline, so the record is read field by
    field. Texts are decoded as UTF-8, bad bytes replaced, as ``parse_patch`` does.
    """
    found: dict[tuple[int, str], list[tuple[int, str]]] = {}
    prefixes = [(n, f"{rev}:".encode()) for n, rev in enumerate(revs)]
    at = 0
    while at < len(output):
        path_end = output.index(b"\0", at)
        number_end = output.index(b"\0", path_end + 1)
        text_end = output.find(b"\n", number_end + 1)
        text_end = len(output) if text_end < 0 else text_end
        name = output[at:path_end]
        side, prefix = next((n, p) for n, p in prefixes if name.startswith(p))
        text = output[number_end + 1 : text_end].decode("utf-8", "replace")
        if keep is None or keep(text):
            path = name[len(prefix) :].decode("utf-8", "surrogateescape")
            found.setdefault((side, path), []).append(
                (int(output[path_end + 1 : number_end]), text)
            )
        at = text_end + 1
    return found
