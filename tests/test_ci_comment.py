"""The comment's body and the annotations on a larger phase: lists past 10 folded, files
ordered by impact, a body cut to GitHub's length, names that try to inject a workflow
command. The figures come from real Cobertura and JUnit files the report reads (no test
run), on a real repository."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest

from phasectl.ci.comment import MARKER, CommentPlace, LineLinks, comment_body, folded_list
from phasectl.ci.github import github_annotations
from phasectl.model.phase import PhaseMetrics
from phasectl.repo.repository import Repository

from conftest import commit, git, run_cli

PLAIN = [f"pkg/m{n:02}.py" for n in range(12)]
COMMA = "pkg/a,line=1::x%0A.py"
NEWLINE = "pkg/a\n::error::pwned.py"
BIG = "pkg/big.py"
DROP = "pkg/drop.py"
GAIN = "pkg/gain.py"
HOSTILE_TEST = "test_a[%0A::error::pwned,title=x]"
FUNCTION = "\n\ndef f():\n    return 2\n"  # lines 4-5 after "A = 1\n"; 5 never runs


def cobertura(path: Path, root: Path, files: dict[str, dict[int, int]]) -> None:
    """A Cobertura report as coverage.py writes it: hits by line, per file."""
    classes = "".join(
        f'<class name="c" filename={quoteattr(name)} line-rate="0"><lines>'
        + "".join(f'<line number="{n}" hits="{h}"/>' for n, h in sorted(lines.items()))
        + "</lines></class>"
        for name, lines in files.items()
    )
    path.write_text(
        '<?xml version="1.0" ?>\n<coverage version="7" line-rate="0" branch-rate="0">'
        f'<sources><source>{root}</source></sources><packages><package name="pkg">'
        f"<classes>{classes}</classes></package></packages></coverage>\n"
    )


def junit(path: Path, cases: list[tuple[str, bool]]) -> None:
    """A JUnit report as pytest writes it (classname = the test module's dotted path)."""
    body = "".join(
        f'<testcase classname="tests.test_m" name={quoteattr(name)} time="0.01">'
        + ('<failure message="assert 1 == 2">boom</failure>' if failed else "")
        + "</testcase>"
        for name, failed in cases
    )
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}'
                    "</testsuite></testsuites>\n")  # fmt: skip


@pytest.fixture
def phase(git_repo: Path, tmp_path: Path) -> list[str]:
    """A phase that adds an uncovered line to 14 files (two with hostile names), 12
    uncovered ranges to one more, loses coverage in another, gains it in a third, and
    breaks 13 tests (one with a hostile id). Returns report's artifact options."""
    names = [*PLAIN, COMMA, NEWLINE]
    base = dict.fromkeys(names, "A = 1\n")
    base |= {BIG: "A = 1\n", DROP: "A = 1\nB = 2\n", GAIN: "A = 1\nB = 2\n"}
    base["tests/test_m.py"] = "def test_ok():\n    pass\n"
    commit(git_repo, base, "base")
    big = "A = 1\n" + "".join(f"\n\ndef f{n}():\n    return {n}\n" for n in range(12))
    commit(git_repo, {**dict.fromkeys(names, "A = 1\n" + FUNCTION), BIG: big,
                      DROP: "A = 1\nB = 2\n# a comment\n", GAIN: "A = 1\nB = 2\n# more\n"},
           "the phase")  # fmt: skip
    big_lines = {1: 1} | dict.fromkeys(range(4, 4 + 12 * 4, 4), 1)
    big_lines |= {n + 1: 0 for n in range(4, 4 + 12 * 4, 4)}
    cobertura(tmp_path / "base.xml", git_repo,
              {**{n: {1: 1} for n in names}, BIG: {1: 1}, DROP: {1: 1, 2: 1},
               GAIN: {1: 1, 2: 0}})  # fmt: skip
    cobertura(tmp_path / "head.xml", git_repo,
              {**{n: {1: 1, 4: 1, 5: 0} for n in names}, BIG: big_lines,
               DROP: {1: 1, 2: 0}, GAIN: {1: 1, 2: 1}})  # fmt: skip
    tests = [HOSTILE_TEST, *(f"test_p{n:02}" for n in range(12))]
    junit(tmp_path / "base.junit.xml", [(t, False) for t in tests])
    junit(tmp_path / "head.junit.xml", [(t, True) for t in tests])
    return ["--base", "HEAD~", "--name", "big",
            "--results", str(tmp_path / "head.junit.xml"), "--coverage", str(tmp_path / "head.xml"),
            "--base-results", str(tmp_path / "base.junit.xml"),
            "--base-coverage", str(tmp_path / "base.xml")]  # fmt: skip


def commands(text: str) -> list[str]:
    """The lines GitHub's runner reads as workflow commands."""
    return [line for line in text.splitlines() if line.startswith("::")]


def test_annotations_are_capped_and_names_cannot_inject(
    git_repo: Path, phase: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = run_cli("--repo", str(git_repo), "report", *phase, "--annotations", "--stdout")
    assert result.exit_code == 0, result.output
    found = commands(result.stdout)
    warnings = [c for c in found if c.startswith("::warning ")]
    errors = [c for c in found if c.startswith("::error ")]
    notices = [c for c in found if c.startswith("::notice ")]
    assert (len(warnings), len(errors), len(notices)) == (10, 10, 1)
    assert len(found) == 21  # nothing else reads as a command
    # The file with most uncovered lines first, one warning per range.
    assert warnings[0] == (
        "::warning file=pkg/big.py,line=5,title=Missing Coverage::Line 5 missing coverage"
    )
    assert all("file=pkg/big.py," in w for w in warnings)
    (notice,) = notices
    assert notice == (
        "::notice title=More findings::16 uncovered changed ranges and 3 newly failing tests "
        "not annotated: GitHub shows 10 annotations of a kind per step; the phase report "
        "lists them all"
    )
    assert errors[0] == (
        "::error file=tests/test_m.py,title=Newly Failing Test::Test "
        "tests/test_m.py::test_a[%250A::error::pwned,title=x] newly fails: assert 1 == 2"
    )


def test_hostile_file_names_are_escaped_in_annotations(
    git_repo: Path, phase: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Only the hostile files' coverage, so their warnings come first.
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    head = tmp_path / "hostile.xml"
    cobertura(head, git_repo, {COMMA: {1: 1, 4: 1, 5: 0}, NEWLINE: {1: 1, 4: 1, 5: 0}})
    options = [str(head) if o.endswith("head.xml") else o for o in phase]
    result = run_cli("--repo", str(git_repo), "report", *options, "--annotations", "--stdout")
    assert result.exit_code == 0, result.output
    warnings = [c for c in commands(result.stdout) if c.startswith("::warning ")]
    assert warnings == [
        "::warning file=pkg/a%0A%3A%3Aerror%3A%3Apwned.py,line=5,title=Missing Coverage::"
        "Line 5 missing coverage",
        "::warning file=pkg/a%2Cline=1%3A%3Ax%250A.py,line=5,title=Missing Coverage::"
        "Line 5 missing coverage",
    ]
    assert "\n::error::pwned" not in result.stdout


def test_a_refused_comment_keeps_its_warning_visible(
    git_repo: Path, phase: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("GITHUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    result = run_cli("--repo", str(git_repo), "report", *phase, "--annotations", "--comment",
                     "--stdout")  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [c for c in commands(result.output) if c.startswith("::warning")]
    # 9 ranges and the comment's own warning: GitHub shows 10 warnings of a step.
    assert len(warnings) == 10
    assert warnings[-1].startswith("::warning::phasectl --comment: no GITHUB_REPOSITORY")


def collected(repo: Path, phase: list[str]) -> dict[str, Any]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", *phase[:2], *phase[4:])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_the_comment_folds_long_lists_and_orders_files_by_impact(
    git_repo: Path, phase: list[str]
) -> None:
    metrics = PhaseMetrics.from_dict(collected(git_repo, phase))
    links = LineLinks("https://github.example/o/r/blob/" + "f" * 40)
    body = comment_body("big", metrics, None, CommentPlace(links))
    assert body.startswith(MARKER + "\n")
    impacted = body.split("#### Impacted files (17)\n\n")[1].split("\n\n#### ")[0]
    files = re.findall(r"^\| `([^`]*)` \|", impacted, re.MULTILINE)
    # Most uncovered changed lines, then the biggest coverage drop, then path.
    assert files == [BIG, "pkg/a\\n::error::pwned.py", COMMA, *PLAIN, DROP, GAIN]
    assert impacted.count("<details><summary>7 more</summary>") == 1
    assert f"| `{DROP}` | 100.00% → 50.00% (-50.00) | — | 0 |" in impacted
    assert f"| `{GAIN}` | 50.00% → 100.00% (+50.00) | — | 0 |" in impacted
    assert "| `pkg/a,line=1::x%0A.py` | 100.00% → 66.66% (-33.34) | 50.0% (1/2) | 1 |" in impacted

    uncovered = body.split("#### Uncovered changed lines (26 in 15 files)\n\n")[1]
    big = uncovered.splitlines()[0]
    shown = re.findall(r"\[(\d+)\]\((\S+)\)", big)
    assert [n for n, _ in shown] == [str(n) for n in range(5, 45, 4)]  # the first 10 ranges
    assert shown[0][1] == "https://github.example/o/r/blob/" + "f" * 40 + "/pkg/big.py#L5"
    assert uncovered.splitlines()[1:5] == [
        "  <details><summary>2 more</summary>", "",
        "  [45](https://github.example/o/r/blob/" + "f" * 40 + "/pkg/big.py#L45), "
        "[49](https://github.example/o/r/blob/" + "f" * 40 + "/pkg/big.py#L49)", "",
    ]  # fmt: skip
    # Paths in links are percent-encoded: the newline and the comma cannot break the link.
    assert "/pkg/a%0A%3A%3Aerror%3A%3Apwned.py#L5)" in uncovered
    assert "/pkg/a%2Cline%3D1%3A%3Ax%250A.py#L5)" in uncovered
    assert "<details><summary>5 more</summary>" in uncovered  # 15 files: 10 shown

    failing = body.split("#### Newly failing tests (13)\n\n")[1].split("\n\n#### ")[0]
    assert failing.count("\n- ") + 1 == 13
    assert "<details><summary>3 more</summary>" in failing
    assert body.count("<details>") == body.count("</details>")
    assert "\\`" not in body


def test_the_runners_failure_message_is_shown(git_repo: Path, phase: list[str]) -> None:
    # The JUnit files say <failure message="assert 1 == 2">: the reader keeps it, and the
    # comment and the annotations show it beside the test.
    data = collected(git_repo, phase)
    failures = data["tests"]["changes"]["failures"]
    assert failures["tests/test_m.py::test_p00"]["message"] == "assert 1 == 2"
    metrics = PhaseMetrics.from_dict(data)
    body = comment_body("big", metrics)
    assert "- `tests/test_m.py::test_p00`: assert 1 == 2\n" in body
    errors = github_annotations(Repository.open(git_repo), metrics)
    assert (
        "::error file=tests/test_m.py,title=Newly Failing Test::"
        "Test tests/test_m.py::test_p00 newly fails: assert 1 == 2"
    ) in errors


def test_a_long_comment_is_cut_to_githubs_length(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"tests/test_many.py": "def test_ok():\n    pass\n"})
    commit(git_repo, {"tests/test_many.py": "def test_ok():\n    assert False\n"})
    tests = [f"test_{'x' * 400}_{n:04}" for n in range(300)]
    junit(tmp_path / "base.xml", [(t, False) for t in tests])
    junit(tmp_path / "head.xml", [(t, True) for t in tests])
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_REPOSITORY": "o/r", "GITHUB_SERVER_URL": "https://github.example",
           "GITHUB_RUN_ID": "99"}  # fmt: skip
    out = tmp_path / "comment.md"
    result = run_cli_env(
        env, "--repo", str(git_repo), "report", "--base", "HEAD~", "--stdout",
        "--results", str(tmp_path / "head.xml"), "--base-results", str(tmp_path / "base.xml"),
        "--pr-comment", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = out.read_text()
    assert len(body.encode("utf-16-le")) // 2 <= 65536
    assert body.startswith(MARKER + "\n")
    assert "[The job summary](https://github.example/o/r/actions/runs/99) has everything." in body
    assert body.endswith(", measured by phasectl</sub>\n")
    assert body.count("<details>") == body.count("</details>")
    assert "\n\n---\n<sub>Base `HEAD~`" in body


def run_cli_env(env: dict[str, str], *args: str) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("GITHUB_"):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return run_cli(*args)


def test_the_gates_table(git_repo: Path, phase: list[str]) -> None:
    (git_repo / ".phasectl.toml").write_text("[check]\nfail_under = 90\n")
    git(git_repo, "add", ".phasectl.toml")
    result = run_cli("--repo", str(git_repo), "report", *phase, "--gates", "--stdout",
                     "--pr-comment", str(git_repo.parent / "c.md"))  # fmt: skip
    assert result.exit_code == 1
    body = (git_repo.parent / "c.md").read_text()
    assert "#### Gates: 2 of 2 failed\n" in body
    assert "| coverage \\>= 90% | **FAIL** | 61.97% |" in body
    assert "| **Coverage** (lines) | 94.73% | 61.97% | -32.76 points |" in body


def test_a_fold_holds_200_entries_at_most() -> None:
    lines = folded_list([f"`t{n}`" for n in range(250)])
    assert lines[:10] == [f"- `t{n}`" for n in range(10)]
    assert lines[10:13] == ["", "<details><summary>240 more</summary>", ""]
    assert lines[13:213] == [f"- `t{n}`" for n in range(10, 210)]
    assert lines[213:] == ["- … and 40 more, not listed here", "", "</details>"]


@pytest.mark.parametrize(
    ("change", "shown"),
    [("-1", "-1 point"), ("+1", "+1 point"), ("+10", "+10 points"), ("-0.5", "-0.5 points"),
     ("+1.25", "+1.25 points")],
)  # fmt: skip
def test_a_change_of_one_point_is_singular(change: str, shown: str) -> None:
    from phasectl.ci.figures import points

    assert points(change) == shown
