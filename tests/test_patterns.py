"""Path patterns with .gitignore meaning, each answer compared with ``git check-ignore``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from phasectl.patterns import PathPatterns

CASES: list[tuple[list[str], list[str]]] = [
    (["*.lock"], ["poetry.lock", "deep/dir/Cargo.lock", "lock"]),
    (["package-lock.json"], ["web/app/package-lock.json", "package-lock.jsonx"]),
    (["docs/*.md"], ["docs/a.md", "docs/sub/a.md", "other/docs/a.md"]),
    (["/top.txt"], ["top.txt", "sub/top.txt"]),
    (["**/gen/*.py"], ["a/b/gen/x.py", "gen/x.py", "gen/sub/x.py"]),
    (["vendor/**"], ["vendor/a/b.c", "vendorx/a.c"]),
    (["vendor/"], ["vendor/a/b.c", "src/vendor/a.c"]),
    (["vendor"], ["vendor/a/b.c", "src/vendor"]),
    (["a/**/z"], ["a/z", "a/b/c/z", "b/a/z"]),
    (["file?.txt"], ["file1.txt", "file/.txt"]),
    (["[abc].py"], ["b.py", "d.py"]),
    (["[!abc].py"], ["b.py", "d.py"]),
    (["weird\\*.txt"], ["weird*.txt", "weirdX.txt"]),
    (["*.py"], ["new\nline.py", "x.pyc"]),
    (["[unclosed"], ["[unclosed"]),
    (["*.test.[jt]s"], ["web/a.test.ts", "web/a.test.py"]),
    # negation: the last pattern that matches decides
    (["*.lock", "!keep.lock"], ["a/keep.lock", "a/x.lock", "keep.lock"]),
    (["*.lock", "!keep.lock", "a/*.lock"], ["a/keep.lock", "b/keep.lock"]),
    (["docs/*", "!docs/*.md"], ["docs/a.md", "docs/a.txt"]),
    (["!*.py"], ["a.py"]),
]


def git_check_ignore(root: Path, patterns: list[str], paths: list[str]) -> list[bool]:
    """Whether git ignores each path under ``patterns`` (files created in a fresh repository)."""
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    (root / ".gitignore").write_text("".join(p + "\n" for p in patterns))
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x\n")
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"],
        cwd=root, input="".join(p + "\0" for p in paths),
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    fields = out.split("\0")
    # records: source, line number, pattern, path; a negated or unmatched path has no match
    return [
        fields[i] != "" and not fields[i + 2].startswith("!") for i in range(0, len(paths) * 4, 4)
    ]


@pytest.mark.parametrize(("patterns", "paths"), CASES)
def test_patterns_match_as_git_check_ignore_does(
    tmp_path: Path, patterns: list[str], paths: list[str]
) -> None:
    expected = git_check_ignore(tmp_path, patterns, paths)
    compiled = PathPatterns(patterns)
    assert [compiled.matches(p) for p in paths] == expected


def test_negation_reaches_inside_an_excluded_folder(tmp_path: Path) -> None:
    # git cannot re-include a file inside an excluded folder (it never reads the folder);
    # phasectl matches a list of paths, so '!' takes back any path, as the README says.
    patterns, paths = ["vendor/", "!vendor/ours.c"], ["vendor/ours.c", "vendor/theirs.c"]
    assert git_check_ignore(tmp_path, patterns, paths) == [True, True]
    compiled = PathPatterns(patterns)
    assert [compiled.matches(p) for p in paths] == [False, True]


def test_no_patterns_match_nothing() -> None:
    assert not PathPatterns([]).matches("a.py")
