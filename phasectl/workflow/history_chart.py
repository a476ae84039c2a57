"""Phase history as an SVG chart: coverage and passing tests per phase."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from phasectl.errors import PhasectlError
from phasectl.report.output import display_path
from phasectl.workflow.history import CHART_TEMPLATE, History, PhaseRow
from phasectl.workflow.history_formats import coverage_cell, tests_cell

_LEFT, _RIGHT, _TOP, _PLOT_HEIGHT = 70.0, 80.0, 78.0, 260.0
_MIN_WIDTH, _PHASE_SPACE = 640.0, 56.0
_CHAR_WIDTH = 7.0  # an estimate for 12px sans-serif text
_LABEL_CHARS = 24
_SLANT = 40.0  # degrees, for rotated labels


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _right_ticks(top: int) -> list[int]:
    """Round tick values from 0 to ``top`` (always included), about five of them."""
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = list(range(0, top + 1, step))
    if ticks[-1] != top:
        if top - ticks[-1] < step / 2 and len(ticks) > 1:
            ticks.pop()  # too close to the top label to read
        ticks.append(top)
    return ticks


def _label(name: str) -> str:
    shown = display_path(name)
    return shown if len(shown) <= _LABEL_CHARS else shown[: _LABEL_CHARS - 1] + "\u2026"


def _series(
    points: Sequence[tuple[float, float] | None],
    rows: Sequence[PhaseRow],
    what: str,
    cell: Callable[[PhaseRow], str],
) -> dict[str, Any]:
    """One line of the chart: its polyline segments and a labelled marker per point."""
    return {
        "segments": _segments(points),
        "markers": [
            {
                "x": _fmt(p[0]),
                "y": _fmt(p[1]),
                "label": f"{display_path(row.name)}: {what} {cell(row)}",
            }
            for p, row in zip(points, rows, strict=True)
            if p is not None
        ],
    }


def _segments(points: Sequence[tuple[float, float] | None]) -> list[str]:
    """``points`` as polyline point strings, split wherever a point is missing."""
    segments: list[str] = []
    run: list[str] = []
    for point in [*points, None]:
        if point is None:
            if run:
                segments.append(" ".join(run))
            run = []
        else:
            run.append(f"{_fmt(point[0])},{_fmt(point[1])}")
    return segments


def chart_context(history: History) -> dict[str, Any]:
    """Every value the chart template lays out, computed here (coordinates as strings)."""
    rows = history.rows
    count = len(rows)
    labels = [_label(row.name) for row in rows]
    plot_width = max(_MIN_WIDTH - _LEFT - _RIGHT, count * _PHASE_SPACE)
    space = plot_width / count if count else plot_width
    longest = max((len(label) for label in labels), default=0) * _CHAR_WIDTH
    rotate = longest > space - 6
    label_depth = longest * math.sin(math.radians(_SLANT)) + 14 if rotate else 16.0
    top, bottom = _TOP, _TOP + _PLOT_HEIGHT
    left, right = _LEFT, _LEFT + plot_width
    width = right + _RIGHT
    height = bottom + 24 + label_depth + 28
    xs = [left + (i + 0.5) * space for i in range(count)]

    def y_of(fraction: float) -> float:
        return bottom - _PLOT_HEIGHT * min(max(fraction, 0.0), 1.0)

    most = max((row.tests_total or 0 for row in rows), default=0)
    tests_top = max(most, 1)
    coverage_points = [
        (x, y_of(row.coverage_percent / 100)) if row.coverage_percent is not None else None
        for x, row in zip(xs, rows, strict=True)
    ]
    tests_points = [
        (x, y_of(row.tests_passed / tests_top)) if row.tests_passed is not None else None
        for x, row in zip(xs, rows, strict=True)
    ]
    x_labels = []
    for x, label, row in zip(xs, labels, rows, strict=True):
        y = bottom + 18
        x_labels.append(
            {
                "x": _fmt(x),
                "y": _fmt(y),
                "text": label,
                "full": display_path(row.tag),
                "anchor": "end" if rotate else "middle",
                "transform": f"rotate(-{_SLANT:g} {_fmt(x)} {_fmt(y)})" if rotate else "",
            }
        )
    legend_y = 50.0
    gaps = any(p is None for p in coverage_points + tests_points)
    return {
        "width": _fmt(width),
        "height": _fmt(height),
        "title": "Phase history: coverage and tests passing",
        "description": (
            f"{count} phase{'s' if count != 1 else ''}, oldest first. Coverage in percent "
            f"on the left axis; tests passing on the right axis, from 0 to {tests_top}."
        ),
        "plot": {
            "left": _fmt(left),
            "right": _fmt(right),
            "top": _fmt(top),
            "bottom": _fmt(bottom),
            "middle_y": _fmt((top + bottom) / 2),
            "middle_x": _fmt((left + right) / 2),
            "tick_end": _fmt(bottom + 5),
        },
        "left_title": {"x": _fmt(left - 48), "y": _fmt((top + bottom) / 2)},
        "right_title": {"x": _fmt(right + 58), "y": _fmt((top + bottom) / 2)},
        "left_ticks": [
            {"y": _fmt(y_of(v / 100)), "label": f"{v}%", "x": _fmt(left - 8)}
            for v in range(0, 101, 20)
        ],
        "right_ticks": [
            {"y": _fmt(y_of(v / tests_top)), "label": str(v), "x": _fmt(right + 8)}
            for v in _right_ticks(tests_top)
        ],
        "x_labels": x_labels,
        "x_ticks": [_fmt(x) for x in xs],
        "x_title": {"x": _fmt((left + right) / 2), "y": _fmt(height - 10)},
        "coverage": _series(coverage_points, rows, "coverage", coverage_cell),
        "tests": _series(tests_points, rows, "tests passing", tests_cell),
        "legend": {
            "y": _fmt(legend_y),
            "text_y": _fmt(legend_y + 4),
            "coverage_x": _fmt(left),
            "coverage_text_x": _fmt(left + 28),
            "tests_x": _fmt(left + 150),
            "tests_text_x": _fmt(left + 178),
            "gap_text_x": _fmt(left + 300),
            "gap_note": "gaps: no snapshot" if gaps else "",
        },
        "empty_message": _empty_message(rows),
    }


def _empty_message(rows: Sequence[PhaseRow]) -> str:
    if not rows:
        return "No phase tags yet"
    if not any(row.snapshot for row in rows):
        return "No snapshots on these phases: 'phasectl snapshot REF' stores one"
    return ""


def render_chart(history: History) -> bytes:
    """The SVG chart of coverage and tests passing across the phases, as UTF-8 bytes."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from phasectl.report.resources import builtin_templates_dir

    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(builtin_templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    try:
        text = env.get_template(CHART_TEMPLATE).render(chart_context(history))
    except jinja2.TemplateError as exc:
        raise PhasectlError(f"the chart template {CHART_TEMPLATE} failed: {exc}") from None
    return text.encode("utf-8")
