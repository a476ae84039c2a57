"""Make the README's two pictures from a real run of phasectl on the sample repository.

1. ``history.png``: the sample repository (``tests/support/sample_repo.py``) gets two more phases,
   each closed with ``phasectl tag``; ``phasectl history --chart`` draws the SVG, and
   resvg (``resvg-py``, a test dependency) renders it to PNG, as ``tests/test_history.py``
   does.
2. ``report-metrics.png``: the Metrics and Code Changes sections of phase 2's report, as
   ``phasectl tag`` wrote them, converted to HTML by cmark-gfm (GitHub's own Markdown
   renderer, ``pip install cmarkgfm``) with GitHub's Markdown stylesheet
   (``npm pack github-markdown-css``), and screenshotted by headless Chromium
   (``apt-get install chromium``).

Run from the repository root, with phasectl installed (``make venv``):

    .venv/bin/python docs/images/make_images.py --css path/to/github-markdown-light.css

Commit dates are fixed, so the chart is the same on every run; the report's figures are
those of the sample's tests.
"""

from __future__ import annotations

import argparse
import html
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.sample_repo import build_sample_repo, git_env  # noqa: E402

PHASE_3 = {
    "tests/test_reports.py": """\
from inventory.reports import low_stock
from inventory.store import Store


def test_low_stock():
    store = Store()
    store.add("apple", 5)
    store.add("pear", 1)
    assert low_stock(store, ["apple", "pear", "melon"]) == ["pear", "melon"]


def test_items_sorted():
    store = Store()
    store.add("pear")
    store.add("apple")
    assert store.items() == ["apple", "pear"]
""",
}

PHASE_4 = {
    "src/inventory/restock.py": '''\
"""Restocking orders: how much of each item to buy."""

from __future__ import annotations

from inventory.store import Store


def order(store: Store, items: list[str], target: int = 10) -> dict[str, int]:
    wanted = {}
    for item in items:
        have = store.count(item)
        if have < target:
            wanted[item] = target - have
    return wanted


def order_cost(wanted: dict[str, int], prices: dict[str, float]) -> float:
    if not wanted:
        return 0.0
    return sum(prices[item] * n for item, n in wanted.items())
''',
    "tests/test_restock.py": """\
from inventory.restock import order
from inventory.store import Store


def test_order_fills_to_target():
    store = Store()
    store.add("apple", 4)
    assert order(store, ["apple"]) == {"apple": 6}
""",
}


def day_env(home: Path, day: str) -> dict[str, str]:
    """The sample's git environment, committing at 10:00 UTC on ``day``."""
    return git_env(home, f"{day}T10:00:00Z")


def phasectl() -> str:
    return str(Path(sys.executable).with_name("phasectl"))


def run(repo: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def build_history(work: Path) -> tuple[Path, Path]:
    """The sample repository with phases 2, 3 and 4 tagged; its chart and phase 2's report."""
    repo = build_sample_repo(work / "inventory")
    home = work / "home"
    home.mkdir()
    path = repo.path
    env = day_env(home, "2026-03-20")
    run(path, env, phasectl(), "tag", "2-reports", "-m", "Reports", "--quiet")
    for day, name, files in (
        ("2026-04-17", "3-tests", PHASE_3),
        ("2026-05-29", "4-restock", PHASE_4),
    ):
        env = day_env(home, day)
        for file, text in files.items():
            target = path / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        run(path, env, "git", "add", "--all")
        run(path, env, "git", "commit", "--quiet", "-m", f"Phase {name}")
        run(path, env, phasectl(), "tag", name, "--quiet")
    print(run(path, env, phasectl(), "history"))
    chart = work / "history.svg"
    run(path, env, phasectl(), "history", "--chart", str(chart))
    return chart, path / "docs" / "phases" / "2-reports.md"


def chart_png(svg: Path, out: Path) -> None:
    import resvg_py
    from PIL import Image

    png = bytes(resvg_py.svg_to_bytes(svg_string=svg.read_text(encoding="utf-8"), zoom=2,
                                      background="#ffffff"))  # fmt: skip
    image = Image.open(io.BytesIO(png)).convert("RGB")
    save_small(image, out)


def save_small(image: object, out: Path) -> None:
    """A PNG of at most 256 colours: text and lines stay sharp at a fraction of the size."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def report_excerpt(report: Path) -> str:
    """The Metrics and Code Changes sections, as phasectl wrote them; the people's sections
    between them are left out, and a line says so."""
    text = report.read_text(encoding="utf-8")

    def section(heading: str) -> str:
        start = text.index(f"\n{heading}\n") + 1
        end = text.find("\n## ", start + 1)
        return text[start : end if end != -1 else len(text)].rstrip() + "\n"

    skipped = "\n*(the sections people write, between these two, left out here)*\n\n"
    return section("## Metrics") + skipped + section("## Code Changes")


def report_png(markdown: str, css: Path, out: Path, work: Path) -> None:
    import cmarkgfm
    from cmarkgfm.cmark import Options
    from PIL import Image

    body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    page = work / "report.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8>"
        f"<title>{html.escape('phase report')}</title>"
        f"<style>{css.read_text(encoding='utf-8')}"
        "body{margin:0;background:#fff}.markdown-body{box-sizing:border-box;"
        "width:860px;padding:24px 32px}</style>"
        f"<article class=markdown-body>{body}</article>",
        encoding="utf-8",
    )
    shot = work / "shot.png"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("headless Chromium is needed: apt-get install chromium")
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--force-device-scale-factor=1", "--window-size=860,4000",
            f"--screenshot={shot}", page.as_uri(),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    image = Image.open(shot).convert("RGB")
    # Crop the empty page below the text: the last row that is not all white, plus a margin.
    pixels = image.load()
    width, height = image.size
    last = max(
        y for y in range(height) if any(pixels[x, y] != (255, 255, 255) for x in range(0, width, 2))
    )
    save_small(image.crop((0, 0, width, min(height, last + 24))), out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--css", type=Path, required=True, help="github-markdown-light.css")
    parser.add_argument("--out", type=Path, default=HERE, help="where the PNGs go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phasectl-images-") as folder:
        work = Path(folder)
        chart, report = build_history(work)
        chart_png(chart, args.out / "history.png")
        excerpt = report_excerpt(report)
        report_png(excerpt, args.css, args.out / "report-metrics.png", work)
    for name in ("history.png", "report-metrics.png"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
