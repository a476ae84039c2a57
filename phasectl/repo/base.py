"""The repository handle every part of ``Repository`` shares, and one pinned way to call git.

The repository is found as git finds it (``git rev-parse``: ``GIT_CEILING_DIRECTORIES``,
linked worktrees, submodules, bare repositories and ``safe.directory`` all count) and
then opened with GitPython (``git.Repo``). Refs, tags, notes, config, worktrees and
remotes go through GitPython's command wrapper (``handle.git``); the streamed processes
(the bulk diff, the debt's patch, ``cat-file --batch``) start with ``subprocess`` in
``phasectl.repo.diff``. Either way git gets an argument list, runs in the C locale, and
has the settings that change output pinned, so a user's git config cannot change the
figures.

GitPython is imported when the first command runs through it, not when the repository is
found: ``collect`` starts its diff first, and the import (about 40 ms) happens while git
works.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from phasectl.errors import GitCommandError, RepositoryError

if TYPE_CHECKING:
    import git

_Opened = TypeVar("_Opened", bound="GitBase")

# Settings read from git config that would otherwise change what we parse.
PINNED_CONFIG = (
    "-c", "core.quotePath=false",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.relative=false",
    "-c", "diff.renames=true",
    "-c", "color.ui=never",
    "-c", "core.pager=cat",
)  # fmt: skip

GIT_NOT_FOUND = "git was not found on PATH; install git and retry"
REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE")


def git_env(**extra: str) -> dict[str, str]:
    """The environment of the git processes phasectl starts itself (the repository's
    discovery, the diff): git's messages in English, whatever the user's locale (some are
    matched on), and without ``GIT_DIR`` / ``GIT_WORK_TREE``, so that ``--repo`` decides
    which repository is found (``find_repository`` checks that they name the same one).
    """
    env = {k: v for k, v in os.environ.items() if k not in REPOSITORY_VARIABLES}
    return {**env, "LC_ALL": "C", "LANGUAGE": "C", **extra}


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


def give_way(pid: int) -> None:
    """Lower the scheduling priority of process ``pid`` by 10 below phasectl's own (as
    ``renice +10``, at most 19): a git command running beside the diff that ``collect``
    waits for takes the spare cores, and does not slow that diff down. The work is the
    same; only who goes first changes. Where the system has no priorities, nothing changes."""
    # AttributeError: not POSIX; OSError: the process has already ended.
    with contextlib.suppress(AttributeError, OSError):
        own = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, pid, min(19, own + 10))


def _rev_parse(folder: Path, env: dict[str, str]) -> tuple[int, list[str], str]:
    """``git rev-parse --is-bare-repository --absolute-git-dir --show-toplevel`` in
    ``folder``: status, output lines, standard error. Without a work tree (a bare
    repository, or a folder inside ``.git``) git prints the first two answers and fails."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-toplevel"],
            cwd=folder, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise RepositoryError(GIT_NOT_FOUND) from None
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    return done.returncode, lines, done.stderr.decode("utf-8", "replace")


def locate(path: Path) -> tuple[Path | None, Path]:
    """The work tree (``None``: a bare repository) and git folder of the repository that
    contains ``path``, as git's own discovery finds them; ``RepositoryError`` if none."""
    if not path.exists():
        raise RepositoryError(f"{path} does not exist; pass --repo PATH to a git repository")
    folder = path if path.is_dir() else path.parent
    status, out, err = _rev_parse(folder, git_env())
    if status == 0 and len(out) == 3:
        return Path(out[2]), Path(out[1])
    if len(out) == 2:  # no work tree to show
        git_dir = Path(out[1])
        inside = out[0] == "false" and git_dir.name == ".git"  # a folder inside .git
        return (git_dir.parent if inside else None), git_dir
    if "not a git repository" in err:
        raise RepositoryError(
            f"{path} is not inside a git repository; run phasectl in one or pass --repo PATH"
        )
    raise RepositoryError(f"cannot open the repository at {path}: {git_reason(err, status)}")


def find_repository(path: Path) -> tuple[Path | None, Path]:
    """``locate``, and a check of ``GIT_DIR`` / ``GIT_WORK_TREE``: ``RepositoryError`` when
    they name another repository than ``path``'s.

    Otherwise refs could come from one repository and the diff from another. Values that
    name this repository (as git sets them for hooks) are fine, and are made absolute: git
    commands run at the top of the work tree, and test runs elsewhere.
    """
    work_tree, git_dir = locate(path)
    named = {k: os.environ[k] for k in REPOSITORY_VARIABLES if os.environ.get(k)}
    if not named:
        return work_tree, git_dir
    absolute = {k: str(Path(v).absolute()) for k, v in named.items()}
    os.environ.update(absolute)
    folder = path if path.is_dir() else path.parent
    _, out, _ = _rev_parse(folder, {**git_env(), **absolute})
    theirs = Path(out[1]).resolve() if len(out) > 1 else None
    measured = work_tree or git_dir
    if theirs != git_dir.resolve():
        key = "GIT_DIR" if "GIT_DIR" in named else "GIT_WORK_TREE"
        raise RepositoryError(
            f"{key}={named[key]} names {theirs or 'no repository'}, but phasectl measures "
            f"{measured} (the repository at {path}); unset GIT_DIR and GIT_WORK_TREE, or "
            "pass --repo to the repository they name"
        )
    tree = absolute.get("GIT_WORK_TREE")
    if tree is not None and work_tree is not None and Path(tree).resolve() != work_tree.resolve():
        raise RepositoryError(
            f"GIT_WORK_TREE={named['GIT_WORK_TREE']} is not the work tree of {measured}; unset "
            "GIT_DIR and GIT_WORK_TREE, or pass --repo to the repository they name"
        )
    return work_tree, git_dir


class GitBase:
    """A git repository, opened once and passed explicitly to whatever needs it."""

    def __init__(self, work_tree: Path | None, git_dir: Path) -> None:
        """The repository ``find_repository`` found: its work tree (``None``: bare) and git
        folder. GitPython loads on the first git command (``handle``)."""
        self._work_tree = work_tree
        self._git_dir = git_dir

    @classmethod
    def open(cls: type[_Opened], path: Path) -> _Opened:
        """Open the repository containing ``path`` (``find_repository``)."""
        return cls(*find_repository(path))

    @cached_property
    def handle(self) -> git.Repo:
        """GitPython's ``Repo`` for this repository, opened on first use.

        Opened from the work tree when there is one: GitPython follows its ``.git`` file
        (a linked worktree, a submodule) as git does, where from the git folder it would
        take a submodule's relative ``core.worktree`` as it stands.
        """
        import git

        if self._work_tree is None:
            return git.Repo(self._git_dir)
        try:
            handle = git.Repo(self._work_tree)
        except git.InvalidGitRepositoryError:
            handle = None
        if handle is None or Path(handle.git_dir).resolve() != self._git_dir.resolve():
            raise RepositoryError(
                f"the work tree {self._work_tree} of {self._git_dir} has no .git that leads "
                "back to it (core.worktree); pass --repo to the work tree of a checkout"
            )
        return handle

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
        status, out, err = self.handle.git.execute(
            ["git", *PINNED_CONFIG, *args],
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
        if check and status != 0:
            reason = git_reason(err, status)
            raise GitCommandError(f"git {args[0]} failed in {self.description}: {reason}")
        return status, out, err

    @contextlib.contextmanager
    def _started(self, args: list[str], **options: Any) -> Iterator[subprocess.Popen[bytes]]:
        """``git <pinned config> args`` started through the handle's command wrapper
        (``Git.execute`` with ``as_process``; ``options`` are its own and
        ``subprocess.Popen``'s): standard output and error in pipes, standard input a pipe
        unless ``istream`` says otherwise. Stopped on leaving the block if still running
        (an error, Ctrl-C)."""
        options.setdefault("istream", subprocess.PIPE)
        process = self.handle.git.execute(
            ["git", *PINNED_CONFIG, *args], as_process=True, **options
        )
        proc = process.proc
        assert proc is not None
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

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
        with self._started(args) as proc:
            out, err = proc.communicate(data)
            status = proc.returncode
        if status != 0:
            reason = git_reason(err.decode("utf-8", "replace"), status)
            raise GitCommandError(f"git {args[0]} failed in {self.description}: {reason}")
        return out
