"""The report's values, computed: one dict feeds both ``report --format json`` and the templates.

Templates only lay values out. Every number, delta, percentage and escaped path is made
here, so a user's template cannot get a figure wrong and the JSON says what the report says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from phasectl.model.coverage_change import shown_figures
from phasectl.model.diff import DiffTotals
from phasectl.model.phase import PhaseMetrics
from phasectl.patterns import PathPatterns
from phasectl.repo.changes import EMPTY_TREE_REF
from phasectl.report.debt import technical_debt
from phasectl.report.items import (
    ARROW,
    NO_BASELINE,
    NOT_COLLECTED,
    ReportInputs,
    accomplishments,
    file_item,
    file_label,
    listing,
    objectives,
)
from phasectl.report.markdown import code_span, escape_text
from phasectl.report.output import duration, line_ranges_text, points
from phasectl.report.testing import removed_with_files, result_changes, testing_impact

__all__ = ["REGIONS", "REGION_HEADINGS", "ReportInputs", "build_context", "file_label"]

REPORT_SCHEMA = "phasectl-report/1"
DASH = "—"
DASH_RANGE = "\u2013"  # en dash, between a minimum and a maximum

# How each region is found in a report written before phasectl: the seed's headings.
REGION_HEADINGS: dict[str, tuple[str, ...]] = {
    "objectives": ("Objectives",),
    "accomplishments": ("Accomplishments",),
    "metrics": ("Metrics",),
    "technical-debt": ("Technical Debt Introduced", "Technical Debt"),
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


def _signed(value: float, digits: int = 0) -> str:
    text = f"{value:+.{digits}f}"
    return "±0" if float(text) == 0 else text


def _passing(part: Mapping[str, Any]) -> str:
    return f"{part['passed']}/{part['total']}"


def _arrow(before: str, after: str) -> str:
    return f"{before} {ARROW} {after}"


def _tests_moved(gained: int) -> tuple[str, int]:
    """How the passing tests moved, in words true to the sign, and that sign."""
    if gained == 0:
        return "passing tests unchanged", 0
    noun = "passing test" if abs(gained) == 1 else "passing tests"
    return (f"{gained} more {noun}", 1) if gained > 0 else (f"{-gained} fewer {noun}", -1)


def _coverage_moved(change: str) -> tuple[str, int]:
    """How coverage moved, in words true to the sign, and that sign. ``change`` is the
    change as shown ("+1.25", "-0.5", "±0"), so the words agree with the figures."""
    size = change.lstrip("+-±")
    if change.startswith("±") or float(size) == 0:
        return "coverage unchanged", 0
    if change.startswith("-"):
        return f"coverage down {points(size)}", -1
    return f"coverage up {points(size)}", 1


def _removals(metrics: PhaseMetrics, gained: int) -> tuple[str, int] | None:
    """``tests removed: 125 (with 3 deleted files)`` when every passing test the phase lost
    was removed (none newly fails or is skipped): a removal, not a loss."""
    changes = (metrics.tests or {}).get("changes")
    if gained >= 0 or not changes or changes.get("newly_failing") or changes.get("newly_skipped"):
        return None
    removed = len(changes.get("removed") or ())
    if removed < -gained:
        return None
    files = len(removed_with_files(metrics)[1])
    with_files = f" (with {files} deleted file{'s' if files != 1 else ''})" if files else ""
    return f"tests removed: {removed}{with_files}", 0


def _headline(metrics: PhaseMetrics) -> dict[str, str]:
    """Before, After, and the seed's "Improvement" line, worded as the figures moved: a drop
    is called a drop, and a phase that only lost ground says "none" first."""
    tests, coverage = metrics.tests, metrics.coverage
    if tests is None and coverage is None:
        return {"before": NOT_COLLECTED, "after": NOT_COLLECTED, "improvement": NOT_COLLECTED}
    before: list[str] = []
    after: list[str] = []
    moves: list[tuple[str, int]] = []
    if tests is not None:
        after.append(f"{_passing(tests['after'])} tests passing")
        old = tests["before"]
        if old is not None:
            before.append(f"{_passing(old)} tests passing")
            gained = tests["after"]["passed"] - old["passed"]
            moves.append(_removals(metrics, gained) or _tests_moved(gained))
    if coverage is not None:
        shown = shown_figures(coverage)
        after.append(f"{shown['after']}% coverage")
        if shown["before"] is not None and shown["change"] is not None:
            before.append(f"{shown['before']}% coverage")
            moved = _coverage_moved(shown["change"])
            if coverage.get("scope"):
                # Other files were measured: neither a gain nor a loss of the tests.
                moved = (f"{moved[0]} over other files than before", 0)
            moves.append(moved)
    words = ", ".join(text for text, _ in moves)
    signs = {sign for _, sign in moves}
    if not moves:
        improvement = f"unknown ({NO_BASELINE})"
    elif 1 not in signs and -1 in signs:
        improvement = f"none ({words})"
    else:
        improvement = words
    return {"before": ", ".join(before) or NO_BASELINE, "after": ", ".join(after),
            "improvement": improvement}  # fmt: skip


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
        change = f"{points(shown['change'])}, " if shown["change"] is not None else ""
        scope = coverage.get("scope") or {}
        moved = [
            {"name": code_span(path), "value": f"{verb} measurement"}
            for key, verb in (("left", "left"), ("entered", "entered"))
            for path in scope.get(key, ())
        ]
        note = "; other files measured than before" if moved else ""
        add(
            "Coverage",
            _arrow(old, f"{shown['after']}%") + f" ({change}{shown['basis']}{note})",
            moved[:10]
            + (
                [{"name": f"and {len(moved) - 10} more", "value": "see warnings"}]
                if len(moved) > 10
                else []
            ),
        )
        patch = coverage["patch"]
        if patch is not None:
            missing = [
                {"name": f["label"], "value": f"missing lines {f['missing']}"}
                for f in uncovered_lines(metrics)
            ]
            # Changed files coverage never measured: not in the figure (as for diff-cover),
            # so named beside it.
            unmeasured = [
                {"name": code_span(f["path"]), "value": f"not measured ({_lines(f)})"}
                for f in patch.get("not_measured") or ()
            ]
            aside = f"; {_files(len(unmeasured))} not measured" if unmeasured else ""
            add(
                "Patch Coverage",
                ("no changed line is measurable" + aside)
                if patch["percent"] is None
                else f"{patch_shown(patch)}% ({patch['lines_covered']} of "
                f"{patch['lines_total']} changed lines{aside})",
                missing + unmeasured[:10] + _more(len(unmeasured) - 10),
            )
    performance = _benchmark_rows(metrics.benchmarks)
    if len(performance) == 1:
        add("Performance", f"{performance[0]['name']} {performance[0]['value']}")
    elif performance:
        add("Performance", "median per benchmark", performance)
    totals = metrics.diff.totals
    add("Lines Added", lines_shown(totals, "added"))
    add("Lines Removed", lines_shown(totals, "removed"))
    add("Files Created", str(totals.files_created))
    add("Files Modified", str(totals.files_modified))
    add("Files Deleted", str(totals.files_deleted))
    add("Files Renamed", str(totals.files_renamed))
    if totals.files_copied:
        add("Files Copied", str(totals.files_copied))
    if totals.files_type_changed:
        add("Files Changed Type", str(totals.files_type_changed))
    return rows


def _lines(file: Mapping[str, Any]) -> str:
    count = file["lines_changed"]
    return f"{count} changed line{'s' if count != 1 else ''}"


def _files(count: int) -> str:
    return f"{count} changed file{'s' if count != 1 else ''}"


def _more(count: int) -> list[dict[str, str]]:
    return [{"name": f"and {count} more", "value": "see the JSON output"}] if count > 0 else []


def lines_shown(totals: DiffTotals, side: str) -> str:
    """Lines ``added`` or ``removed`` as the Metrics region shows them: ``21``, or
    ``21 (10 authored)`` when excluded files count too."""
    every, authored = getattr(totals, f"lines_{side}"), getattr(totals, f"authored_lines_{side}")
    return f"{every}" + (f" ({authored} authored)" if authored != every else "")


def patch_shown(patch: Mapping[str, Any]) -> str | None:
    """Patch coverage as the Metrics region shows it (``85.7``), without ``%``; ``None``
    when no changed line is measurable."""
    return None if patch["percent"] is None else f"{patch['percent']:.1f}"


def _duration(inputs: ReportInputs) -> list[dict[str, Any]]:
    """The phase's duration beside the previous plan's estimate, when the thread was read."""
    if inputs.thread is None:
        return []
    return [{"label": "Duration", "value": inputs.thread["duration_line"], "items": []}]


def uncovered_lines(metrics: PhaseMetrics) -> list[dict[str, Any]]:
    """The changed lines no test ran, per file, as diff-cover names them (``14, 18-19``).

    Each entry: ``path``, ``label`` (the path as a code span), ``lines_total`` and
    ``lines_covered`` (the file's measurable changed lines), ``uncovered`` (inclusive
    ``[start, end]`` runs) and ``missing`` (those runs as text). Empty without patch coverage.
    """
    patch = (metrics.coverage or {}).get("patch") or {}
    return [
        {
            "path": f["path"],
            "label": code_span(f["path"]),
            "lines_total": f["lines_total"],
            "lines_covered": f["lines_covered"],
            "uncovered": f["uncovered"],
            "missing": line_ranges_text(f["uncovered"]),
        }
        for f in patch.get("files", ())
        if f["uncovered"]
    ]


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
            shown = [file_item(c, inputs, "code-changes") for c in changes[: inputs.max_listed]]
            groups.append({"title": title, **listing(shown, inputs.max_listed),
                           "more": len(changes) - len(shown), "count": len(changes)})  # fmt: skip
    return {"groups": groups}


def _documentation(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    docs = PathPatterns(inputs.doc_globs)
    items = [
        file_item(c, inputs, "documentation")
        for c in metrics.diff.files
        if c.status in ("created", "copied") and docs.matches(c.path)
    ]
    return listing(items, inputs.max_listed)


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
        "metrics": {
            **_headline(metrics),
            "measurements": _measurements(metrics) + _duration(inputs),
            "uncovered_lines": uncovered_lines(metrics),
        },
        "objectives": objectives(inputs),
        "accomplishments": accomplishments(inputs),
        # The plan judged, the duration (seconds, unit, dates) and the commits, as read.
        "thread": inputs.thread,
        "code_changes": _code_changes(metrics, inputs),
        "testing_impact": testing_impact(metrics, inputs),
        "documentation": _documentation(metrics, inputs),
        "test_results": result_changes(metrics, inputs),
        "technical_debt": technical_debt(metrics, inputs),
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
