"""Turning the model into bytes for people and programs."""

from __future__ import annotations

import json
from typing import Any

from phasectl.model import FileChange, PhaseMetrics

_CONTROL = {ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r", ord("\\"): "\\\\"}


def to_json(data: Any) -> bytes:
    """UTF-8 JSON, with any non-UTF-8 path byte written as its ``\\udcXX`` escape.

    ``json.loads`` of the result gives back the surrogate-escaped str, so
    ``os.fsencode(path)`` returns git's original bytes.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    # Lone surrogates only occur inside JSON strings, where "\udcff" is a valid escape.
    return text.encode("utf-8", "backslashreplace")


def display_path(path: str) -> str:
    """A path made safe for one line of terminal text: controls and bad bytes escaped."""
    text = path.translate(_CONTROL)
    text = "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)
    return "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in text)


def _counts(change: FileChange) -> str:
    if change.binary:
        return "binary"
    return f"+{change.added} -{change.removed}"


def _describe(change: FileChange) -> str:
    if change.old_path is not None:
        score = f" ({change.similarity}%)" if change.similarity is not None else ""
        return f"{display_path(change.old_path)} -> {display_path(change.path)}{score}"
    if change.status == "type_changed":
        return f"{display_path(change.path)} ({change.old_mode} -> {change.new_mode})"
    return display_path(change.path)


def format_text(metrics: PhaseMetrics) -> str:
    """A short human summary of the collected figures."""
    totals = metrics.diff.totals
    base, head = metrics.base, metrics.head
    meaning = "merge base of " if metrics.diff.merge_base else ""
    lines = [
        f"Range: {meaning}{display_path(base.ref)} ({base.sha[:12]}) .. "
        f"{display_path(head.ref)} ({head.sha[:12]})",
    ]
    parts = [
        f"{totals.files_created} created",
        f"{totals.files_modified} modified",
        f"{totals.files_deleted} deleted",
        f"{totals.files_renamed} renamed",
    ]
    if totals.files_copied:
        parts.append(f"{totals.files_copied} copied")
    if totals.files_type_changed:
        parts.append(f"{totals.files_type_changed} type changed")
    binary = f" ({totals.files_binary} binary)" if totals.files_binary else ""
    lines.append(f"Files: {', '.join(parts)}{binary}")
    lines.append(
        f"Lines: +{totals.lines_added} -{totals.lines_removed} "
        f"(authored, without excluded files: +{totals.authored_lines_added} "
        f"-{totals.authored_lines_removed})"
    )
    if metrics.diff.files:
        lines.append("")
        width = max(len(_counts(f)) for f in metrics.diff.files)
        for change in metrics.diff.files:
            mark = " [excluded]" if change.excluded else ""
            lines.append(
                f"  {change.status:<12} {_counts(change):>{width}}  {_describe(change)}{mark}"
            )
    lines.append("")
    lines.append("Tests: " + ("collected" if metrics.tests is not None else "not collected"))
    lines.append("Coverage: " + ("collected" if metrics.coverage is not None else "not collected"))
    return "\n".join(lines) + "\n"
