"""The debt scan: git grep at base and head, compared per file, diffed where that decides.

Each case is compared with the debt read from git's own whole patch (with renames) in the
same test: the same items, in the same order, with the same line numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_report_contents import context, whole_and_phase_debt

from conftest import Symlink, by_path, collect_json, commit, git


def added_by_git(repo: Path, base: str, path: str) -> list[int]:
    """The head line numbers git's own ``diff -U0`` adds to ``path``."""
    out = git(repo, "diff", "-U0", "--diff-algorithm=myers", base, "HEAD", "--", path)
    lines: list[int] = []
    for start, count in re.findall(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", out, re.MULTILINE):
        lines += range(int(start), int(start) + int(count or 1))
    return lines


def test_a_repeated_marked_line_is_placed_where_the_diff_adds_it(git_repo: Path) -> None:
    """The same TODO twice at head and once at base: which of the two is new only the diff
    tells. It adds the first (line 1), not the one that was there (now line 3)."""
    base = commit(git_repo, {"a.py": "x = 1\n# TODO: same\ny = 2\n"})
    commit(git_repo, {"a.py": "# TODO: same\nx = 1\n# TODO: same\ny = 2\n"})
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert [(e["path"], e["line"]) for e in debt["added"]] == [("a.py", 1)]
    assert added_by_git(git_repo, base, "a.py") == [1]


def test_a_renamed_file_with_a_repeated_marked_line_is_diffed_against_its_pair(
    git_repo: Path,
) -> None:
    body = "".join(f"value_{n} = {n}\n" for n in range(30))
    base = commit(git_repo, {"old/mod.py": "# FIXME: twice\n" + body + "# FIXME: twice\n"})
    commit(git_repo, {"old/mod.py": None, "new/mod.py": body + "# FIXME: twice\nend = 1\n"})
    assert by_path(collect_json(git_repo, "--base", base))["new/mod.py"]["status"] == "renamed"
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert [(e["path"], e["line"]) for e in debt["removed"]] == [("old/mod.py", 1)]
    assert debt["added"] == []


def test_lines_moved_within_a_file_cancel_before_lines_moved_between_files(
    git_repo: Path,
) -> None:
    """b.py only moves its TODO; a.py (earlier in the diff) adds the same text anew. The
    new line is a.py's, not b.py's moved one."""
    filler = "".join(f"b{n} = {n}\n" for n in range(20))
    base = commit(git_repo, {"a.py": "a = 1\n", "b.py": "# TODO: shared\n" + filler})
    commit(git_repo, {"a.py": "a = 1\n# TODO: shared\n", "b.py": filler + "# TODO: shared\n"})
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert [(e["path"], e["line"]) for e in debt["added"]] == [("a.py", 2)]
    assert debt["removed"] == []


def test_a_lock_file_renamed_to_a_counted_file_pays_its_debt(git_repo: Path) -> None:
    """The scan skips the exclude globs' files (deps.lock); renamed to a file that counts,
    its old side is searched after all."""
    body = "".join(f"package_{n} = 1.{n}\n" for n in range(20))
    base = commit(git_repo, {"deps.lock": "# XXX: pinned by hand\n" + body})
    commit(git_repo, {"deps.lock": None, "deps.txt": body})
    change = by_path(collect_json(git_repo, "--base", base))["deps.txt"]
    assert (change["status"], change["old_path"], change["excluded"]) == (
        "renamed",
        "deps.lock",
        False,
    )
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert [(e["path"], e["kinds"]) for e in debt["removed"]] == [("deps.lock", ["XXX"])]


def test_type_changes_binary_files_and_odd_names(git_repo: Path) -> None:
    odd = "sub dir/odd\nname:1.py"
    base = commit(
        git_repo,
        {
            "link.py": "# HACK: a file that becomes a link\n",
            "blob.bin": b"\0\x01# TODO: binary\n",
            "target.py": "t = 1\n",
        },
    )
    commit(
        git_repo,
        {
            "link.py": Symlink("target.py"),
            "blob.bin": b"\0\x02# TODO: binary\n# FIXME: binary\n",
            odd: "x = 1  # TODO: an odd name\n",
            "crlf.py": "y = 2  # noqa: E501\r\n",
        },
    )
    data = by_path(collect_json(git_repo, "--base", base))
    assert data["link.py"]["status"] == "type_changed"
    assert data["blob.bin"]["binary"] is True
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert sorted((e["path"], e["line"], e["kinds"]) for e in debt["added"]) == [
        ("crlf.py", 1, ["noqa"]),
        (odd, 1, ["TODO"]),
    ]
    assert [(e["path"], e["kinds"]) for e in debt["removed"]] == [("link.py", ["HACK"])]


def test_markers_in_strings_and_urls_are_not_debt_in_the_report(git_repo: Path) -> None:
    commit(git_repo, {"README.md": "r\n"})
    git(git_repo, "tag", "phase/1")
    commit(
        git_repo,
        {
            "strings.py": 's = "# TODO: not a comment"\n'
            "t = '// FIXME inside string'\n"
            'url = "http://x/#TODO"\n'
            "# see http://x/#HACK\n"
            "real = 1  # XXX: a comment after code\n",
        },
    )
    debt = context(git_repo, "--no-tests")["technical_debt"]
    assert [(e["path"], e["line"], e["kinds"]) for e in debt["added"]] == [
        ("strings.py", 5, ["XXX"])
    ]


def test_an_empty_range_and_a_stopped_scan(git_repo: Path) -> None:
    from phasectl.model.diff import DiffResult
    from phasectl.repo.debt import DebtScan, phase_debt
    from phasectl.repo.repository import Repository

    head = commit(git_repo, {"a.py": "# TODO: old\n"})
    repo = Repository.open(git_repo)
    empty = DiffResult.from_dict(collect_json(git_repo, "--base", head)["diff"])
    assert phase_debt(repo, empty, DebtScan(repo, head, head)) == {"added": [], "removed": []}
    scan = DebtScan(repo, repo.empty_tree(), head)
    scan.cancel()  # stops git if it still runs; no error
