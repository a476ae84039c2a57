"""The documentation holds together: every relative link and #anchor in README.md and
docs/**/*.md resolves (anchors computed as GitHub computes them), every image exists and
stays small, and the README stays a front door."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 160
IMAGE_MAX_BYTES = 200 * 1024

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target), target optionally <...> and followed by a "title".
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HTML_TARGET = re.compile(r"<(?:img|a)\s[^>]*?(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]*)|<img\s[^>]*?src=\"([^\"]+)\"", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    source: Path
    line: int
    target: str


def markdown_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def prose_lines(text: str, spans: bool = False) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with code spans blanked out (kept
    with ``spans``)."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        if not spans:
            line = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        lines.append((number, line))
    return lines


def heading_text(raw: str) -> str:
    """A heading's text as GitHub shows it: code spans keep their content, links their
    text, emphasis and HTML tags go."""
    parts = []
    at = 0
    for span in CODE_SPAN.finditer(raw):
        parts.append(_inline_text(raw[at : span.start()]))
        parts.append(span.group(2).strip())
        at = span.end()
    parts.append(_inline_text(raw[at:]))
    return "".join(parts)


def _inline_text(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\*+|(?<!\w)_+|_+(?!\w)", "", text)


def slug(text: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped except - and _,
    each space a hyphen."""
    kept = []
    for char in heading_text(text).strip().lower():
        category = unicodedata.category(char)
        if char in "-_" or category[0] in "LN" or category == "Mn":
            kept.append(char)
        elif char == " ":
            kept.append("-")
    return "".join(kept)


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub makes for the headings of ``path`` (duplicates get -1, -2, ...)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8"), spans=True):
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[Link]:
    """The link and image targets of ``path`` outside code."""
    found: list[Link] = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        targets = [m.group(1) for m in INLINE_LINK.finditer(line)]
        targets += [m.group(1) for m in HTML_TARGET.finditer(line)]
        definition = REFERENCE_DEF.match(line)
        if definition:
            targets.append(definition.group(1))
        found += [Link(path, number, target) for target in targets]
    return found


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE))


def broken_links(files: list[Path], root: Path = ROOT) -> list[str]:
    """Every link that does not resolve, as ``file:line: target``."""
    broken: list[str] = []
    cache: dict[Path, set[str]] = {}
    for path in files:
        for link in links(path):
            where = f"{link.source.relative_to(root)}:{link.line}: {link.target}"
            if not link.target or is_external(link.target):
                if not link.target:
                    broken.append(f"{where}(empty link)")
                continue
            file_part, _, anchor = link.target.partition("#")
            target = (path.parent / unquote(file_part)).resolve() if file_part else path
            try:
                target.relative_to(root)
            except ValueError:
                broken.append(f"{where} (outside the repository)")
                continue
            if not target.exists():
                broken.append(where)
                continue
            if anchor:
                if target.suffix != ".md" or target.is_dir():
                    if not re.fullmatch(r"L\d+(-L\d+)?", anchor):
                        broken.append(f"{where} (an anchor into a file that is not Markdown)")
                    continue
                if target not in cache:
                    cache[target] = anchors(target)
                if unquote(anchor) not in cache[target]:
                    broken.append(f"{where} (no heading gives #{anchor})")
    return broken


# --- the documentation as committed ---------------------------------------------------


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = broken_links(markdown_files())
    assert broken == []


def test_the_package_paths_the_docs_name_exist() -> None:
    """A module or folder named as `phasectl/...` in prose is there: the docs follow the
    code when it moves."""
    missing = []
    for path in markdown_files():
        for number, line in prose_lines(path.read_text(encoding="utf-8"), spans=True):
            for span in CODE_SPAN.finditer(line):
                name = span.group(2).strip()
                if not re.fullmatch(r"phasectl/[\w./]*", name):
                    continue
                if not (ROOT / name).exists():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert missing == []


def test_every_option_of_every_command_is_in_the_cli_reference() -> None:
    import click

    from phasectl.cli import cli

    text = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    missing = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, f"{path} {name}")
        for param in command.params:
            for option in (*param.opts, *param.secondary_opts):
                if option.startswith("--") and option != "--help" and option not in text:
                    missing.append(f"{path} {option}")

    walk(cli, "phasectl")
    assert missing == []


def test_the_docs_exist_and_link_somewhere() -> None:
    files = markdown_files()
    assert len(files) > 15
    for path in files:
        assert path.read_text(encoding="utf-8").startswith("# "), path


def test_every_doc_is_reachable_from_the_readme() -> None:
    reached: set[Path] = set()
    queue = [ROOT / "README.md"]
    while queue:
        path = queue.pop()
        if path in reached:
            continue
        reached.add(path)
        for link in links(path):
            file_part = link.target.partition("#")[0]
            if not file_part or is_external(link.target):
                continue
            target = (path.parent / unquote(file_part)).resolve()
            if target.suffix == ".md" and target.is_file():
                queue.append(target)
    assert [p.relative_to(ROOT).as_posix() for p in markdown_files() if p not in reached] == []


def test_images_exist_are_png_and_small() -> None:
    images = set()
    for path in markdown_files():
        for _, line in prose_lines(path.read_text(encoding="utf-8")):
            for match in IMAGE.finditer(line):
                target = match.group(1) or match.group(2)
                if not is_external(target):
                    images.add((path.parent / unquote(target)).resolve())
    assert images, "the README shows a picture"
    for image in images:
        data = image.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), image
        assert len(data) < IMAGE_MAX_BYTES, (image, len(data))


def test_the_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


def test_the_pre_commit_rev_is_a_commit_of_this_repository() -> None:
    """The pre-commit snippet names the hook this repository ships, at a commit it has."""
    text = (ROOT / "docs" / "how-to" / "pre-commit-and-hooks.md").read_text(encoding="utf-8")
    shipped = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    hook_ids = set(re.findall(r"^- id: (\S+)", shipped, re.MULTILINE))
    assert set(re.findall(r"^\s*- id: (\S+)", text, re.MULTILINE)) <= hook_ids
    revs = re.findall(r"^\s*rev: ([0-9a-f]{40})\b", text, re.MULTILINE)
    assert revs, "a real commit SHA as an example rev"
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        pytest.skip("not a full clone of phasectl: its history cannot be checked")
    for rev in revs:
        hooks = subprocess.run(
            ["git", "show", f"{rev}:.pre-commit-hooks.yaml"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert hooks.returncode == 0, f"{rev} is not a commit here with .pre-commit-hooks.yaml"
        assert hook_ids <= set(re.findall(r"^- id: (\S+)", hooks.stdout, re.MULTILINE))


# --- the checker itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Quick start", "quick-start"),
        ("JavaScript / TypeScript", "javascript--typescript"),
        ("`phasectl collect`", "phasectl-collect"),
        ('Tests, coverage and "before"', "tests-coverage-and-before"),
        ("Where phasectl lives (and why)", "where-phasectl-lives-and-why"),
        ("snake_case and kebab-case", "snake_case-and-kebab-case"),
        ("**Bold** [link](x.md) _words_", "bold-link-words"),
        ("`__init__` files", "__init__-files"),
        ("Coverage ≥ 80%: a gate", "coverage--80-a-gate"),
        ("Ça marche", "ça-marche"),
    ],
)
def test_slug_is_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_the_checker_finds_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# Title\n\n## Usage\n\n## Usage\n\n"
        "[ok](docs/a.md#part) [ok](#usage-1) [ok](docs/a.md) [web](https://example.com)\n"
        "[gone](docs/missing.md) [no anchor](#usage-2) ![img](docs/none.png)\n"
        "```sh\n[in code](not/checked.md)\n```\n"
        "`[in a span](not/checked.md)`\n"
        "[ref]: docs/a.md#nowhere\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Part\n", encoding="utf-8")
    broken = broken_links(markdown_files(tmp_path), tmp_path)
    assert broken == [
        "README.md:8: docs/missing.md",
        "README.md:8: #usage-2 (no heading gives #usage-2)",
        "README.md:8: docs/none.png",
        "README.md:13: docs/a.md#nowhere (no heading gives #nowhere)",
    ]
