"""Path globs with gitignore/gitattributes meaning, shared by ``exclude`` and ``.gitattributes``.

A pattern without a slash matches a file's name at any depth (``*.lock``); a pattern
with a slash matches the path from the root (``docs/*.md``); ``**`` crosses folders;
a trailing slash means everything inside that folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


def literal_glob(text: str) -> str:
    """A pattern that matches ``text`` itself: its ``*``, ``?``, ``[`` and ``\\`` escaped."""
    return re.sub(r"([*?\[\\])", r"\\\1", text)


def _translate(pattern: str) -> str:
    """Return a regular expression (without anchors) for one glob pattern."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Glob:
    """One compiled pattern, relative to the folder ``base`` ("" for the root)."""

    pattern: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, pattern: str, base: str = "", *, contents: bool = True) -> Glob:
        """Compile ``pattern`` as written in a file that lives in folder ``base``.

        With ``contents`` (gitignore meaning) a pattern naming a folder also matches
        everything inside it; without it (gitattributes meaning) it matches that path only.
        """
        body = pattern
        directory_only = body.endswith("/")
        body = body.rstrip("/")
        anchored = "/" in body
        body = body.lstrip("/")
        expr = _translate(body)
        if not anchored:
            expr = "(?:.*/)?" + expr
        if directory_only:
            expr += "/.*"
        elif contents:
            expr += "(?:/.*)?"
        prefix = re.escape(base.strip("/") + "/") if base.strip("/") else ""
        return cls(pattern, re.compile(prefix + expr, re.DOTALL))

    def matches(self, path: str) -> bool:
        """True when ``path`` (slash-separated, relative to the repository root) matches."""
        return self.regex.fullmatch(path) is not None


def matches_any(path: str, globs: Iterable[Glob]) -> bool:
    """True when any glob matches ``path``."""
    return any(glob.matches(path) for glob in globs)
