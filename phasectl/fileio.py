"""Writing files safely: whole or not at all."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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
