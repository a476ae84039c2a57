"""Phase history as an SVG chart: two panels on one x axis, never two y axes on one plot.

Above, coverage in percent on its own axis (zoomed to the band the values sit in, and
marked so); below, the tests of each phase as stacked counts of passed, failed and
skipped from 0. Every point and bar carries its value, placed where it touches no line,
marker or other label. With more than ``MAX_PHASES`` phases the most recent are shown and
the chart says how many are left out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phasectl.errors import PhasectlError
from phasectl.quoting import display_path
from phasectl.workflow.history import CHART_TEMPLATE, History, PhaseRow
from phasectl.workflow.history_formats import coverage_cell, tests_cell

MAX_PHASES = 30
_LEFT, _RIGHT = 70.0, 30.0
_TOP = 112.0  # title, legend and notes above the coverage panel's value row
_COVERAGE_HEIGHT, _GAP, _TESTS_HEIGHT = 200.0, 40.0, 170.0
_MIN_WIDTH, _PHASE_SPACE = 640.0, 72.0
_CHAR_WIDTH = 7.0  # an estimate for 12px sans-serif text
_VALUE_CHAR, _VALUE_HEIGHT = 6.6, 11.0  # 11px value labels: width per character, height
_LABEL_CHARS = 24
_SLANT = 40.0  # degrees, for rotated labels
_MARKER = 3.5
_INTERVALS = 5  # gridlines split each panel in five

COLOURS = {"coverage": "#0072b2", "passed": "#009e73", "failed": "#d55e00", "skipped": "#999999"}


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


def _count_ticks(most: int) -> list[int]:
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


@dataclass(frozen=True)
class Box:
    """A rectangle on the chart: left, top, right, bottom."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def crosses(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Whether the segment from ``a`` to ``b`` passes through the box (Liang-Barsky)."""
        (ax, ay), (bx, by) = a, b
        dx, dy = bx - ax, by - ay
        low, high = 0.0, 1.0
        for p, q in (
            (-dx, ax - self.x0),
            (dx, self.x1 - ax),
            (-dy, ay - self.y0),
            (dy, self.y1 - ay),
        ):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                low = max(low, t)
            else:
                high = min(high, t)
            if low > high:
                return False
        return True


def text_box(x: float, baseline: float, text: str, anchor: str = "middle") -> Box:
    """Where a value label (11px) is drawn: its width estimated from its characters."""
    width = len(text) * _VALUE_CHAR
    left = {"middle": x - width / 2, "start": x, "end": x - width}[anchor]
    return Box(left - 1, baseline - _VALUE_HEIGHT + 2, left + width + 1, baseline + 3)


def _place_values(
    points: Sequence[tuple[float, float] | None],
    texts: Sequence[str],
    panel: tuple[float, float, float, float],
    row_baseline: float,
) -> list[dict[str, str] | None]:
    """A place for each point's value beside it (above, below, right or left) that touches
    no segment of the line, no marker and no value placed before; else in the row above
    the panel, where nothing else is drawn."""
    left, top, right, bottom = panel
    segments = [(a, b) for a, b in itertools.pairwise(points) if a is not None and b is not None]
    markers = [
        Box(p[0] - _MARKER, p[1] - _MARKER, p[0] + _MARKER, p[1] + _MARKER)
        for p in points
        if p is not None
    ]
    taken: list[Box] = []
    placed: list[dict[str, str] | None] = []
    for point, text in zip(points, texts, strict=True):
        if point is None:
            placed.append(None)
            continue
        x, y = point
        candidates = [
            (x, y - 9, "middle"),
            (x, y + 17, "middle"),
            (x + 8, y + 4, "start"),
            (x - 8, y + 4, "end"),
        ]
        chosen = None
        for cx, baseline, anchor in candidates:
            box = text_box(cx, baseline, text, anchor)
            if box.y0 < top or box.y1 > bottom or box.x0 < left or box.x1 > right:
                continue
            if any(box.overlaps(m) for m in markers + taken):
                continue
            if any(box.crosses(a, b) for a, b in segments):
                continue
            chosen = (cx, baseline, anchor, box)
            break
        if chosen is None:
            chosen = (x, row_baseline, "middle", text_box(x, row_baseline, text))
        cx, baseline, anchor, box = chosen
        taken.append(box)
        placed.append({"x": _fmt(cx), "y": _fmt(baseline), "anchor": anchor})
    return placed


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


def _bars(
    xs: Sequence[float], rows: Sequence[PhaseRow], width: float, y_of: Any
) -> list[dict[str, Any]]:
    """Each phase's tests as a bar of stacked counts (passed, failed, skipped) from 0, and
    its value above it."""
    bars = []
    for x, row in zip(xs, rows, strict=True):
        if row.tests_total is None or row.tests_passed is None:
            continue
        parts = [("passed", row.tests_passed), ("failed", row.tests_failed or 0)]
        # The rest of the total: skipped, xfailed, xpassed.
        parts.append(("skipped", max(0, row.tests_total - parts[0][1] - parts[1][1])))
        stacked, base = [], 0
        for kind, count in parts:
            if count:
                y_top, y_bottom = y_of(base + count), y_of(base)
                stacked.append({"kind": kind, "y": _fmt(y_top), "height": _fmt(y_bottom - y_top),
                                "colour": COLOURS[kind], "count": count})  # fmt: skip
            base += count
        top = y_of(base)
        bars.append(
            {
                "x": _fmt(x - width / 2),
                "width": _fmt(width),
                "parts": stacked,
                "value": tests_cell(row),
                "value_x": _fmt(x),
                "value_y": _fmt(top - 5),
                "label": f"{display_path(row.name)}: {row.tests_passed} passed, "
                f"{row.tests_failed or 0} failed, {parts[2][1]} skipped of {row.tests_total}",
            }
        )
    return bars


def chart_context(history: History) -> dict[str, Any]:
    """Every value the chart template lays out, computed here (coordinates as strings)."""
    left_out = max(0, len(history.rows) - MAX_PHASES)
    rows = history.rows[left_out:]
    count = len(rows)
    labels = [_label(row.name) for row in rows]
    plot_width = max(_MIN_WIDTH - _LEFT - _RIGHT, count * _PHASE_SPACE)
    space = plot_width / count if count else plot_width
    longest = max((len(label) for label in labels), default=0) * _CHAR_WIDTH
    rotate = longest > space - 6
    label_depth = longest * math.sin(math.radians(_SLANT)) + 14 if rotate else 16.0
    # A rotated name runs down and to the left of its tick: room for the first one.
    reach = longest * math.cos(math.radians(_SLANT)) - space / 2 + 8 if rotate else 0.0
    left = max(_LEFT, reach)
    right = left + plot_width
    width = right + _RIGHT
    cov_top, cov_bottom = _TOP, _TOP + _COVERAGE_HEIGHT
    tests_top = cov_bottom + _GAP
    tests_bottom = tests_top + _TESTS_HEIGHT
    height = tests_bottom + 40 + label_depth + 28
    xs = [left + (i + 0.5) * space for i in range(count)]

    percents = [row.coverage_percent for row in rows if row.coverage_percent is not None]
    cov_ticks = _coverage_ticks(percents)
    low, high = cov_ticks[0], cov_ticks[-1]
    zoomed = low > 0

    def cov_y(percent: float) -> float:
        fraction = min(max((percent - low) / (high - low), 0.0), 1.0)
        return cov_bottom - _COVERAGE_HEIGHT * fraction

    count_ticks = _count_ticks(max((row.tests_total or 0 for row in rows), default=0))
    count_top = count_ticks[-1]

    def tests_y(value: float) -> float:
        return tests_bottom - _TESTS_HEIGHT * min(max(value / count_top, 0.0), 1.0)

    points = [
        (x, cov_y(row.coverage_percent)) if row.coverage_percent is not None else None
        for x, row in zip(xs, rows, strict=True)
    ]
    values = [coverage_cell(row) for row in rows]
    places = _place_values(points, values, (left, cov_top, width - 2, cov_bottom), cov_top - 8)
    markers = [
        {
            "x": _fmt(p[0]),
            "y": _fmt(p[1]),
            "label": f"{display_path(row.name)}: coverage {value}",
            "value": value,
            **{f"value_{k}": v for k, v in place.items()},
        }
        for p, row, value, place in zip(points, rows, values, places, strict=True)
        if p is not None and place is not None
    ]
    gaps = any(p is None for p in points) or any(row.tests_total is None for row in rows)
    axis = f"zoomed to {low}\u2013{high}%" if zoomed else f"from 0 to {high}%"
    shown = (
        f"the most recent {count} of {len(history.rows)} phases"
        if left_out
        else (f"{count} phase{'s' if count != 1 else ''}")
    )
    legend_y = 50.0
    zoom_note = f"Coverage axis zoomed: {low}% to {high}%, not from 0" if zoomed else ""
    return {
        "width": _fmt(width),
        "height": _fmt(height),
        "title": "Phase history: coverage and tests",
        "description": (
            f"{shown[0].upper()}{shown[1:]}, oldest first, dated by their commits. Above: "
            f"coverage in percent, {axis}. Below: tests passed, failed (errors included) and "
            f"skipped (xfailed and xpassed included), stacked from 0 to {count_top}. Each "
            "point and bar is labelled with its value."
        ),
        "left_out": (
            f"Showing the most recent {count} of {len(history.rows)} phases: "
            f"{left_out} older phase{'s are' if left_out != 1 else ' is'} left out"
            if left_out
            else ""
        ),
        "plot": {
            "left": _fmt(left),
            "right": _fmt(right),
            "middle_x": _fmt((left + right) / 2),
        },
        "coverage_panel": {
            "top": _fmt(cov_top),
            "bottom": _fmt(cov_bottom),
            "middle_y": _fmt((cov_top + cov_bottom) / 2),
            "tick_end": _fmt(cov_bottom + 4),
            "title_x": _fmt(left - 48),
            "title": "Coverage (%), zoomed axis" if zoomed else "Coverage (%)",
            "ticks": [
                {"y": _fmt(cov_y(v)), "label": f"{v}%", "x": _fmt(left - 8)} for v in cov_ticks
            ],
        },
        "tests_panel": {
            "top": _fmt(tests_top),
            "bottom": _fmt(tests_bottom),
            "middle_y": _fmt((tests_top + tests_bottom) / 2),
            "tick_end": _fmt(tests_bottom + 5),
            "title_x": _fmt(left - 48),
            "ticks": [
                {"y": _fmt(tests_y(v)), "label": str(v), "x": _fmt(left - 8)} for v in count_ticks
            ],
        },
        # Two short slanted strokes across the foot of a zoomed axis: it does not start at 0.
        "axis_break": {
            "mask_x": _fmt(left - 8),
            "mask_y": _fmt(cov_bottom - 18),
            "lines": [
                {
                    "x1": _fmt(left - 7),
                    "y1": _fmt(cov_bottom - 8 - d),
                    "x2": _fmt(left + 7),
                    "y2": _fmt(cov_bottom - 14 - d),
                }
                for d in (0.0, 6.0)
            ],
        }
        if zoomed
        else None,
        "zoom_note": zoom_note,
        "x_labels": _x_labels(xs, rows, tests_bottom, rotate),
        "x_ticks": [_fmt(x) for x in xs],
        "x_title": {"x": _fmt((left + right) / 2), "y": _fmt(height - 10)},
        "coverage": {"segments": _segments(points), "markers": markers},
        "bars": _bars(xs, rows, min(space * 0.55, 36.0), tests_y),
        "legend": {
            "y": _fmt(legend_y),
            "text_y": _fmt(legend_y + 4),
            "note_y": _fmt(legend_y + 22),
            "left_out_y": _fmt(legend_y + 40),
            "coverage_x": _fmt(left),
            "coverage_text_x": _fmt(left + 28),
            "boxes": [
                {
                    "x": _fmt(left + 140 + 110 * i),
                    "y": _fmt(legend_y - 5),
                    "text_x": _fmt(left + 154 + 110 * i),
                    "colour": COLOURS[kind],
                    "text": kind,
                }
                for i, kind in enumerate(("passed", "failed", "skipped"))
            ],
            # On the notes' line, after the zoom note: the legend's line is full.
            "gap_text_x": _fmt(left + (len(zoom_note) * _CHAR_WIDTH + 24 if zoom_note else 0)),
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
    """The SVG chart of coverage and tests across the phases, as UTF-8 bytes."""
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
