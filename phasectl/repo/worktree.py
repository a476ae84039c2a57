"""The work tree, the index, and temporary linked worktrees."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

from phasectl.errors import GitCommandError
from phasectl.fileio import process_alive
from phasectl.repo.base import PINNED_CONFIG, GitBase, git_env, git_reason

_MARKER = "phasectl pid"


def checkout_files(root: Path, name: str) -> list[str] | None:
    """The files called ``name`` (a plain file name, no glob) in any folder of the checkout
    at ``root``, relative to it and sorted: the tracked ones and the untracked ones that are
    not ignored (``git ls-files --cached --others --exclude-standard``), i.e. the files of
    the commit checked out there as a test run in it sees them, without the build output and
    vendored trees that ``.gitignore`` leaves out. ``None`` when ``root`` is not in a git
    work tree."""
    args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        done = subprocess.run(
            ["git", *PINNED_CONFIG, *args, "--", f":(glob)**/{name}"],
            cwd=root, env=git_env(), stdin=subprocess.DEVNULL, capture_output=True, check=False,
        )  # fmt: skip
    except OSError:
        return None
    if done.returncode != 0:
        return None
    found = {os.fsdecode(path) for path in done.stdout.split(b"\0") if path}
    return sorted(path for path in found if path.rpartition("/")[2] == name)


class Worktrees(GitBase):
    """The user's work tree and index (read, or touched only to commit a report), and
    detached worktrees for measuring other commits."""

    def dirty_files(self) -> list[str]:
        """The tracked paths that differ from HEAD in the index or work tree.

        Untracked files (a ``.venv/``, an ``*.egg-info``) are not dirt, as for
        ``git describe --dirty``: they are not part of any commit phasectl measures.
        ``--no-optional-locks`` keeps ``git status`` from refreshing (writing) the index.
        """
        if self.work_tree is None:
            return []
        out = self.run(
            "--no-optional-locks",
            "status",
            "--porcelain=v1",
            "-z",
            "--no-renames",
            "--untracked-files=no",
            "--ignore-submodules=none",
        )[1]
        # Each record is "XY path" (renames are off, so there is never a second path).
        return [
            record[3:].decode("utf-8", "surrogateescape") for record in out.split(b"\0") if record
        ]

    def commit_file(self, path: Path, message: str) -> str:
        """Commit ``path`` alone (whatever else is staged stays staged) and return the commit.

        The user's commit hooks run, as for any commit they make.
        """
        self.run("add", "--", str(path))
        status, _, err = self.run(
            "commit", "--quiet", "--only", "-m", message, "--", str(path), check=False
        )
        if status != 0:
            raise GitCommandError(f"git commit of {path.name} failed: {git_reason(err, status)}")
        return self._text("rev-parse", "--verify", "HEAD^{commit}")

    def index_entry(self, path: Path) -> bytes:
        """The index's entry for ``path`` as ``git ls-files --stage -z`` gives it (empty if
        the index has none), for ``restore_index_entry``."""
        return self.run("ls-files", "--stage", "-z", "--", str(path))[1]

    def restore_index_entry(self, path: Path, entry: bytes) -> None:
        """Put back the index entry ``index_entry`` returned (remove it if there was none)."""
        if entry:
            self._run_with_input(["update-index", "-z", "--index-info"], entry)
        else:
            self.run("update-index", "--force-remove", "--", str(path))

    def add_worktree(self, path: Path, sha: str) -> None:
        """Check out ``sha`` detached into a new worktree at ``path``.

        The worktree is locked with this process's id as the reason: if phasectl is killed
        before it can remove it (SIGKILL), the next run recognises it as stale and prunes it
        (``prune_stale_worktrees``), and ``git worktree prune`` leaves a live one alone.
        """
        reason = f"{_MARKER} {os.getpid()} on {socket.gethostname()}"
        self.run("worktree", "add", "--detach", "--force", "--lock", "--reason", reason,
                 str(path), sha)  # fmt: skip

    def prune_stale_worktrees(self) -> list[str]:
        """Remove the worktrees phasectl made whose process is gone (killed before it could
        clean up), with their temporary folders; the paths removed."""
        out = self.run("worktree", "list", "--porcelain", "-z", check=False)[1]
        removed = []
        for record in out.split(b"\0\0"):
            fields = record.decode("utf-8", "surrogateescape").split("\0")
            path = next((f[len("worktree ") :] for f in fields if f.startswith("worktree ")), "")
            lock = next((f[len("locked ") :] for f in fields if f.startswith("locked ")), "")
            owner = re.fullmatch(rf"{_MARKER} (\d+) on (.*)", lock)
            if not path or owner is None or owner.group(2) != socket.gethostname():
                continue
            if process_alive(int(owner.group(1))):
                continue
            self.run("worktree", "remove", "--force", "--force", path, check=False)
            scratch = Path(path).parent
            if scratch.name.startswith("phasectl-base-"):
                shutil.rmtree(scratch, ignore_errors=True)
            removed.append(path)
        return removed

    def remove_worktree(self, path: Path) -> None:
        """Remove a worktree made by ``add_worktree`` and prune git's record of it."""
        self.run("worktree", "remove", "--force", "--force", str(path), check=False)
        self.run("worktree", "prune", check=False)

    def worktree_paths(self) -> list[str]:
        out = self.run("worktree", "list", "--porcelain", "-z")[1]
        return [
            record[len(b"worktree ") :].decode("utf-8", "surrogateescape")
            for record in out.split(b"\0")
            if record.startswith(b"worktree ")
        ]
