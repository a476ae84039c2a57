"""The errors core code raises; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

import re
from collections.abc import Sequence

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PhasectlError(Exception):
    """A problem the user can fix. ``str(error)`` is the one-line message shown to them."""

    exit_code: int = EXIT_BAD_INPUT

    def __init__(
        self, message: str, *, exit_code: int | None = None, details: Sequence[str] = ()
    ) -> None:
        # One line, whatever the input it quotes holds: a control character (a newline in
        # a file name or a key) is shown escaped, as Python writes it.
        message = _CONTROL.sub(lambda found: repr(found.group())[1:-1], message)
        super().__init__(message)
        self.message = message
        # Lines shown after the message, each as one line: a tool's own last lines.
        self.details = tuple(
            _CONTROL.sub(lambda found: repr(found.group())[1:-1], line) for line in details
        )
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def text(self) -> str:
        """The message and its detail lines, one per line."""
        return "\n".join((self.message, *self.details))


class ConfigError(PhasectlError):
    """The configuration file is unreadable or holds an invalid value."""


class RepositoryError(PhasectlError):
    """The path is not a usable git repository (missing, not a repository, no commits)."""


class RefError(PhasectlError):
    """A revision the user named does not resolve to a commit."""


class ShallowCloneError(PhasectlError):
    """The clone's history is cut off before the commit phasectl needs."""


class GitCommandError(PhasectlError):
    """git itself failed in a way phasectl did not expect."""
