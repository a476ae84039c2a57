"""GitHub outputs of a phase: the step summary, a compact pull-request comment, and
workflow-command annotations for uncovered changed lines and newly failing tests.

The annotations follow diff-cover's ``github-annotations`` format
(``::warning file=PATH,line=N,title=Missing Coverage::...``), with ``endLine`` for a range
of lines so that a file's uncovered lines take few of GitHub's annotations per step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from phasectl.report.markdown import code_span, escape_text

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics
    from phasectl.repo.repository import Repository

PR_COMMENT_MARKER = "<!-- phasectl:pr-comment -->"
"""First line of every comment, so a workflow can find and update its earlier comment."""


def format_ranges(ranges: Iterable[Sequence[int]]) -> str:
    """``[[14, 14], [18, 19]]`` as ``14, 18-19``."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def uncovered_lines(metrics: PhaseMetrics) -> list[tuple[str, list[list[int]]]]:
    """Each file with changed lines the tests did not run, and those lines as ranges."""
    patch = (metrics.coverage or {}).get("patch")
    if not patch:
        return []
    return [(f["path"], f["uncovered"]) for f in patch["files"] if f["uncovered"]]


def newly_failing(metrics: PhaseMetrics) -> list[str]:
    """Test ids that pass no more (or are new and fail); empty without a baseline."""
    changes = (metrics.tests or {}).get("changes")
    return list(changes["newly_failing"]) if changes else []


def phase_heading(name: str, metrics: PhaseMetrics, level: int = 2) -> str:
    """``## Phase `3-auth`: `phase/2` → `HEAD` (1a2b3c4d5e6f)``, naming the phase and range."""
    return (
        f"{'#' * level} Phase {code_span(name)}: {code_span(metrics.base.ref)} → "
        f"{code_span(metrics.head.ref)} ({metrics.head.sha[:12]})"
    )


def step_summary_text(name: str, metrics: PhaseMetrics, sections: str) -> str:
    """What ``report --summary`` appends to ``$GITHUB_STEP_SUMMARY``: a heading naming the
    phase, then the Metrics and Test Results sections."""
    return f"{phase_heading(name, metrics)}\n\n{sections}"


def _limited(lines: list[str], total: int, limit: int) -> list[str]:
    return lines[:limit] + ([f"- ... and {total - limit} more"] if total > limit else [])


def pr_comment(name: str, metrics: PhaseMetrics, context: Mapping[str, Any], limit: int) -> str:
    """A compact Markdown comment: the headline figures, the uncovered changed lines and the
    newly failing tests (each list capped at ``limit`` entries)."""
    lines = [PR_COMMENT_MARKER, phase_heading(name, metrics, level=3), ""]
    for row in context["metrics"]["measurements"]:
        lines.append(f"- **{escape_text(row['label'])}**: {escape_text(row['value'])}")
        lines.extend(
            f"  - {escape_text(item['name'])}: {escape_text(item['value'])}"
            for item in row["items"]
        )
    uncovered = uncovered_lines(metrics)
    # A part that was not measured says so, never "none".
    if metrics.coverage is None or metrics.coverage.get("patch") is None:
        lines += ["", "**Uncovered changed lines**: not collected"]
    else:
        lines += ["", "**Uncovered changed lines**" + ("" if uncovered else ": none"), ""]
        listed = [f"- {code_span(path)}: {format_ranges(ranges)}" for path, ranges in uncovered]
        lines += _limited(listed, len(listed), limit)
    failing = newly_failing(metrics)
    if metrics.tests is None:
        lines += ["", "**Newly failing tests**: not collected"]
    elif metrics.tests.get("changes") is None:
        lines += ["", "**Newly failing tests**: no baseline to compare with"]
    else:
        lines += ["", "**Newly failing tests**" + ("" if failing else ": none"), ""]
        lines += _limited([f"- {code_span(test)}" for test in failing], len(failing), limit)
    return "\n".join(line for line in _squeeze(lines)) + "\n"


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row, none at the end."""
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return out


def _data(text: str) -> str:
    # GitHub's workflow-command escaping (actions/toolkit's escapeData / escapeProperty).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _test_location(test_id: str, files: Mapping[str, bytes]) -> tuple[str, int | None] | None:
    """The file of a test id such as ``tests/test_x.py::TestY::test_z[1]`` (when that file
    is in the commit) and the line of its ``def``, if found."""
    path, sep, rest = test_id.partition("::")
    if not sep or path not in files:
        return None
    function = re.sub(r"\[.*\]$", "", rest.rpartition("::")[2])
    found = re.search(
        rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(function)}\b".encode(),
        files[path],
        re.MULTILINE,
    )
    return path, (files[path].count(b"\n", 0, found.start()) + 1) if found else None


def github_annotations(repo: Repository, metrics: PhaseMetrics) -> list[str]:
    """GitHub workflow commands: one warning per range of uncovered changed lines, and one
    per newly failing test (at its ``def`` when the test's file is in head's tree)."""
    out = []
    for path, ranges in uncovered_lines(metrics):
        for first, last in ranges:
            where = f"line={first}" + (f",endLine={last}" if last != first else "")
            lines = f"Line {first}" if first == last else f"Lines {first}-{last}"
            out.append(
                f"::warning file={_property(path)},{where},title=Missing Coverage::"
                f"{lines} missing coverage"
            )
    failing = newly_failing(metrics)
    paths = sorted({t.partition("::")[0] for t in failing if "::" in t})
    files = repo.read_files(metrics.head.sha, paths) if paths else {}
    for test in failing:
        location = _test_location(test, files)
        message = f"::Test {_data(test)} newly fails"
        if location is None:
            out.append(f"::warning title=Newly Failing Test{message}")
            continue
        path, line = location
        where = f"file={_property(path)}" + (f",line={line}" if line is not None else "")
        out.append(f"::warning {where},title=Newly Failing Test{message}")
    return out
