"""The console script's entry point: start git's diff before click and the commands load.

``collect``, ``report`` and ``check`` spend most of their time in one ``git diff``.
Python's imports (click, the command's modules) cost about 100 ms before a command could
start it. So ``main`` reads the command line the cheap way, starts that diff, then hands
over to click. With ``--base`` and ``--head`` the diff is of those; with neither, of the
default range, found the way ``resolve_range`` finds it (the nearest phase tag, with the
same git commands). The command keeps the diff only if its own parse of the command line,
its range and its settings ask for exactly this diff (``take``); otherwise, and whatever
happens, it is stopped.

The cheap reading gives up (and nothing starts early) on anything it does not follow:
``-C``, ``--config``, ``--merge-base``, ``--help``, only one of ``--base`` and ``--head``,
or an option before the command other than ``--repo`` and ``--debug``.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half, loaded at startup
import os
import sys

from phasectl.repo.spawn import (
    DEFAULT_RENAME_LIMIT,
    DEFAULT_SIMILARITY,
    Child,
    default_tag,
    diff_args,
    git_output,
    outside_args,
    spawn_git,
    work_tree_of,
)

TYPE_CHECKING = False  # typing costs 10 ms of imports before git could start
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from phasectl.repo.diff import DiffSettings, PendingDiff

    # What the command line asks to diff, as read before click parses it: the command,
    # the --repo folder, and base and head (both None: the default range).
    EarlyRequest = tuple[str, str, str | None, str | None]
    # The settings that change the diff: similarity, rename limit, copies.
    _Settings = tuple[int, int, bool]

_COMMANDS = ("collect", "report", "check")
_GIVE_UP = ("-C", "--config", "--merge-base", "-h", "--help", "--version")


class _Started:
    """The diff started early, and what it was started for."""

    def __init__(self, root: str, base: str, head: str, settings: _Settings, child: Child):
        self.request = (root, base, head, settings)
        self.child = child


_started: _Started | None = None
# The default range as looked up early: (root, skip_reports, tag prefix, report folder),
# and what ``default_range`` found.
_found: tuple[tuple[str, bool, str, str], tuple[str, str, str | None]] | None = None


def _value(args: Sequence[str], at: int, name: str) -> tuple[str | None, int]:
    """The value of option ``name`` at ``args[at]`` (``--name V`` or ``--name=V``) and the
    index after it; ``(None, at + 1)`` when ``args[at]`` is not that option."""
    arg = args[at]
    if arg == name:
        return (args[at + 1], at + 2) if at + 1 < len(args) else (None, at + 1)
    if arg.startswith(name + "="):
        return arg[len(name) + 1 :], at + 1
    return None, at + 1


def read_request(args: Sequence[str]) -> EarlyRequest | None:
    """The diff ``args`` (the command line without the program) ask for, or ``None``."""
    found: dict[str, str] = {"--repo": "."}
    at, command = 0, ""
    while at < len(args):
        arg = args[at]
        if arg == "--":
            return None
        if arg in _GIVE_UP or arg.split("=", 1)[0] in _GIVE_UP:
            return None
        if not command and not arg.startswith("-"):
            if arg not in _COMMANDS:
                return None
            command, at = arg, at + 1
            continue
        if not command and arg != "--debug" and not arg.startswith("--repo"):
            return None
        for name in ("--repo", "--base", "--head"):
            value, after = _value(args, at, name)
            if value is not None:
                found[name] = value
                at = after
                break
        else:
            at += 1
    base, head = found.get("--base"), found.get("--head")
    if not command or (base is None) != (head is None):
        return None
    return command, found["--repo"], base, head


# The settings the early diff depends on, as named in .phasectl.toml or [tool.phasectl],
# and their defaults (phasectl.config.Config's; a test keeps them equal). Only a settings
# file that mentions one is read here (reading TOML costs imports); a stale list would
# only make ``take`` refuse the diff, never give a wrong one.
_KEYS = (b"rename_similarity", b"rename_limit", b"detect_copies", b"tag_prefix", b"report_dir")
_SETTINGS_FILES = (".phasectl.toml", "pyproject.toml")
TAG_PREFIX, REPORT_DIR = "phase/", "docs/phases"
# The commands whose head skips commits that only change reports (collect_options).
_SKIP_REPORTS = ("report", "check")


def _settings(root: str) -> tuple[_Settings, str, str]:
    """The diff's settings, the tag prefix and the report folder of the repository."""
    for name in _SETTINGS_FILES:
        path = f"{root}/{name}"
        if not os.path.isfile(path):  # a FIFO would block (load_config skips it too)
            continue
        try:
            with open(path, "rb") as file:
                text = file.read()
        except OSError:
            continue
        if any(key in text for key in _KEYS):
            from pathlib import Path

            from phasectl.config import load_config
            from phasectl.repo.diff import DiffSettings

            config = load_config(Path(root))
            settings = DiffSettings.of(config)
            diff = settings.similarity, settings.rename_limit, settings.copies
            return diff, config.tag_prefix, config.report_dir
    return (DEFAULT_SIMILARITY, DEFAULT_RENAME_LIMIT, False), TAG_PREFIX, REPORT_DIR


def default_range(
    root: str, skip_reports: bool, prefix: str, report_dir: str
) -> tuple[str, str, str | None] | None:
    """What ``resolve_range`` finds when neither ref is named, found with the same git
    commands: HEAD's commit (the tip), the head commit (the tip, or for ``skip_reports``
    the last commit that is not only reports) and the base tag (``None``: none, so the
    empty tree or a shallow clone's error, the command's business). ``None`` without a
    HEAD commit."""
    tip = git_output(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
    if not tip:
        return None
    head = (git_output(root, outside_args(tip, report_dir)) or tip) if skip_reports else tip
    return tip, head, default_tag(lambda args: git_output(root, args), head, prefix)


def start(request: EarlyRequest) -> bool:
    """Start the diff ``request`` names, with the repository's settings; on any trouble
    (no repository, a bad settings file, no tag) start nothing: the command meets it."""
    global _started, _found
    command, repo, base, head = request
    try:
        root = work_tree_of(repo)
        if root is None:
            return False
        settings, prefix, report_dir = _settings(root)
        if base is None or head is None:
            skip_reports = command in _SKIP_REPORTS
            found = default_range(root, skip_reports, prefix, report_dir)
            if found is None:
                return False
            _found = (root, skip_reports, prefix, report_dir), found
            _, head, base = found
            if base is None:
                return False
        child = spawn_git(root, diff_args(base, head, *settings), wide=True)
    except Exception:  # the command itself meets and reports the same trouble
        return False
    _started = _Started(root, base, head, settings, child)
    return True


def found_range(
    root: Path, skip_reports: bool, prefix: str, report_dir: str
) -> tuple[str, str, str | None] | None:
    """``default_range``'s answer, if it was looked up early for this repository and these
    settings (once: the command asks before its own lookup, which it then skips). A
    second ``git describe`` would cost as much as the first: a second or more on a long
    history."""
    global _found
    found, _found = _found, None
    if found is None or found[0] != (str(root), skip_reports, prefix, report_dir):
        return None
    return found[1]


def take(root: Path, base: str, head: str, settings: DiffSettings) -> PendingDiff | None:
    """The diff started early, if it is exactly this one; else stop it and return ``None``.

    ``base`` and ``head`` as the command line named them; for the default range, the base
    tag's name and the head commit's SHA."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    asked = (str(root), base, head, (settings.similarity, settings.rename_limit, settings.copies))
    if started.request != asked:
        started.child.discard()
        return None
    from phasectl.repo.diff import PendingDiff

    return PendingDiff(root, base, head, settings, child=started.child)


def discard() -> None:
    """Stop the diff started early, if any is left: the command wants none, or is over."""
    global _started
    started, _started = _started, None
    if started is not None:
        started.child.discard()


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # as a shell reports a process a signal stopped


def main() -> None:
    """Console-script entry point: start the diff if the command line names one, then run
    the command (which takes it, or not); a diff no command took is stopped."""
    # Until the command installs its own handling (phasectl.runners.process), SIGTERM
    # ends phasectl through the ``finally`` below, so an early diff does not outlive it.
    if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
        _signal.signal(_signal.SIGTERM, _terminated)
    # SIGCHLD ignored by whoever started phasectl (it is inherited across exec) would let
    # the system reap git and every other child, and their exit statuses be lost.
    if _signal.getsignal(_signal.SIGCHLD) == _signal.SIG_IGN:
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    try:
        request = read_request(sys.argv[1:])
        if request is not None:
            start(request)
        from phasectl.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        # Ctrl-C before the command's own handling (phasectl.cli) is in place: while the
        # default range is looked up, or Python imports. Said as the command says it.
        sys.stderr.write("phasectl: stopped by SIGINT\n")
        raise SystemExit(128 + _signal.SIGINT) from None
    finally:
        discard()
        # The process is ending: let the interpreter's last garbage collections skip what
        # the run built (5,000 files' figures are 10-20 ms of traversal); files are closed
        # and atexit handlers still run, and the memory goes back with the process.
        import gc

        gc.freeze()
