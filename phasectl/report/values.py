"""The report's values, computed: one dict feeds both ``report --format json`` and the templates.

Templates only lay values out. Every number, delta, percentage and escaped path is made
here, so a user's template cannot get a figure wrong and the JSON says what the report says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phasectl.collectors.diff import EMPTY_TREE_REF
from phasectl.model.coverage_change import shown_figures
from phasectl.model.diff import FileChange
from phasectl.model.phase import PhaseMetrics
from phasectl.patterns import PathPatterns
from phasectl.report.markdown import code_span, escape_text
from phasectl.report.output import change_counts, duration, tests_line

REPORT_SCHEMA = "phasectl-report/1"
NOT_COLLECTED = "not collected"
NO_BASELINE = "no baseline"
ARROW = "→"
DASH = "—"
DASH_RANGE = "\u2013"  # en dash, between a minimum and a maximum

# How each region is found in a report written before phasectl: the seed's headings.
REGION_HEADINGS: dict[str, tuple[str, ...]] = {
    "metrics": ("Metrics",),
    "code-changes": ("Code Changes",),
    "testing-impact": ("Testing Impact",),
    "test-results": ("Test Results",),
    "documentation": ("Documentation Created", "Documentation"),
}
REGIONS = tuple(REGION_HEADINGS)

_SOURCES = {
    "work tree": "tests run in the work tree",
    "worktree run": "tests run in a temporary worktree",
    "artifacts": "read from test artifacts",
}


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


def _signed(value: float, digits: int = 0) -> str:
    text = f"{value:+.{digits}f}"
    return "±0" if float(text) == 0 else text


def _passing(part: Mapping[str, Any]) -> str:
    return f"{part['passed']}/{part['total']}"


def _arrow(before: str, after: str) -> str:
    return f"{before} {ARROW} {after}"


def _headline(metrics: PhaseMetrics) -> dict[str, str]:
    tests, coverage = metrics.tests, metrics.coverage
    if tests is None and coverage is None:
        return {"before": NOT_COLLECTED, "after": NOT_COLLECTED, "improvement": NOT_COLLECTED}
    before: list[str] = []
    after: list[str] = []
    gains: list[str] = []
    if tests is not None:
        after.append(f"{_passing(tests['after'])} tests passing")
        old = tests["before"]
        if old is not None:
            before.append(f"{_passing(old)} tests passing")
            gained = tests["after"]["passed"] - old["passed"]
            noun = "passing test" if abs(gained) == 1 else "passing tests"
            gains.append(f"{_signed(gained)} {noun}")
    if coverage is not None:
        shown = shown_figures(coverage)
        after.append(f"{shown['after']}% coverage")
        if shown["before"] is not None:
            before.append(f"{shown['before']}% coverage")
            gains.append(f"{shown['change']} points coverage ({shown['basis']})")
    return {
        "before": ", ".join(before) or NO_BASELINE,
        "after": ", ".join(after),
        "improvement": ", ".join(gains) or f"unknown ({NO_BASELINE})",
    }


def _benchmark_rows(benchmarks: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if benchmarks is None:
        return []
    rows = []
    for row in benchmarks["changes"]:
        before, after = duration(row["before_s"], "none"), duration(row["after_s"], "none")
        change = f" ({row['change']:+.1%})" if row["change"] is not None else ""
        spread = row.get("after_range_s")
        if spread is not None:
            change += f", range {duration(spread[0])}{DASH_RANGE}{duration(spread[1])}"
        rows.append({"name": code_span(row["name"]), "value": f"{_arrow(before, after)}{change}"})
    return rows


def _measurements(metrics: PhaseMetrics) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tests, coverage = metrics.tests, metrics.coverage

    def add(label: str, value: str, items: list[dict[str, str]] | None = None) -> None:
        rows.append({"label": label, "value": value, "items": items or []})

    if tests is None:
        add("Tests Passing", NOT_COLLECTED)
    else:
        old = _passing(tests["before"]) if tests["before"] else NO_BASELINE
        after = tests["after"]
        # "4/6" reads as two failures; say what else the total holds.
        others = [f"{after[k]} {k}" for k in ("skipped", "xfailed", "xpassed") if after.get(k)]
        aside = f" ({', '.join(others)})" if others else ""
        add("Tests Passing", _arrow(old, _passing(after)) + aside)
    if coverage is None:
        add("Coverage", NOT_COLLECTED)
    else:
        # Both sides and the change on one basis, with the same decimals (the head tool's).
        shown = shown_figures(coverage)
        old = f"{shown['before']}%" if shown["before"] is not None else NO_BASELINE
        change = f"{shown['change']} points, " if shown["change"] is not None else ""
        add("Coverage", _arrow(old, f"{shown['after']}%") + f" ({change}{shown['basis']})")
        patch = coverage["patch"]
        if patch is not None:
            add(
                "Patch Coverage",
                "no changed line is measurable"
                if patch["percent"] is None
                else f"{patch['percent']:.1f}% ({patch['lines_covered']} of "
                f"{patch['lines_total']} changed lines)",
            )
    performance = _benchmark_rows(metrics.benchmarks)
    if len(performance) == 1:
        add("Performance", f"{performance[0]['name']} {performance[0]['value']}")
    elif performance:
        add("Performance", "median per benchmark", performance)
    totals = metrics.diff.totals
    authored = totals.authored_lines_added != totals.lines_added
    authored_removed = totals.authored_lines_removed != totals.lines_removed
    add(
        "Lines Added",
        f"{totals.lines_added}"
        + (f" ({totals.authored_lines_added} authored)" if authored else ""),
    )
    add(
        "Lines Removed",
        f"{totals.lines_removed}"
        + (f" ({totals.authored_lines_removed} authored)" if authored_removed else ""),
    )
    add("Files Created", str(totals.files_created))
    add("Files Modified", str(totals.files_modified))
    add("Files Deleted", str(totals.files_deleted))
    add("Files Renamed", str(totals.files_renamed))
    if totals.files_copied:
        add("Files Copied", str(totals.files_copied))
    if totals.files_type_changed:
        add("Files Changed Type", str(totals.files_type_changed))
    return rows


def _provenance(metrics: PhaseMetrics) -> str:
    base, head = metrics.base, metrics.head
    base_text = (
        "the empty tree"
        if base.ref == EMPTY_TREE_REF
        else f"{code_span(base.ref)} ({code_span(base.sha[:7])})"
    )
    meaning = "the merge base of " if metrics.diff.merge_base else ""
    # Head by its commit only: the same commit named "HEAD" or by its tag (as the pre-push
    # hook names it) must render the same report.
    text = f"Measured by phasectl from {meaning}{base_text} to commit {code_span(head.sha[:7])}"
    old = next(
        (part["before"] for part in (metrics.tests, metrics.coverage) if part and part["before"]),
        None,
    )
    if metrics.tests is None and metrics.coverage is None:
        return f"{text}; tests and coverage not collected."
    if base.ref == EMPTY_TREE_REF:
        return f"{text}; the first phase, with nothing before it."
    if old is None:
        return f"{text}; no baseline for the base commit."
    # How the baseline was first measured: the same words whether it was measured in this
    # run or read back from the note that run stored, so a second render changes nothing.
    how = old.get("measured_by") or old.get("source", "")
    return f"{text}; baseline: {_SOURCES.get(how, how)} at {code_span(old['commit'][:7])}."


def file_label(change: FileChange) -> str:
    """The Markdown that names a file in a list: its path, or ``old → new`` for renames."""
    if change.old_path is not None:
        return f"{code_span(change.old_path)} {ARROW} {code_span(change.path)}"
    return code_span(change.path)


def _file_item(
    change: FileChange, inputs: ReportInputs, region: str, note: str = ""
) -> dict[str, str]:
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


def _listing(items: list[dict[str, str]], cap: int) -> dict[str, Any]:
    return {"items": items[:cap], "more": max(0, len(items) - cap), "count": len(items)}


_GROUPS = (
    ("created", "Files Created"),
    ("modified", "Files Modified"),
    ("renamed", "Files Renamed"),
    ("copied", "Files Copied"),
    ("type_changed", "Files Changed Type"),
    ("deleted", "Files Deleted"),
)


def _code_changes(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    groups = []
    for status, title in _GROUPS:
        changes = [c for c in metrics.diff.files if c.status == status]
        if changes or status in ("created", "modified", "deleted"):
            # Items only for the files listed: a 5,000-file range shows a few hundred.
            shown = [_file_item(c, inputs, "code-changes") for c in changes[: inputs.max_listed]]
            listing = _listing(shown, inputs.max_listed)
            groups.append({"title": title, **listing, "more": len(changes) - len(shown),
                           "count": len(changes)})  # fmt: skip
    return {"groups": groups}


def _tests_per_file(metrics: PhaseMetrics) -> dict[str, int]:
    counts: dict[str, int] = {}
    if metrics.tests is not None:
        for case in metrics.tests["after"].get("cases", ()):
            path = case["id"].split("::", 1)[0]
            counts[path] = counts.get(path, 0) + 1
    return counts


def _testing_impact(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    tests = PathPatterns(inputs.test_globs)
    per_file = _tests_per_file(metrics)
    added: list[dict[str, str]] = []
    modified: list[dict[str, str]] = []
    for change in metrics.diff.files:
        if change.status == "deleted" or not tests.matches(change.path):
            continue
        count = per_file.get(change.path)
        note = "" if count is None else f"{count} test{'s' if count != 1 else ''}"
        target = added if change.status in ("created", "copied") else modified
        target.append(_file_item(change, inputs, "testing-impact", note))
    return {
        "added": _listing(added, inputs.max_listed),
        "modified": _listing(modified, inputs.max_listed),
    }


def _documentation(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    docs = PathPatterns(inputs.doc_globs)
    items = [
        _file_item(c, inputs, "documentation")
        for c in metrics.diff.files
        if c.status in ("created", "copied") and docs.matches(c.path)
    ]
    return _listing(items, inputs.max_listed)


_CHANGE_KINDS = (
    ("newly_failing", "Newly failing"),
    ("fixed", "Fixed"),
    ("added", "Added"),
    ("removed", "Removed"),
    ("newly_skipped", "Newly skipped"),
)


def _test_results(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    tests = metrics.tests
    if tests is None:
        return {"before": NOT_COLLECTED, "after": NOT_COLLECTED, "changes": [], "note": ""}
    before = tests_line(tests["before"]) if tests["before"] else NO_BASELINE
    changes = tests.get("changes")
    groups = []
    for key, title in _CHANGE_KINDS:
        ids = (changes or {}).get(key) or []
        if ids:
            listing = _listing([{"label": code_span(i)} for i in ids], inputs.max_listed)
            groups.append({"title": title, **listing})
    if changes is None:
        note = "Which tests changed needs a baseline."
    elif not groups:
        note = "No test was added, removed, fixed or broken."
    else:
        note = ""
    return {"before": before, "after": tests_line(tests["after"]), "changes": groups, "note": note}


def build_context(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    """The report's values: what the templates lay out and ``report --format json`` prints."""
    return {
        "schema": REPORT_SCHEMA,
        "name": inputs.name,
        "title": escape_text(inputs.name),
        "date": inputs.date,
        "base": metrics.base.to_dict(),
        "head": metrics.head.to_dict(),
        "provenance": _provenance(metrics),
        "metrics": {**_headline(metrics), "measurements": _measurements(metrics)},
        "code_changes": _code_changes(metrics, inputs),
        "testing_impact": _testing_impact(metrics, inputs),
        "documentation": _documentation(metrics, inputs),
        "test_results": _test_results(metrics, inputs),
        "warnings": list(metrics.warnings),
    }


def purpose_paths(metrics: PhaseMetrics, inputs: ReportInputs) -> list[str]:
    """The new files whose purpose is shown: those the capped lists of new files, new tests
    and new documents list."""
    new = [c.path for c in metrics.diff.files if c.status in ("created", "copied") and not c.binary]
    paths = dict.fromkeys(new[: inputs.max_listed])
    for patterns in (inputs.test_globs, inputs.doc_globs):
        listed = PathPatterns(patterns)
        paths.update(dict.fromkeys([p for p in new if listed.matches(p)][: inputs.max_listed]))
    return list(paths)


# A list line as the built-in templates write it: "- LABEL (DETAILS) — PURPOSE", the label
# one code span or two joined by an arrow. A span ends at a backtick run as long as its
# opening one (code_span makes it longer than any run inside).
_SPAN = r"(?P<{0}>`+)(?:(?!(?P={0})(?!`)).)*(?P={0})(?!`)"
_ITEM = re.compile(
    rf"^- (?P<label>{_SPAN.format('a')}(?: → {_SPAN.format('b')})?)"
    r" \((?P<details>[^()]*)\)(?: — (?P<purpose>.*))?$"
)


def kept_purposes(regions: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Purposes found after file labels in earlier renders of the regions: by region, label.

    A purpose a person typed (or phasectl derived earlier) is kept when the report is
    rendered again; delete it to have phasectl derive it anew.
    """
    kept: dict[str, dict[str, str]] = {}
    for region, content in regions.items():
        found = kept.setdefault(region, {})
        for line in content.split("\n"):
            match = _ITEM.match(line.rstrip())
            if match and match.group("purpose"):
                found.setdefault(match.group("label"), match.group("purpose").strip())
    return kept
