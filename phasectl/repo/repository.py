"""The one module that talks to git. Everything else gets plain values from it.

git runs through GitPython's command wrapper with argument lists, never a shell string,
and with the settings that change diff output pinned, so a user's git config cannot
change the figures.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phasectl.errors import GitCommandError, RefError, RepositoryError, ShallowCloneError

if TYPE_CHECKING:
    import git

# Settings read from git config that would otherwise change what we parse.
_PINNED_CONFIG = (
    "-c", "core.quotePath=false",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.relative=false",
    "-c", "diff.renames=true",
    "-c", "color.ui=never",
    "-c", "core.pager=cat",
)  # fmt: skip

_RENAME_LIMIT_HINT = re.compile(r"at least (\d+)")
_TAG_LIKE = re.compile(r"^(refs/tags/|tags/)|^v?\d+(\.\d+)*([-.][\w.]+)?$")


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


@dataclass(frozen=True)
class DiffOutput:
    """What ``git diff --raw --numstat -z`` printed, undecoded, and git's warnings."""

    data: bytes
    warnings: tuple[str, ...]
    rename_limit_needed: int | None


@dataclass(frozen=True)
class DiffSettings:
    """The settings that change what ``git diff`` detects."""

    similarity: int = 50
    rename_limit: int = 1000
    copies: bool = False


class PendingDiff:
    """A ``git diff --raw --numstat -z`` running in the background.

    The diff is the slow part of ``collect``; starting it first lets everything else
    (Python imports, ref checks, ``git status``) happen while git works. Its output is
    read by a thread so a full pipe never stalls git.
    """

    def __init__(self, cwd: Path, base: str, head: str, settings: DiffSettings) -> None:
        import os
        import threading

        args = [
            "git", *_PINNED_CONFIG, "diff", "--no-color", "--no-ext-diff", "--no-textconv",
            "--no-relative", "--ignore-submodules=none", "--diff-algorithm=myers",
            "--full-index", "--raw", "--numstat", "-z",
            f"-M{settings.similarity}%", f"-l{settings.rename_limit}",
        ]  # fmt: skip
        if settings.copies:
            args.append(f"-C{settings.similarity}%")
        # --end-of-options: a revision such as "--output=x" is a revision, never an option.
        args += ["--end-of-options", base, head, "--"]
        self._refs = (base, head)
        env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}  # git's warnings in English
        self._proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._output: tuple[bytes, bytes] = (b"", b"")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        self._output = self._proc.communicate()

    def result(self) -> DiffOutput:
        """Wait for git; its output, or ``GitCommandError`` if it failed."""
        self._reader.join()
        out, err_bytes = self._output
        err = err_bytes.decode("utf-8", "replace")
        if self._proc.returncode != 0:
            base, head = self._refs
            reason = git_reason(err, self._proc.returncode)
            raise GitCommandError(f"git diff {base} {head} failed: {reason}")
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

    def cancel(self) -> None:
        """Stop git if it is still running (on an error elsewhere, or Ctrl-C)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._reader.join()


def start_diff(cwd: Path, base: str, head: str, settings: DiffSettings) -> PendingDiff:
    """Start the pinned diff between two revisions (names or SHAs) in the repository at cwd."""
    return PendingDiff(cwd, base, head, settings)


def find_work_tree(path: Path) -> Path | None:
    """The top of the work tree containing ``path``, found without running git.

    ``None`` when no ``.git`` is found above it (a bare repository, or no repository).
    """
    for folder in (path.resolve(), *path.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return None


class Repository:
    """A git repository, opened once and passed explicitly to whatever needs it."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self._fetched_notes: list[str] | None = None

    @classmethod
    def open(cls, path: Path) -> Repository:
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
        return cls(repo)

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
            ["git", *_PINNED_CONFIG, *args],
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
        if not self.has_commits():
            raise RepositoryError(
                f"the repository at {self.description} has no commits yet; commit something first"
            )

    def is_shallow(self) -> bool:
        return self._text("rev-parse", "--is-shallow-repository") == "true"

    def resolve_commit(self, rev: str, *, tag_prefix: str = "phase/") -> str:
        """Return the full SHA of the commit ``rev`` names (tags peeled); ``RefError`` if none."""
        status, out, _ = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if status == 0:
            return out.decode("ascii").strip()
        message = f"unknown revision '{rev}'"
        looks_like_tag = rev.startswith(tag_prefix) or bool(_TAG_LIKE.search(rev))
        # rev-parse accepts any well-formed SHA; cat-file says whether the object is here.
        named, oid, _ = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", rev, check=False
        )
        if named == 0 and self.run("cat-file", "-e", oid.decode().strip(), check=False)[0] == 0:
            raise RefError(f"'{rev}' does not name a commit; pass a branch, tag or commit SHA")
        if self.is_shallow():
            raise ShallowCloneError(
                f"{message}: this is a shallow clone and its history may not reach it; "
                "run 'git fetch --unshallow --tags' (in CI: fetch-depth: 0) and retry"
            )
        if looks_like_tag:
            raise RefError(f"{message}; if it is a tag on the remote, run 'git fetch --tags' first")
        raise RefError(f"{message}; check the name with 'git log --oneline --decorate'")

    def tags_at(self, sha: str) -> list[str]:
        out = self.run("tag", "--points-at", sha)[1]
        return [name for name in out.decode("utf-8", "surrogateescape").splitlines() if name]

    def nearest_tag(self, head_sha: str, pattern: str | None) -> str | None:
        """The nearest tag reachable from ``head_sha`` other than those on it, or ``None``.

        ``pattern`` is a glob(7) on tag names (``phase/*``); ``None`` means any tag.
        """
        args = ["describe", "--tags", "--abbrev=0"]
        if pattern is not None:
            args.append(f"--match={pattern}")
        args += [f"--exclude={name}" for name in self.tags_at(head_sha)]
        status, out, _ = self.run(*args, head_sha, check=False)
        if status != 0:
            return None
        return out.decode("utf-8", "surrogateescape").strip() or None

    def merge_base(self, a: str, b: str) -> str:
        status, out, _ = self.run("merge-base", a, b, check=False)
        if status != 0:
            hint = ""
            if self.is_shallow():
                hint = "; this is a shallow clone: run 'git fetch --unshallow' and retry"
            raise RefError(f"{a[:12]} and {b[:12]} have no common ancestor{hint}")
        return out.decode("ascii").strip()

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

    def diff(self, base: str, head: str, settings: DiffSettings) -> DiffOutput:
        """Run the pinned tree-to-tree ``git diff --raw --numstat -z`` between two revisions."""
        return start_diff(self.work_tree or Path(self._repo.git_dir), base, head, settings).result()

    def head_sha(self) -> str | None:
        status, out, _ = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return out.decode("ascii").strip() if status == 0 else None

    def dirty_files(self) -> list[str]:
        """The paths that differ from HEAD in the index or work tree, untracked included.

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
            "--untracked-files=all",
            "--ignore-submodules=none",
        )[1]
        # Each record is "XY path" (renames are off, so there is never a second path).
        return [
            record[3:].decode("utf-8", "surrogateescape") for record in out.split(b"\0") if record
        ]

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
        out, at = self._run_with_input(["cat-file", "--batch"], names), 0
        for path in batch:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            at = end + 1
            if len(header) != 3 or not header[2].isdigit():
                continue  # "<name> missing" (or ambiguous): no contents follow
            size = int(header[2])
            if header[1] == b"blob":
                found[path] = out[at : at + min(size, limit)]
            at += size + 1  # a tree or commit is printed too: step over it all the same
        return found

    def current_branch(self) -> str | None:
        """The checked-out branch's short name, or ``None`` on a detached HEAD."""
        status, out, _ = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return out.decode("utf-8", "surrogateescape").strip() or None if status == 0 else None

    # --- patch lines -----------------------------------------------------------------

    def added_lines(self, base: str, head: str, *, similarity: int) -> dict[str, set[int]]:
        """Line numbers (in head's version) of lines added or changed, per path.

        Parsed from ``git diff -U0``: every ``+c,d`` hunk range is a run of new lines.
        """
        out = self.run(
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-relative",
            "--diff-algorithm=myers",
            "-U0",
            f"-M{similarity}%",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            base,
            head,
            "--",
        )[1]
        return parse_added_lines(out)

    # --- notes ------------------------------------------------------------------------

    def fetched_notes_refs(self, notes_ref: str) -> list[str]:
        """The notes refs ``git fetch`` brought from remotes for ``refs/notes/<name>``
        (``refs/notes/remotes/<remote>/<name>``, as ``phasectl init --notes`` sets up)."""
        if self._fetched_notes is None:
            out = self.run("for-each-ref", "--format=%(refname)", "refs/notes/remotes/")[1]
            self._fetched_notes = out.decode("utf-8", "surrogateescape").split()
        name = notes_ref.rsplit("/", 1)[-1]
        return [ref for ref in self._fetched_notes if ref.rsplit("/", 1)[-1] == name]

    def read_note(self, notes_ref: str, sha: str) -> bytes | None:
        """The note on ``sha`` under ``notes_ref``, or ``None`` when there is none."""
        status, out, _ = self.run("notes", f"--ref={notes_ref}", "show", sha, check=False)
        return out if status == 0 else None

    def write_note(self, notes_ref: str, sha: str, data: bytes, *, attempts: int = 10) -> None:
        """Attach ``data`` as the note on ``sha``, safely against concurrent writers.

        The note is written on a private scratch ref that starts at the current notes
        commit; the shared ref then moves with a compare-and-swap (``update-ref NEW OLD``),
        so a writer that raced us makes us retry on top of its commit instead of being lost.
        """
        import tempfile
        import uuid

        full = notes_ref if notes_ref.startswith("refs/") else f"refs/notes/{notes_ref}"
        # git notes --ref only takes refs under refs/notes/.
        scratch = f"refs/notes/phasectl-tmp-{uuid.uuid4().hex}"
        with tempfile.NamedTemporaryFile(prefix="phasectl-note-", delete=False) as handle:
            handle.write(data)
        try:
            for _ in range(attempts):
                status, out, _ = self.run("rev-parse", "--verify", "--quiet", full, check=False)
                old = out.decode().strip() if status == 0 else ""
                if old:
                    self.run("update-ref", scratch, old)
                self.run("notes", f"--ref={scratch}", "add", "--force", "-F", handle.name, sha)
                new = self._text("rev-parse", "--verify", scratch)
                swapped, _, err = self.run(
                    "update-ref", "-m", "phasectl: snapshot", full, new, old or "0" * len(new),
                    check=False,
                )  # fmt: skip
                self.run("update-ref", "-d", scratch, check=False)
                if swapped == 0:
                    return
                now = self.run("rev-parse", "--verify", "--quiet", full, check=False)[1]
                if now.decode().strip() == old:
                    # Nobody else moved the ref: the failure is not a race (a lock, a full disk).
                    raise GitCommandError(f"could not update {full}: {git_reason(err, swapped)}")
            raise GitCommandError(f"could not update {full}: other writers kept changing it")
        finally:
            Path(handle.name).unlink()

    # --- refs, commits and tags (phasectl tag) ---------------------------------------

    def ref_sha(self, ref: str) -> str | None:
        """What ``ref`` (a full ref name) points to, or ``None`` if it does not exist."""
        status, out, _ = self.run("rev-parse", "--verify", "--quiet", ref, check=False)
        return out.decode("ascii").strip() if status == 0 else None

    def restore_ref(self, ref: str, expected: str, previous: str | None) -> None:
        """Move ``ref`` back from ``expected`` to ``previous`` (delete it if ``None``), only if
        nobody moved it meanwhile."""
        if previous is None:
            self.run("update-ref", "-d", ref, expected)
        else:
            self.run("update-ref", "-m", "phasectl: undo", ref, previous, expected)

    def check_tag_name(self, name: str) -> None:
        """Raise ``RefError`` unless ``name`` is a valid tag name that does not exist yet."""
        if (
            name.startswith("-")
            or self.run("check-ref-format", f"refs/tags/{name}", check=False)[0] != 0
        ):
            raise RefError(f"'{name}' is not a valid tag name; choose another phase name")
        if self.ref_sha(f"refs/tags/{name}") is not None:
            raise RefError(
                f"tag '{name}' already exists; choose another name, or delete it with "
                f"'git tag -d {name}' if it is wrong"
            )

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

    def create_tag(self, name: str, target: str, message: str) -> None:
        """Create the annotated tag ``name`` on ``target``."""
        self.run("tag", "--annotate", "--cleanup=verbatim", "-m", message, name, target)

    def push(self, remote: str, refspecs: list[str]) -> None:
        """``git push remote refspecs``; the user's pre-push hooks run."""
        status, _, err = self.run("push", "--quiet", remote, *refspecs, check=False)
        if status != 0:
            raise GitCommandError(f"git push to {remote} failed: {git_reason(err, status)}")

    def default_remote(self) -> str | None:
        """The remote to share with: the branch's upstream remote, else ``origin``, else the
        first remote; ``None`` without remotes."""
        remotes = self.remotes()
        if not remotes:
            return None
        return self.upstream_remote() or ("origin" if "origin" in remotes else remotes[0])

    def last_change_outside(self, sha: str, folder: str) -> str:
        """The newest commit at or before ``sha`` that changes something outside ``folder``
        (``sha`` itself when none does)."""
        top = folder.strip("/")
        status, out, _ = self.run(
            "rev-list", "-1", sha, "--", ":(top)", f":(top,exclude){top}", check=False
        )
        found = out.decode("ascii").strip() if status == 0 else ""
        return found or sha

    # --- worktrees --------------------------------------------------------------------

    def add_worktree(self, path: Path, sha: str) -> None:
        """Check out ``sha`` detached into a new worktree at ``path``."""
        self.run("worktree", "add", "--detach", "--force", str(path), sha)

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

    # --- phase history ----------------------------------------------------------------

    def _run_with_input(self, args: list[str], data: bytes) -> bytes:
        """Run ``git <pinned config> args`` with ``data`` on standard input; its stdout."""
        done = subprocess.run(
            ["git", *_PINNED_CONFIG, *args],
            cwd=self.work_tree or self._repo.git_dir,
            input=data,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            reason = git_reason(done.stderr.decode("utf-8", "replace"), done.returncode)
            raise GitCommandError(f"git {args[0]} failed in {self.description}: {reason}")
        return done.stdout

    def tag_targets(self, prefix: str) -> list[tuple[str, str, str]]:
        """Every tag whose name starts with ``prefix``: (name, peeled object id, object type).

        Annotated tags are peeled all the way (a tag of a tag gives its commit). The type is
        git's (``commit``, ``tree``, ``blob``), or ``missing`` with an empty id when the
        object is not in this repository. Names keep non-UTF-8 bytes (surrogateescape).
        """
        out = self.run("for-each-ref", "--format=%(refname)", "refs/tags")[1]
        # The prefix is compared literally: for-each-ref patterns would read it as a glob.
        names = [
            ref.removeprefix("refs/tags/")
            for ref in out.decode("utf-8", "surrogateescape").splitlines()
            if ref.startswith(f"refs/tags/{prefix}")
        ]
        if not names:
            return []
        # Ref names hold no newline or space, so one name per line is unambiguous.
        query = "".join(f"refs/tags/{name}^{{}}\n" for name in names)
        lines = self._run_with_input(
            ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            query.encode("utf-8", "surrogateescape"),
        ).splitlines()
        found: list[tuple[str, str, str]] = []
        for name, line in zip(names, lines, strict=True):
            oid, _, kind = line.decode("utf-8", "surrogateescape").rpartition(" ")
            if kind in ("missing", "ambiguous") or not oid:
                found.append((name, "", "missing"))
            else:
                found.append((name, oid, kind))
        return found

    def commit_times(self, shas: list[str]) -> dict[str, tuple[int, str]]:
        """Each commit's committer time: (Unix seconds, ``YYYY-MM-DD`` in its own zone)."""
        if not shas:
            return {}
        out = self._run_with_input(
            [
                "log", "--no-walk=unsorted", "--no-show-signature", "--date=short",
                "--format=%H %ct %cd", "--stdin",
            ],
            "".join(f"{sha}\n" for sha in shas).encode("ascii"),
        )  # fmt: skip
        times: dict[str, tuple[int, str]] = {}
        for line in out.decode("ascii").splitlines():
            sha, seconds, day = line.split(" ")
            times[sha] = (int(seconds), day)
        return times

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or one of its ancestors."""
        status, _, _ = self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return status == 0

    def remotes(self) -> list[str]:
        """The names of the configured remotes, in git's order."""
        out = self.run("remote")[1]
        return [name for name in out.decode("utf-8", "surrogateescape").splitlines() if name]

    def upstream_remote(self) -> str | None:
        """The remote of the checked-out branch's upstream, or ``None`` (no branch or upstream,
        or an upstream that is a local branch)."""
        status, out, _ = self.run("symbolic-ref", "--quiet", "HEAD", check=False)
        branch = out.decode("utf-8", "surrogateescape").strip()
        if status != 0 or not branch.startswith("refs/heads/"):
            return None
        key = f"branch.{branch.removeprefix('refs/heads/')}.remote"
        status, out, _ = self.run("config", "--get", key, check=False)
        remote = out.decode("utf-8", "surrogateescape").strip()
        return remote if status == 0 and remote not in ("", ".") else None

    def remote_has_ref(self, remote: str, ref: str, *, timeout: float = 10.0) -> bool:
        """Whether ``remote`` has ``ref``, asked with ``git ls-remote --exit-code``.

        Never prompts (no terminal or SSH password prompt) and gives up after ``timeout``
        seconds; any failure (offline, no access, unknown remote) answers ``False``.
        """
        import os
        import signal

        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
        own_ssh = env.get("GIT_SSH_COMMAND") or env.get("GIT_SSH")
        if not own_ssh and self.run("config", "--get", "core.sshCommand", check=False)[0] != 0:
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
        args = ["git", *_PINNED_CONFIG, "ls-remote", "--exit-code", "--end-of-options"]
        try:
            proc = subprocess.Popen(
                [*args, remote, ref],
                cwd=self.work_tree or self._repo.git_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # so a timeout also stops ssh or a credential helper
            )
        except OSError:
            return False
        try:
            return proc.wait(timeout=timeout) == 0
        except subprocess.TimeoutExpired:
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                proc.kill()
            proc.wait()
            return False

    # --- hooks and settings (phasectl hook, phasectl init) -----------------------------

    def hooks_dir(self) -> Path:
        """The folder git runs hooks from: ``core.hooksPath`` when set, else ``hooks`` in the
        common git folder (shared by linked worktrees). It may not exist yet."""
        out = self.run("rev-parse", "--git-path", "hooks")[1]
        text = out.decode("utf-8", "surrogateescape").removesuffix("\n")
        # A relative answer is relative to where git ran: the top of the work tree, which
        # is also where git resolves a relative core.hooksPath when it runs hooks.
        return Path(self._repo.working_dir, text)

    def config_values(self, key: str) -> list[str]:
        """Every value of the multi-valued setting ``key`` (``git config --get-all``)."""
        status, out, err = self.run("config", "--get-all", key, check=False)
        if status == 1 and not err.strip():
            return []  # not set
        if status != 0:
            raise GitCommandError(f"git config --get-all {key} failed: {err.strip()}")
        return out.decode("utf-8", "surrogateescape").splitlines()

    def add_config_value(self, key: str, value: str) -> None:
        """Add one more value to ``key`` in the repository's config (``git config --add``)."""
        self.run("config", "--add", key, value)


_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
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


def parse_added_lines(patch: bytes) -> dict[str, set[int]]:
    """Map each new-side path of a ``-U0`` patch to the line numbers its hunks add."""
    result: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in patch.split(b"\n"):
        if line.startswith(b"+++ "):
            target = line[4:]
            if target == b"/dev/null":
                current = None
                continue
            # git ends the header with a tab when an unquoted name holds a space.
            if not target.startswith(b'"') and target.endswith(b"\t") and b" " in target:
                target = target[:-1]
            path = unquote_c_path(target).removeprefix(b"b/")
            current = result.setdefault(path.decode("utf-8", "surrogateescape"), set())
        elif current is not None and line.startswith(b"@@"):
            found = _HUNK.match(line)
            if found:
                start, count = int(found.group(1)), int(found.group(2) or 1)
                current.update(range(start, start + count))
    return result
