"""What every list in the report shares: the inputs, how a file is named in a list, how a
long list folds, and how a line people edited is kept."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phasectl.model.diff import FileChange
from phasectl.report.markdown import code_span, escape_text
from phasectl.report.output import change_counts

NOT_COLLECTED = "not collected"
NO_BASELINE = "no baseline"
ARROW = "→"
FOLD_AFTER = 15
"""Lines shown of a list before the rest fold into ``<details>``."""


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
    thread: Mapping[str, Any] | None = None
    """The plan before this phase judged, its duration and commits (``PhaseThread.to_dict``
    of ``phasectl.workflow.thread``); ``None`` when they were not read."""
    earlier: Mapping[str, str] = field(default_factory=dict)
    """The regions of the report as it is now, by name: where people's edits are kept from."""


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
    """At most ``cap`` items, how many more there are, and how many in all; of the items,
    the first ``FOLD_AFTER`` are ``shown`` and the rest ``folded`` (into ``<details>``)."""
    listed = list(items[:cap])
    return {
        "items": listed,
        "shown": listed[:FOLD_AFTER],
        "folded": listed[FOLD_AFTER:],
        "more": max(0, len(items) - cap),
        "count": len(items),
    }


_SHA_AT_END = re.compile(r"\((?P<sha>[0-9a-f]{7,40})\)\s*$")
_TASK = re.compile(r"^- \[(?P<box>[ xX])\] (?P<text>.*)$")


def kept_commit_lines(content: str) -> dict[str, str]:
    """Lines of an earlier Accomplishments region that end in a commit's ``(sha)``, without
    their ``- ``, by short sha: the line as people left it (another mark, other words)."""
    kept: dict[str, str] = {}
    for line in content.split("\n"):
        line = line.rstrip()
        match = _SHA_AT_END.search(line)
        if line.startswith("- ") and match:
            kept.setdefault(match["sha"][:7], line[2:])
    return kept


def kept_task(content: str, text: str, used: set[int]) -> tuple[str, str] | None:
    """The box and text of the first unused task line of an earlier render that is ``text``
    or ``text`` followed by a note of people's (a space first); ``None`` if there is none."""
    for number, line in enumerate(content.split("\n")):
        match = _TASK.match(line.rstrip())
        if number in used or match is None:
            continue
        found = match["text"]
        if found == text or found.startswith(text + " "):
            used.add(number)
            return match["box"], found
    return None


_MARKS = {"pass": ("x", "\u2705"), "fail": (" ", "\u274c")}


def objectives(inputs: ReportInputs) -> dict[str, Any]:
    """The Objectives region's values: the previous plan's Success Criteria judged
    (``box``, ``text``, ``result``), its Implementation Steps, or the ``note`` saying why
    there is nothing to judge. People's ticks (and notes after a line) are kept."""
    thread = inputs.thread
    if thread is None:
        return {"note": NOT_COLLECTED, "source": "", "criteria": [], "steps": []}
    earlier = inputs.earlier.get("objectives", "")
    used: set[int] = set()

    def line(entry: Mapping[str, Any]) -> dict[str, str]:
        verdict = entry["verdict"]
        if verdict in _MARKS:
            box, mark = _MARKS[verdict]
            return {"box": box, "text": entry["text"], "result": f"\u2014 {entry['shown']} {mark}"}
        if verdict == "unmeasured":
            return {"box": " ", "text": entry["text"], "result": "\u2014 not measured"}
        kept = kept_task(earlier, entry["text"], used)
        box, text = kept if kept is not None else (" ", entry["text"])
        return {"box": box, "text": text, "result": ""}

    previous = thread["previous"]
    source = ""
    if previous is not None and not thread["note"]:
        source = f"From the plan in {code_span(previous['path'])}"
    return {
        "note": thread["note"],
        "source": source,
        "criteria": [line(entry) for entry in thread["criteria"]],
        "steps": [line(entry) for entry in thread["steps"]],
    }


def accomplishments(inputs: ReportInputs) -> dict[str, Any]:
    """The Accomplishments region's values: the phase's commits by group, each line as
    people left it in an earlier render (found by its short sha), else drafted."""
    thread = inputs.thread
    if thread is None:
        return {"note": NOT_COLLECTED, "summary": "", "groups": []}
    kept = kept_commit_lines(inputs.earlier.get("accomplishments", ""))
    commits = thread["commits"]
    groups = []
    for group in commits["groups"]:
        lines = [{"text": kept.get(c["sha"][:7], c["line"])} for c in group["commits"]]
        groups.append({"title": group["title"], **listing(lines, inputs.max_listed)})
    count, authors, merges = commits["count"], commits["authors"], commits["merges"]
    summary = (
        f"{count} commit{'s' if count != 1 else ''} by {authors} "
        f"author{'s' if authors != 1 else ''}"
        + (f"; {merges} merge{'s' if merges != 1 else ''} not listed" if merges else "")
        + "."
    )
    return {"note": "" if count else "No commits in this phase.", "summary": summary,
            "groups": groups}  # fmt: skip
