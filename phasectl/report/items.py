"""What every list in the report shares: the inputs, and how a file is named in a list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phasectl.model.diff import FileChange
from phasectl.report.markdown import code_span, escape_text
from phasectl.report.output import change_counts

NOT_COLLECTED = "not collected"
NO_BASELINE = "no baseline"
ARROW = "→"


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report needs besides the measured figures."""

    name: str
    date: str
    max_listed: int = 100
    test_globs: Sequence[str] = ()
    doc_globs: Sequence[str] = ()
    purposes: Mapping[str, str] = field(default_factory=dict)
    """Purposes derived from new files' contents, by path (already plain text)."""
    kept: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Text people typed after a file in an earlier render: by region, then file label."""
    checked: frozenset[str] = frozenset()
    """Technical debt items whose boxes people ticked in an earlier render."""


def file_label(change: FileChange) -> str:
    """The Markdown that names a file in a list: its path, or ``old → new`` for renames."""
    if change.old_path is not None:
        return f"{code_span(change.old_path)} {ARROW} {code_span(change.path)}"
    return code_span(change.path)


def file_item(
    change: FileChange, inputs: ReportInputs, region: str, note: str = ""
) -> dict[str, str]:
    """A file in a list: its label, the details in brackets, and its purpose."""
    label = file_label(change)
    details = [change_counts(change)]
    if change.similarity is not None and change.old_path is not None:
        details.append(f"{change.similarity}% similar")
    if change.status == "type_changed":
        details.append(f"mode {change.old_mode} {ARROW} {change.new_mode}")
    if change.excluded:
        details.append("not authored")
    if note:
        details.append(note)
    derived = inputs.purposes.get(change.path)
    purpose = inputs.kept.get(region, {}).get(label) or (escape_text(derived) if derived else "")
    return {"label": label, "details": ", ".join(details), "purpose": purpose}


def listing(items: Sequence[dict[str, Any]], cap: int) -> dict[str, Any]:
    """At most ``cap`` items, how many more there are, and how many in all."""
    return {"items": list(items[:cap]), "more": max(0, len(items) - cap), "count": len(items)}
