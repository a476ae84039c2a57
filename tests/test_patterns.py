"""Glob matching with gitignore/gitattributes meaning."""

from __future__ import annotations

import pytest

from phasectl.patterns import Glob, matches_any


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.lock", "poetry.lock", True),
        ("*.lock", "deep/dir/Cargo.lock", True),
        ("*.lock", "lock", False),
        ("package-lock.json", "web/app/package-lock.json", True),
        ("docs/*.md", "docs/a.md", True),
        ("docs/*.md", "docs/sub/a.md", False),
        ("docs/*.md", "other/docs/a.md", False),
        ("/top.txt", "top.txt", True),
        ("/top.txt", "sub/top.txt", False),
        ("**/gen/*.py", "a/b/gen/x.py", True),
        ("**/gen/*.py", "gen/x.py", True),
        ("vendor/**", "vendor/a/b.c", True),
        ("vendor/", "vendor/a/b.c", True),
        ("vendor", "vendor/a/b.c", True),
        ("a/**/z", "a/z", True),
        ("a/**/z", "a/b/c/z", True),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file/.txt", False),
        ("[abc].py", "b.py", True),
        ("[!abc].py", "b.py", False),
        ("[!abc].py", "d.py", True),
        ("weird\\*.txt", "weird*.txt", True),
        ("weird\\*.txt", "weirdX.txt", False),
        ("*.py", "new\nline.py", True),
        ("[unclosed", "[unclosed", True),
    ],
)
def test_glob_matches(pattern: str, path: str, expected: bool) -> None:
    assert Glob.compile(pattern).matches(path) is expected


def test_patterns_relative_to_a_folder() -> None:
    glob = Glob.compile("*.gen.py", "pkg", contents=False)
    assert glob.matches("pkg/a.gen.py")
    assert glob.matches("pkg/sub/a.gen.py")
    assert not glob.matches("a.gen.py")
    anchored = Glob.compile("sub/*.py", "pkg")
    assert anchored.matches("pkg/sub/a.py")
    assert not anchored.matches("sub/a.py")


def test_attributes_meaning_does_not_recurse_into_folders() -> None:
    assert not Glob.compile("gen", contents=False).matches("gen/a.py")
    assert Glob.compile("gen").matches("gen/a.py")


def test_matches_any() -> None:
    globs = [Glob.compile("*.lock"), Glob.compile("dist/")]
    assert matches_any("dist/x.whl", globs)
    assert not matches_any("src/x.py", globs)
