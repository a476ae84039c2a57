"""Artifacts mode: JUnit XML and coverage files from any runner, shards merged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phasectl.collectors.artifacts import read_coverage
from phasectl.errors import PhasectlError
from phasectl.readers.files import expand_globs
from phasectl.readers.formats import detect_format
from phasectl.readers.junit import read_junit

from conftest import git, run_cli
from support.projects import CALC, PYPROJECT, pytest_summary, python_project

JUNIT_TESTS = """\
import pytest
from calc import add, sign


def test_add():
    assert add(2, 3) == 5


def test_sign_zero():
    assert sign(0) == 0


def test_broken():
    assert add(1, 1) == 3


@pytest.mark.skip(reason="later")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert sign(5) == 0


@pytest.fixture
def broken():
    raise RuntimeError("no database")


def test_needs_database(broken):
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "calc.py").write_text(CALC)
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(JUNIT_TESTS)
    return root


def run_tool(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=root, capture_output=True, text=True, check=False
    )


# --- JUnit -------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_pytest_junit_equals_pytest_summary(project: Path, family: str) -> None:
    run_tool(
        project, "pytest", "-q", f"--junitxml={project / 'out.xml'}", f"-o=junit_family={family}"
    )
    results = read_junit([project / "out.xml"], project)
    expected = pytest_summary(project)
    assert expected == {
        "passed": 2, "failed": 1, "skipped": 1, "xfailed": 1, "xpassed": 0, "errors": 1,
    }  # fmt: skip
    got = results.to_dict()
    assert {k: got[k] for k in expected} == expected
    ids = {c.id: c.outcome for c in results.cases}
    # pytest's node ids, in either family (xunit1 names the file, xunit2 does not).
    assert ids["tests/test_calc.py::test_needs_database"] == "error"
    assert ids["tests/test_calc.py::test_known_bug"] == "xfailed"
    assert results.duration_s is not None


GOTESTSUM = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1" errors="0" time="1.500">
  <testsuite tests="2" failures="0" time="0.500" name="example.com/app/store">
    <testcase classname="example.com/app/store" name="TestPut" time="0.100"></testcase>
    <testcase classname="example.com/app/store" name="TestGet" time="0.200">
      <skipped message="needs network"></skipped>
    </testcase>
  </testsuite>
  <testsuite tests="2" failures="1" time="1.000" name="example.com/app/api">
    <testcase classname="example.com/app/api" name="TestServe" time="0.300"></testcase>
    <testcase classname="example.com/app/api" name="TestServe/bad_input" time="0.010">
      <failure message="Failed" type="">api_test.go:20: want 400, got 500</failure>
    </testcase>
  </testsuite>
</testsuites>
"""

SUREFIRE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.CartTest" time="0.25" tests="4" errors="1" skipped="1" failures="0">
  <properties><property name="java.version" value="17"/></properties>
  <testcase name="addsItem" classname="com.acme.CartTest" time="0.01"/>
  <testcase name="flakyTotal" classname="com.acme.CartTest" time="0.02">
    <flakyFailure message="expected 3" type="org.opentest4j.AssertionFailedError"/>
  </testcase>
  <testcase name="checkout" classname="com.acme.CartTest" time="0.2">
    <error message="boom" type="java.lang.IllegalStateException">stack</error>
  </testcase>
  <testcase name="legacy" classname="com.acme.CartTest" time="0">
    <skipped/>
  </testcase>
</testsuite>
"""

JEST = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="2.1">
  <testsuite name="cart" errors="0" failures="1" skipped="0" time="1.2" tests="2">
    <testcase classname="cart adds items" name="cart adds items" time="0.003"/>
    <testcase classname="cart totals" name="cart totals" time="0.004">
      <failure>Error: expect(received).toBe(expected)</failure>
    </testcase>
  </testsuite>
  <testsuite name="ui" tests="1" time="0.9">
    <testsuite name="ui nested" tests="1">
      <testcase classname="ui renders" name="ui renders" time="0.5"/>
    </testsuite>
  </testsuite>
</testsuites>
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_gotestsum(tmp_path: Path) -> None:
    results = read_junit([write(tmp_path / "go.xml", GOTESTSUM)])
    assert (results.passed, results.failed, results.skipped) == (2, 1, 1)
    assert results.duration_s == 1.5
    outcomes = {c.id: c.outcome for c in results.cases}
    assert outcomes["example.com/app/api::TestServe/bad_input"] == "failed"
    assert outcomes["example.com/app/store::TestGet"] == "skipped"


def test_surefire_flaky_failure_still_passes(tmp_path: Path) -> None:
    results = read_junit([write(tmp_path / "TEST-com.acme.CartTest.xml", SUREFIRE)])
    outcomes = {c.id: c.outcome for c in results.cases}
    assert outcomes == {
        "com.acme.CartTest::addsItem": "passed",
        "com.acme.CartTest::flakyTotal": "passed",
        "com.acme.CartTest::checkout": "error",
        "com.acme.CartTest::legacy": "skipped",
    }
    assert results.duration_s == 0.25


def test_jest_junit_with_nested_suites(tmp_path: Path) -> None:
    results = read_junit([write(tmp_path / "junit.xml", JEST)])
    assert (results.passed, results.failed, results.total) == (2, 1, 3)
    assert "ui renders::ui renders" in {c.id for c in results.cases}


def test_shards_merge_by_id_worst_outcome_wins(tmp_path: Path) -> None:
    shard_a = write(
        tmp_path / "a.xml",
        '<testsuite time="1.0"><testcase classname="m" name="t1" time="0.5"/>'
        '<testcase classname="m" name="t2"/></testsuite>',
    )
    shard_b = write(
        tmp_path / "b.xml",
        '<testsuite time="2.0"><testcase classname="m" name="t1" time="0.25"><failure/>'
        '</testcase><testcase classname="m" name="t3"/></testsuite>',
    )
    results = read_junit([shard_a, shard_b])
    assert [(c.id, c.outcome) for c in results.cases] == [
        ("m::t1", "failed"),
        ("m::t2", "passed"),
        ("m::t3", "passed"),
    ]
    assert (results.passed, results.failed, results.total) == (2, 1, 3)
    assert results.duration_s == 3.0
    assert results.cases[0].duration_s == 0.75


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<{root}><testcase name="&lol9;"/></{root}>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<{root}><testcase name="&x;"/></{root}>
"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b'<testsuite><testcase name="a"', "not well-formed XML"),
        (b"<testsuite><testcase></testsuite>", "not well-formed XML"),
        (b"<html><body/></html>", "is not JUnit XML (root element <html>)"),
        (BOMB.format(root="testsuite").encode(), "refused"),
        (EXTERNAL.format(root="testsuite").encode(), "refused"),
    ],
)
def test_bad_junit_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path / "report.xml", content)
    started = time.monotonic()
    with pytest.raises(PhasectlError) as caught:
        read_junit([path])
    assert time.monotonic() - started < 1.0
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_missing_junit_and_empty_glob(tmp_path: Path) -> None:
    with pytest.raises(PhasectlError, match="does not exist"):
        read_junit([tmp_path / "nope.xml"])
    with pytest.raises(PhasectlError, match=r"'reports/\*\.xml' matched no file"):
        expand_globs(["reports/*.xml"], tmp_path)
    write(tmp_path / "reports" / "deep" / "b.xml", "x")
    write(tmp_path / "reports" / "a.xml", "x")
    found = expand_globs(["reports/**/*.xml", str(tmp_path / "reports" / "a.xml")], tmp_path)
    assert found == [tmp_path / "reports" / "a.xml", tmp_path / "reports" / "deep" / "b.xml"]


# --- coverage ----------------------------------------------------------------------


def measure(project: Path, name: str, *pytest_args: str) -> Path:
    data = project / name
    run_tool(project, "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q", *pytest_args)
    return data


def coverage_json(project: Path, data: Path) -> dict[str, int]:
    out = project / "cov.json"
    run_tool(project, "coverage", "json", f"--data-file={data}", "-o", str(out))
    totals: dict[str, int] = json.loads(out.read_text())["totals"]
    return totals


def test_coveragepy_data_equals_coverage_report(project: Path) -> None:
    data = measure(project, ".coverage")
    summary, lines = read_coverage([data], project)
    totals = coverage_json(project, data)
    report = run_tool(project, "coverage", "report", f"--data-file={data}", "--format=total")
    assert summary.percent_display == report.stdout.strip()
    assert (summary.lines_covered, summary.lines_total) == (
        totals["covered_lines"],
        totals["num_statements"],
    )
    assert (summary.branches_covered, summary.branches_total) == (
        totals["covered_branches"],
        totals["num_branches"],
    )
    assert set(lines) == {"calc.py"}
    # The same data as Cobertura XML and LCOV, written by coverage.py itself, reads the same.
    run_tool(project, "coverage", "xml", f"--data-file={data}", "-o", "cov.xml")
    run_tool(project, "coverage", "lcov", f"--data-file={data}", "-o", "cov.info")
    for artifact, kind in (("cov.xml", "cobertura"), ("cov.info", "lcov")):
        assert detect_format(project / artifact) == kind
        other, other_lines = read_coverage([project / artifact], project)
        assert (other.lines_covered, other.lines_total) == (
            totals["covered_lines"],
            totals["num_statements"],
        ), artifact
        assert other_lines["calc.py"].covered == lines["calc.py"].covered
        assert other_lines["calc.py"].statements == lines["calc.py"].statements


def test_coveragepy_shards_combine_like_coverage_combine(project: Path) -> None:
    first = measure(project, "shard1.cov", "-k", "add")
    second = measure(project, "shard2.cov", "-k", "sign_zero")
    combined = project / "all.cov"
    run_tool(
        project, "coverage", "combine", "--keep", f"--data-file={combined}", str(first), str(second)
    )
    expected = coverage_json(project, combined)
    summary, _ = read_coverage([first, second], project)
    assert (summary.lines_covered, summary.lines_total) == (
        expected["covered_lines"],
        expected["num_statements"],
    )
    alone = [read_coverage([shard], project)[0].lines_covered for shard in (first, second)]
    assert summary.lines_covered > max(alone)
    assert first.exists()
    assert second.exists()


def test_lcov_and_cobertura_shards_are_a_union(project: Path) -> None:
    first = measure(project, "s1.cov", "-k", "add")
    second = measure(project, "s2.cov", "-k", "sign_zero")
    both = project / "both.cov"
    run_tool(
        project, "coverage", "combine", "--keep", f"--data-file={both}", str(first), str(second)
    )
    expected = coverage_json(project, both)
    for tool, suffix in (("lcov", "info"), ("xml", "xml")):
        shards = []
        for shard in (first, second):
            out = project / f"{shard.stem}.{suffix}"
            run_tool(project, "coverage", tool, f"--data-file={shard}", "-o", str(out))
            shards.append(out)
        summary, _ = read_coverage(shards, project)
        assert summary.lines_covered == expected["covered_lines"], tool
        assert summary.lines_total == expected["num_statements"], tool
        singles = [read_coverage([s], project)[0].percent for s in shards]
        assert summary.percent != pytest.approx(sum(singles))
        assert summary.percent != pytest.approx(sum(singles) / 2)


def test_go_coverprofile(tmp_path: Path) -> None:
    write(tmp_path / "go.mod", "module example.com/shop\n\ngo 1.22\n")
    write(tmp_path / "cart" / "cart.go", "package cart\n" * 20)
    profile = write(
        tmp_path / "cover.out",
        "mode: set\n"
        "example.com/shop/cart/cart.go:3.20,5.2 2 1\n"
        "example.com/shop/cart/cart.go:7.10,9.3 1 0\n"
        "example.com/shop/cart/cart.go:7.10,9.3 1 1\n"
        "example.com/shop/cart/cart.go:11.1,12.2 1 0\n",
    )
    assert detect_format(profile) == "go"
    summary, lines = read_coverage([profile], tmp_path)
    assert set(lines) == {"cart/cart.go"}
    assert lines["cart/cart.go"].statements == frozenset({3, 4, 5, 7, 8, 9, 11, 12})
    assert lines["cart/cart.go"].covered == frozenset({3, 4, 5, 7, 8, 9})
    # The totals count statements, each block once, as go tool cover does (compared with
    # the real tool in test_tool_artifacts.py).
    summary, _ = read_coverage([profile], tmp_path)
    assert (summary.lines_covered, summary.lines_total) == (3, 4)
    assert summary.basis == "statements"


def test_branch_data_mixed_with_lcov_warns(project: Path) -> None:
    # coverage.py counts statements and branches; merged with LCOV the total counts lines.
    data = measure(project, ".coverage")
    run_tool(project, "coverage", "lcov", f"--data-file={data}", "-o", "cov.info")
    report = run_tool(project, "coverage", "report", f"--data-file={data}", "--format=total")
    totals = coverage_json(project, data)
    warnings: list[str] = []
    summary, _ = read_coverage([data, project / "cov.info"], project, warnings=warnings)
    assert summary.basis == "lines"
    assert (summary.lines_covered, summary.lines_total) == (
        totals["covered_lines"],
        totals["num_statements"],
    )
    covered = totals["covered_lines"] + totals["covered_branches"]
    total = totals["num_statements"] + totals["num_branches"]
    assert warnings == [
        "coverage mixes coverage.py data (counted in statements and branches) with LCOV "
        "(counted in lines): the total counts the lines of all files, not statements and "
        f"branches; the coverage.py data alone give {report.stdout.strip()}% of statements "
        f"and branches ({covered}/{total}), as coverage report counts them"
    ]
    warnings.clear()
    read_coverage([data], project, warnings=warnings)
    read_coverage([project / "cov.info"], project, warnings=warnings)
    assert warnings == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (".coverage", b"", "is empty"),
        ("noise.dat", bytes(range(256)) * 4, "is not a coverage file"),
        (
            "cov.xml",
            b'<coverage><packages><package><classes><class filename="calc.py"',
            "well-formed",
        ),
        ("cov.xml", BOMB.format(root="coverage").encode(), "refused"),
        ("cov.info", b"TN:\nSF:calc.py\nDA:x,1\nend_of_record\n", "line 3"),
        ("cov.info", b"TN:\nSF:calc.py\nDA:1,1\n", "no end_of_record"),
        ("cover.out", b"mode: set\ncalc.go:1.1 oops\n", "cover.out:2"),
    ],
)
def test_bad_coverage_is_a_clear_error(
    project: Path, name: str, content: bytes, message: str
) -> None:
    path = write(project / name, content)
    with pytest.raises(PhasectlError) as caught:
        read_coverage([path], project)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_coverage_from_another_project(project: Path, tmp_path: Path) -> None:
    data = measure(project, ".coverage")
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(PhasectlError, match="does not match any file of this project"):
        read_coverage([data], other)
    run_tool(project, "coverage", "lcov", f"--data-file={data}", "-o", "cov.info")
    with pytest.raises(PhasectlError, match="does not match any file of this project"):
        read_coverage([project / "cov.info"], other)


def test_coverage_measured_in_another_checkout_is_remapped(project: Path, tmp_path: Path) -> None:
    # Measured on CI at another path, read in this checkout: the files are this project's.
    data = measure(project, ".coverage").rename(tmp_path / "ci.coverage")
    expected = run_tool(project, "coverage", "report", f"--data-file={data}", "--format=total")
    checkout = tmp_path / "checkout"
    shutil.copytree(project, checkout)
    shutil.rmtree(project)  # the CI machine is gone
    summary, lines = read_coverage([data], checkout)
    assert set(lines) == {"calc.py"}
    assert summary.percent_display == expected.stdout.strip()


def test_missing_coverage_file(project: Path) -> None:
    with pytest.raises(PhasectlError, match="does not exist"):
        read_coverage([project / "absent.xml"], project)


# --- the CLI in artifacts mode -------------------------------------------------------


def test_collect_reads_artifacts_without_running_tests(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": "def test_one():\n    pass\n"})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": JUNIT_TESTS})
    reports = git_repo.parent / "reports"
    reports.mkdir()
    for shard, selection in (("a", "add or broken"), ("b", "not (add or broken)")):
        run_tool(
            git_repo, "coverage", "run", f"--data-file={reports / f'{shard}.cov'}", "-m",
            "pytest", "-q", "-k", selection, f"--junitxml={reports / f'{shard}.xml'}",
        )  # fmt: skip
    result = run_cli(
        "--repo", str(git_repo), "collect", "--format", "json", "--run-base", "never",
        "--junit", str(reports / "*.xml"), "--coverage", str(reports / "a.cov"),
        "--coverage", str(reports / "b.cov"),
        "--base-junit", str(reports / "a.xml"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Warning" not in result.stderr
    data = json.loads(result.stdout_bytes)
    after = data["tests"]["after"]
    assert (after["passed"], after["failed"], after["errors"], after["skipped"]) == (2, 1, 1, 1)
    assert after["source"] == "artifacts"
    assert data["tests"]["before"]["source"] == "artifacts"
    assert data["tests"]["before"]["total"] == 2
    assert data["coverage"]["after"]["lines_total"] > 0
    assert data["coverage"]["before"] is None


def test_collect_with_a_glob_matching_nothing(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": JUNIT_TESTS})
    result = run_cli("--repo", str(git_repo), "collect", "--junit", "nothing/*.xml")
    assert result.exit_code == 2
    assert "matched no file" in result.stderr
