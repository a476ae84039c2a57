"""Turning the model into bytes for people and programs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from phasectl.model.diff import FileChange
from phasectl.model.phase import PhaseMetrics
from phasectl.quoting import display_path


def to_json(data: Any) -> bytearray:
    """UTF-8 JSON, with any non-UTF-8 path byte written as its ``\\udcXX`` escape; the same
    bytes as ``json.dumps(data, ensure_ascii=False)`` and a newline, encoded.

    ``json.loads`` of the result gives back the surrogate-escaped str, so
    ``os.fsencode(path)`` returns git's original bytes.
    """
    out = bytearray()
    for text in _pieces(data):
        # Lone surrogates only occur inside JSON strings, where "\udcff" is a valid escape.
        out += text.encode("utf-8", "backslashreplace")
    out += b"\n"
    # Not copied to bytes: that would double the peak of a million files' figures.
    return out


_BATCH = 4096


def _pieces(value: Any) -> Iterator[str]:
    """``json.dumps(value, ensure_ascii=False)`` in pieces: a dict's values one at a time
    and a long list a few thousand items at a time, so the text of a coverage report of a
    million files is never held whole (nor beside its bytes)."""
    # No indent: only then does json use its C encoder (5x faster on a 5,000-file diff).
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield f"{', ' if index else ''}{json.dumps(key, ensure_ascii=False)}: "
            yield from _pieces(item)
        yield "}"
    elif isinstance(value, (list, tuple)) and len(value) > _BATCH:
        yield "["
        for start in range(0, len(value), _BATCH):
            batch = json.dumps(value[start : start + _BATCH], ensure_ascii=False)
            yield (", " if start else "") + batch[1:-1]
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=False)


def change_counts(change: FileChange) -> str:
    """``+12 -3``, or ``binary``."""
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
        width = max(len(change_counts(f)) for f in metrics.diff.files)
        for change in metrics.diff.files:
            mark = " [excluded]" if change.excluded else ""
            lines.append(
                f"  {change.status:<12} {change_counts(change):>{width}}  {_describe(change)}{mark}"
            )
    lines.append("")
    lines.extend(_tests_text(metrics.tests))
    lines.extend(_coverage_text(metrics.coverage))
    lines.extend(_benchmarks_text(metrics.benchmarks))
    return "\n".join(lines) + "\n"


def duration(seconds: float | None, missing: str = "-") -> str:
    """A time to three significant digits: ``54.1ns``, ``3.2µs``, ``12.3ms``, ``1.5s``."""
    if seconds is None:
        return missing
    for unit, scale in (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3)):
        text = f"{seconds / scale:.3g}"
        if float(text) < 1000:  # 999.6 rounds to "1e+03": that is the next unit's 1.00
            return f"{text}{unit}"
    text = f"{seconds:.3g}"
    return f"{text}s" if float(text) < 1000 else f"{seconds:.0f}s"


def points(change: str) -> str:
    """A change of coverage in words: ``+1 point``, ``-0.5 points``, ``±0 points``."""
    return f"{change} point" if change.lstrip("+-") == "1" else f"{change} points"


def _benchmarks_text(benchmarks: Mapping[str, Any] | None) -> list[str]:
    if benchmarks is None or not benchmarks["changes"]:
        return []
    lines = ["Performance (median):"]
    for row in benchmarks["changes"]:
        change = f" ({row['change']:+.1%})" if row["change"] is not None else ""
        before, after = duration(row["before_s"]), duration(row["after_s"])
        lines.append(f"  {display_path(row['name'])}: {before} -> {after}{change}")
    return lines


def line_ranges_text(runs: Sequence[Sequence[int]]) -> str:
    """Inclusive ``[start, end]`` line runs as diff-cover names them: ``"14, 18-19"``."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def tests_line(part: Mapping[str, Any]) -> str:
    """``"3 passed, 1 failed, 0 skipped"`` plus the other outcomes when present."""
    text = f"{part['passed']} passed, {part['failed']} failed, {part['skipped']} skipped"
    # Worded as pytest words its summary: "1 error", "2 errors".
    errors = part.get("errors") or 0
    extras = [f"{errors} error{'s' if errors != 1 else ''}"] if errors else []
    extras += [f"{part[k]} {k}" for k in ("xfailed", "xpassed") if part.get(k)]
    return ", ".join([text, *extras])


def _origin(part: Mapping[str, Any]) -> str:
    source = part.get("source", "")
    how = f", first measured by {part['measured_by']}" if part.get("measured_by") else ""
    return f"  ({source} at {str(part.get('commit', ''))[:12]}{how})"


def _tests_text(tests: Mapping[str, Any] | None) -> list[str]:
    if tests is None:
        return ["Tests: not collected"]
    before, after = tests["before"], tests["after"]
    lines = [
        "Tests:",
        "  Before: "
        + (tests_line(before) + _origin(before) if before else "no baseline (see warnings)"),
        f"  After:  {tests_line(after)}",
    ]
    changes = tests.get("changes") or {}
    for key, label in (
        ("added", "added"),
        ("removed", "removed"),
        ("newly_failing", "newly failing"),
        ("fixed", "fixed"),
        ("newly_skipped", "newly skipped"),
    ):
        ids = changes.get(key) or []
        if ids:
            shown = ", ".join(display_path(i) for i in ids[:10])
            more = f" ... and {len(ids) - 10} more" if len(ids) > 10 else ""
            lines.append(f"  {label} ({len(ids)}): {shown}{more}")
    return lines


def _coverage_text(coverage: Mapping[str, Any] | None) -> list[str]:
    if coverage is None:
        return ["Coverage: not collected"]
    from phasectl.model.coverage_change import shown_figures

    after, shown = coverage["after"], shown_figures(coverage)
    delta = f"{points(shown['change'])}, " if shown["change"] is not None else ""
    lines = [
        "Coverage: "
        + (f"{shown['before']}% -> " if shown["before"] is not None else "no baseline -> ")
        + f"{shown['after']}% ({delta}{shown['basis']}), "
        f"{after['lines_covered']}/{after['lines_total']} "
        + ("statements" if after.get("basis") == "statements" else "lines")
    ]
    scope = coverage.get("scope") or {}
    for key in ("left", "entered"):
        if scope.get(key):
            names = ", ".join(display_path(p) for p in scope[key][:10])
            more = f" ... and {len(scope[key]) - 10} more" if len(scope[key]) > 10 else ""
            lines.append(f"  {key} measurement ({len(scope[key])}): {names}{more}")
    patch = coverage.get("patch")
    if patch is not None:
        if patch["percent"] is None:
            lines.append("Patch coverage: no changed line is measurable")
        else:
            lines.append(
                f"Patch coverage: {patch['percent']:.1f}% "
                f"({patch['lines_covered']}/{patch['lines_total']} changed lines)"
            )
        for file in patch["files"]:
            if file["uncovered"]:
                missing = line_ranges_text(file["uncovered"])
                lines.append(f"  {display_path(file['path'])}: missing lines {missing}")
        # Left out of the figure, as diff-cover leaves them out, but never unsaid.
        unmeasured = patch.get("not_measured") or []
        for file in unmeasured[:10]:
            count = file["lines_changed"]
            lines.append(
                f"  {display_path(file['path'])}: not measured by coverage "
                f"({count} changed line{'s' if count != 1 else ''})"
            )
        if len(unmeasured) > 10:
            lines.append(f"  ... and {len(unmeasured) - 10} more changed files not measured")
    return lines
