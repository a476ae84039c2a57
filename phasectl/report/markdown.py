"""Markdown that shows text literally: code spans for paths and ids, escaping for prose.

Whatever a path holds (backticks, pipes, asterisks, ``<``, newlines, bytes that are not
UTF-8), the rendered report shows the path itself, never formatting or HTML.
"""

from __future__ import annotations

import re

from phasectl.quoting import display_path

_BACKTICK_RUNS = re.compile(r"`+")
# Characters that start formatting, links, HTML, entities or table cells inside a line (the
# text never starts a line, so list and heading markers need no escape).
_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|~&"})


def code_span(text: str) -> str:
    """``text`` as an inline code span that renders exactly as ``display_path`` shows it.

    The fence is one backtick longer than the longest run inside, and a space pads each
    side when the text starts or ends with a backtick (or with spaces on both sides),
    since CommonMark strips one such space.
    """
    shown = display_path(text)
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(shown)), default=0)
    fence = "`" * (longest + 1)
    pad = (
        shown.startswith("`")
        or shown.endswith("`")
        or (shown.startswith(" ") and shown.endswith(" ") and shown.strip(" ") != "")
    )
    inner = f" {shown} " if pad else shown
    return f"{fence}{inner}{fence}"


def escape_text(text: str) -> str:
    """Plain text (one line) made inert: every Markdown special character backslash-escaped."""
    return display_path(text).translate(_SPECIAL)
