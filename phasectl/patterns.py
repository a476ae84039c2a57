"""Path patterns with ``.gitignore`` meaning, for ``exclude``, ``test_globs`` and ``doc_globs``.

Each pattern is translated by pathspec's ``GitIgnoreSpecPattern`` (pathspec is the library
black and mypy use): a pattern
without a slash matches a file's name at any depth (``*.lock``); a pattern with a slash
matches the path from the root (``docs/*.md``); ``**`` crosses folders; a trailing slash
means everything inside that folder; ``!pattern`` takes back what an earlier pattern
matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def literal_glob(text: str) -> str:
    """A pattern that matches ``text`` itself: its ``*``, ``?``, ``[`` and ``\\`` escaped, and
    a leading ``!`` or ``#`` (a negation, a comment)."""
    return re.sub(r"^([!#])", r"\\\1", re.sub(r"([*?\[\\])", r"\\\1", text))


class PathPatterns:
    """A list of patterns compiled once; for a path, the last pattern that matches decides."""

    def __init__(self, patterns: Iterable[str]) -> None:
        # Imported here: the settings module needs only ``literal_glob``, and ``collect``
        # reads the settings before git's diff starts.
        from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

        self.patterns = tuple(patterns)
        # One regular expression for the whole list, its alternatives in reverse order: the
        # first alternative that matches is the list's last matching pattern, and its group
        # says whether that pattern includes or takes back. One match per path, instead of
        # one per pattern.
        alternatives: list[str] = []
        self._includes: list[bool] = []
        for pattern in reversed(self.patterns):
            regex, include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
            if regex is None or include is None:
                continue  # a blank line, a comment, or a pattern git never matches
            # The outer group (closing last) names the alternative; pathspec's own named
            # group, the same in each, becomes a plain one.
            regex = regex.replace("(?P<ps_d>", "(?:")
            alternatives.append(f"(?P<p{len(alternatives)}>{regex})")
            self._includes.append(include)
        self._regex = re.compile("|".join(alternatives), re.DOTALL) if alternatives else None

    def matches(self, path: str) -> bool:
        """True when ``path`` (slash-separated, relative to the repository root) is matched
        and not taken back by a later ``!`` pattern."""
        found = self._regex.match(path) if self._regex is not None else None
        if found is None or found.lastgroup is None:
            return False
        return self._includes[int(found.lastgroup[1:])]
