"""Path patterns with ``.gitignore`` meaning, for ``exclude``, ``test_globs`` and ``doc_globs``.

The matching is pathspec's ``GitIgnoreSpec`` (the library black and mypy use): a pattern
without a slash matches a file's name at any depth (``*.lock``); a pattern with a slash
matches the path from the root (``docs/*.md``); ``**`` crosses folders; a trailing slash
means everything inside that folder; ``!pattern`` takes back what an earlier pattern matched.
"""

from __future__ import annotations

from collections.abc import Iterable

from pathspec import GitIgnoreSpec


class PathPatterns:
    """A list of patterns compiled once; for a path, the last pattern that matches decides."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._spec = GitIgnoreSpec.from_lines(self.patterns)

    def matches(self, path: str) -> bool:
        """True when ``path`` (slash-separated, relative to the repository root) is matched
        and not taken back by a later ``!`` pattern."""
        return bool(self.patterns) and self._spec.match_file(path)
