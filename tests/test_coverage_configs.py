"""The managed run's coverage equals the project's own tool under every configuration style.

Each case commits a small project configured one way, runs ``phasectl collect`` and, in the
same test, the tool the project itself would run: ``coverage run -m pytest`` then
``coverage report`` (``coverage combine`` first for parallel data), or plain ``pytest`` for
projects whose pytest options turn on pytest-cov, whose printed TOTAL is the figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Content, commit, git, run_cli

A = """\
def classify(n):
    if n < 0:
        return "neg"
    elif n == 0:
        return "zero"
    out = []
    for i in range(n):
        if i % 2:
            out.append(i)
    return "pos" if out else "one"


def unused(x):
    y = x + 1
    return y * 2
"""
B = "def add(a, b):\n    return a + b\n"
TEST = """\
from pkg.a import classify
from pkg.b import add


def test_a():
    assert classify(-1) == "neg"
    assert classify(3) == "pos"


def test_b():
    assert add(1, 2) == 3
"""
HEAD = (
    '[project]\nname = "demo"\nversion = "0"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
)

# name: (pytest addopts, extra pyproject text, other files)
STYLES: dict[str, tuple[str, str, dict[str, str]]] = {
    "none": ("", "", {}),
    "source": ("", '[tool.coverage.run]\nsource = ["pkg"]\n', {}),
    "include-omit": ("", '[tool.coverage.run]\ninclude = ["pkg/*"]\nomit = ["pkg/b.py"]\n', {}),
    "branch-on": ("", "[tool.coverage.run]\nbranch = true\n", {}),
    "branch-off-report-omit": (
        "",
        '[tool.coverage.run]\nbranch = false\n[tool.coverage.report]\nomit = ["tests/*"]\n'
        "precision = 2\n",
        {},
    ),
    "coveragerc": (
        "",
        "",
        {".coveragerc": "[run]\nbranch = True\nomit = tests/*\n[report]\nprecision = 3\n"},
    ),
    "setup-cfg": ("", "", {"setup.cfg": "[coverage:run]\nomit =\n    tests/*\n    pkg/b.py\n"}),
    "tox-ini": (
        "",
        "",
        {"tox.ini": "[coverage:run]\nbranch = True\n[coverage:report]\nprecision = 1\n"},
    ),
    "parallel": (
        "",
        "[tool.coverage.run]\nparallel = true\nbranch = true\n"
        '[tool.coverage.report]\nomit = ["tests/*"]\n',
        {},
    ),
    "pytest-cov": ('addopts = "--cov=pkg"\n', "", {}),
    "pytest-cov-bare": ('addopts = "--cov --cov-report=term-missing"\n', "", {}),
    "pytest-cov-branch": (
        'addopts = "--cov=pkg --cov-branch"\n',
        '[tool.coverage.report]\nomit = ["pkg/b.py"]\nprecision = 2\n',
        {},
    ),
    "pytest-cov-rcfile": (
        'addopts = "--cov=pkg --cov-config=cov.rc"\n',
        "",
        {"cov.rc": "[run]\nbranch = True\n[report]\nprecision = 1\nomit = pkg/b.py\n"},
    ),
}


def project(repo: Path, style: str, more: str = "") -> None:
    addopts, pyproject, others = STYLES[style]
    files: dict[str, Content] = {
        "pyproject.toml": HEAD + addopts + "\n" + pyproject + more,
        ".gitignore": "__pycache__/\n.coverage*\n",
        "conftest.py": "",
        "pkg/__init__.py": "",
        "pkg/a.py": A,
        "pkg/b.py": B,
        "pkg/never.py": "def never():\n    return 1\n",
        "tests/test_a.py": TEST,
        **others,
    }
    commit(repo, files, "project")


def tool(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def own_tool_total(repo: Path, style: str, scratch: Path) -> str:
    """The total the project's own tool prints, as text."""
    if style.startswith("pytest-cov"):
        printed = tool(repo, "pytest")
        totals = [line.split()[-1] for line in printed.splitlines() if line.startswith("TOTAL")]
        assert len(totals) == 1, printed
        return totals[0].removesuffix("%")
    data = scratch / "own.coverage"
    tool(repo, "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q")
    if style == "parallel":
        tool(repo, "coverage", "combine", f"--data-file={data}", str(scratch))
    return tool(repo, "coverage", "report", f"--data-file={data}", "--format=total").strip()


@pytest.mark.parametrize("style", sorted(STYLES))
def test_managed_run_equals_the_projects_own_coverage_tool(
    git_repo: Path, tmp_path: Path, style: str
) -> None:
    if style.startswith("pytest-cov"):
        pytest.importorskip("pytest_cov")
    project(git_repo, style)
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "--run-base", "never")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    cov = data["coverage"]["after"]
    scratch = tmp_path / "own"
    scratch.mkdir()
    assert cov["percent_display"] == own_tool_total(git_repo, style, scratch)
    # phasectl never measures itself, whatever the project measures.
    assert not [f["path"] for f in cov["files"] if "phasectl" in f["path"]]
    assert "Warning" not in result.stderr  # nor coverage.py's CoverageWarning


def test_change_is_on_one_basis_with_one_precision(git_repo: Path, tmp_path: Path) -> None:
    # The base measured statements+branches; the head turns branch measurement off. The
    # change must compare lines with lines, every figure at the project's precision.
    project(git_repo, "branch-on", "[tool.coverage.report]\nprecision = 2\n")
    base = git(git_repo, "rev-parse", "HEAD").strip()
    project(git_repo, "branch-off-report-omit")
    commit(git_repo, {"tests/test_a.py": TEST.replace('    assert classify(3) == "pos"\n', "")})
    result = run_cli(
        "--repo", str(git_repo), "collect", "--format", "json", "--base", base,
        "--run-base", "auto", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    cov = json.loads(result.stdout_bytes)["coverage"]
    assert "compared on lines only" in result.stderr
    assert (cov["before"]["basis"], cov["after"]["basis"]) == ("statements+branches", "lines")
    # coverage.py's own figures: lines only at the base, the total at head.
    tool(git_repo, "coverage", "run", f"--data-file={tmp_path / 'h'}", "-m", "pytest")
    head_total = tool(
        git_repo, "coverage", "report", f"--data-file={tmp_path / 'h'}", "--format=total"
    ).strip()
    git(git_repo, "checkout", "--quiet", base)
    tool(git_repo, "coverage", "run", f"--data-file={tmp_path / 'b'}", "-m", "pytest")
    tool(
        git_repo,
        "coverage",
        "json",
        f"--data-file={tmp_path / 'b'}",
        "-o",
        str(tmp_path / "b.json"),
    )
    totals = json.loads((tmp_path / "b.json").read_text())["totals"]
    git(git_repo, "checkout", "--quiet", "main")
    shown = cov["shown"]
    assert cov["basis"] == "lines"
    assert shown["before"] == totals["percent_statements_covered_display"]
    assert shown["after"] == head_total
    assert float(shown["change"]) == pytest.approx(float(head_total) - float(shown["before"]))
    assert len(shown["change"].partition(".")[2]) == len(head_total.partition(".")[2]) == 2
    # The same figures, the same decimals, in the text output.
    text = run_cli("--repo", str(git_repo), "collect", "--base", base, "-q").stdout
    line = f"Coverage: {shown['before']}% -> {head_total}% ({shown['change']} points, lines)"
    assert line in text, text
