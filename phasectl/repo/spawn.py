"""Starting git with nothing but ``os``: the first milliseconds of a ``collect``.

``phasectl.early`` starts git's diff before anything else loads, so this module imports
only what the interpreter has already loaded at startup (``os``, ``sys``, ``_signal``,
``_thread``): ``subprocess``, ``pathlib`` and ``typing`` cost about 35 ms here, which git
would otherwise wait for. Every background git command of ``phasectl.repo.diff`` starts
here too, so this one way of starting git is the one the tests run.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half, loaded at startup
import _thread
import os
import sys

TYPE_CHECKING = False  # typing costs 10 ms of imports before git could start
if TYPE_CHECKING:
    from collections.abc import Callable

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

DEFAULT_SIMILARITY = 50
DEFAULT_RENAME_LIMIT = 1000
GIT_NOT_FOUND = "git was not found on PATH; install git and retry"
STATUS_LOST = 255  # ``Child.returncode`` when git's exit status could not be known
REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE")


def git_env(**extra: str) -> dict[str, str]:
    """The environment every git call phasectl makes runs in.

    git's messages in English, whatever the user's locale (some are matched on); and
    without ``GIT_DIR`` / ``GIT_WORK_TREE``, so that each call goes to the repository of the
    folder it runs in (``open`` has checked that they name the same one).
    """
    env = {k: v for k, v in os.environ.items() if k not in REPOSITORY_VARIABLES}
    return {**env, "LC_ALL": "C", "LANGUAGE": "C", **extra}


def work_tree_of(path: str) -> str | None:
    """The top of the work tree containing ``path``, found without running git: the
    nearest folder above it holding ``.git``. ``None`` when there is none, or when a
    repository without a work tree (a bare one) is nearer, as git's discovery decides."""
    folder = os.path.realpath(path)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        if _is_git_directory(folder):
            return None  # a bare repository (or a .git folder): no work tree, as git finds
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _is_git_directory(folder: str) -> bool:
    """Whether ``folder`` is itself a repository's git folder, as git's discovery tells one
    (a HEAD file beside objects/ and refs/)."""
    join = os.path.join
    return (
        os.path.isfile(join(folder, "HEAD"))
        and os.path.isdir(join(folder, "objects"))
        and os.path.isdir(join(folder, "refs"))
    )


def diff_args(
    base: str,
    head: str,
    similarity: int = DEFAULT_SIMILARITY,
    rename_limit: int = DEFAULT_RENAME_LIMIT,
    copies: bool = False,
) -> list[str]:
    """The arguments of the pinned ``git diff --raw --numstat -z`` between two revisions."""
    args = [
        "diff", "--no-color", "--no-ext-diff", "--no-textconv",
        "--no-relative", "--ignore-submodules=none", "--diff-algorithm=myers",
        "--full-index", "--raw", "--numstat", "-z",
        f"-M{similarity}%", f"-l{rename_limit}",
    ]  # fmt: skip
    if copies:
        args.append(f"-C{similarity}%")
    # --end-of-options: a revision such as "--output=x" is a revision, never an option.
    return [*args, "--end-of-options", base, head, "--"]


class Child:
    """A git process and the reading ends of its standard output and error (file
    descriptors, closed by whoever reads them to the end, or by ``discard``)."""

    def __init__(self, pid: int, stdout: int, stderr: int) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self._reaping = _thread.allocate_lock()

    def wait(self) -> int:
        """Wait for git to end; its exit status (negative: the signal that stopped it)."""
        with self._reaping:
            if self.returncode is None:
                try:
                    status = os.waitpid(self.pid, 0)[1]
                    self.returncode = os.waitstatus_to_exitcode(status)
                except ChildProcessError:
                    # Reaped by someone else (SIGCHLD ignored in a program that embeds
                    # phasectl; phasectl.early restores it for the command line): git's
                    # status is lost, so its output cannot be trusted.
                    self.returncode = STATUS_LOST
        return self.returncode

    def kill(self) -> None:
        """Stop git if it has not been waited for (as ``Popen.kill``)."""
        if self.returncode is None:
            try:  # noqa: SIM105 (contextlib is not loaded yet)
                os.kill(self.pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass  # it has ended, and is waiting to be reaped

    def discard(self) -> None:
        """Stop git, close its pipes and reap it: for a process nobody reads."""
        self.kill()
        _close(self.stdout, self.stderr)
        self.stdout = self.stderr = -1  # closed: a second discard closes nothing
        self.wait()


# Room for a 5,000-file diff's whole output (about 0.5 MB): git never waits for phasectl to
# read, while phasectl's threads take turns (the standard pipe holds 64 KiB).
_PIPE_SIZE = 1 << 20


def _widen(fd: int) -> None:
    """Make pipe ``fd`` hold up to ``_PIPE_SIZE`` bytes, where the system allows it."""
    if sys.platform == "linux":
        import fcntl

        try:  # noqa: SIM105 (contextlib is not loaded yet)
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        except OSError:
            pass  # over the system's or the user's limit: the standard size serves


_inherited_closed = False


def _keep_inherited() -> None:
    """Mark the descriptors phasectl inherited (beyond 0-2) not to be passed on, once: git
    gets only its three, as from ``subprocess`` (``close_fds``), so an orphaned git never
    holds a caller's pipe open. Python's own descriptors are never passed on (PEP 446)."""
    global _inherited_closed
    if _inherited_closed or sys.platform != "linux":
        return
    _inherited_closed = True
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return  # no /proc (a chroot, a sandbox): they are passed on, as before
    for name in names:
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                os.set_inheritable(fd, False)
        except OSError:
            pass  # the listing's own descriptor, closed since


def spawn_git(cwd: str, args: list[str], *, quiet: bool = False, wide: bool = False) -> Child:
    """Start ``git <pinned config> args`` in ``cwd`` with standard input from /dev/null and
    its output in pipes (``os.posix_spawnp``, as ``subprocess`` would, minus its imports).

    ``quiet``: its standard error goes to /dev/null (``Child.stderr`` is then -1).
    ``wide``: its output pipe holds 1 MiB (``_widen``), for the diff.
    ``RepositoryError`` when git is not on PATH.
    """
    _keep_inherited()
    out_read, out_write = os.pipe()  # not inheritable: only the dup2'd ends reach git
    err_read, err_write = (-1, -1) if quiet else os.pipe()
    if wide:
        _widen(out_write)
    errors = (
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)
        if quiet
        else (os.POSIX_SPAWN_DUP2, err_write, 2)
    )
    try:
        pid = os.posix_spawnp(
            "git",
            ["git", "-C", cwd, *PINNED_CONFIG, *args],
            git_env(),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                errors,
            ],
            # Python ignores SIGPIPE; git must not (subprocess's restore_signals).
            setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ),
        )
    except BaseException as error:
        _close(out_read, err_read)
        if isinstance(error, FileNotFoundError):
            from phasectl.errors import RepositoryError

            raise RepositoryError(GIT_NOT_FOUND) from None
        raise
    finally:
        _close(out_write, err_write)
    return Child(pid, out_read, err_read)


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            os.close(fd)


def git_output(cwd: str, args: list[str]) -> str | None:
    """What ``git args`` prints, without its last newline; ``None`` when git fails."""
    child = spawn_git(cwd, args, quiet=True)
    try:
        out = read_all(child.stdout)
    finally:
        status = child.wait()
    return out.decode("utf-8", "surrogateescape").removesuffix("\n") if status == 0 else None


def read_all(fd: int) -> bytes:
    """Everything that comes from pipe ``fd`` until it closes; then close it."""
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


# The ref lookups of the default range, shared by ``resolve_range`` (phasectl.repo.changes)
# and phasectl.early, which makes them before the command runs to start its diff first.


def describe_args(sha: str, pattern: str | None, exclude: list[str]) -> list[str]:
    """The nearest tag reachable from ``sha`` matching glob ``pattern`` (any tag if
    ``None``), other than those named in ``exclude``."""
    args = ["describe", "--tags", "--abbrev=0"]
    if pattern is not None:
        args.append(f"--match={pattern}")
    return [*args, *(f"--exclude={name}" for name in exclude), sha]


def tags_at_args(sha: str) -> list[str]:
    """The tags pointing at ``sha``, one per line."""
    return ["tag", "--points-at", sha]


def default_tag(run: Callable[[list[str]], str | None], head: str, prefix: str) -> str | None:
    """The default base: the nearest tag reachable from commit ``head`` whose name starts
    with ``prefix``, else the nearest of any name, leaving out the tags on ``head`` (they
    close this phase); ``None`` when there is none. ``run`` runs git with the arguments
    given and returns its output, without the last newline (``None`` when git fails)."""
    at_head = (run(tags_at_args(head)) or "").splitlines()
    for pattern in (f"{prefix}*", None):  # the prefix has no glob characters (config)
        tag = run(describe_args(head, pattern, at_head))
        if tag:
            return tag
    return None


def outside_args(sha: str, folder: str) -> list[str]:
    """The newest commit at or before ``sha`` that changes something outside ``folder``."""
    top = folder.strip("/")
    return ["rev-list", "-1", sha, "--", ":(top)", f":(top,exclude,literal){top}"]
