"""Bounded, untrusted reading shared by every reader: the decorator that turns a
reader's crash into one clear error, incremental XML, line budgets, text lines; glob
expansion of the files a user names; and mapping paths from another checkout onto this one.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from phasectl.errors import PhasectlError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_P = ParamSpec("_P")


_R = TypeVar("_R")


def untrusted(
    what: str,
) -> Callable[[Callable[Concatenate[Path, _P], _R]], Callable[Concatenate[Path, _P], _R]]:
    """Make a reader of ``what`` files (its first argument is the path) raise only
    ``PhasectlError``: whatever else a malformed file provokes becomes an error naming it.

    Readers check what they expect with their own messages; this catches what no check
    foresaw (a number too long to convert, a structure nested past the stack), so the CLI
    still says ``Error:`` and exits 2 instead of a traceback and exit 1.
    """

    def decorate(
        reader: Callable[Concatenate[Path, _P], _R],
    ) -> Callable[Concatenate[Path, _P], _R]:
        def read(path: Path, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return reader(path, *args, **kwargs)
            except PhasectlError:
                raise
            except (ValueError, LookupError, TypeError, ArithmeticError, RecursionError) as exc:
                raise PhasectlError(
                    f"cannot read {what} {path}: it is malformed ({type(exc).__name__}: "
                    f"{str(exc)[:200]}); regenerate it"
                ) from None

        functools.update_wrapper(read, reader)
        return read

    return decorate


def stream_elements(
    path: Path, roots: tuple[str, ...], drop: frozenset[str], what: str, regenerate: str
) -> Iterator[tuple[Element, list[Element]]]:
    """Each element of ``path`` as it ends, with its ancestors (outermost first).

    The caller reads an element while it is yielded (its children are still there);
    afterwards an element whose tag is in ``drop`` is cleared and removed from its parent.
    The root element must be one of ``roots``. Problems (missing or
    unreadable file, entities or a DTD, malformed XML, a wrong root) raise
    ``PhasectlError`` naming the file; ``regenerate`` says what to do about them.
    """
    import defusedxml
    from defusedxml import ElementTree

    ancestors: list[Element] = []
    try:
        if path.stat().st_size == 0:
            raise PhasectlError(f"{what} file {path} is empty; {regenerate}")
        for event, element in ElementTree.iterparse(str(path), events=("start", "end")):
            if event == "start":
                if not ancestors and element.tag not in roots:
                    raise PhasectlError(f"{path} is not {what} (root element <{element.tag}>)")
                ancestors.append(element)
                continue
            ancestors.pop()
            yield element, ancestors
            if element.tag in drop and ancestors:
                element.clear()
                ancestors[-1].remove(element)
    except FileNotFoundError:
        raise PhasectlError(f"{what} file {path} does not exist; run the tests first") from None
    except defusedxml.DefusedXmlException:
        raise PhasectlError(
            f"refused {path}: it declares XML entities or a DTD (possible entity-expansion "
            f"attack); {regenerate}"
        ) from None
    except ElementTree.ParseError as exc:
        raise PhasectlError(
            f"{what} file {path} is not well-formed XML ({exc}); was it truncated? {regenerate}"
        ) from None
    except OSError as exc:
        raise PhasectlError(f"cannot read {what} file {path}: {exc.strerror}") from None


# Each line range of a coverprofile becomes a set of line numbers, so a two-line profile
# could ask for a billion entries. A range is clamped to the lines its source file has; a
# file phasectl cannot see may claim at most _MAX_BLOCK_LINES in one block; and one profile
# yields at most MAX_LINE_ENTRIES distinct (file, line) entries (a few hundred MB).
_MAX_BLOCK_LINES = 100_000


MAX_LINE_ENTRIES = 5_000_000


MAX_FILES = 2_000_000
"""Files one coverage file may name: each costs a few hundred bytes (its path, its line
data, its figures and their JSON), whatever few lines it has."""


_MAX_SOURCE_BYTES = 64 << 20


PROGRESS_AFTER_S = 15.0


class Progress:
    """Says how far the reading of ``path`` got, through ``echo``, once it has taken
    ``after`` seconds and again every ``after`` seconds, so a long read of a huge
    artifact is not taken for a hang. Readers call it with their count of files so far."""

    def __init__(
        self, path: Path, echo: Callable[[str], None], after: float = PROGRESS_AFTER_S
    ) -> None:
        self.path, self.echo, self.after = path, echo, after
        self.started = time.monotonic()
        self.due = self.started + after

    def __call__(self, files: int) -> None:
        now = time.monotonic()
        if now >= self.due:
            self.due = now + self.after
            self.echo(
                f"phasectl: reading {self.path.name}: {files:,} files so far "
                f"({now - self.started:.0f} s)"
            )


def no_progress(files: int) -> None:
    """The progress of a read nobody watches."""


class LineBudget:
    """The bounds above, for one coverage file that names line ranges."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path, self.root, self.used, self.files = path, root.resolve(), 0, 0
        self.sizes: dict[str, int | None] = {}

    def _line_count(self, name: str) -> int | None:
        if name not in self.sizes:
            self.sizes[name] = None
            source = (self.root / name).resolve()
            try:
                # Only a regular file of this repository: never /dev/zero or a FIFO.
                if source.is_relative_to(self.root) and source.is_file():
                    with source.open("rb") as handle:
                        data = handle.read(_MAX_SOURCE_BYTES + 1)
                    if len(data) <= _MAX_SOURCE_BYTES:
                        self.sizes[name] = data.count(b"\n") + (not data.endswith(b"\n"))
            except OSError:
                pass
        return self.sizes[name]

    def span(self, name: str, start: int, end: int) -> range:
        """The lines ``start``..``end`` of ``name`` that can exist."""
        size = self._line_count(name)
        if size is not None:
            end = min(end, size)
        elif end - start >= _MAX_BLOCK_LINES:
            raise PhasectlError(
                f"{self.path}: the block {name}:{start}-{end} spans more than "
                f"{_MAX_BLOCK_LINES:,} lines of a file not in this repository; is the profile "
                "corrupt? Regenerate it with go test -coverprofile"
            )
        return range(start, end + 1)

    def file(self) -> None:
        """Count one more file; over ``MAX_FILES``, ``PhasectlError`` naming the file."""
        self.files += 1
        if self.files > MAX_FILES:
            raise PhasectlError(
                f"{self.path} names more than {MAX_FILES:,} files, the most phasectl reads "
                "from one coverage file; split it by package"
            )

    def count(self, entries: int) -> None:
        """Count ``entries`` new entries; over the budget, ``PhasectlError`` naming the file."""
        self.used += entries
        if self.used > MAX_LINE_ENTRIES:
            raise PhasectlError(
                f"{self.path} names more than {MAX_LINE_ENTRIES:,} distinct lines, the most "
                "phasectl reads from one coverage file; split it by package"
            )

    def add(self, lines: set[int], span: range) -> None:
        """Add ``span`` to ``lines``; over the budget, ``PhasectlError`` naming the file."""
        for at in range(0, len(span), _MAX_BLOCK_LINES):
            before = len(lines)
            lines.update(span[at : at + _MAX_BLOCK_LINES])
            self.count(len(lines) - before)


@contextlib.contextmanager
def reading(path: Path, what: str, hint: str = "run the tests first") -> Iterator[None]:
    """A missing or unreadable ``path`` inside the block as one ``PhasectlError`` that
    names it as ``what`` and says what to do (``hint``)."""
    try:
        yield
    except FileNotFoundError:
        raise PhasectlError(f"{what} {path} does not exist; {hint}") from None
    except OSError as exc:
        raise PhasectlError(f"cannot read {what} {path}: {exc.strerror}") from None


def text_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """The numbered lines of a text file, read one at a time (bytes that are not UTF-8
    replaced), so a reader never holds the whole file; ``PhasectlError`` if it is missing,
    unreadable or empty."""
    with reading(path, what):
        handle = path.open("rb")
    with handle:
        number = 0
        try:
            for number, raw in enumerate(handle, 1):
                yield number, raw.decode("utf-8", "replace").rstrip("\r\n")
        except OSError as exc:
            raise PhasectlError(f"cannot read {what} {path}: {exc.strerror}") from None
        if number == 0:
            raise PhasectlError(f"{what} {path} is empty; re-run the tests with coverage")


def matching_files(pattern: str, root: Path) -> list[Path]:
    """The files one glob matches (a relative one from ``root``; ``**`` recurses), sorted."""
    full = pattern if Path(pattern).is_absolute() else str(root / pattern)
    # glob.glob takes absolute patterns as well as relative ones; Path.glob does not.
    hits = glob.glob(full, recursive=True)  # noqa: PTH207
    return sorted({Path(p) for p in hits if Path(p).is_file()})


def expand_globs(patterns: Sequence[str], root: Path) -> list[Path]:
    """Files matching the globs (relative ones from ``root``; ``**`` recurses), sorted, unique."""
    found: set[Path] = set()
    for pattern in patterns:
        matches = matching_files(pattern, root)
        if not matches:
            raise PhasectlError(
                f"'{pattern}' matched no file; check the path, or run the tests first"
            )
        found.update(matches)
    return sorted(found)


def _state(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


class FileStates:
    """The files some globs match, as they were before a run: a file the run did not write
    is unchanged after it (same modification time, size and inode). No clock is compared,
    so coarse or skewed file times do not matter."""

    def __init__(self, patterns: Sequence[str], root: Path) -> None:
        self._before: dict[Path, tuple[int, int, int]] = {}
        for pattern in patterns:
            for path in matching_files(pattern, root):
                state = _state(path)
                if state is not None:
                    self._before[path] = state

    def unchanged(self, path: Path) -> bool:
        """True when ``path`` is as it was before the run: the run did not write it."""
        before = self._before.get(path)
        return before is not None and before == _state(path)

    def stale(self, path: Path, what: str) -> str:
        """Why ``path`` is not read as this run's."""
        import datetime

        written = datetime.datetime.fromtimestamp(
            self._before[path][0] / 1e9, datetime.timezone.utc
        )
        return (
            f"{what} {path.name} was not written by this run (last written "
            f"{written:%Y-%m-%d %H:%M} UTC, before it started): not read as this run's"
        )


def _relative(name: str, root: Path) -> str:
    """A path relative to ``root`` when it lies inside it; otherwise as given."""
    if os.sep == "/" and not name.startswith("/"):
        # What the lines below give a relative name here, without pathlib's parsing, which
        # was most of the time of an artifact naming a million files.
        return os.path.normpath(name)
    path = Path(name)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return Path(os.path.normpath(name)).as_posix()


def checkout_path(
    name: str, root: Path, sources: Sequence[str] = (), *, folders: dict[str, bool] | None = None
) -> str:
    """The repository path of a file a coverage artifact names, mapped as diff-cover and
    Codecov map it: joined to each ``<source>`` (Cobertura) first, then as written
    (relative names are relative to the checkout), and for a path from another checkout
    (``/home/runner/work/p/p/src/a.js``) the longest tail of it that names a file here.
    A name that matches no file here is returned as ``_relative`` gives it.

    ``folders``, kept by the caller across the names of one artifact, remembers which
    folders exist, so a file in a folder that does not costs no file system call.
    """
    tried = [f"{source.rstrip('/')}/{name}" for source in sources if not is_absolute_name(name)]
    for candidate in (*tried, name):
        mapped = _relative(candidate, root)
        if not is_absolute_name(mapped) and _is_file(root, mapped, folders):
            return mapped
        parts = [part for part in re.split(r"[\\/]", candidate) if part]
        for start in range(1, len(parts)):
            tail = "/".join(parts[start:])
            if _is_file(root, tail, folders):
                return tail
    return _relative(name, root)


_MAX_FOLDERS = 100_000


def _is_file(root: Path, name: str, folders: dict[str, bool] | None) -> bool:
    """``(root / name).is_file()``, False at once when ``folders`` knows its folder is
    missing (a path whose folder does not resolve names no file)."""
    if folders is not None:
        folder = name.rpartition("/")[0]
        known = folders.get(folder)
        if known is None:
            if len(folders) >= _MAX_FOLDERS:
                folders.clear()  # a bound, not a cache of every folder of a hostile file
            known = folders[folder] = (root / folder).is_dir()
        if not known:
            return False
    return os.path.isfile(os.path.join(root, name))  # noqa: PTH113, PTH118 (see _relative)


def is_absolute_name(name: str) -> bool:
    """Whether ``name`` is an absolute path, POSIX or Windows (``C:\\``)."""
    # Windows paths too: CI artifacts come from any runner.
    return name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name) is not None
