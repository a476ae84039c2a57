"""What a new file is for, read from the file itself.

The first line of a Python module's docstring, a Markdown file's first heading, or a
leading comment. Boilerplate (shebangs, encodings, licence and copyright lines) is skipped.
"""

from __future__ import annotations

import ast
import re

MAX_LENGTH = 120
_MAX_PARSE_BYTES = 1 << 20
_COMMENT = re.compile(
    r"^\s*(?:#+|//+|--+|;+|/\*+|\*+|<!--|%+|\"\"\"|''')\s?(.*?)\s*(?:\*/|-->)?\s*$"
)
_BOILERPLATE = re.compile(
    r"^(?:!|-\*-|vim?:|spdx-license-identifier|copyright|\(c\)|©|type:\s*ignore|noqa|"
    r"fmt:|pragma|eslint|@ts-|prettier-ignore|go:build|\+build|frozen_string_literal)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)\s*$")


def _shorten(text: str) -> str | None:
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1].rstrip() + "…"


def _python_docstring(source: str) -> str | None:
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    doc = ast.get_docstring(module)
    if not doc:
        return None
    return next((line for line in doc.splitlines() if line.strip()), None)


def _markdown_heading(lines: list[str]) -> str | None:
    for number, line in enumerate(lines):
        match = _HEADING.match(line)
        if match:
            return match.group(1)
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if line.strip() and _SETEXT.match(following):
            return line.strip()
    return None


def _leading_comment(lines: list[str]) -> str | None:
    for line in lines:
        if not line.strip():
            continue
        match = _COMMENT.match(line)
        if match is None:
            return None  # code before any comment: no purpose to read
        text = match.group(1).strip()
        if text and not _BOILERPLATE.match(text) and re.search(r"\w", text):
            return text
    return None


def purpose_of(path: str, data: bytes) -> str | None:
    """A one-line description of a new file from its contents, or ``None``."""
    if b"\0" in data[:8000]:
        return None  # binary
    text = data[:_MAX_PARSE_BYTES].decode("utf-8", "replace")
    lines = text.splitlines()[:200]
    name = path.rsplit("/", 1)[-1].lower()
    found: str | None = None
    if name.endswith((".py", ".pyi")):
        found = _python_docstring(text) if len(data) <= _MAX_PARSE_BYTES else None
        found = found or _leading_comment(lines)
    elif name.endswith((".md", ".markdown", ".rst", ".adoc")):
        found = _markdown_heading(lines)
    else:
        found = _leading_comment(lines)
    return _shorten(found) if found else None
