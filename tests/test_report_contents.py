"""What the report says about a real phase: uncovered changed lines, deleted and
parametrized tests, and the technical debt the diff added and paid."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from phasectl.repo.debt import GREP_STRINGS, debt_kinds
from phasectl.report import document

from conftest import by_path, collect_json, commit, git, run_cli
from support.projects import CALC, coverage_report_total, pytest_summary, python_project

SEED = Path(__file__).resolve().parent / "fixtures" / "phase-template.md"


def report(repo: Path, *args: str) -> str:
    result = run_cli("--repo", str(repo), "report", *args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def context(repo: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report(repo, "--stdout", "--format", "json", *args))
    return data


def grep_line(repo: Path, text: str, path: str) -> int:
    """The line of ``text`` in ``path`` at HEAD, as ``git grep -n`` finds it."""
    out = git(repo, "grep", "-n", "-F", "-e", text, "HEAD", "--", path)
    return int(out.splitlines()[0].split(":")[2])


SIGN_TEST = """\
import pytest

from calc import sign


@pytest.mark.parametrize("n", range(-12, 12))
def test_sign(n):
    assert sign(n) in (-1, 0, 1)


def test_alone():
    assert sign(5) == 1
"""


def test_uncovered_lines_deleted_tests_and_parametrized_groups(git_repo: Path) -> None:
    python_project(
        git_repo,
        {
            "test_old.py": "from calc import add\n\ndef test_a():\n    assert add(1, 1) == 2\n\n"
            "def test_b():\n    assert add(2, 2) == 4\n",
            "test_keep.py": "from calc import add\n\ndef test_keep():\n    assert add(0, 0) == 0\n",
        },
    )
    git(git_repo, "tag", "phase/1")
    base_counts = pytest_summary(git_repo, "tests/test_old.py")
    calc = (
        CALC + "\n\ndef half(n):\n    if n % 2:\n        raise ValueError(n)\n    return n // 2\n"
    )
    commit(
        git_repo,
        {"calc.py": calc, "tests/test_old.py": None, "tests/test_sign.py": SIGN_TEST},
    )
    head_counts = pytest_summary(git_repo, "tests/test_sign.py")
    data = context(git_repo)

    # 1. the changed lines no test ran, per file, as ranges
    lines = calc.splitlines()
    # half() is never called: its def line runs at import, its three body lines never do.
    never_run = [lines.index("    if n % 2:") + 1, lines.index("    return n // 2") + 1]
    assert never_run[1] == never_run[0] + 2
    (calc_file,) = data["metrics"]["uncovered_lines"]
    assert calc_file["path"] == "calc.py"
    assert calc_file["uncovered"] == [never_run]
    assert calc_file["missing"] == f"{never_run[0]}-{never_run[1]}"
    text = report(git_repo, "--stdout")
    print(text)  # the rendered report, for a reader of -s output
    assert f"  - `calc.py`: missing lines {never_run[0]}-{never_run[1]}\n" in text
    summary = run_cli("--repo", str(git_repo), "collect", "--run-base", "never")
    assert f"  calc.py: missing lines {never_run[0]}-{never_run[1]}\n" in summary.stdout

    # 2. a deleted test file is listed under Tests Deleted, with pytest's count at the base
    deleted = data["testing_impact"]["deleted"]["items"]
    assert [item["label"] for item in deleted] == ["`tests/test_old.py`"]
    assert deleted[0]["details"].endswith(f", {base_counts['passed']} tests")
    assert "### Tests Deleted\n- `tests/test_old.py` (+0 -7, 2 tests)\n" in text

    # ... and the parametrized cases are one line under their test and file
    added = next(g for g in data["test_results"]["changes"] if g["title"] == "Added")
    assert added["count"] == head_counts["passed"]
    assert [item["label"] for item in added["items"]] == [
        "`tests/test_sign.py::test_alone`",
        f"`tests/test_sign.py::test_sign[…]` \u00d7{head_counts['passed'] - 1}",
    ]
    assert f"**Added ({head_counts['passed']})**\n" in text


def test_debt_the_diff_adds_and_pays(git_repo: Path) -> None:
    commit(
        git_repo,
        {
            "app.py": "# TODO: stays, it is older than the phase\n"
            "def run():\n    return 1  # FIXME: paid in this phase\n",
            "util.py": "X = 1  # TODO: moves to helpers.py\n",
        },
    )
    git(git_repo, "tag", "phase/1")
    commit(
        git_repo,
        {
            "app.py": "# TODO: stays, it is older than the phase\n"
            "def run():\n    return 1\n\n\n"
            "def retry():\n    # TODO: retry on timeout\n    return 2\n",
            "util.py": None,
            "helpers.py": "import os  # noqa: F401\n"
            'X = 1  # TODO: moves to helpers.py\nS = "TODO"\n',
            "tests/test_app.py": "import pytest\n\n\n@pytest.mark.skip(reason='flaky')\n"
            "def test_run():\n    pass\n",
            "web/app.js": "// eslint-disable-next-line no-console\nconsole.log(1);\n",
            "poetry.lock": "# TODO: generated lock files are not debt\n",
        },
    )
    data = context(git_repo, "--no-tests")
    debt = data["technical_debt"]
    found = [(e["path"], e["line"], e["kinds"]) for e in debt["added"]]
    assert sorted(found) == sorted(
        [
            ("app.py", grep_line(git_repo, "# TODO: retry on timeout", "app.py"), ["TODO"]),
            ("helpers.py", grep_line(git_repo, "import os", "helpers.py"), ["noqa"]),
            (
                "tests/test_app.py",
                grep_line(git_repo, "@pytest.mark.skip", "tests/test_app.py"),
                ["pytest skip"],
            ),
            ("web/app.js", grep_line(git_repo, "eslint-disable", "web/app.js"), ["eslint-disable"]),
        ]
    )
    assert [(e["path"], e["kinds"]) for e in debt["removed"]] == [("app.py", ["FIXME"])]
    assert debt["paid_text"] == "1 (1 FIXME)"

    # In the team's seed document (no markers), under its heading, before people's lines.
    path = git_repo / "docs" / "phases" / "2.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(SEED.read_bytes())
    report(git_repo, "--no-tests", "--output", str(path))
    text = path.read_text()
    line = grep_line(git_repo, "# TODO: retry on timeout", "app.py")
    item = f"`app.py` line {line} (TODO): `# TODO: retry on timeout`"
    assert (
        "## Technical Debt Introduced\n<!-- phasectl:begin technical-debt -->\n"
        f"- [ ] {item}\n" in text
    )
    assert "\nPaid this phase: 1 (1 FIXME)\n<!-- phasectl:end technical-debt -->\n" in text
    assert "<!-- phasectl:end technical-debt -->\n- [ ] [Debt item that needs" in text
    # A box a person ticks stays ticked when the report is rendered again.
    path.write_text(text.replace(f"- [ ] {item}", f"- [x] {item}"))
    report(git_repo, "--no-tests", "--output", str(path))
    region = document.region_contents(path.read_text())["technical-debt"]
    assert f"- [x] {item}\n" in region
    assert region.count("- [ ] ") == 3


@pytest.mark.parametrize(
    ("line", "kinds"),
    [
        ("x = 1  # TODO: later", ["TODO"]),
        ("// FIXME(ann): race", ["FIXME"]),
        ("/* HACK */ y();", ["HACK"]),
        ("<!-- XXX: check -->", ["XXX"]),
        ("    # @TODO tidy", ["TODO"]),
        ('s = "TODO"', []),
        ("# see the TODO list", []),
        ("# todo: lower case is a word", []),
        ("import os  # noqa: F401", ["noqa"]),
        ("x: int = y  # type: ignore[assignment]", ["type: ignore"]),
        ("if debug:  # pragma: no cover", ["pragma: no cover"]),
        ("@pytest.mark.skipif(sys.platform == 'win32', reason='x')", ["pytest skip"]),
        ("@pytest.mark.xfail(strict=True)", ["pytest xfail"]),
        ('\tt.Skip("needs docker")', ["t.Skip"]),
        ("func f() { //nolint:errcheck", ["nolint"]),
        ("/* eslint-disable */", ["eslint-disable"]),
        ("x = 1  # TODO: drop  # noqa: E501", ["TODO", "noqa"]),
        ("import os  # NoQA", ["noqa"]),
        ("    pytest.skip('no network')", ["pytest skip"]),
        ("/* eslint-disable-line */", ["eslint-disable"]),
        # In a string literal or a URL, a marker is not in a comment.
        ('s = "# TODO: not a comment"', []),
        ("t = '// FIXME inside string'", []),
        ('url = "http://x/#TODO"', []),
        ("# see https://example.com/page#TODO", []),
        ("see http://x/# TODO", []),
        ("fetch http://x  # TODO: a comment after a URL", ["TODO"]),
        ("x = f'{y}'  # TODO: after a string", ["TODO"]),
        ('printf("%d", n); /* XXX: after a string */', ["XXX"]),
        ("fn f(x: &'a str) { // TODO: a lifetime opens no string", ["TODO"]),
        ("/* the user's */ // FIXME: Bob's", ["FIXME"]),
    ],
)
def test_debt_kinds(line: str, kinds: list[str], tmp_path: Path) -> None:
    assert debt_kinds(line) == kinds
    # git's narrowing (git grep -F, with case) never drops a line that carries debt.
    if kinds:
        (tmp_path / "line.txt").write_text(line + "\n")
        strings = [arg for s in GREP_STRINGS for arg in ("-e", s)]
        found = subprocess.run(
            ["git", "grep", "--no-index", "-c", "-F", *strings, "--", "line.txt"],
            cwd=tmp_path, text=True, capture_output=True,
        )  # fmt: skip
        assert found.stdout.strip() == "line.txt:1", found


def test_the_scanned_debt_is_the_debt_the_whole_patch_holds(git_repo: Path) -> None:
    """git grep finds the marked lines of the changed files at base and at head; renamed
    and copied files are compared as the diff paired them. The debt is the same as read
    from the whole patch, and so is every line number."""
    lines = [f"x{n} = {n}\n" for n in range(40)]
    marked = [f"y{n} = {n}  # TODO: item {n % 3}\n" for n in range(30)]
    other = [f"w{n} = {n}  # TODO: thing {n % 3}\n" for n in range(30)]
    commit(
        git_repo,
        {
            "a.py": "".join(lines), "b.py": "".join(lines), "gone.py": "# HACK: old\n",
            "moved.py": "".join(marked), "edited_move.py": "".join(other),
            "exact_move.py": "# noqa: E501\n" + "".join(lines),
            ".phasectl.toml": "detect_copies = true\n", "source.py": "".join(marked),
        },
    )  # fmt: skip
    base = git(git_repo, "rev-parse", "HEAD").strip()
    more = [*lines[:5], "y = 0\n", *lines[5:]]
    edited = [*other[:3], "z = 1  # TODO: item 1\n", *other[3:20], "# FIXME: new\n", *other[21:]]
    lines[10] = "x10 = 10  # type: ignore\n"
    lines[30] = "x30 = 31  # TODO: check\n"
    commit(
        git_repo,
        {
            "a.py": "".join(lines), "b.py": "".join(more), "gone.py": None,
            "moved.py": None, "sub/moved.py": "".join(marked),
            "edited_move.py": None, "sub/edited.py": "".join(edited),
            "exact_move.py": None, "sub/exact.py": "# noqa: E501\n" + "".join(more),
            "source.py": "".join(marked) + "end = 1\n",
            "copy.py": "".join(marked) + "end = 1\n# XXX: copied\n",
        },
    )  # fmt: skip
    data = collect_json(git_repo, "--base", base)
    assert by_path(data)["sub/edited.py"]["status"] == "renamed"
    assert by_path(data)["copy.py"]["status"] == "copied"
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    added = {(e["path"], e["line"]) for e in debt["added"]}
    assert ("sub/edited.py", 4) in added
    assert ("sub/edited.py", 22) in added
    assert ("copy.py", 32) in added
    assert ("sub/moved.py", 1) not in added
    assert [e["line"] for e in debt["added"] if e["path"] == "a.py"] == [11, 31]


def test_renames_are_read_as_the_whole_diff_paired_them(git_repo: Path) -> None:
    """Among only the renamed paths, git's basename rule pairs dir1/x.py with dir2/x.py
    (x.py is no longer ambiguous there); the whole diff paired them otherwise. The debt
    follows the whole diff's pairs."""
    p = [f"p{n} = {n}  # TODO: p{n % 4}\n" for n in range(20)]
    q = [f"q{n} = {n * 7}\n" for n in range(20)]
    x = p + q
    y = [*p[:2], *(f"a{n}\n" for n in range(6)), *p[8:], *q]
    base = commit(
        git_repo,
        {
            ".phasectl.toml": "rename_similarity = 40\n",
            "dir1/x.py": "".join(x),
            "a/y.py": "".join(y),
        },
    )
    moved = list(x)
    moved[5] = "p5 = 5  # TODO: changed\n"
    edited = list(x)
    for n in (1, 4, 9, 13, 17):
        edited[n] = f"changed{n}  # FIXME\n"
    head = commit(
        git_repo,
        {
            "dir1/x.py": None, "a/y.py": None, "dir3/q.py": "".join(moved),
            "dir2/x.py": "".join(edited), "dir4/x.py": "".join(f"other {n}\n" for n in range(30)),
        },
    )  # fmt: skip
    restricted = git(git_repo, "diff", "-M40%", "--name-status", base, head, "--",
                     "dir1/x.py", "a/y.py", "dir3/q.py", "dir2/x.py")  # fmt: skip
    data = collect_json(git_repo, "--base", base)
    assert by_path(data)["dir2/x.py"]["old_path"] == "a/y.py"
    assert "dir1/x.py\tdir2/x.py" in restricted  # the pairing the fallback is for
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert {e["path"] for e in debt["added"]} == {"dir2/x.py", "dir3/q.py"}


def whole_and_phase_debt(repo_path: Path, base: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The debt as ``report`` finds it, and as read from one whole patch with renames (and
    copies, when the settings detect them)."""
    from phasectl.config import load_config
    from phasectl.model.diff import DiffResult
    from phasectl.patterns import PathPatterns
    from phasectl.repo.debt import DebtScan, collect_debt, phase_debt
    from phasectl.repo.patch import parse_patch
    from phasectl.repo.repository import Repository

    repo = Repository.open(repo_path)
    base = git(repo_path, "rev-parse", base).strip()
    head = git(repo_path, "rev-parse", "HEAD").strip()
    result = DiffResult.from_dict(collect_json(repo_path, "--base", base)["diff"])
    config = load_config(repo_path)
    similarity = f"{config.rename_similarity}%"
    detect = [f"-M{similarity}", *([f"-C{similarity}"] if config.detect_copies else [])]
    whole = parse_patch(repo.run(
        "diff", "-U0", "--no-color", "--diff-algorithm=myers", *detect,
        "--src-prefix=a/", "--dst-prefix=b/", base, head,
    )[1])  # fmt: skip
    scan = DebtScan(repo, base, head, PathPatterns(config.excluded_globs))  # as report does
    return phase_debt(repo, result, scan), collect_debt(whole, result)


def test_a_rename_git_scores_100_percent_can_still_change_a_line(git_repo: Path) -> None:
    """git's similarity hashes chunks of text: these two TODO lines hash alike, so the
    rename scores 100% though a line changed. Its debt still counts."""
    base = commit(
        git_repo, {"mod.py": "def f():\n    return 1\n\n# TODO: handle parser case 10107\n"}
    )
    commit(
        git_repo,
        {
            "mod.py": None,
            "renamed.py": "def f():\n    return 1\n\n# TODO: handle parser case 37070\n",
        },
    )
    change = by_path(collect_json(git_repo, "--base", base))["renamed.py"]
    assert (change["similarity"], change["added"], change["removed"]) == (100, 1, 1)
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert [e["line"] for e in debt["added"]] == [4]


def test_renames_too_many_for_one_command_line_are_searched_in_batches(git_repo: Path) -> None:
    """The changed paths go to git grep in batches (500 paths, 128 KiB at most); here 1,200
    paths of about 170 KiB, so three commands, and the debt is the whole patch's."""
    folder = "a-rather-long-folder-name/" * 4
    files = {
        f"{folder}old_module_{n:04d}.py": f"value_{n} = {n}\n# TODO: item {n}\n" + "x = 1\n" * 8
        for n in range(600)
    }
    base = commit(git_repo, files)
    moved: dict[str, str | None] = dict.fromkeys(files)
    for path, text in files.items():
        moved[path.replace("old_module", "new_module")] = text + "# FIXME: moved\n"
    commit(git_repo, moved)
    data = collect_json(git_repo, "--base", base)
    assert data["diff"]["totals"]["files_renamed"] == 600
    debt, whole = whole_and_phase_debt(git_repo, base)
    assert debt == whole
    assert len(debt["added"]) == 600
    assert {e["kinds"][0] for e in debt["added"]} == {"FIXME"}


def test_moved_suppressions_are_neither_new_nor_paid(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "import os  # noqa: F401\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"a.py": None, "b/c.py": "'''Other.'''\nimport os  # noqa: F401\n"})
    debt = context(git_repo, "--no-tests")["technical_debt"]
    assert (debt["added"], debt["removed"]) == ([], [])
    assert re.search(r"^- none added by this phase's diff$", report(git_repo, "--no-tests",
                     "--stdout"), re.MULTILINE)  # fmt: skip


PIP_COMPILE = """\
#
# This file is autogenerated by pip-compile with Python 3.12
# by the following command:
#
#    pip-compile requirements.in
#
click==8.1.7
    # via -r requirements.in
"""


def test_a_generated_header_marks_the_file_not_authored(git_repo: Path) -> None:
    commit(git_repo, {"README.md": "# App\n"})
    git(git_repo, "tag", "phase/1")
    commit(
        git_repo,
        {
            "requirements.txt": PIP_COMPILE,
            "pill_string.go": "// Code generated by stringer -type=Pill; DO NOT EDIT.\n\n"
            "package pill\n",
            "reader.py": "# Reads files generated by protoc.\nX = 1\n",
        },
    )
    data = context(git_repo, "--no-tests")
    files = {f["label"]: f for g in data["code_changes"]["groups"] for f in g["items"]}
    assert files["`requirements.txt`"] == {
        "label": "`requirements.txt`",
        "details": "+8 -0, not authored",
        "purpose": "",
    }
    assert files["`pill_string.go`"]["details"] == "+3 -0, not authored"
    assert files["`reader.py`"] == {
        "label": "`reader.py`",
        "details": "+2 -0",
        "purpose": "Reads files generated by protoc.",
    }
    # The authored lines are git's count for the one file a person wrote.
    numstat = git(git_repo, "diff", "--numstat", "phase/1", "HEAD", "--", "reader.py")
    authored = int(numstat.split()[0])
    rows = {r["label"]: r["value"] for r in data["metrics"]["measurements"]}
    assert rows["Lines Added"] == f"13 ({authored} authored)"


def coverage_percent(repo: Path) -> float:
    """coverage.py's own total (``coverage json``), for the tests at the checked-out commit."""
    coverage_report_total(repo)  # writes <repo>.json beside the repository
    data = json.loads((repo.parent / f"{repo.name}.json").read_text())
    return float(data["totals"]["percent_covered"])


def test_a_phase_that_only_lost_ground_says_so(git_repo: Path) -> None:
    sign_tests = "from calc import sign\n\ndef test_sign():\n    assert sign(-2) == -1\n"
    add_test = "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    python_project(git_repo, {"test_add.py": add_test, "test_sign.py": sign_tests})
    git(git_repo, "tag", "phase/1")
    before = coverage_percent(git_repo)
    commit(git_repo, {"tests/test_sign.py": None})
    after = coverage_percent(git_repo)
    assert after < before
    headline = context(git_repo)["metrics"]
    # The test went with its deleted file: a removal, but coverage fell, so nothing improved.
    found = re.fullmatch(
        r"none \(tests removed: 1 \(with 1 deleted file\), coverage down "
        r"(\d+(?:\.\d+)?) points?\)",
        headline["improvement"],
    )
    assert found, headline["improvement"]
    # Shown with coverage.py's precision (0 decimals by default), so within half a unit.
    assert float(found.group(1)) == pytest.approx(before - after, abs=0.5)
