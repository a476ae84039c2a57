"""Phase history as an SVG chart: coverage and passing tests per phase."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from phasectl.errors import PhasectlError
from phasectl.quoting import display_path
from phasectl.workflow.history import CHART_TEMPLATE, History, PhaseRow
from phasectl.workflow.history_formats import coverage_cell, tests_cell

_LEFT, _RIGHT, _TOP, _PLOT_HEIGHT = 70.0, 80.0, 96.0, 260.0
_MIN_WIDTH, _PHASE_SPACE = 640.0, 56.0
_CHAR_WIDTH = 7.0  # an estimate for 12px sans-serif text
_LABEL_CHARS = 24
_SLANT = 40.0  # degrees, for rotated labels


_INTERVALS = 5  # gridlines split the plot in five: both axes put their ticks on them


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _nice_step(raw: float) -> int:
    """The smallest round step (1, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten, whole)
    at least ``raw``."""
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for multiple in (1, 2, 2.5, 3, 4, 5, 6, 8, 10):
        step = multiple * magnitude
        if step >= raw and step == int(step):
            return int(step)
    return 10 * magnitude  # not reached: 10 times the magnitude is always enough


def _right_ticks(most: int) -> list[int]:
    """Round tick values from 0 to at least ``most``, one on each gridline."""
    step = _nice_step(max(most, 1) / _INTERVALS)
    return [step * i for i in range(_INTERVALS + 1)]


def _coverage_ticks(values: Sequence[float]) -> list[int]:
    """Tick values (percent) for the coverage axis, one on each gridline.

    0 to 100 in steps of 20, unless the values sit in a narrower band: then the axis is
    zoomed to round steps around them (98 and 97 on a 95-100 axis), so a one-point drop
    shows. The chart marks a zoomed axis.
    """
    if not values:
        return [20 * i for i in range(_INTERVALS + 1)]
    low, high = min(values), max(values)
    for step in (1, 2, 5, 10):
        bottom = math.floor(low / step) * step
        if bottom == low and bottom > 0:
            bottom -= step  # a point on the floor would hide in the x axis
        bottom = max(min(bottom, 100 - _INTERVALS * step), 0)
        if bottom + _INTERVALS * step >= high:
            return [bottom + step * i for i in range(_INTERVALS + 1)]
    return [20 * i for i in range(_INTERVALS + 1)]


def _label(name: str) -> str:
    shown = display_path(name)
    return shown if len(shown) <= _LABEL_CHARS else shown[: _LABEL_CHARS - 1] + "\u2026"


def _series(
    points: Sequence[tuple[float, float] | None],
    rows: Sequence[PhaseRow],
    what: str,
    cell: Callable[[PhaseRow], str],
    offset: float,
) -> dict[str, Any]:
    """One line of the chart: its polyline segments and a marker per point, each with its
    value written beside it (``offset`` pixels below the point; negative: above)."""
    return {
        "segments": _segments(points),
        "markers": [
            {
                "x": _fmt(p[0]),
                "y": _fmt(p[1]),
                "label": f"{display_path(row.name)}: {what} {cell(row)}",
                "value": cell(row),
                "value_y": _fmt(p[1] + offset),
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


def _x_labels(
    xs: Sequence[float], rows: Sequence[PhaseRow], bottom: float, rotate: bool
) -> list[dict[str, str]]:
    """Each phase's date (of its commit) under its tick, and its name under the date."""
    found = []
    for x, row in zip(xs, rows, strict=True):
        y = bottom + 34
        found.append(
            {
                "x": _fmt(x),
                "y": _fmt(y),
                "date_y": _fmt(bottom + 17),
                "date": row.date,
                "text": _label(row.name),
                "full": display_path(row.tag),
                "anchor": "end" if rotate else "middle",
                "transform": f"rotate(-{_SLANT:g} {_fmt(x)} {_fmt(y)})" if rotate else "",
            }
        )
    return found


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
    height = bottom + 40 + label_depth + 28
    xs = [left + (i + 0.5) * space for i in range(count)]

    def y_of(fraction: float) -> float:
        return bottom - _PLOT_HEIGHT * min(max(fraction, 0.0), 1.0)

    percents = [row.coverage_percent for row in rows if row.coverage_percent is not None]
    left_values = _coverage_ticks(percents)
    low, high = left_values[0], left_values[-1]
    zoomed = low > 0
    right_values = _right_ticks(max((row.tests_total or 0 for row in rows), default=0))
    tests_top = right_values[-1]
    coverage_points = [
        (x, y_of((row.coverage_percent - low) / (high - low)))
        if row.coverage_percent is not None
        else None
        for x, row in zip(xs, rows, strict=True)
    ]
    tests_points = [
        (x, y_of(row.tests_passed / tests_top)) if row.tests_passed is not None else None
        for x, row in zip(xs, rows, strict=True)
    ]
    legend_y = 50.0
    gaps = any(p is None for p in coverage_points + tests_points)
    axis = f"zoomed to {low}\u2013{high}%" if zoomed else f"from 0 to {high}%"
    return {
        "width": _fmt(width),
        "height": _fmt(height),
        "title": "Phase history: coverage and tests passing",
        "description": (
            f"{count} phase{'s' if count != 1 else ''}, oldest first, dated by their commits. "
            f"Coverage in percent on the left axis, {axis}; tests passing on the right "
            f"axis, from 0 to {tests_top}. Each point is labelled with its value."
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
        "left_title": {
            "x": _fmt(left - 48),
            "y": _fmt((top + bottom) / 2),
            "text": "Coverage (%), zoomed axis" if zoomed else "Coverage (%)",
        },
        "right_title": {"x": _fmt(right + 58), "y": _fmt((top + bottom) / 2)},
        "left_ticks": [
            {"y": _fmt(y_of(i / _INTERVALS)), "label": f"{v}%", "x": _fmt(left - 8)}
            for i, v in enumerate(left_values)
        ],
        "right_ticks": [
            {"y": _fmt(y_of(i / _INTERVALS)), "label": str(v), "x": _fmt(right + 8)}
            for i, v in enumerate(right_values)
        ],
        # Two short slanted strokes across the foot of a zoomed axis: it does not start at 0.
        "axis_break": {
            "mask_x": _fmt(left - 8),
            "mask_y": _fmt(bottom - 18),
            "lines": [
                {
                    "x1": _fmt(left - 7),
                    "y1": _fmt(bottom - 8 - d),
                    "x2": _fmt(left + 7),
                    "y2": _fmt(bottom - 14 - d),
                }
                for d in (0.0, 6.0)
            ],
        }
        if zoomed
        else None,
        "zoom_note": (f"Coverage axis zoomed: {low}% to {high}%, not from 0" if zoomed else ""),
        "x_labels": _x_labels(xs, rows, bottom, rotate),
        "x_ticks": [_fmt(x) for x in xs],
        "x_title": {"x": _fmt((left + right) / 2), "y": _fmt(height - 10)},
        "coverage": _series(coverage_points, rows, "coverage", coverage_cell, -9.0),
        "tests": _series(tests_points, rows, "tests passing", tests_cell, 17.0),
        "legend": {
            "y": _fmt(legend_y),
            "text_y": _fmt(legend_y + 4),
            "note_y": _fmt(legend_y + 22),
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
