"""git commands running in the background: each one's output read by a thread as git
prints it, so that a full pipe never stalls git, and stopped on an error or Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from phasectl.errors import GitCommandError, RepositoryError
from phasectl.repo.base import GIT_NOT_FOUND, PINNED_CONFIG, git_env, git_reason, give_way


class PendingGit:
    """A git command running in the background; its output is read by a thread (and its
    standard error by a second one) so that a full pipe never stalls git."""

    _pipe_size = 0  # what its output pipe is widened to (0: the system's size, 64 KiB)
    _succeeded: tuple[int, ...] = (0,)  # the exit statuses that are not failures

    def __init__(self, cwd: Path, args: list[str], what: str, *, aside: bool = False) -> None:
        """``aside``: this command is not what phasectl waits for first (``give_way``)."""
        import threading

        self.cwd = cwd
        self._what = what
        self._cancelled = False
        self._output: tuple[bytes, bytes] = (b"", b"")
        try:
            self._proc = subprocess.Popen(
                ["git", *PINNED_CONFIG, *args], cwd=cwd, env=git_env(),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
        except FileNotFoundError:
            raise RepositoryError(GIT_NOT_FOUND) from None
        try:
            if self._pipe_size:
                _widen(self._proc.stdout, self._pipe_size)
            if aside:
                give_way(self._proc.pid)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        except BaseException:
            # Ctrl-C or SIGTERM while the reader starts: nobody holds this git yet.
            self._proc.kill()
            self._proc.wait()
            raise

    def _read(self) -> None:
        import threading

        proc = self._proc
        assert proc.stdout is not None
        assert proc.stderr is not None
        errors: list[bytes] = []
        drainer = threading.Thread(
            target=lambda: errors.append(_read_all(proc.stderr)), daemon=True
        )
        buffer = bytearray()
        out = proc.stdout.fileno()
        try:
            drainer.start()
            while chunk := os.read(out, 1 << 16):
                buffer += chunk
                self._received(buffer)
            proc.wait()
            drainer.join()
            self._output = (bytes(buffer), errors[0] if errors else b"")
        finally:
            proc.stdout.close()
            self._ended()

    def _received(self, output: bytearray) -> None:
        """Called by the reading thread each time more output has come."""

    def _ended(self) -> None:
        """Called by the reading thread when it stops, for whatever reason."""

    def _finished(self) -> tuple[bytes, str]:
        """Wait for git; its output and standard error, or ``GitCommandError``."""
        self._reader.join()
        out, err_bytes = self._output
        err = err_bytes.decode("utf-8", "replace")
        if self._proc.returncode not in self._succeeded:
            reason = git_reason(err, self._proc.returncode)
            raise GitCommandError(f"{self._what} failed: {reason}")
        return out, err

    def cancel(self) -> None:
        """Stop git if it is still running (on an error elsewhere, or Ctrl-C)."""
        self._cancelled = True
        self._proc.kill()
        self._reader.join()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called: git was stopped, or had ended, before its output
        was used."""
        return self._cancelled


def _widen(pipe: IO[bytes] | None, size: int) -> None:
    """Make ``pipe`` hold up to ``size`` bytes, where the system allows it (Linux)."""
    if sys.platform == "linux" and pipe is not None:
        import fcntl

        with contextlib.suppress(OSError):  # over the system's or the user's limit
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, size)


def _read_all(pipe: IO[bytes] | None) -> bytes:
    """Everything that comes from ``pipe`` until it closes; then close it."""
    assert pipe is not None
    with pipe:
        return pipe.read()


class PendingOutput(PendingGit):
    """A git command running in the background, whose output is wanted whole."""

    def result(self) -> bytes:
        """Wait for git; what it printed, or ``GitCommandError`` if it failed."""
        return self._finished()[0]


class PendingGrep(PendingOutput):
    """A ``git grep`` running in the background."""

    _succeeded = (0, 1)  # 1: nothing matched
