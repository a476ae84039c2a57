"""The history chart: two panels on one x axis, rendered by a real SVG renderer (resvg).

Coverage above on its own axis, tests below as stacked counts; each value is placed where
it touches no line, marker or other label. The PNG resvg draws is read back pixel by pixel.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path
from typing import Any

import pytest
import resvg_py
from defusedxml import ElementTree
from PIL import Image
from test_history import ODD, chart, commit_at, make_snapshot, odd_phases

from phasectl.repo.repository import Repository
from phasectl.store.snapshots import store_snapshot
from phasectl.workflow.history import History, PhaseRow
from phasectl.workflow.history_chart import MAX_PHASES, Box, render_chart, text_box

from conftest import git, run_cli

SVG = "{http://www.w3.org/2000/svg}"
BLUE, GREEN, ORANGE = (0x00, 0x72, 0xB2), (0x00, 0x9E, 0x73), (0xD5, 0x5E, 0x00)
GRID, GREY, DARK = (0xE0, 0xE0, 0xE0), (0x44,) * 3, (0x22,) * 3


def near(pixel: tuple[int, ...], colour: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def count_in(image: Any, box: tuple[float, float, float, float], colour: tuple[int, ...]) -> int:
    """How many pixels of ``colour`` the box (x0, y0, x1, y1) holds."""
    x0, y0, x1, y1 = (round(v) for v in box)
    return sum(near(image.getpixel((x, y)), colour) for x in range(x0, x1) for y in range(y0, y1))


def to_png(svg: str) -> Any:
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg, background="#ffffff"))
    return Image.open(io.BytesIO(png)).convert("RGB")


def ticks(root: Any, axis: str) -> dict[str, float]:
    group = root.find(f".//{SVG}g[@class='{axis}']")
    return {t.text: float(t.get("y")) for t in group.findall(f"{SVG}text") if t.get("dy")}


def points_of(polyline: Any) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]  # type: ignore[misc]


def value_boxes(root: Any) -> list[tuple[str, Box]]:
    """Every value label and where it is drawn (as the chart estimates 11px text)."""
    found = []
    for series in ("coverage", "tests"):
        for text in root.findall(f".//{SVG}g[@class='values {series}']/{SVG}text"):
            anchor = text.get("text-anchor") or "middle"
            box = text_box(float(text.get("x")), float(text.get("y")), text.text, anchor)
            found.append((text.text, box))
    return found


def assert_nothing_overlaps(root: Any) -> None:
    """No value label touches a line segment, a marker, a bar or another label; no two
    dates under the x axis touch."""
    labels = value_boxes(root)
    segments = [
        (a, b)
        for line in root.findall(f".//{SVG}g[@class='series coverage']/{SVG}polyline")
        for a, b in zip(points_of(line), points_of(line)[1:], strict=False)
    ]
    markers = [
        Box(
            float(c.get("cx")) - 3.5,
            float(c.get("cy")) - 3.5,
            float(c.get("cx")) + 3.5,
            float(c.get("cy")) + 3.5,
        )
        for c in root.findall(f".//{SVG}g[@class='markers coverage']/{SVG}circle")
    ]
    bars = [
        Box(
            float(r.get("x")),
            float(r.get("y")),
            float(r.get("x")) + float(r.get("width")),
            float(r.get("y")) + float(r.get("height")),
        )
        for r in root.findall(f".//{SVG}g[@class='bar']/{SVG}rect")
    ]
    width = float(root.get("width"))
    for n, (text, box) in enumerate(labels):
        assert box.x0 >= 0, text
        assert box.x1 <= width, text
        assert not any(box.crosses(a, b) for a, b in segments), text
        assert not any(box.overlaps(m) for m in markers), text
        assert not any(box.overlaps(b) for b in bars), text
        assert not any(box.overlaps(other) for _, other in labels[n + 1 :]), text
    dates = [
        text_box(float(d.get("x")), float(d.get("y")), d.text)
        for d in root.findall(f".//{SVG}text[@class='x-date']")
    ]
    assert not any(a.overlaps(b) for n, a in enumerate(dates) for b in dates[n + 1 :])
    # The dates sit under the tests panel, below every label and bar.
    lowest = max((box.y1 for _, box in labels), default=0.0)
    assert all(d.y0 > lowest for d in dates)


# --- the chart's SVG -----------------------------------------------------------------------


def test_svg_chart_escapes_names_and_splits_at_gaps(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names = odd_phases(git_repo, monkeypatch)
    text, root = chart(git_repo, tmp_path)
    assert root.tag == f"{SVG}svg"
    assert root.get("version") == "1.1"
    assert "<script" not in text.lower()
    assert "href" not in text
    assert "a&amp;b&lt;c&gt;" in text
    assert 'a&b<c>"d' not in text
    coverage = root.findall(f".//{SVG}g[@class='series coverage']/{SVG}polyline")
    # The phase without a snapshot splits the line in two and has no bar: a gap, not a zero.
    assert [len(p.get("points").split()) for p in coverage] == [1, 2]
    assert len(root.findall(f".//{SVG}polyline")) == 2
    bars = root.findall(f".//{SVG}g[@class='bar']")
    assert len(bars) == 3
    labels = root.findall(f".//{SVG}text[@class='x-label']")
    assert len(labels) == len(names)
    titles = [label.find(f"{SVG}title") for label in labels]
    assert [t.tail for t in titles[:3]] == ['a&b<c>"d', "gap", "x|y"]
    assert titles[0].text == ODD
    assert titles[3].tail.endswith("\u2026")  # long names are shortened, whole in the title
    assert titles[3].text == names[3]
    assert root.find(f"{SVG}title").text == "Phase history: coverage and tests"
    legend = "".join(root.find(f".//{SVG}g[@class='legend']").itertext())
    for words in ("Coverage (%)", "Tests passed", "Tests failed", "Tests skipped"):
        assert words in legend
    assert root.find(f".//{SVG}text[@class='gap-note']").text == "gaps: no snapshot"
    assert_nothing_overlaps(root)


def test_each_panel_has_its_own_axis(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = Repository.open(git_repo)
    for n, (passed, failed, percent) in enumerate([(5, 2, 0.0), (20, 0, 100.0)]):
        sha = commit_at(monkeypatch, git_repo, f"2026-08-0{n + 1}T00:00:00+00:00", {"f": f"{n}"})
        git(git_repo, "tag", f"phase/{n}")
        store_snapshot(repo, make_snapshot(sha, passed, failed, percent))  # 1 skipped each
    _, root = chart(git_repo, tmp_path)
    [coverage] = root.findall(f".//{SVG}g[@class='series coverage']/{SVG}polyline")
    (x0, cov0), (x1, cov100) = points_of(coverage)
    cov_ticks = ticks(root, "coverage-axis")
    assert list(cov_ticks) == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert (cov_ticks["0%"], cov_ticks["100%"]) == (cov0, cov100)
    assert x0 < x1
    # Tests: counts from 0 in round steps past the largest total (21), on their own axis,
    # in their own panel below the coverage one: the two never share a plot.
    test_ticks = ticks(root, "tests-axis")
    assert list(test_ticks) == ["0", "5", "10", "15", "20", "25"]
    assert min(test_ticks.values()) > max(cov_ticks.values())
    assert len(root.findall(f".//{SVG}g[@class='right-axis']")) == 0
    zero, height = test_ticks["0"], test_ticks["0"] - test_ticks["25"]

    def y_of(count: int) -> float:
        return zero - height * count / 25

    bars = root.findall(f".//{SVG}g[@class='bar']")
    stacks = [
        {
            r.get("class"): (float(r.get("y")), float(r.get("height")))
            for r in bar.iter(f"{SVG}rect")
        }
        for bar in bars
    ]
    # Phase 0: 5 passed from 0, 2 failed on top, 1 skipped above them.
    assert stacks[0]["passed"] == pytest.approx((y_of(5), zero - y_of(5)), abs=0.1)
    assert stacks[0]["failed"] == pytest.approx((y_of(7), y_of(5) - y_of(7)), abs=0.1)
    assert stacks[0]["skipped"] == pytest.approx((y_of(8), y_of(7) - y_of(8)), abs=0.1)
    assert "failed" not in stacks[1]  # a zero count draws nothing
    assert stacks[1]["passed"][0] == pytest.approx(y_of(20), abs=0.1)
    values = [t.text for t in root.findall(f".//{SVG}g[@class='values tests']/{SVG}text")]
    assert values == ["5/8", "20/21"]
    assert_nothing_overlaps(root)


def test_many_phases_show_the_most_recent_and_say_how_many_are_left_out(tmp_path: Path) -> None:
    rows = random_rows(200, random.Random(7))
    svg = render_chart(History(tuple(rows))).decode("utf-8")
    root = ElementTree.fromstring(svg.encode("utf-8"))
    labels = root.findall(f".//{SVG}text[@class='x-label']")
    assert len(labels) == MAX_PHASES == 30
    assert [t.find(f"{SVG}title").text for t in labels] == [r.tag for r in rows[-30:]]
    note = root.find(f".//{SVG}text[@class='left-out']")
    assert note.text == "Showing the most recent 30 of 200 phases: 170 older phases are left out"
    assert root.find(f"{SVG}desc").text.startswith("The most recent 30 of 200 phases, ")
    image = to_png(svg)
    (tmp_path / "many.png").write_bytes(b"")  # where a person looking at it would find it
    image.save(tmp_path / "many.png")
    x, y = float(note.get("x")), float(note.get("y"))
    assert count_in(image, (x, y - 11, x + 300, y + 3), GREY) > 100  # the note is drawn
    assert_nothing_overlaps(root)
    # A single phase more than the bound leaves one out, and says so in the singular.
    one_more = render_chart(History(tuple(rows[:31]))).decode("utf-8")
    assert "1 older phase is left out" in one_more


def random_rows(count: int, rnd: random.Random) -> list[PhaseRow]:
    """Phases with coverage that jumps, dips and sits on the axis's ends, some without
    a snapshot, names short and long."""
    rows = []
    for i in range(count):
        snapshot = rnd.random() > 0.15
        percent = rnd.choice([100.0, 0.0, rnd.uniform(90, 100), rnd.uniform(0, 100)])
        total = rnd.randint(0, 3000)
        failed, skipped = rnd.randint(0, total // 10), rnd.randint(0, total // 20)
        rows.append(
            PhaseRow(
                tag=f"phase/{i}",
                name=f"{i}" + "-long-name" * rnd.randint(0, 3),
                commit="0" * 40,
                measured="0" * 40,
                date=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
                snapshot=snapshot,
                tests_passed=max(0, total - failed - skipped) if snapshot else None,
                tests_total=total if snapshot else None,
                coverage_percent=round(percent, 2) if snapshot else None,
                coverage_display=f"{percent:.2f}" if snapshot else None,
                patch_percent=None,
                lines_added=1,
                lines_removed=0,
                files_changed=1,
                tests_failed=failed if snapshot else None,
                tests_skipped=skipped if snapshot else None,
            )
        )
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_labels_never_overlap(seed: int) -> None:
    rnd = random.Random(seed)
    rows = random_rows(rnd.randint(1, 40), rnd)
    root = ElementTree.fromstring(render_chart(History(tuple(rows))))
    assert_nothing_overlaps(root)
    # Every point and bar keeps its value.
    shown = min(len(rows), MAX_PHASES)
    with_coverage = [r for r in rows[-shown:] if r.coverage_percent is not None]
    assert len(value_boxes(root)) == 2 * len(with_coverage)


# --- the chart as a PNG: rendered by a real SVG renderer (resvg), the pixels read back ---

# Three phases: coverage 98 -> 97 -> 97.5 %, tests of a total of 300 (1 skipped).
PHASES = [("2026-03-02", 288, 98.0), ("2026-05-11", 290, 97.0), ("2026-08-24", 297, 97.5)]


@pytest.fixture
def rendered(git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Any, Any]:
    """The chart's SVG tree and the PNG resvg renders from it."""
    repo = Repository.open(git_repo)
    for n, (day, passed, percent) in enumerate(PHASES):
        sha = commit_at(monkeypatch, git_repo, f"{day}T12:00:00+00:00", {"f": f"{n}\n"})
        git(git_repo, "tag", f"phase/{n + 1}")
        store_snapshot(repo, make_snapshot(sha, passed, 299 - passed, percent))  # 1 skipped
    target = tmp_path / "history.svg"
    result = run_cli("--repo", str(git_repo), "history", "--chart", str(target))
    assert result.exit_code == 0, result.stderr
    svg = target.read_text(encoding="utf-8")
    image = to_png(svg)
    image.save(tmp_path / "history.png")
    return ElementTree.fromstring(svg.encode("utf-8")), image


def test_the_png_shows_values_dates_a_marked_zoom_and_bars_from_zero(
    rendered: tuple[Any, Any],
) -> None:
    root, image = rendered
    assert image.size == (round(float(root.get("width"))), round(float(root.get("height"))))

    # A 98 -> 97 drop is visible: the coverage markers sit where the SVG puts them, far
    # enough apart to see, on an axis marked as zoomed.
    markers = root.findall(f".//{SVG}g[@class='markers coverage']/{SVG}circle")
    centres = [(float(m.get("cx")), float(m.get("cy"))) for m in markers]
    for x, y in centres:
        assert near(image.getpixel((round(x), round(y))), BLUE)
    assert centres[1][1] - centres[0][1] >= 30  # pixels, for one point of coverage
    note = root.find(f".//{SVG}text[@class='zoom-note']")
    assert note.text == "Coverage axis zoomed: 95% to 100%, not from 0"
    x, y = float(note.get("x")), float(note.get("y"))
    assert count_in(image, (x, y - 11, x + 300, y + 3), BLUE) > 100  # the note is drawn
    breaks = root.findall(f".//{SVG}g[@class='axis-break']/{SVG}line")
    assert len(breaks) == 2
    assert list(ticks(root, "coverage-axis")) == ["95%", "96%", "97%", "98%", "99%", "100%"]

    # Each point and bar carries its value, drawn in its series' colour beside it.
    for series, colour in (("coverage", BLUE), ("tests", DARK)):
        values = root.findall(f".//{SVG}g[@class='values {series}']/{SVG}text")
        assert len(values) == len(PHASES)
        for text in values:
            box = text_box(float(text.get("x")), float(text.get("y")), text.text,
                           text.get("text-anchor") or "middle")  # fmt: skip
            assert count_in(image, (box.x0, box.y0, box.x1, box.y1), colour) > 15, text.text
    labels = [t.text for t in root.findall(f".//{SVG}g[@class='values coverage']/{SVG}text")]
    assert labels == [f"{p:.1f}%" for _, _, p in PHASES]
    tests = [t.text for t in root.findall(f".//{SVG}g[@class='values tests']/{SVG}text")]
    assert tests == [f"{passed}/300" for _, passed, _ in PHASES]

    # The bars stand on 0: 288 passing of 300 is a bar near full height, not a cliff; the
    # failing part is drawn above it in its own colour.
    test_ticks = ticks(root, "tests-axis")
    assert list(test_ticks) == ["0", "60", "120", "180", "240", "300"]
    zero, top = test_ticks["0"], test_ticks["300"]
    for bar, (_, passed, _) in zip(root.findall(f".//{SVG}g[@class='bar']"), PHASES, strict=True):
        parts = {r.get("class"): r for r in bar.iter(f"{SVG}rect")}
        passed_rect, failed_rect = parts["passed"], parts["failed"]
        px = float(passed_rect.get("x")) + float(passed_rect.get("width")) / 2
        assert float(passed_rect.get("y")) + float(passed_rect.get("height")) == pytest.approx(
            zero, abs=0.1
        )
        assert float(passed_rect.get("y")) == pytest.approx(
            zero - (zero - top) * passed / 300, abs=0.1
        )
        assert near(image.getpixel((round(px), round((zero + top) / 2))), GREEN)
        if float(failed_rect.get("height")) >= 3:  # 2 of 300 is a line 1px high
            fy = float(failed_rect.get("y")) + float(failed_rect.get("height")) / 2
            assert near(image.getpixel((round(px), round(fy))), ORANGE)
    for tick in list(test_ticks.values())[1:]:  # the lowest is the x axis itself
        left = float(root.find(f".//{SVG}g[@class='axes']/{SVG}line").get("x1"))
        row = [image.getpixel((round(left) + dx, yy)) for dx in (3, 4, 5)
               for yy in (round(tick) - 1, round(tick), round(tick) + 1)]  # fmt: skip
        assert any(near(p, GRID, 12) for p in row), tick

    # Dates on the x axis: each phase's commit date, drawn under its tick.
    dates = root.findall(f".//{SVG}text[@class='x-date']")
    assert [d.text for d in dates] == [day for day, _, _ in PHASES]
    for date in dates:
        x, y = float(date.get("x")), float(date.get("y"))
        assert count_in(image, (x - 35, y - 10, x + 35, y + 2), GREY) > 30
    assert_nothing_overlaps(root)


def test_a_value_is_never_drawn_over_the_line(tmp_path: Path) -> None:
    """A zigzag puts a line on both sides of the middle points: each value moves beside
    its point, or to the row above the panel, and the PNG shows it there intact."""
    percents = [90.0, 99.0, 90.5, 99.5, 91.0, 98.0]
    rows = [
        PhaseRow(
            tag=f"phase/{i}",
            name=str(i),
            commit="0" * 40,
            measured="0" * 40,
            date=f"2026-01-0{i + 1}",
            snapshot=True,
            tests_passed=10,
            tests_total=10,
            coverage_percent=p,
            coverage_display=f"{p:.1f}",
            patch_percent=None,
            lines_added=1,
            lines_removed=0,
            files_changed=1,
            tests_failed=0,
            tests_skipped=0,
        )
        for i, p in enumerate(percents)
    ]
    svg = render_chart(History(tuple(rows))).decode("utf-8")
    root = ElementTree.fromstring(svg.encode("utf-8"))
    assert_nothing_overlaps(root)
    image = to_png(svg)
    image.save(tmp_path / "zigzag.png")
    for text, box in value_boxes(root):
        if re.fullmatch(r"[\d.]+%", text):
            # The label's own blue glyphs, and nothing of the line: a thin box around the
            # text holds far fewer blue pixels than a stroke of the line through it would.
            assert 15 < count_in(image, (box.x0, box.y0, box.x1, box.y1), BLUE) < 200, text
