"""The console script's entry point: start git's diff before click and the commands load.

``collect``, ``report`` and ``check`` with both ``--base`` and ``--head`` spend most of their
time in one ``git diff``. Python's imports (click, the command's modules) cost about 50 ms
before a command could start it. So ``main`` reads the command line the cheap way, starts
that diff, then hands over to click. The command keeps the diff only if its own parse of
the command line, the repository and the settings ask for exactly this diff (``take``);
otherwise, and whatever happens, it is stopped.

The cheap reading gives up (and nothing starts early) on anything it does not follow:
``-C``, ``--config``, ``--merge-base``, ``--help``, or an option before the command other
than ``--repo`` and ``--debug``.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C half, loaded at startup
import sys

from phasectl.repo.spawn import (
    DEFAULT_RENAME_LIMIT,
    DEFAULT_SIMILARITY,
    Child,
    diff_args,
    spawn_git,
    work_tree_of,
)

TYPE_CHECKING = False  # typing costs 10 ms of imports before git could start
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from phasectl.repo.diff import DiffSettings, PendingDiff

    # What the command line asks to diff, as read before click parses it: the --repo
    # folder, base and head.
    EarlyRequest = tuple[str, str, str]
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
    at, command_seen = 0, False
    while at < len(args):
        arg = args[at]
        if arg == "--":
            break
        if arg in _GIVE_UP or arg.split("=", 1)[0] in _GIVE_UP:
            return None
        if not command_seen and not arg.startswith("-"):
            if arg not in _COMMANDS:
                return None
            command_seen, at = True, at + 1
            continue
        if not command_seen and arg != "--debug" and not arg.startswith("--repo"):
            return None
        for name in ("--repo", "--base", "--head"):
            value, after = _value(args, at, name)
            if value is not None:
                found[name] = value
                at = after
                break
        else:
            at += 1
    if not command_seen or "--base" not in found or "--head" not in found:
        return None
    return found["--repo"], found["--base"], found["--head"]


# The settings that change the diff, as named in .phasectl.toml or [tool.phasectl]. Only
# a settings file that mentions one is read here (reading TOML costs imports); a stale
# list would only make ``take`` refuse the diff, never give a wrong one.
_DIFF_KEYS = (b"rename_similarity", b"rename_limit", b"detect_copies")
_SETTINGS_FILES = (".phasectl.toml", "pyproject.toml")


def _settings(root: str) -> _Settings:
    for name in _SETTINGS_FILES:
        try:
            with open(f"{root}/{name}", "rb") as file:
                text = file.read()
        except OSError:
            continue
        if any(key in text for key in _DIFF_KEYS):
            from phasectl.config import load_config
            from phasectl.repo.diff import DiffSettings

            settings = DiffSettings.of(load_config(Path(root)))
            return settings.similarity, settings.rename_limit, settings.copies
    return DEFAULT_SIMILARITY, DEFAULT_RENAME_LIMIT, False


def start(request: EarlyRequest) -> bool:
    """Start the diff ``request`` names, with the repository's settings; on any trouble
    (no repository, a bad settings file) start nothing: the command reports it."""
    global _started
    repo, base, head = request
    try:
        root = work_tree_of(repo)
        if root is None:
            return False
        settings = _settings(root)
        child = spawn_git(root, diff_args(base, head, *settings))
    except Exception:  # the command itself meets and reports the same trouble
        return False
    _started = _Started(root, base, head, settings, child)
    return True


def take(root: Path, base: str, head: str, settings: DiffSettings) -> PendingDiff | None:
    """The diff started early, if it is exactly this one; else stop it and return ``None``."""
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


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # as a shell reports a process a signal stopped


def main() -> None:
    """Console-script entry point: start the diff if the command line names one, then run
    the command (which takes it, or not); a diff no command took is stopped."""
    # Until the command installs its own handling (phasectl.collectors.process), SIGTERM
    # ends phasectl through the ``finally`` below, so an early diff does not outlive it.
    if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
        _signal.signal(_signal.SIGTERM, _terminated)
    try:
        request = read_request(sys.argv[1:])
        if request is not None:
            start(request)
        from phasectl.cli import main as cli_main

        cli_main()
    finally:
        if _started is not None:
            _started.child.discard()
        # The process is ending: let the interpreter's last garbage collections skip what
        # the run built (5,000 files' figures are 10-20 ms of traversal); files are closed
        # and atexit handlers still run, and the memory goes back with the process.
        import gc

        gc.freeze()
