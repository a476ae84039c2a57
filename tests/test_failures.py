"""Failure messages and places of newly failing tests, from each source as its tool wrote them.

``metrics.tests["changes"]["failures"][test_id]`` holds ``message`` (the first line),
``file`` and ``line``, each only when known: the pull-request comment and the annotations
read them there. Each test compares with the real tool's own output of the same run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as ET

from conftest import commit, run_cli
from support.go_tools import GO_ENV, need, run, run_to_file
from support.projects import python_project

PASSING = """\
import pytest
from tests.helper import check


def test_ok():
    pass


def test_fail():
    x = 4
    assert x == 4


def test_helper():
    check(1)


@pytest.fixture
def database():
    return "up"


def test_needs_database(database):
    pass


class TestK:
    def test_m(self):
        pass
"""
FAILING = (
    PASSING.replace("x = 4", "x = 3")
    .replace("check(1)", "check(2)")
    .replace('return "up"', 'raise RuntimeError("no database\\nsecond line")')
    .replace("        pass\n", '        raise ValueError("multi\\nline")\n')
)
HELPER = 'def check(x):\n    assert x == 1, "helper says no"\n'


def collect(repo: Path, *args: str) -> dict[str, Any]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", "-q", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data


def junit_failures(path: Path) -> dict[str, ET.Element]:
    """pytest's own JUnit XML (xunit1): each failing case's <failure>/<error>, by node id."""
    found = {}
    for case in ET.parse(path).iter("testcase"):
        problem = next((c for c in case if c.tag in ("failure", "error")), None)
        if problem is not None:
            classes = case.attrib["classname"].split(".")[2:]  # tests.test_a[.TestK]
            node = "::".join([case.attrib["file"], *classes, case.attrib["name"]])
            found[node] = problem
    return found


def test_pytest_failures_are_pytests_own(git_repo: Path, tmp_path: Path) -> None:
    files = {"__init__.py": "", "helper.py": HELPER}
    python_project(git_repo, {"test_a.py": PASSING, **files})
    python_project(git_repo, {"test_a.py": FAILING, **files})
    junit = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", f"--junitxml={junit}", "-o", "junit_family=xunit1"],
        cwd=git_repo, capture_output=True, check=False,
    )  # fmt: skip
    expected = junit_failures(junit)
    assert len(expected) == 4

    managed = collect(git_repo, "--base", "HEAD~1", "--run-base", "always")
    changes = managed["tests"]["changes"]
    assert sorted(changes["failures"]) == changes["newly_failing"] == sorted(expected)
    source = (git_repo / "tests" / "test_a.py").read_text().splitlines()
    for node, problem in expected.items():
        failure = changes["failures"][node]
        # The first line of pytest's own message, and the test's file as pytest names it.
        assert failure["message"] == problem.attrib["message"].splitlines()[0].strip()
        assert failure["file"] == "tests/test_a.py"
        # The line is the test file's line the traceback last passes through: pytest's
        # text names it as "tests/test_a.py:NN:".
        lines = re.findall(r"^tests/test_a\.py:(\d+):", problem.text or "", re.MULTILINE)
        assert failure["line"] == int(lines[-1])
    assert source[changes["failures"]["tests/test_a.py::test_fail"]["line"] - 1].strip() == (
        "assert x == 4"
    )
    assert source[changes["failures"]["tests/test_a.py::test_helper"]["line"] - 1].strip() == (
        "check(2)"
    )
    assert changes["failures"]["tests/test_a.py::test_needs_database"]["message"].startswith(
        'failed on setup with "RuntimeError: no database'
    )
    # The cases after carry the same details; a passing case carries none.
    cases = {c["id"]: c for c in managed["tests"]["after"]["cases"]}
    assert set(cases["tests/test_a.py::test_ok"]) == {"id", "outcome", "duration_s"}

    # The same run's JUnit XML read with --results says the same.
    from_junit = collect(git_repo, "--results", str(junit), "--base", "HEAD~1")
    assert from_junit["tests"]["changes"]["failures"] == changes["failures"]


GO_PASSING = """\
package calc

import "testing"

func TestAdd(t *testing.T) {
\tt.Log("checking add")
\tif got := 1 + 2; got != 3 {
\t\tt.Errorf("want 3, got %d\\nmore detail", got)
\t}
}

func TestTable(t *testing.T) {
\tt.Run("ok", func(t *testing.T) {})
\tt.Run("bad", func(t *testing.T) {
\t\tif 2 > 3 {
\t\t\tt.Fatal("boom")
\t\t}
\t})
}

func TestPanics(t *testing.T) {
\tm := map[string]int{}
\tm["a"] = 1
}

func TestFine(t *testing.T) {}
"""
GO_FAILING = (
    GO_PASSING.replace("1 + 2", "1 + 3")
    .replace("2 > 3", "3 > 2")
    .replace("m := map[string]int{}", "var m map[string]int")
)


def test_go_failures_are_go_tests_own(git_repo: Path, tmp_path: Path) -> None:
    need("go")
    module = {"go.mod": "module example.com/calc\n\ngo 1.18\n"}
    commit(git_repo, {**module, "calc/calc_test.go": GO_PASSING}, "base")
    base = run_to_file(["go", "test", "-json", "./..."], git_repo, tmp_path / "base.json")
    commit(git_repo, {"calc/calc_test.go": GO_FAILING}, "head")
    head = run_to_file(["go", "test", "-json", "./..."], git_repo, tmp_path / "head.json")
    verbose = run(["go", "test", "-v", "-count=1", "./..."], git_repo)

    data = collect(
        git_repo, "--results", str(head), "--base-results", str(base), "--base", "HEAD~1"
    )
    changes = data["tests"]["changes"]
    failures = changes["failures"]
    package = "example.com/calc/calc"
    assert changes["newly_failing"] == sorted(
        f"{package}.{name}" for name in ("TestAdd", "TestPanics", "TestTable", "TestTable/bad")
    )
    source = GO_FAILING.splitlines()
    for name, statement in (("TestAdd", "t.Errorf"), ("TestTable/bad", "t.Fatal")):
        failure = failures[f"{package}.{name}"]
        assert failure["file"] == "calc/calc_test.go"
        # go test -v prints the same line: "    calc_test.go:NN: text".
        assert f"calc_test.go:{failure['line']}: {failure['message']}\n" in verbose
        assert source[failure["line"] - 1].strip().startswith(statement)
    # The last reported line counts: go prints t.Log's line like t.Error's, logs come first.
    assert failures[f"{package}.TestAdd"]["message"] == "want 3, got 4"
    # A parent that failed through a subtest says what the subtest said.
    assert failures[f"{package}.TestTable"] == failures[f"{package}.TestTable/bad"]
    panicked = failures[f"{package}.TestPanics"]
    assert panicked["message"] == next(
        line for line in verbose.splitlines() if line.startswith("panic: ")
    )
    assert source[panicked["line"] - 1].strip() == 'm["a"] = 1'

    # gotestsum's JUnit of a run holds the test output with the message "Failed".
    if shutil.which("gotestsum"):
        junit = tmp_path / "gotestsum.xml"
        subprocess.run(
            ["gotestsum", f"--junitfile={junit}", "--", "./..."],
            cwd=git_repo, env=GO_ENV, capture_output=True, check=False,
        )  # fmt: skip
        from_junit = collect(git_repo, "--results", str(junit), "--run-base", "never")
        cases = {c["id"]: c for c in from_junit["tests"]["after"]["cases"]}
        for name in ("TestAdd", "TestTable/bad"):
            details = {k: cases[f"{package}::{name}"].get(k) for k in ("message", "file", "line")}
            assert details == failures[f"{package}.{name}"]


def test_details_from_notes_are_checked() -> None:
    """A snapshot is untrusted: details of the wrong type are dropped, messages bounded."""
    from phasectl.model.results import MESSAGE_LIMIT, TestCase

    case = TestCase.from_dict(
        {"id": "t", "outcome": "failed", "message": "x" * 5000 + "\nmore", "file": 3, "line": -2}
    )
    assert case.message is not None
    assert len(case.message) == MESSAGE_LIMIT
    assert (case.file, case.line) == (None, None)
    old = TestCase.from_dict({"id": "t", "outcome": "passed", "duration_s": 0.1})
    assert old.to_dict() == {"id": "t", "outcome": "passed", "duration_s": 0.1}
