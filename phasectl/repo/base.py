"""The git runner every part of ``Repository`` shares: one pinned way to call git.

git runs through GitPython's command wrapper with argument lists, never a shell string,
and with the settings that change diff output pinned, so a user's git config cannot
change the figures.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

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
    for folder in (path.resolve(), *path.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return None


class GitBase:
    """A git repository, opened once and passed explicitly to whatever needs it."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self._fetched_notes: list[str] | None = None  # see Notes

    @classmethod
    def open(cls: type[_Opened], path: Path) -> _Opened:
        """Open the repository containing ``path``; raise ``RepositoryError`` if there is none."""
        import git

        if not path.exists():
            raise RepositoryError(f"{path} does not exist; pass --repo PATH to a git repository")
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except git.InvalidGitRepositoryError:
            raise RepositoryError(
                f"{path} is not inside a git repository; run phasectl in one or pass --repo PATH"
            ) from None
        except git.NoSuchPathError:
            raise RepositoryError(f"{path} does not exist; pass --repo PATH") from None
        except git.GitCommandNotFound:
            raise RepositoryError("git was not found on PATH; install git and retry") from None
        opened = cls(repo)
        opened._check_environment(path)
        return opened

    def _check_environment(self, path: Path) -> None:
        """Refuse ``GIT_DIR`` / ``GIT_WORK_TREE`` that name another repository than ``path``'s.

        git reads them in every call phasectl makes, so refs would come from one repository
        and the diff from another. Relative values are made absolute first (from the current
        folder, as the shell meant them), so that every git process, whatever folder it runs
        in, agrees; values that name this repository (as git sets them for hooks) are fine.
        """
        import os

        named = {k: os.environ[k] for k in ("GIT_DIR", "GIT_WORK_TREE") if os.environ.get(k)}
        if not named:
            return
        for key, value in named.items():
            os.environ[key] = str(Path(value).absolute())
        # GitPython pins its own calls to the repository it opened; git run any other way
        # (the diff, pushes) follows the environment: ask git which repository that is.
        done = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir"],
            cwd=path if path.is_dir() else path.parent, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        ours = Path(self._repo.git_dir).resolve()
        theirs = Path(done.stdout.strip()).resolve() if done.returncode == 0 else None
        if theirs != ours:
            raise RepositoryError(
                f"GIT_DIR={named.get('GIT_DIR', '')!s} names "
                f"{theirs if theirs is not None else 'no repository'}, but phasectl measures "
                f"{self.description} (the repository at {path}); unset GIT_DIR and "
                "GIT_WORK_TREE, or pass --repo to the repository they name"
            )
        tree = named.get("GIT_WORK_TREE")
        given = Path(os.environ["GIT_WORK_TREE"]).resolve() if tree is not None else None
        if given is not None and self.work_tree is not None and given != self.work_tree.resolve():
            raise RepositoryError(
                f"GIT_WORK_TREE={tree} is not the work tree of {self.description}; unset "
                "GIT_DIR and GIT_WORK_TREE, or pass --repo to the repository they name"
            )

    @property
    def work_tree(self) -> Path | None:
        """The top folder of the work tree, or ``None`` for a bare repository."""
        if self._repo.bare or self._repo.working_tree_dir is None:
            return None
        return Path(self._repo.working_tree_dir)

    @property
    def description(self) -> str:
        return str(self.work_tree or self._repo.git_dir)

    def run(self, *args: str, check: bool = True) -> tuple[int, bytes, str]:
        """Run ``git <pinned config> args`` and return (status, stdout bytes, stderr text)."""
        status, out, err = self._repo.git.execute(
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
        status, out, err = self._repo.git.execute(
            ["git", "hash-object", "-t", "tree", "--stdin"],
            istream=subprocess.DEVNULL,
            with_extended_output=True,
            with_exceptions=False,
        )
        if status != 0:
            raise GitCommandError(f"git hash-object failed: {err.strip()}")
        return out.strip()

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
            cwd=self.work_tree or self._repo.git_dir,
            input=data,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            reason = git_reason(done.stderr.decode("utf-8", "replace"), done.returncode)
            raise GitCommandError(f"git {args[0]} failed in {self.description}: {reason}")
        return done.stdout
