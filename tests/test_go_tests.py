from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from phasectl.errors import PhasectlError
from phasectl.readers.go_tests import GoTestRun, read_go_test_json

from support.go_tools import need, run, run_to_file, svc, svc_test_json, write_tree  # noqa: F401 (fixtures)

DONE = re.compile(r"^DONE (\d+) tests?(?:, (\d+) skipped)?(?:, (\d+) failures?)?", re.M)


def simple_counts(path: Path) -> Counter[str]:
    """Count end events of tests straight from the JSON, independently of the reader."""
    counts: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("Test") and event["Action"] in ("pass", "fail", "skip"):
                counts[event["Action"]] += 1
    return counts


def gotestsum_done(path: Path) -> tuple[int, int, int] | None:
    """gotestsum's own summary of a saved stream: (tests, skipped, failures)."""
    if shutil.which("gotestsum") is None:
        return None
    out = run(["gotestsum", "--raw-command", "--", "cat", str(path)], path.parent, (0, 1))
    match = DONE.search(out)
    assert match, out
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


def check_against_gotestsum(path: Path, result: GoTestRun) -> None:
    done = gotestsum_done(path)
    if done is not None:
        failures = result.failed + len(result.failed_packages)
        assert done == (result.total, result.skipped, failures)


def test_counts_match_go_and_gotestsum(svc: Path, svc_test_json: Path) -> None:
    result = read_go_test_json(svc_test_json)

    counts = simple_counts(svc_test_json)
    assert (result.passed, result.failed, result.skipped) == (
        counts["pass"],
        counts["fail"],
        counts["skip"],
    )
    verbose = run(["go", "test", "-v", "-count=1", "./..."], svc)
    marks = Counter(re.findall(r"^\s*--- (PASS|FAIL|SKIP): ", verbose, re.M))
    assert marks == Counter(PASS=result.passed, FAIL=result.failed, SKIP=result.skipped)

    # api 1 + store 11 (parents and subtests each count) + mainexit 1
    assert (result.total, result.passed, result.failed, result.skipped) == (13, 9, 2, 2)
    assert result.total == result.passed + result.failed + result.skipped
    assert result.failed_packages == ("example.com/svc/mainexit",)
    outcomes = {case.id: case.outcome for case in result.tests}
    assert outcomes["example.com/svc/store.TestTable/nested/deep"] == "pass"
    assert outcomes["example.com/svc/store.TestTable"] == "pass"
    assert outcomes["example.com/svc/store.TestFails/bad"] == "fail"
    assert outcomes["example.com/svc/store.TestFails"] == "fail"
    assert outcomes["example.com/svc/store.TestTable/skipme"] == "skip"
    assert all(case.duration_s >= 0 for case in result.tests)
    assert result.duration_s > 0
    check_against_gotestsum(svc_test_json, result)


def test_count_flag_counts_each_run(svc: Path, tmp_path: Path) -> None:
    stream = run_to_file(["go", "test", "-json", "-count=3", "./api/"], svc, tmp_path / "t.json")
    result = read_go_test_json(stream)
    assert (result.total, result.passed) == (3, 3)
    check_against_gotestsum(stream, result)


def test_gotestsum_junit_of_a_repeated_run_counts_every_run(svc: Path, tmp_path: Path) -> None:
    """gotestsum writes one <testcase> per run of a test: within one JUnit file each counts,
    as in the JSON stream of the same run and in gotestsum's own summary."""
    from phasectl.readers.formats import read_results
    from phasectl.readers.junit import read_junit

    need("gotestsum")
    junit, stream = tmp_path / "junit.xml", tmp_path / "run.json"
    printed = run(
        ["gotestsum", f"--junitfile={junit}", f"--jsonfile={stream}", "--", "-count=2",
         "./store/", "./api/"],
        svc,
    )  # fmt: skip
    done = DONE.search(printed)
    assert done is not None, printed
    from_stream = read_results([stream])
    from_junit = read_junit([junit])
    assert from_junit.total == from_stream.total == int(done.group(1))
    assert from_junit.total == 2 * len(from_junit.cases)  # every test ran twice
    for key in ("passed", "failed", "skipped"):
        assert getattr(from_junit, key) == getattr(from_stream, key)
    assert from_junit.skipped == int(done.group(2) or 0)
    # The same file read again as a second shard (a rerun) is the same run, not a third.
    again = read_junit([junit, Path(shutil.copy(junit, tmp_path / "rerun.xml"))])
    assert again.total == from_junit.total


def test_unfinished_tests_count_as_failed_after_timeout(tmp_path: Path) -> None:
    need("go")
    module = write_tree(
        tmp_path / "m",
        {
            "go.mod": "module example.com/to\n\ngo 1.18\n",
            "slow/slow_test.go": 'package slow\n\nimport (\n\t"testing"\n\t"time"\n)\n\n'
            "func TestQuick(t *testing.T) {}\n\nfunc TestSlow(t *testing.T) {\n"
            '\tt.Run("sub", func(t *testing.T) { time.Sleep(20 * time.Second) })\n}\n',
        },
    )
    stream = run_to_file(
        ["go", "test", "-json", "-timeout=1s", "./..."], module, tmp_path / "t.json"
    )
    assert "TestSlow/sub" not in {
        json.loads(line).get("Test")
        for line in stream.read_text().splitlines()
        if '"Action":"fail"' in line
    }, "go ended the timed-out test itself; this case no longer checks the rule"
    result = read_go_test_json(stream)
    assert (result.total, result.passed, result.failed) == (3, 1, 2)
    assert {case.id for case in result.tests if case.outcome == "fail"} == {
        "example.com/to/slow.TestSlow",
        "example.com/to/slow.TestSlow/sub",
    }
    check_against_gotestsum(stream, result)


def test_real_build_failure_is_an_error(tmp_path: Path) -> None:
    need("go")
    module = write_tree(
        tmp_path / "m",
        {
            "go.mod": "module example.com/bad\n\ngo 1.18\n",
            "good/good_test.go": 'package good\n\nimport "testing"\n\n'
            "func TestOK(t *testing.T) {}\n",
            "broken/broken.go": 'package broken\n\nfunc X() int { return "s" }\n',
            "broken/broken_test.go": 'package broken\n\nimport "testing"\n\n'
            "func TestX(t *testing.T) {}\n",
        },
    )
    stream = run_to_file(["go", "test", "-json", "./..."], module, tmp_path / "t.json", (1, 2))
    lines = stream.read_text().splitlines()
    bad = next(i for i, line in enumerate(lines, 1) if "example.com/bad/broken" in line)
    with pytest.raises(PhasectlError, match=rf"t\.json:{bad}: package example\.com/bad/broken"):
        read_go_test_json(stream)


def test_real_init_panic_before_any_test_is_an_error(tmp_path: Path) -> None:
    need("go")
    module = write_tree(
        tmp_path / "m",
        {
            "go.mod": "module example.com/initp\n\ngo 1.18\n",
            "p/p_test.go": 'package p\n\nimport "testing"\n\nfunc init() { panic("boom") }\n\n'
            "func TestNever(t *testing.T) {}\n",
        },
    )
    stream = run_to_file(["go", "test", "-json", "./..."], module, tmp_path / "t.json")
    with pytest.raises(PhasectlError, match=r"t\.json:\d+: package example\.com/initp/p failed"):
        read_go_test_json(stream)


GO120_BUILD_FAIL = """\
{"Action":"output","Package":"example.com/m","Output":"FAIL\\texample.com/m [build failed]\\n"}
{"Action":"fail","Package":"example.com/m","Elapsed":0}
"""
GO124_BUILD_FAIL = """\
{"ImportPath":"example.com/m [example.com/m.test]","Action":"build-output","Output":"# x\\n"}
{"ImportPath":"example.com/m [example.com/m.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/m"}
{"Action":"output","Package":"example.com/m","Output":"FAIL\\texample.com/m [setup failed]\\n"}
{"Action":"fail","Package":"example.com/m","Elapsed":0,"FailedBuild":"example.com/m.test"}
"""
FAILED_BUILD_FIELD = """\
{"Action":"run","Package":"example.com/m","Test":"TestA"}
{"Action":"pass","Package":"example.com/m","Test":"TestA"}
{"Action":"fail","Package":"example.com/m","Elapsed":0,"FailedBuild":"example.com/m.test"}
"""


@pytest.mark.parametrize(
    ("stream", "line"),
    [(GO120_BUILD_FAIL, 1), (GO124_BUILD_FAIL, 2), (FAILED_BUILD_FIELD, 3)],
    ids=["go1.20-output", "go1.24-build-fail", "FailedBuild"],
)
def test_build_failure_forms_of_newer_go(tmp_path: Path, stream: str, line: int) -> None:
    path = tmp_path / "t.json"
    path.write_text(stream)
    with pytest.raises(PhasectlError, match=rf"t\.json:{line}: package example\.com/m"):
        read_go_test_json(path)


def test_non_json_lines_are_skipped(svc_test_json: Path, tmp_path: Path) -> None:
    lines = svc_test_json.read_text().splitlines()
    noisy = tmp_path / "t.json"
    mixed = [f"{line}\nnoise from stderr {i}\n# example.com/x" for i, line in enumerate(lines)]
    noisy.write_text("\n".join(mixed) + "\n")
    assert read_go_test_json(noisy) == read_go_test_json(svc_test_json)


def test_malformed_json_line(svc_test_json: Path, tmp_path: Path) -> None:
    lines = svc_test_json.read_text().splitlines()
    lines[4] = lines[4][:30]
    path = tmp_path / "t.json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PhasectlError, match=r"t\.json:5: malformed JSON line"):
        read_go_test_json(path)


@pytest.mark.parametrize(
    "event",
    [
        '{"Action":"pass","Package":"p","Test":"T","Elapsed":"fast"}',
        '{"Package":"p","Test":"T"}',
        '{"Action":"run","Package":"p","Test":7}',
        '{"Action":"run","Test":"T"}',
        '{"Action":null,"Package":"p"}',
    ],
)
def test_wrong_shape(tmp_path: Path, event: str) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"Action":"output","Package":"p","Output":"x"}\n' + event + "\n")
    with pytest.raises(PhasectlError, match=r"t\.json:2: "):
        read_go_test_json(path)


def test_truncated_stream_with_running_test(svc_test_json: Path, tmp_path: Path) -> None:
    lines = svc_test_json.read_text().splitlines()

    def run_line(test: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if f'"run",{test}' in line)

    path = tmp_path / "t.json"
    path.write_text(
        "\n".join(lines[: run_line('"Package":"example.com/svc/store","Test":"TestFails/bad"') + 1])
        + "\n"
    )
    # the first test still running is named: the parent, at its own run line
    parent = run_line('"Package":"example.com/svc/store","Test":"TestFails"}')
    with pytest.raises(PhasectlError, match=rf"t\.json:{parent}: test .*store\.TestFails started"):
        read_go_test_json(path)


def test_truncated_stream_without_package_end(svc_test_json: Path, tmp_path: Path) -> None:
    lines = svc_test_json.read_text().splitlines()
    final = max(
        i
        for i, line in enumerate(lines, 1)
        if '"Package":"example.com/svc/store"' in line and '"Test"' not in line
    )
    path = tmp_path / "t.json"
    path.write_text("\n".join(lines[: final - 1]) + "\n")
    with pytest.raises(PhasectlError, match=r"package example\.com/svc/store has no final"):
        read_go_test_json(path)


def test_empty_or_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("ok  \texample.com/x\t0.1s\n")
    with pytest.raises(PhasectlError, match=r"t\.json:1: .*no test2json event"):
        read_go_test_json(path)
    with pytest.raises(PhasectlError, match=r"missing\.json: cannot read"):
        read_go_test_json(tmp_path / "missing.json")
