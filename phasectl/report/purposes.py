"""What a new file is for, read from the file itself.

The first line of a Python module's docstring, a Markdown file's first heading, or a
leading comment. Boilerplate (shebangs, encodings, licence and copyright lines) is skipped.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

MAX_LENGTH = 120
_MAX_READ_BYTES = 1 << 20
# "#" must be followed by a space (or end the line), so "#include" and "#!" are not comments.
_COMMENT = re.compile(
    r"^\s*(?:#+(?=\s|$)|//+|--+|;+|/\*+|\*+|<!--|%+|\"\"\"|''')\s?(.*?)\s*"
    r"(?:\*/|-->|\"\"\"|''')?\s*$"
)
_PRAGMA = re.compile(
    r"^(?:!|-\*-|vim?:|type:\s*ignore|noqa|fmt:|pragma|eslint|@ts-|prettier-ignore|"
    r"go:build|\+build|frozen_string_literal|mypy:|ruff:|pylint:)",
    re.IGNORECASE,
)
# A comment block that mentions any of these is a licence header, skipped as a whole.
_LICENCE = re.compile(
    r"copyright|licen[cs]e|spdx|all rights reserved|warranty|\(c\)|©", re.IGNORECASE
)
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)\s*$")


def _shorten(text: str) -> str | None:
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1].rstrip() + "…"


def _python_docstring(source: str) -> str | None:
    # Only the leading tokens are read: ast.parse of a whole module took 4 ms a file, and a
    # report shows the purpose of up to 100 new files each of the lists.
    strings: list[str] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING:
                strings.append(token.string)
            elif token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) and strings:
                break  # the statement ends: the strings are the whole of it
            elif token.type not in (tokenize.COMMENT, tokenize.NL) or strings:
                return None  # code first, or a string that is part of an expression
        value = ast.literal_eval(" ".join(strings)) if strings else None
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    if not isinstance(value, str):
        return None  # bytes are no docstring
    return next((line.strip() for line in value.splitlines() if line.strip()), None)


def _markdown_heading(lines: list[str]) -> str | None:
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        closing = next((n for n, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
        start = closing + 1 if closing is not None else 0
    fenced = False
    for number in range(start, len(lines)):
        line = lines[number]
        if _FENCE.match(line):
            fenced = not fenced
        if fenced:
            continue
        match = _HEADING.match(line)
        if match:
            return match.group(1)
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if line.strip() and not _LIST_ITEM.match(line) and _SETEXT.match(following):
            return line.strip()
    return None


def _comment_blocks(lines: list[str]) -> list[list[str]]:
    """The texts of the comments before the first line of code, in blocks split by blanks."""
    blocks: list[list[str]] = [[]]
    for number, line in enumerate(lines):
        if number == 0 and line.startswith("#!"):
            continue  # shebang
        if not line.strip():
            blocks.append([])
            continue
        match = _COMMENT.match(line)
        if match is None:
            break  # code: no more leading comments
        text = match.group(1).strip()
        if not text:
            blocks.append([])
        elif not _PRAGMA.match(text):
            blocks[-1].append(text)
    return [block for block in blocks if block]


def _leading_comment(lines: list[str]) -> str | None:
    for block in _comment_blocks(lines):
        if any(_LICENCE.search(text) for text in block):
            continue
        found = next((text for text in block if re.search(r"\w", text)), None)
        if found:
            return found
    return None


def purpose_of(path: str, data: bytes) -> str | None:
    """A one-line description of a new file from its contents, or ``None``."""
    if b"\0" in data[:8000]:
        return None  # binary
    text = data[:_MAX_READ_BYTES].decode("utf-8", "replace")
    lines = text.splitlines()[:200]
    name = path.rsplit("/", 1)[-1].lower()
    found: str | None = None
    if name.endswith((".py", ".pyi")):
        found = _python_docstring(text)
        found = found or _leading_comment(lines)
    elif name.endswith((".md", ".markdown", ".rst", ".adoc")):
        found = _markdown_heading(lines)
    else:
        found = _leading_comment(lines)
    return _shorten(found) if found else None
