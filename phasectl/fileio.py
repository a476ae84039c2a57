"""Writing files safely: whole or not at all; phasectl's temporary folders, removed even
after a killed run."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from phasectl.errors import PhasectlError


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_in_place(path: Path, data: bytes | bytearray) -> None:
    try:
        with path.open("wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise PhasectlError(f"cannot write {path}: {exc.strerror}") from None


def missing_folders(path: Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet, innermost first (to remove again
    with ``remove_empty_folders`` when a step that created them is undone)."""
    return [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove each of ``folders`` (innermost first) that is still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (someone put something there) or gone: leave the rest


def write_atomic(path: Path, data: bytes | bytearray, *, make_parents: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically, keeping an existing file's permissions.

    The bytes go to a temporary file in the same folder, are flushed to disk, and then
    ``os.replace`` swaps it in, so readers see the old file or the new one, never half.
    With ``make_parents``, missing folders on the way are created.
    """
    if make_parents:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PhasectlError(f"cannot create {path.parent}: {exc.strerror}") from None
    # A symlink is followed, so the file it points to is replaced, not the link.
    path = Path(os.path.realpath(path))
    try:
        info = path.stat()
    except FileNotFoundError:
        mode = _default_mode()
    except OSError as exc:
        raise PhasectlError(f"cannot write {path}: {exc.strerror}") from None
    else:
        if not stat.S_ISREG(info.st_mode):
            # /dev/null, /dev/stdout, a FIFO: replacing it would destroy it; write into it.
            _write_in_place(path, data)
            return
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o222:
            # Replacing the file would succeed (the folder is writable, and root may write
            # anything), but a file nobody may write is the user saying "leave it".
            raise PhasectlError(
                f"{path} is read-only; phasectl leaves it as it is. Make it writable "
                f"(chmod u+w) to update it, or pass another file"
            )
    folder = path.parent
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, kept for replace
            dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as exc:
        raise PhasectlError(f"cannot write {path}: {exc.strerror}") from None
    tmp = Path(handle.name)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise PhasectlError(f"cannot write {path}: {exc.strerror}") from None
        raise


_OWNER_FILE = ".phasectl-owner"


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@contextlib.contextmanager
def scratch_folder(kind: str) -> Iterator[Path]:
    """A new private folder ``phasectl-KIND-*`` in the temporary folder, removed afterwards
    (even on an error or Ctrl-C).

    It holds a file naming this process and host: if phasectl is killed before it can
    remove the folder (SIGKILL), the next phasectl removes it (``remove_stale_scratch``).
    """
    folder = Path(tempfile.mkdtemp(prefix=f"phasectl-{kind}-"))
    try:
        (folder / _OWNER_FILE).write_text(
            f"{os.getpid()} {socket.gethostname()}\n", encoding="utf-8"
        )
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_scratch() -> list[Path]:
    """Remove the folders ``scratch_folder`` made for runs that were killed before they
    could; the folders removed.

    Only a folder named ``phasectl-*`` in the temporary folder, this user's, whose owner
    file names a process of this host that is gone: a running phasectl's folder stays,
    and so does anything without an owner file (not phasectl's, or not started yet).
    """
    host, uid = socket.gethostname(), getattr(os, "getuid", lambda: None)()
    try:
        found = sorted(Path(tempfile.gettempdir()).glob("phasectl-*"))
    except OSError:
        return []
    removed = []
    for folder in found:
        try:
            info = folder.lstat()
            if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
                continue
            owner = (folder / _OWNER_FILE).read_text(encoding="utf-8").split()
        except (OSError, UnicodeDecodeError):
            continue
        if len(owner) != 2 or not owner[0].isdigit() or owner[1] != host:
            continue
        if process_alive(int(owner[0])):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
