"""The git runner every part of ``Repository`` shares: one pinned way to call git.

git runs as a plain subprocess with argument lists, never a shell string, in the C
locale, and with the settings that change diff output pinned, so a user's git config
cannot change the figures. (GitPython served here before; its import alone cost more
than a ``collect --no-tests`` on a small repository spends on everything else.)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import TypeVar

from phasectl.errors import GitCommandError, RepositoryError
from phasectl.repo.spawn import (
    GIT_NOT_FOUND,
    PINNED_CONFIG,
    REPOSITORY_VARIABLES,
    git_env,
    work_tree_of,
)

_Opened = TypeVar("_Opened", bound="GitBase")


def git_reason(err: str, status: int) -> str:
    """The line of git's standard error that says what went wrong.

    git ends many errors with ``hint:`` lines; the ``fatal:`` or ``error:`` line (else the
    first other line, joined with the lines after it) is the reason.
    """
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith("hint:")]
    for line in said:
        if line.startswith(("fatal:", "error:")):
            return line
    return " ".join(said[:3]) if said else f"exit status {status}"


def find_work_tree(path: Path) -> Path | None:
    """The top of the work tree containing ``path``, found without running git.

    ``None`` when no ``.git`` is found above it (a bare repository, or no repository).
    """
    found = work_tree_of(os.fspath(path))
    return None if found is None else Path(found)


def give_way(pid: int) -> None:
    """Lower the scheduling priority of process ``pid`` by 10 below phasectl's own (as
    ``renice +10``, at most 19): a git command running beside the diff that ``collect``
    waits for takes the spare cores, and does not slow that diff down. The work is the
    same; only who goes first changes. Where the system has no priorities, nothing changes."""
    # AttributeError: not POSIX; OSError: the process has already ended.
    with contextlib.suppress(AttributeError, OSError):
        own = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, own + 10))


def _rev_parse(
    folder: Path, *more: str, env: dict[str, str] | None = None
) -> tuple[int, list[str], str]:
    """``git rev-parse --is-bare-repository --absolute-git-dir [more]`` in ``folder``:
    status, output lines, standard error."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--is-bare-repository", "--absolute-git-dir", *more],
            cwd=folder, env=env or git_env(), stdin=subprocess.DEVNULL, capture_output=True,
            check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise RepositoryError(GIT_NOT_FOUND) from None
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    return done.returncode, lines, done.stderr.decode("utf-8", "replace")


class GitBase:
    """A git repository, opened once and passed explicitly to whatever needs it."""

    def __init__(self, work_tree: Path | None, git_dir: Path) -> None:
        self._work_tree = work_tree
        self._git_dir = git_dir

    @classmethod
    def _open(cls: type[_Opened], path: Path) -> _Opened:
        if not path.exists():
            raise RepositoryError(f"{path} does not exist; pass --repo PATH to a git repository")
        folder = path if path.is_dir() else path.parent
        status, out, err = _rev_parse(folder, "--show-toplevel")
        if status == 0:
            return cls(Path(out[2]), Path(out[1]))
        if "not a git repository" in err:
            raise RepositoryError(
                f"{path} is not inside a git repository; run phasectl in one or pass --repo PATH"
            )
        # A bare repository, or a folder inside .git: no top level to show.
        status, out, err = _rev_parse(folder)
        if status != 0:
            raise RepositoryError(
                f"cannot open the repository at {path}: {git_reason(err, status)}"
            )
        git_dir = Path(out[1])
        bare = out[0] == "true"
        return cls(None if bare or git_dir.name != ".git" else git_dir.parent, git_dir)

    @classmethod
    def open(cls: type[_Opened], path: Path) -> _Opened:
        """Open the repository containing ``path``; raise ``RepositoryError`` if there is none,
        or if ``GIT_DIR`` / ``GIT_WORK_TREE`` name another one."""
        opened = cls._open(path)
        opened._check_environment(path)
        return opened

    def _check_environment(self, path: Path) -> None:
        """Refuse ``GIT_DIR`` / ``GIT_WORK_TREE`` that name another repository than ``path``'s.

        Otherwise refs could come from one repository and the diff from another. Values
        that name this repository (as git sets them for hooks) are fine; phasectl's own git
        calls then run without them (see ``git_env``). Relative values are read from the
        current folder, as the shell meant them.
        """
        named = {k: os.environ[k] for k in REPOSITORY_VARIABLES if os.environ.get(k)}
        if not named:
            return
        absolute = {k: str(Path(v).absolute()) for k, v in named.items()}
        os.environ.update(absolute)  # the test run's processes run in other folders
        folder = path if path.is_dir() else path.parent
        env = {**git_env(), **absolute}
        status, out, _ = _rev_parse(folder, env=env)
        theirs = Path(out[1]).resolve() if status == 0 and len(out) > 1 else None
        if theirs != self._git_dir.resolve():
            key = "GIT_DIR" if "GIT_DIR" in named else "GIT_WORK_TREE"
            raise RepositoryError(
                f"{key}={named[key]} names {theirs or 'no repository'}, but phasectl measures "
                f"{self.description} (the repository at {path}); unset GIT_DIR and "
                "GIT_WORK_TREE, or pass --repo to the repository they name"
            )
        tree = absolute.get("GIT_WORK_TREE")
        work_tree = self.work_tree
        if (
            tree is not None
            and work_tree is not None
            and Path(tree).resolve() != work_tree.resolve()
        ):
            raise RepositoryError(
                f"GIT_WORK_TREE={named['GIT_WORK_TREE']} is not the work tree of "
                f"{self.description}; unset GIT_DIR and GIT_WORK_TREE, or pass --repo to "
                "the repository they name"
            )

    @property
    def work_tree(self) -> Path | None:
        """The top folder of the work tree, or ``None`` for a bare repository."""
        return self._work_tree

    @property
    def git_dir(self) -> Path:
        """The repository's git folder (``.git``, or the bare repository itself)."""
        return self._git_dir

    @property
    def description(self) -> str:
        return str(self.work_tree or self._git_dir)

    def run(self, *args: str, check: bool = True) -> tuple[int, bytes, str]:
        """Run ``git <pinned config> args`` and return (status, stdout bytes, stderr text)."""
        done = subprocess.run(
            ["git", *PINNED_CONFIG, *args],
            cwd=self.work_tree or self._git_dir,
            env=git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        status, out = done.returncode, done.stdout
        err = done.stderr.decode("utf-8", "replace").rstrip("\n")
        if check and status != 0:
            reason = git_reason(err, status)
            raise GitCommandError(f"git {args[0]} failed in {self.description}: {reason}")
        return status, out, err

    def output(self, args: list[str]) -> str | None:
        """What ``git args`` prints, without its last newline; ``None`` when git fails."""
        status, out, _ = self.run(*args, check=False)
        return out.decode("utf-8", "surrogateescape").removesuffix("\n") if status == 0 else None

    def _text(self, *args: str) -> str:
        return self.run(*args)[1].decode("utf-8", "surrogateescape").strip()

    def has_commits(self) -> bool:
        status, _, _ = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return status == 0

    def require_commits(self) -> None:
        """Raise ``RepositoryError`` for a repository with no commits yet."""
        if self.has_commits():
            return
        status, out, _ = self.run("for-each-ref", "--count=1", "--format=%(refname)", check=False)
        if status == 0 and out.strip():
            # Commits exist, just not on the checked-out branch (git checkout --orphan).
            branch = self.current_branch() or "HEAD"
            raise RepositoryError(
                f"the checked-out branch {branch} has no commits yet (an orphan branch) in "
                f"{self.description}; commit on it, or pass --head with a branch, tag or commit"
            )
        raise RepositoryError(
            f"the repository at {self.description} has no commits yet; commit something first"
        )

    def is_shallow(self) -> bool:
        return self._text("rev-parse", "--is-shallow-repository") == "true"

    def empty_tree(self) -> str:
        """The id of the empty tree in this repository's hash format."""
        status, out, err = self.run("hash-object", "-t", "tree", "--stdin", check=False)
        if status != 0:
            raise GitCommandError(f"git hash-object failed: {err.strip()}")
        return out.decode("ascii").strip()

    def head_sha(self) -> str | None:
        status, out, _ = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return out.decode("ascii").strip() if status == 0 else None

    def current_branch(self) -> str | None:
        """The checked-out branch's short name, or ``None`` on a detached HEAD."""
        status, out, _ = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return out.decode("utf-8", "surrogateescape").strip() or None if status == 0 else None

    def _run_with_input(self, args: list[str], data: bytes) -> bytes:
        """Run ``git <pinned config> args`` with ``data`` on standard input; its stdout."""
        done = subprocess.run(
            ["git", *PINNED_CONFIG, *args],
            cwd=self.work_tree or self._git_dir,
            env=git_env(),
            input=data,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            reason = git_reason(done.stderr.decode("utf-8", "replace"), done.returncode)
            raise GitCommandError(f"git {args[0]} failed in {self.description}: {reason}")
        return done.stdout
