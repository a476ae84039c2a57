"""The report's test values: the Testing Impact lists and the Test Results block.

Parametrized test ids are grouped under their test and file (``test_sign[…] \u00d724``), so a
change to one parametrized test reads as one line, not as a wall of ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from phasectl.patterns import PathPatterns
from phasectl.report.items import NO_BASELINE, NOT_COLLECTED, ReportInputs, file_item, listing
from phasectl.report.markdown import code_span
from phasectl.report.output import tests_line

if TYPE_CHECKING:
    from phasectl.model.phase import PhaseMetrics

PARAMETERS = "[…]"
TIMES = "\u00d7"  # the multiplication sign, as in "[…] x24"

_CHANGE_KINDS = (
    ("newly_failing", "Newly failing"),
    ("fixed", "Fixed"),
    ("added", "Added"),
    ("removed", "Removed"),
    ("newly_skipped", "Newly skipped"),
)


def _tests_per_file(part: Mapping[str, Any] | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in (part or {}).get("cases", ()):
        path = case["id"].split("::", 1)[0]
        counts[path] = counts.get(path, 0) + 1
    return counts


def testing_impact(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    """Test files added, modified and deleted by the phase (matched by ``test_globs``).

    A file's note counts its tests: after the phase, or before it for a deleted file.
    """
    globs = PathPatterns(inputs.test_globs)
    tests = metrics.tests
    after = _tests_per_file(tests["after"] if tests else None)
    before = _tests_per_file(tests["before"] if tests else None)
    groups: dict[str, list[dict[str, str]]] = {"added": [], "modified": [], "deleted": []}
    for change in metrics.diff.files:
        if not globs.matches(change.path):
            continue
        kind = {"created": "added", "copied": "added", "deleted": "deleted"}.get(
            change.status, "modified"
        )
        count = (before if kind == "deleted" else after).get(change.path)
        note = "" if count is None else f"{count} test{'s' if count != 1 else ''}"
        groups[kind].append(file_item(change, inputs, "testing-impact", note))
    return {kind: listing(items, inputs.max_listed) for kind, items in groups.items()}


def group_parametrized(ids: Iterable[str]) -> list[dict[str, Any]]:
    """Test ids with the cases of one parametrized test merged: ``{label, ids, count}``.

    ``tests/t.py::test_sign[a]`` and ``tests/t.py::test_sign[b]`` become one entry labelled
    ``tests/t.py::test_sign[…] \u00d72``; an id without parameters, or a test with one case
    listed, stays as it is. Entries keep the order of their first id.
    """
    groups: dict[str, list[str]] = {}
    for test_id in ids:
        # pytest puts the parameters last, after the last "::"-separated name.
        head, sep, name = test_id.rpartition("::")
        bracket = name.find("[")
        key = f"{head}{sep}{name[:bracket]}" if bracket > 0 and name.endswith("]") else test_id
        groups.setdefault(key, []).append(test_id)
    entries = []
    for key, members in groups.items():
        if len(members) == 1:
            entries.append({"label": code_span(members[0]), "ids": members, "count": 1})
        else:
            label = f"{code_span(key + PARAMETERS)} {TIMES}{len(members)}"
            entries.append({"label": label, "ids": members, "count": len(members)})
    return entries


def removed_with_files(metrics: PhaseMetrics) -> tuple[list[str], dict[str, int]]:
    """The removed test ids whose file is still there, and how many were removed with each
    file the phase deleted (by path, in the diff's order)."""
    removed = ((metrics.tests or {}).get("changes") or {}).get("removed") or []
    deleted = [c.path for c in metrics.diff.files if c.status == "deleted"]
    gone = set(deleted)
    per_file: dict[str, int] = {}
    others = []
    for test_id in removed:
        path = test_id.split("::", 1)[0]
        if path in gone and "::" in test_id:
            per_file[path] = per_file.get(path, 0) + 1
        else:
            others.append(test_id)
    return others, {path: per_file[path] for path in deleted if path in per_file}


def _removed_entries(metrics: PhaseMetrics) -> list[dict[str, Any]]:
    """Removed tests: one line per deleted file (``tests/old.py: 60 tests, file deleted``),
    then the other removed ids grouped by test."""
    others, per_file = removed_with_files(metrics)
    removed = ((metrics.tests or {}).get("changes") or {}).get("removed") or []
    entries = [
        {
            "label": f"{code_span(path)}: {count} test{'s' if count != 1 else ''}, file deleted",
            "ids": [i for i in removed if i.split("::", 1)[0] == path],
            "count": count,
        }
        for path, count in per_file.items()
    ]
    return entries + group_parametrized(others)


def result_changes(metrics: PhaseMetrics, inputs: ReportInputs) -> dict[str, Any]:
    """The before/after lines and the tests that changed, grouped by kind of change."""
    tests = metrics.tests
    if tests is None:
        return {"before": NOT_COLLECTED, "after": NOT_COLLECTED, "changes": [], "note": ""}
    before = tests_line(tests["before"]) if tests["before"] else NO_BASELINE
    changes = tests.get("changes")
    groups = []
    for key, title in _CHANGE_KINDS:
        ids = (changes or {}).get(key) or []
        if ids:
            # "count" is the number of tests; the cap applies to the lines listed.
            entries = _removed_entries(metrics) if key == "removed" else group_parametrized(ids)
            shown = listing(entries, inputs.max_listed)
            groups.append({"title": title, **shown, "count": len(ids)})
    if changes is None:
        note = "Which tests changed needs a baseline."
    elif not groups:
        note = "No test was added, removed, fixed or broken."
    else:
        note = ""
    return {"before": before, "after": tests_line(tests["after"]), "changes": groups, "note": note}
