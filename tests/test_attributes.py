"""``.gitattributes`` read from a commit's tree, each state compared with ``git check-attr``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from phasectl.repo.attributes import Attributes
from phasectl.repo.repository import Repository

from conftest import by_path, collect_json, commit

ATTRIBUTES = {
    ".gitattributes": (
        "# comment\n"
        "[attr]generated linguist-generated -diff\n"
        "[attr]vendored generated linguist-vendored\n"
        "*.gen.py linguist-generated\n"
        "*.pb.go generated\n"
        "third_party/** vendored\n"
        "/top.dat linguist-generated=true\n"
        "docs/*.md linguist-generated=false\n"
        "gen linguist-generated\n"
        "folder/ linguist-generated\n"
        "!negated.py linguist-generated\n"
        '"with space.py" linguist-generated\n'
        "*.lock linguist-generated -linguist-generated\n"
        "binary.dat binary\n"
    ),
    "pkg/.gitattributes": (
        "[attr]generated -linguist-generated\n"  # macros outside the root are ignored
        "keep.gen.py -linguist-generated\n"
        "open.gen.py !linguist-generated\n"
        "sub/*.py linguist-generated\n"
        "*.pb.go -generated\n"
    ),
    "third_party/lib/.gitattributes": "kept.c !vendored\nvalue.c linguist-generated=maybe\n",
}
PATHS = [
    "a.gen.py", "pkg/keep.gen.py", "pkg/open.gen.py", "pkg/other.gen.py", "pkg/sub/x.py",
    "pkg/sub/deeper/x.py", "api.pb.go", "pkg/api.pb.go", "third_party/lib/a.c",
    "third_party/lib/kept.c", "third_party/lib/value.c", "top.dat", "sub/top.dat",
    "docs/a.md", "gen", "gen/inside.py", "folder/x.py", "negated.py", "with space.py",
    "Cargo.lock", "binary.dat", "plain.py",
]  # fmt: skip
NAMES = ["linguist-generated", "linguist-vendored", "generated", "diff", "text"]


def check_attr(repo: Path, name: str, paths: list[str]) -> dict[str, str]:
    """What git itself says, read from the checked-out work tree."""
    out = subprocess.run(
        ["git", "check-attr", "-z", "--stdin", name],
        cwd=repo, input="\0".join(paths) + "\0", capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    fields = out.split("\0")
    return {fields[i]: fields[i + 2] for i in range(0, len(fields) - 2, 3)}


def test_every_state_equals_git_check_attr(git_repo: Path) -> None:
    sha = commit(git_repo, {**ATTRIBUTES, **{p: "x\n" for p in PATHS if p != "gen"}})
    attributes = Attributes.at(Repository.open(git_repo), sha)
    for name in NAMES:
        expected = check_attr(git_repo, name, PATHS)
        assert {p: attributes.state(p, name) for p in PATHS} == expected, name
    # the fixture covers every kind of state, so the comparison above means something
    states = {attributes.state(p, n) for p in PATHS for n in NAMES}
    assert {"set", "unset", "unspecified", "true", "false", "maybe"} <= states


def test_collect_excludes_what_git_marks_generated(git_repo: Path) -> None:
    base = commit(git_repo, {"README.md": "r\n"})
    commit(git_repo, {**ATTRIBUTES, **{p: "x\n" for p in PATHS if p != "gen"}})
    marked = check_attr(git_repo, "linguist-generated", PATHS)
    (git_repo / ".phasectl.toml").write_text("exclude = []\n")  # only attributes exclude
    files = by_path(collect_json(git_repo, "--base", base))
    excluded = {p for p, f in files.items() if f["excluded"] and p in PATHS}
    files_marked = {p for p, v in marked.items() if v in ("set", "true") and p in files}
    assert excluded == files_marked
    assert excluded  # some are, some are not
    assert excluded != set(files) & set(PATHS)
