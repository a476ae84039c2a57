"""Projects that are not plain pytest: shell test commands, worktree setup, timings, jest
artifacts, hyperfine, Python detection, and the work tree's configuration at the base."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import commit, git, run_cli
from support.go_tools import need

FIXTURES = Path(__file__).parent / "fixtures" / "jest"

PASSING = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"
MIXED = "import pytest\n\ndef test_ok():\n    pass\n\ndef test_bad():\n    assert False\n"


def collect(repo: Path, *args: str) -> tuple[dict[str, Any], str]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", "-q", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data, result.stderr


def pytest_junit_counts(path: Path) -> dict[str, int]:
    """pytest's own JUnit totals (testsuite attributes)."""
    from defusedxml import ElementTree

    root = ElementTree.parse(path).getroot()
    assert root is not None
    suite = root if root.tag == "testsuite" else root[0]
    tests, failures = int(suite.get("tests", "0")), int(suite.get("failures", "0"))
    errors, skipped = int(suite.get("errors", "0")), int(suite.get("skipped", "0"))
    return {"passed": tests - failures - errors - skipped, "failed": failures, "total": tests}


def test_a_string_test_command_runs_through_the_shell(git_repo: Path) -> None:
    # && and a redirect: only a shell understands them. Run at head and in the base's worktree.
    config = (
        f'test_command = "mkdir -p out && {sys.executable} -m pytest -q -p no:cacheprovider '
        '--junitxml=out/junit.xml tests > out/log.txt"\nresults = ["out/junit.xml"]\n'
    )
    files = {".phasectl.toml": config, ".gitignore": "out/\n__pycache__/\n"}
    commit(git_repo, {**files, "tests/test_a.py": PASSING}, "one")
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"tests/test_a.py": PASSING + MIXED}, "two")
    data, stderr = collect(git_repo)
    assert "in a temporary worktree" in stderr
    after = pytest_junit_counts(git_repo / "out" / "junit.xml")
    assert {k: data["tests"]["after"][k] for k in after} == after
    assert (git_repo / "out" / "log.txt").read_text().strip()  # the redirect happened
    assert data["tests"]["before"]["passed"] == 2
    assert data["tests"]["before"]["source"] == "worktree run"


def test_a_list_test_command_runs_without_a_shell(git_repo: Path) -> None:
    # No shell expands $NAME: the file is written under that very name.
    command = [sys.executable, "-m", "pytest", "-q", "--junitxml=out/$NAME.xml", "tests"]
    config = f"test_command = {json.dumps(command)}\nresults = ['out/[$]NAME.xml']\n"
    commit(git_repo, {".phasectl.toml": config, "tests/test_a.py": PASSING}, "one")
    data, _ = collect(git_repo, "--run-base", "never")
    assert (git_repo / "out" / "$NAME.xml").is_file()
    assert data["tests"]["after"]["passed"] == 2


def test_worktree_setup_creates_what_the_base_run_needs(git_repo: Path, tmp_path: Path) -> None:
    # The tests need a generated, ignored file (as node_modules or a virtualenv is).
    test = (
        "from pathlib import Path\n\n"
        "def test_needs_deps():\n"
        "    assert Path('deps/ready').read_text() == 'yes'\n"
    )
    config = (
        f'test_command = "{sys.executable} -m pytest -q -p no:cacheprovider '
        '--junitxml=out/junit.xml tests"\nresults = ["out/junit.xml"]\n'
    )
    files = {".gitignore": "deps/\nout/\n__pycache__/\n", "tests/test_deps.py": test}
    commit(git_repo, {**files, ".phasectl.toml": config}, "one")
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"tests/test_more.py": PASSING}, "two")
    (git_repo / "deps").mkdir()
    (git_repo / "deps" / "ready").write_text("yes")

    # Without worktree_setup the base run fails for a missing dependency, and says so.
    data, stderr = collect(git_repo, "--run-base", "always")
    assert data["tests"]["before"]["failed"] == 1
    assert "set worktree_setup" in stderr

    log = tmp_path / "setup.log"
    setup = f'worktree_setup = "mkdir -p deps && printf yes > deps/ready && pwd >> {log}"\n'
    (git_repo / ".phasectl.toml").write_text(config + setup)  # uncommitted: it still governs
    data, stderr = collect(git_repo, "--run-base", "always")
    assert data["tests"]["before"]["passed"] == 1
    assert data["tests"]["before"]["failed"] == 0
    assert "set worktree_setup" not in stderr
    ran_in = Path(log.read_text().strip())
    assert ran_in.name == "worktree"
    assert not ran_in.exists()  # removed again
    assert data["tests"]["after"]["passed"] == 3


def test_a_failing_worktree_setup_means_no_baseline(git_repo: Path) -> None:
    config = (
        f'test_command = "{sys.executable} -m pytest -q --junitxml=out/j.xml tests"\n'
        'results = ["out/j.xml"]\nworktree_setup = "echo no registry here >&2; exit 7"\n'
    )
    commit(git_repo, {".phasectl.toml": config, "tests/test_a.py": PASSING}, "one")
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"tests/test_b.py": PASSING}, "two")
    data, stderr = collect(git_repo)
    assert data["tests"]["before"] is None
    assert "worktree_setup (echo no registry here" in stderr
    assert "exited with status 7: no registry here" in stderr
    assert git(git_repo, "worktree", "list").count("\n") == 1


def test_timings_run_at_head_and_in_the_base_worktree(git_repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    command = f"pwd >> {log}; sleep 0.05"
    config = f'[timings]\nstartup = {{command = "{command}", runs = 3, warmup = 2}}\n'
    commit(git_repo, {".phasectl.toml": config, "app.sh": "echo one\n"}, "one")
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"app.sh": "echo two\n"}, "two")
    data, stderr = collect(git_repo)
    runs = log.read_text().splitlines()
    # Two warm-up runs and three timed runs, in the base's worktree and then in the work tree.
    assert runs.count(str(git_repo)) == 5
    assert len(runs) == 10
    assert "tests not collected: no test results configured (results = [...])" in stderr
    assert data["tests"] is None
    assert data["coverage"] is None
    (row,) = data["benchmarks"]["changes"]
    assert row["name"] == "startup"
    for side in ("before", "after"):
        low, high = row[f"{side}_range_s"]
        assert 0.05 <= low <= row[f"{side}_s"] <= high
    report = run_cli("--repo", str(git_repo), "report", "--stdout", "-q")
    assert report.exit_code == 0, report.stderr
    assert re.search(r"^- Performance: `startup` \S+ms → \S+ms \([+-]\d", report.stdout, re.M)


def test_a_timing_that_fails_is_left_out_with_a_warning(git_repo: Path) -> None:
    config = '[timings]\nbroken = "echo nope >&2; exit 3"\nfine = "true"\n'
    commit(git_repo, {".phasectl.toml": config}, "one")
    data, stderr = collect(git_repo, "--run-base", "never")
    assert [b["name"] for b in data["benchmarks"]["after"]] == ["fine"]
    assert "timing broken: 'echo nope >&2; exit 3' exited with status 3: nope; not timed" in stderr


def test_hyperfine_export_fills_performance(git_repo: Path, tmp_path: Path) -> None:
    hyperfine = need("hyperfine")
    export = tmp_path / "hyperfine.json"
    subprocess.run(
        [hyperfine, "--runs", "5", "--warmup", "1", "--export-json", str(export), "-N",
         "sleep 0.01"],
        capture_output=True,
        check=True,
    )  # fmt: skip
    commit(git_repo, {"README.md": "x\n"}, "one")
    data, _ = collect(git_repo, "--benchmarks", str(export), "--run-base", "never")
    (own,) = json.loads(export.read_text())["results"]
    (bench,) = data["benchmarks"]["after"]
    assert bench == {
        "name": own["command"],
        "median_s": own["median"],
        "min_s": own["min"],
        "max_s": own["max"],
    }


def test_jest_artifacts_equal_jest_summary(git_repo: Path) -> None:
    """Real jest output (tests/fixtures/jest/HOW-MADE.md says how it was made)."""
    project = FIXTURES / "project"
    files = {str(p.relative_to(project)): p.read_text() for p in project.rglob("*") if p.is_file()}
    commit(git_repo, files, "a jest project")
    data, _ = collect(
        git_repo,
        "--results",
        str(FIXTURES / "junit.xml"),
        "--coverage",
        str(FIXTURES / "lcov.info"),
        "--run-base",
        "never",
    )
    summary = (FIXTURES / "jest-stderr.txt").read_text()
    found = re.search(r"^Tests:\s+(.*), (\d+) total$", summary, re.MULTILINE)
    assert found is not None
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", found.group(1))}
    tests = data["tests"]["after"]
    assert tests["total"] == int(found.group(2))
    assert {k: tests[k] for k in counts} == counts
    lines = re.search(
        r"^Lines\s+:\s+([\d.]+)% \( (\d+)/(\d+) \)",
        (FIXTURES / "jest-stdout.txt").read_text(),
        re.MULTILINE,
    )
    assert lines is not None
    coverage = data["coverage"]["after"]
    assert (coverage["lines_covered"], coverage["lines_total"]) == (
        int(lines.group(2)),
        int(lines.group(3)),
    )
    assert f"{coverage['percent']:.2f}" == lines.group(1)


def test_only_coverage_configured_says_tests_are_not_collected(git_repo: Path) -> None:
    shutil.copy(FIXTURES / "lcov.info", git_repo / "lcov.info")
    project = FIXTURES / "project"
    files = {str(p.relative_to(project)): p.read_text() for p in (project / "src").rglob("*.js")}
    commit(git_repo, {**files, ".phasectl.toml": 'coverage = ["lcov.info"]\n'}, "one")
    data, stderr = collect(git_repo, "--run-base", "never")
    assert data["tests"] is None
    assert data["coverage"]["after"]["lines_total"] > 0
    assert "Warning: tests not collected: no test results configured (results = [...])" in stderr


def test_nothing_to_measure_makes_no_worktree(git_repo: Path) -> None:
    commit(git_repo, {"README.md": "one\n"}, "one")
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"README.md": "two\n"}, "two")
    data, stderr = collect(git_repo, "--run-base", "always")
    assert "temporary worktree" not in stderr
    assert "tests not collected: not a Python project" in stderr
    assert data["tests"] is None
    assert git(git_repo, "worktree", "list").count("\n") == 1


@pytest.mark.parametrize(
    "files",
    [
        {"requirements.txt": "pytest\n", "tests/test_a.py": PASSING},
        {"tests/test_a.py": PASSING},
        {"pkg/calc_test.py": PASSING},
    ],
    ids=["requirements", "tests-folder", "suffix"],
)
def test_python_without_pyproject_is_run_by_pytest(git_repo: Path, files: dict[str, str]) -> None:
    commit(git_repo, {**files, ".gitignore": "__pycache__/\n.coverage*\n"}, "one")
    data, _ = collect(git_repo, "--run-base", "never")
    assert data["tests"]["after"]["passed"] == 2
    assert data["tests"]["after"]["source"] == "work tree"


def test_untracked_config_governs_the_base_run(git_repo: Path) -> None:
    # Nothing committed says how to test this project; the untracked file does.
    script = "mkdir -p out && printf '%s' \"$(cat cases.xml)\" > out/junit.xml"
    junit = '<testsuite name="s">{}</testsuite>'
    case = '<testcase classname="c" name="{}"/>'
    commit(git_repo, {".gitignore": "out/\n", "cases.xml": junit.format(case.format("a"))}, "one")
    git(git_repo, "tag", "phase/1")
    cases = case.format("a") + case.format("b")
    commit(git_repo, {"cases.xml": junit.format(cases)}, "two")
    config = f"test_command = {json.dumps(script)}\nresults = ['out/junit.xml']\n"
    (git_repo / ".phasectl.toml").write_text(config)
    data, _ = collect(git_repo)
    assert data["tests"]["before"]["total"] == 1
    assert data["tests"]["before"]["source"] == "worktree run"
    assert data["tests"]["after"]["total"] == 2
    assert data["tests"]["changes"]["added"] == ["c::b"]


GO_EVENT = '{"Action":"%s","Package":"example.com/x","Test":"TestA"}\n'
HYPERFINE_NO_TIMES = '{\n  "results": [\n    {"command": "x"}\n  ]\n}\n'
GO_END = '{"Action":"pass","Package":"example.com/x","Elapsed":0.1}\n'


@pytest.mark.parametrize(
    ("option", "name", "content", "where"),
    [
        ("--results", "go.json", GO_EVENT % "run" + '{"Action": "pass", "Pack\n', "go.json:2:"),
        ("--results", "go.json", GO_EVENT % "run" + GO_EVENT % "output", "go.json:1:"),
        ("--benchmarks", "bench.txt", "BenchmarkPut-8   1000   fast ns/op\n", "bench.txt:1:"),
        (
            "--benchmarks",
            "hf.json",
            '{\n  "results": [\n    {"command": "x"}\n  ]\n}\n',
            "hf.json:3:",
        ),
    ],
    ids=["malformed-go-json", "truncated-go-json", "bad-benchmark-line", "hyperfine-shape"],
)
def test_bad_runner_output_is_one_error_line(
    git_repo: Path, tmp_path: Path, option: str, name: str, content: str, where: str
) -> None:
    commit(git_repo, {"README.md": "x\n"}, "one")
    path = tmp_path / name
    path.write_text(content)
    result = run_cli("--repo", str(git_repo), "collect", "-q", option, str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path.parent}/{where}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_interleaved_output_in_a_go_stream_is_skipped(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"README.md": "x\n"}, "one")
    stream = tmp_path / "go.json"
    stream.write_text(
        "go: downloading example.com/dep v1.0.0\n"
        + GO_EVENT % "run"
        + "some line a test printed\n"
        + GO_EVENT % "pass"
        + GO_END
    )
    data, _ = collect(git_repo, "--results", str(stream), "--run-base", "never")
    assert (data["tests"]["after"]["passed"], data["tests"]["after"]["total"]) == (1, 1)
