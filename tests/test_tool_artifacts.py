"""Artifacts of other ecosystems' tools read as those tools report them: jest, Go.

The fixtures in tests/fixtures/jest were made once by real jest 30.5.2 (see README.md and
HOW-MADE.md there): ``npx jest --coverage`` in the project copied beside them, once in a
local folder and once from /home/runner/work/proj/proj (``ci-checkout``), as a CI runner
would. Every expected figure is parsed from what that jest run printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import commit, run_cli

JEST = Path(__file__).resolve().parent / "fixtures" / "jest"


def jest_summary(folder: Path, what: str) -> tuple[str, int, int]:
    """jest's text-summary line ``Lines : 69.44% ( 25/36 )``: shown percent, covered, total."""
    text = (folder / "jest-stdout.txt").read_text(encoding="utf-8")
    found = re.search(rf"^{what}\s*:\s*([\d.]+)% \( (\d+)/(\d+) \)", text, re.MULTILINE)
    assert found is not None, text
    return found.group(1), int(found.group(2)), int(found.group(3))


def jest_tests(folder: Path) -> dict[str, int]:
    text = (folder / "jest-stderr.txt").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("Tests:"))
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", line)}


@pytest.fixture
def jest_repo(git_repo: Path) -> Path:
    project = JEST / "project"
    files: dict[str, str | None] = {
        path.relative_to(project).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(project.rglob("*"))
        if path.is_file()
    }
    commit(git_repo, files, "jest project")
    return git_repo


def collect(repo: Path, *args: str) -> dict[str, Any]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data


@pytest.mark.parametrize("checkout", ["local", "ci-checkout"])
@pytest.mark.parametrize("artifact", ["cobertura-coverage.xml", "lcov.info"])
def test_jest_coverage_is_jests_lines_figure(
    jest_repo: Path, tmp_path: Path, checkout: str, artifact: str
) -> None:
    folder = JEST if checkout == "local" else JEST / "ci-checkout"
    # Outside the repository, as CI downloads it; its paths name another checkout.
    copy = shutil.copy(folder / artifact, tmp_path / artifact)
    data = collect(jest_repo, "--coverage", str(copy), "--run-base", "never")
    cov = data["coverage"]["after"]
    shown, covered, total = jest_summary(folder, "Lines")
    assert (cov["lines_covered"], cov["lines_total"]) == (covered, total)
    assert float(cov["percent_display"]) == float(shown)
    assert cov["basis"] == "lines"
    _, branches_covered, branches_total = jest_summary(folder, "Branches")
    assert (cov["branches_covered"], cov["branches_total"]) == (branches_covered, branches_total)
    assert sorted(f["path"] for f in cov["files"]) == [
        "src/grade.js",
        "src/math.js",
        "src/strings.js",
    ]


def test_jest_junit_counts_are_jests(jest_repo: Path, tmp_path: Path) -> None:
    copy = shutil.copy(JEST / "ci-checkout" / "junit.xml", tmp_path / "junit.xml")
    data = collect(jest_repo, "--junit", str(copy), "--run-base", "never")
    after, printed = data["tests"]["after"], jest_tests(JEST / "ci-checkout")
    assert (after["passed"], after["failed"], after["skipped"], after["total"]) == (
        printed["passed"],
        printed["failed"],
        printed["skipped"],
        printed["total"],
    )


GO_CODE = """\
package calc

func Sign(n int) int {
\tif n < 0 {
\t\treturn -1
\t}
\tif n == 0 {
\t\treturn 0
\t}
\treturn 1
}

func Unused(a, b int) int {
\tc := a + b
\tc = c * 2
\treturn c
}
"""
GO_TEST = """\
package calc

import "testing"

func TestSign(t *testing.T) {
\tif Sign(-2) != -1 {
\t\tt.Fatal("bad")
\t}
}
"""


def test_go_coverprofile_total_is_go_tool_covers(git_repo: Path, tmp_path: Path) -> None:
    # Made by the real go toolchain in this test: statements, shown with 1 decimal.
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed")
    files = {"go.mod": "module example.com/calc\n\ngo 1.20\n", "calc.go": GO_CODE}
    commit(git_repo, {**files, "calc_test.go": GO_TEST}, "go project")
    profile = tmp_path / "c.out"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOCACHE": str(tmp_path / "gocache")}
    run = [go, "test", f"-coverprofile={profile}", "./..."]
    subprocess.run(run, cwd=git_repo, env=env, check=True, capture_output=True)
    func = subprocess.run(
        [go, "tool", "cover", f"-func={profile}"],
        cwd=git_repo, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    total = func.strip().splitlines()[-1].split()[-1].removesuffix("%")
    data = collect(git_repo, "--coverage", str(profile), "--run-base", "never")
    assert data["coverage"]["after"]["percent_display"] == total
