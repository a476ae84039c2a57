"""Property: rendering a report changes only its regions, and a second render changes nothing.

Documents of random human text (any unicode, CRLF or LF, trailing spaces, with or without
a final newline) around and between regions are rendered by the real renderer against a
real repository.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phasectl.collectors.options import CollectOptions
from phasectl.collectors.phase import collect_phase
from phasectl.config import load_config
from phasectl.repo.repository import Repository
from phasectl.report import document
from phasectl.report.values import REGIONS
from phasectl.report.writer import render_report

from conftest import commit, git, outside

# Human text never forms a marker or a code fence: no '<', '`' or '~'; any other
# character, including non-ASCII, tabs and trailing spaces, is fair game.
human_line = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<`~\u2028\u2029\x85")
    | st.sampled_from(["\t", " ", "#", "é", "🙂"]),
    max_size=30,
) | st.sampled_from(["## Metrics", "### Test Results", "trailing   ", ""])
human = st.lists(human_line, max_size=4)


@st.composite
def documents(draw: st.DrawFn) -> str:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    names = draw(st.lists(st.sampled_from(REGIONS), unique=True, min_size=1))
    lines: list[str] = draw(human)
    for name in names:
        lines.append(f"<!-- phasectl:begin {name} -->" + draw(st.sampled_from(["", "  ", "\t"])))
        lines.extend(draw(human))
        lines.append(f"<!-- phasectl:end {name} -->")
        lines.extend(draw(human))
    text = newline.join(lines)
    return text + (newline if draw(st.booleans()) else "")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents())
def test_render_changes_only_regions_and_is_idempotent(git_repo: Path, doc: str) -> None:
    if not (git_repo / ".git" / "refs" / "tags" / "phase").exists():
        commit(git_repo, {"a.py": '"""Module A."""\n', "gone.txt": "x\n"})
        git(git_repo, "tag", "phase/1")
        commit(git_repo, {"a.py": '"""Module A."""\nB = 1\n', "gone.txt": None, "n.md": "# N\n"})
    repo = Repository.open(git_repo)
    config = load_config(git_repo)
    metrics = collect_phase(repo, config, CollectOptions(tests=False), lambda _: None)
    path = git_repo.parent / "report.md"
    path.write_bytes(document.encode(doc))
    first = render_report(repo, config, metrics, path, "p")
    new = document.decode(first.new)
    assert outside(new) == outside(doc)
    assert [r.name for r in document.find_regions(new)] == [
        r.name for r in document.find_regions(doc)
    ]
    path.write_bytes(first.new)
    assert render_report(repo, config, metrics, path, "p").new == first.new
