"""Text made safe to show: a path on one line of a terminal, a word quoted for a shell."""

from __future__ import annotations

_CONTROL = {ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r", ord("\\"): "\\\\"}


def display_path(path: str) -> str:
    """A path made safe for one line of terminal text: controls and bad bytes escaped."""
    if path.isprintable() and "\\" not in path:
        return path  # nothing to escape: most paths, and a report may name thousands
    text = path.translate(_CONTROL)
    text = "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)
    return "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in text)


def shell_word(word: str) -> str:
    """``word`` quoted for a POSIX shell so that the command runs as shown.

    Bytes that are not UTF-8 (kept as ``\\udcXX`` surrogates) cannot be typed or pasted
    as they are: each becomes ``$(printf '\\ooo')``, which any POSIX shell turns back into
    that byte.
    """
    import re
    import shlex

    parts = re.split(r"([\udc80-\udcff]+)", word)
    if len(parts) == 1:
        return shlex.quote(word)
    quoted = []
    for n, part in enumerate(parts):
        if n % 2:
            octal = "".join(f"\\{ord(c) - 0xDC00:03o}" for c in part)
            quoted.append(f"\"$(printf '{octal}')\"")
        elif part:
            quoted.append(shlex.quote(part))
    return "".join(quoted)


def shell_command(words: list[str]) -> str:
    """A command line to show the user, each word quoted by ``shell_word``."""
    return " ".join(shell_word(word) for word in words)
