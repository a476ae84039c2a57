"""Phase history: one row per phase tag, oldest first, from the notes and git itself.

Each row describes the commit a phase tag points at: its tests and coverage from the
snapshot stored on it (``refs/notes/phasectl``), its patch coverage and diff totals from
the ``phase`` part of that snapshot (written by ``phasectl tag``). When a snapshot has no
diff totals, they are computed with git between the previous phase tag (or the empty
tree) and this one, exactly as ``git diff --numstat -M50%`` counts them.

A tag whose commit has no snapshot has no test or coverage figures: they are ``None``
(shown as "no snapshot"), never zero.
"""

from __future__ import annotations

import csv
import io
import math
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phasectl.errors import PhasectlError
from phasectl.model.diff import DiffTotals, RefInfo
from phasectl.report.markdown import code_span, escape_text
from phasectl.report.output import display_path
from phasectl.store.snapshots import NOTES_REF, Snapshot, load_snapshot

if TYPE_CHECKING:
    from phasectl.config import Config
    from phasectl.repo.repository import Repository

HISTORY_SCHEMA = "phasectl-history/1"
CHART_TEMPLATE = "history.svg.j2"
NO_SNAPSHOT = "no snapshot"
NOT_MEASURED = "n/a"
# Ties in committer time are ordered by ancestry; beyond this many distinct commits in one
# second (a scripted import), comparing every pair costs too many git calls: name order.
_MAX_TIE_GROUP = 20


@dataclass(frozen=True)
class PhaseTag:
    """A phase tag and the commit it points at (annotated tags peeled)."""

    tag: str
    name: str
    commit: str
    time: int
    date: str


@dataclass(frozen=True)
class PhaseRow:
    """One phase in the history. Note-based figures are ``None`` without a snapshot."""

    tag: str
    name: str
    commit: str
    date: str
    snapshot: bool
    tests_passed: int | None
    tests_total: int | None
    coverage_percent: float | None
    coverage_display: str | None
    patch_percent: float | None
    lines_added: int
    lines_removed: int
    files_changed: int

    def to_dict(self) -> dict[str, Any]:
        tests = (
            {"passed": self.tests_passed, "total": self.tests_total}
            if self.tests_total is not None
            else None
        )
        return {
            "tag": self.tag,
            "name": self.name,
            "commit": self.commit,
            "date": self.date,
            "tests": tests,
            "coverage_percent": self.coverage_percent,
            "coverage_display": self.coverage_display,
            "patch_percent": self.patch_percent,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
            "files_changed": self.files_changed,
            "snapshot": self.snapshot,
        }


@dataclass(frozen=True)
class History:
    """The rows, oldest first, and warnings for the user (without the ``Warning:`` prefix)."""

    rows: tuple[PhaseRow, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"schema": HISTORY_SCHEMA, "phases": [row.to_dict() for row in self.rows]}


# --- collecting --------------------------------------------------------------------------


def find_phase_tags(repo: Repository, prefix: str) -> tuple[list[PhaseTag], list[str]]:
    """The tags named ``prefix*`` that point at commits, oldest first; and warnings.

    Order: the committer date of the tagged commit (``for-each-ref --sort=creatordate``
    would use a lightweight tag's commit but an annotated tag's own date, which is when
    someone tagged, not where the phase sits in history). Commits with the same committer
    second come ancestor first; then tag names break ties (several tags on one commit).
    """
    warnings: list[str] = []
    targets: list[tuple[str, str]] = []
    for tag, oid, kind in repo.tag_targets(prefix):
        if kind == "commit":
            targets.append((tag, oid))
        elif kind == "missing":
            warnings.append(
                f"tag {display_path(tag)} points at an object missing from this clone; skipped"
            )
        else:
            warnings.append(f"tag {display_path(tag)} points at a {kind}, not a commit; skipped")
    times = repo.commit_times(sorted({sha for _, sha in targets}))
    tags = [
        PhaseTag(tag, tag[len(prefix) :] or tag, sha, *times[sha])
        for tag, sha in targets
        if sha in times
    ]
    tags.sort(key=lambda t: (t.time, t.tag))
    ordered: list[PhaseTag] = []
    start = 0
    while start < len(tags):
        end = start
        while end < len(tags) and tags[end].time == tags[start].time:
            end += 1
        ordered.extend(_ancestors_first(repo, tags[start:end]))
        start = end
    return ordered, warnings


def _ancestors_first(repo: Repository, group: list[PhaseTag]) -> list[PhaseTag]:
    """``group`` (same committer second, in name order) with every ancestor before its
    descendants; otherwise the name order is kept."""
    shas = sorted({t.commit for t in group})
    if len(shas) < 2 or len(shas) > _MAX_TIE_GROUP:
        return group
    before = {(a, b) for a in shas for b in shas if a != b and repo.is_ancestor(a, b)}
    remaining, ordered = list(group), []
    while remaining:
        # Ancestry has no cycles, so some remaining tag has no remaining ancestor.
        pick = next(
            i
            for i, t in enumerate(remaining)
            if not any((o.commit, t.commit) in before for o in remaining)
        )
        ordered.append(remaining.pop(pick))
    return ordered


def _phase_part(snapshot: Snapshot | None, tag: PhaseTag) -> Mapping[str, Any] | None:
    """The snapshot's ``phase`` part if it describes this tag's phase.

    Two tags on one commit share one note: its phase part belongs to the tag it names.
    """
    if snapshot is None or not isinstance(snapshot.phase, Mapping):
        return None
    named = snapshot.phase.get("tag")
    if isinstance(named, str) and named not in (tag.tag, tag.name):
        return None
    return snapshot.phase


class _BadNote(Exception):
    """A note's phase part holds a value of the wrong kind."""


def _stored_totals(phase: Mapping[str, Any] | None, tag: PhaseTag) -> DiffTotals | None:
    raw = phase.get("totals") if phase is not None else None
    if raw is None:
        return None
    try:
        if not isinstance(raw, Mapping):
            raise TypeError("not an object")
        return DiffTotals.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise _BadNote(
            f"the phase totals in the note on {tag.commit[:12]} are unreadable ({exc}); "
            f"counting {display_path(tag.tag)} with git instead"
        ) from None


def _patch_percent(phase: Mapping[str, Any] | None) -> float | None:
    value = phase.get("patch_percent") if phase is not None else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def files_changed(totals: DiffTotals) -> int:
    """How many paths the diff lists (one ``--numstat`` line each)."""
    return (
        totals.files_created
        + totals.files_modified
        + totals.files_deleted
        + totals.files_renamed
        + totals.files_copied
        + totals.files_type_changed
    )


def diff_totals(
    repo: Repository, config: Config, base: str, head: str
) -> tuple[DiffTotals, list[str]]:
    """The totals of the diff collector from ``base`` to ``head``, and its warnings."""
    from phasectl.collectors.diff import DiffRange, collect_diff

    span = DiffRange(RefInfo(base, base), RefInfo(head, head), head)
    diff, warnings = collect_diff(repo, config, span)
    return diff.totals, [f"{base[:12]}..{head[:12]}: {warning}" for warning in warnings]


def collect_history(repo: Repository, config: Config) -> History:
    """Every phase tag as a row, oldest first, with the figures described in this module."""
    tags, warnings = find_phase_tags(repo, config.tag_prefix)
    rows: list[PhaseRow] = []
    previous: str | None = None
    for tag in tags:
        snapshot, problem = load_snapshot(repo, tag.commit)
        if problem is not None:
            warnings.append(problem)
        phase = _phase_part(snapshot, tag)
        try:
            totals = _stored_totals(phase, tag)
        except _BadNote as exc:
            warnings.append(str(exc))
            totals = None
        if totals is None:
            base = previous if previous is not None else repo.empty_tree()
            # As 'phasectl tag' measures a phase: up to the work, not its report commit.
            head = repo.last_change_outside(tag.commit, config.report_dir)
            totals, diff_warnings = diff_totals(repo, config, base, head)
            warnings.extend(diff_warnings)
        previous = tag.commit
        tests = snapshot.tests if snapshot is not None else None
        coverage = snapshot.coverage if snapshot is not None else None
        rows.append(
            PhaseRow(
                tag=tag.tag,
                name=tag.name,
                commit=tag.commit,
                date=tag.date,
                snapshot=snapshot is not None,
                tests_passed=tests.passed if tests is not None else None,
                tests_total=tests.total if tests is not None else None,
                coverage_percent=float(coverage.percent) if coverage is not None else None,
                coverage_display=coverage.percent_display if coverage is not None else None,
                patch_percent=_patch_percent(phase),
                lines_added=totals.lines_added,
                lines_removed=totals.lines_removed,
                files_changed=files_changed(totals),
            )
        )
    return History(tuple(rows), tuple(warnings))


def no_tags_hint(prefix: str) -> str:
    """What to tell the user when no tag matches ``prefix*``."""
    return (
        f"No phase tags yet: no tag matches '{prefix}*'. Close a phase with "
        f"'phasectl tag NAME' (or tag it yourself: 'git tag {prefix}NAME')."
    )


def notes_elsewhere(repo: Repository) -> str | None:
    """A warning when this repository has no snapshots at all but its remote has them.

    The remote is the current branch's upstream remote, else ``origin``, else the first
    one. Asking it is best effort: offline, no access or a timeout mean no warning.
    """
    if repo.ref_sha(NOTES_REF) is not None or repo.fetched_notes_refs(NOTES_REF):
        return None
    remote = repo.default_remote()
    if remote is None or not repo.remote_has_ref(remote, NOTES_REF):
        return None
    name = shlex.quote(remote)
    return (
        f"the snapshots are on {display_path(remote)} but not here; fetch them with: "
        f"git fetch {name} {NOTES_REF}:{NOTES_REF}"
    )


# --- cells -------------------------------------------------------------------------------


def tests_cell(row: PhaseRow) -> str:
    if not row.snapshot:
        return NO_SNAPSHOT
    return f"{row.tests_passed}/{row.tests_total}" if row.tests_total is not None else NOT_MEASURED


def coverage_cell(row: PhaseRow) -> str:
    if not row.snapshot:
        return NO_SNAPSHOT
    return f"{row.coverage_display}%" if row.coverage_display is not None else NOT_MEASURED


def patch_cell(row: PhaseRow) -> str:
    if not row.snapshot:
        return NO_SNAPSHOT
    return f"{row.patch_percent:.1f}%" if row.patch_percent is not None else NOT_MEASURED


_HEADERS = (
    "Tag", "Phase", "Commit", "Date", "Tests passing", "Coverage", "Patch coverage",
    "Lines added", "Lines removed", "Files changed",
)  # fmt: skip
_NUMERIC = frozenset(range(4, 10))


def _cells(row: PhaseRow) -> list[str]:
    return [
        row.tag,
        row.name,
        row.commit[:12],
        row.date,
        tests_cell(row),
        coverage_cell(row),
        patch_cell(row),
        str(row.lines_added),
        str(row.lines_removed),
        str(row.files_changed),
    ]


def format_table(history: History) -> str:
    """Aligned plain-text columns; empty when there are no rows."""
    if not history.rows:
        return ""
    table = [list(_HEADERS)]
    for row in history.rows:
        cells = _cells(row)
        cells[0], cells[1] = display_path(cells[0]), display_path(cells[1])
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADERS))]
    lines = []
    for line in table:
        padded = [
            cell.rjust(widths[i]) if i in _NUMERIC else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def _table_code(text: str) -> str:
    # In a GitHub table a "|" ends the cell even inside a code span unless escaped; the
    # escape is removed before the span is read. (Tag names cannot hold a backslash, so
    # no "\\|" can arise to undo it.)
    return code_span(text).replace("|", "\\|")


def format_markdown(history: History) -> str:
    """A GitHub table: tag names and commits in code spans, the rest escaped."""
    align = ["---:" if i in _NUMERIC else "---" for i in range(len(_HEADERS))]
    lines = [f"| {' | '.join(_HEADERS)} |", f"| {' | '.join(align)} |"]
    for row in history.rows:
        cells = _cells(row)
        cells[0] = _table_code(row.tag)
        cells[1] = escape_text(row.name)
        cells[2] = _table_code(cells[2])
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "tag", "name", "commit", "date", "tests_passed", "tests_total", "coverage_percent",
    "coverage_display", "patch_percent", "lines_added", "lines_removed", "files_changed",
    "snapshot",
)  # fmt: skip


def format_csv(history: History) -> str:
    """A header row, then one row per phase; missing figures are empty cells (the csv
    module writes ``None`` as an empty string)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in history.rows:
        writer.writerow(
            [
                row.tag, row.name, row.commit, row.date,
                row.tests_passed, row.tests_total,
                row.coverage_percent, row.coverage_display, row.patch_percent,
                row.lines_added, row.lines_removed, row.files_changed,
                "true" if row.snapshot else "false",
            ]
        )  # fmt: skip
    return buffer.getvalue()


# --- chart -------------------------------------------------------------------------------

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
