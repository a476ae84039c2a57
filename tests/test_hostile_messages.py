"""Inputs of the wrong kind, or holding impossible figures, get one true Error line (exit 2)
or warning; the files are the real tools' own output (pytest, pytest-benchmark, hyperfine, go,
jest's fixtures), edited only where a test says so."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phasectl.runners.process import child_env  # without pytest-xdist's variables

from conftest import commit, run_cli
from support.go_tools import need
from support.projects import python_project

JEST = Path(__file__).resolve().parent / "fixtures" / "jest"
BENCH_TEST = "def test_speed(benchmark):\n    benchmark(sum, range(10))\n"


def error_of(*args: str) -> str:
    """The one Error line of a run that must fail with exit 2."""
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    return result.stderr


@pytest.fixture
def tool_files(tmp_path: Path) -> dict[str, Path]:
    """Real pytest JUnit XML, pytest-benchmark JSON and hyperfine JSON."""
    need("hyperfine")
    folder = tmp_path / "made"
    folder.mkdir()
    (folder / "test_speed.py").write_text(BENCH_TEST)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--benchmark-json=b.json",
         "--junitxml=j.xml", "test_speed.py"],
        cwd=folder, capture_output=True, check=True, env=child_env(),
    )  # fmt: skip
    subprocess.run(
        ["hyperfine", "-N", "--runs", "3", "--export-json", "h.json", "true"],
        cwd=folder, capture_output=True, check=True,
    )  # fmt: skip
    return {"pytest-benchmark": folder / "b.json", "hyperfine": folder / "h.json",
            "junit": folder / "j.xml"}  # fmt: skip


@pytest.fixture
def repo(git_repo: Path) -> Path:
    commit(git_repo, {"app.py": "x = 1\n"}, "one")
    return git_repo


@pytest.mark.parametrize("kind", ["pytest-benchmark", "hyperfine"])
def test_benchmark_json_given_as_results_names_what_it_is(
    repo: Path, tool_files: dict[str, Path], kind: str
) -> None:
    said = error_of("--repo", str(repo), "collect", "--results", str(tool_files[kind]))
    assert f"is {kind} JSON (name it with --benchmarks), not test results" in said
    assert "--results reads JUnit XML and go test -json streams" in said
    assert "rerun go test -json" not in said
    # Named as --benchmarks, the same file is read.
    result = run_cli("--repo", str(repo), "collect", "--format", "json", "--run-base", "never",
                     "--benchmarks", str(tool_files[kind]))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout_bytes)["benchmarks"]["after"]


def test_test_results_given_as_benchmarks_get_no_go_hint(
    repo: Path, tool_files: dict[str, Path]
) -> None:
    said = error_of("--repo", str(repo), "collect", "--benchmarks", str(tool_files["junit"]))
    assert "holds XML (test results or coverage?), not benchmarks" in said
    assert "--benchmarks reads pytest-benchmark JSON (--benchmark-json), hyperfine" in said


@pytest.mark.parametrize(("median", "shown"), [(-1, "-1 s"), (1e308, "1e+308 s")])
def test_impossible_hyperfine_times_are_bad_input(
    repo: Path, tool_files: dict[str, Path], tmp_path: Path, median: float, shown: str
) -> None:
    data = json.loads(tool_files["hyperfine"].read_text())
    data["results"][0]["median"] = median
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data, indent=2))
    said = error_of("--repo", str(repo), "collect", "--benchmarks", str(edited))
    assert f"results[0].median = {shown} is not a time a run can take" in said


def test_test_command_of_the_wrong_type(repo: Path) -> None:
    (repo / ".phasectl.toml").write_text("test_command = 42\n")
    said = error_of("--repo", str(repo), "collect")
    assert "'test_command' must be a command string (run by sh -c) or a list of strings" in said
    assert said.rstrip().endswith("not int in .phasectl.toml")


def test_every_timing_failed_leaves_no_empty_heading(repo: Path) -> None:
    (repo / ".phasectl.toml").write_text('[timings]\nbroken = "exit 3"\n')
    result = run_cli("--repo", str(repo), "collect", "--run-base", "never")
    assert result.exit_code == 0, result.stderr
    assert "Performance" not in result.stdout
    assert "timing broken" in result.stderr
    data = json.loads(
        run_cli(
            "--repo", str(repo), "collect", "--format", "json", "--run-base", "never"
        ).stdout_bytes
    )
    assert data["benchmarks"] is None


def test_an_empty_head_is_refused_as_an_empty_base(repo: Path) -> None:
    commit(repo, {"app.py": "x = 2\n"}, "two")
    by_head = error_of("--repo", str(repo), "collect", "--no-tests", "--head", "")
    by_base = error_of("--repo", str(repo), "collect", "--no-tests", "--base", "")
    assert by_head == by_base
    assert "''" in by_head


def test_go_coverage_text_counts_statements(git_repo: Path, tmp_path: Path) -> None:
    go = need("go")
    files = {
        "go.mod": "module example.com/calc\n\ngo 1.18\n",
        "calc.go": "package calc\n\nfunc Sign(n int) int {\n\tif n < 0 {\n\t\treturn -1\n\t}\n"
        "\treturn 1\n}\n",
        "calc_test.go": 'package calc\n\nimport "testing"\n\nfunc TestSign(t *testing.T) {\n'
        "\tif Sign(2) != 1 {\n\t\tt.Fatal()\n\t}\n}\n",
    }
    commit(git_repo, files, "go project")
    profile = tmp_path / "c.out"
    env = {**os.environ, "GOFLAGS": "", "GOPROXY": "off", "GOCACHE": str(tmp_path / "cache")}
    subprocess.run([go, "test", f"-coverprofile={profile}", "./..."], cwd=git_repo, env=env,
                   check=True, capture_output=True)  # fmt: skip
    func = subprocess.run([go, "tool", "cover", f"-func={profile}"], cwd=git_repo, env=env,
                          check=True, capture_output=True, text=True).stdout  # fmt: skip
    result = run_cli("--repo", str(git_repo), "collect", "--coverage", str(profile),
                     "--run-base", "never")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("Coverage:"))
    found = re.search(r"(\d+)/(\d+) statements$", line)
    assert found is not None, line
    covered, total = int(found.group(1)), int(found.group(2))
    total_percent = func.strip().splitlines()[-1].split()[-1]
    assert f"{100 * covered / total:.1f}%" == total_percent


@pytest.mark.parametrize("number", ["0", "-1"])
def test_lcov_line_numbers_start_at_one(repo: Path, tmp_path: Path, number: str) -> None:
    real = (JEST / "lcov.info").read_text()
    edited = tmp_path / "lcov.info"
    edited.write_text(re.sub(r"^DA:\d+,", f"DA:{number},", real, count=1, flags=re.MULTILINE))
    said = error_of("--repo", str(repo), "collect", "--coverage", str(edited))
    assert f"names line {number}; line numbers start at 1" in said


def test_benchmarks_matching_nothing_is_an_error_as_results_are(git_repo: Path) -> None:
    python_project(git_repo, {"test_speed.py": BENCH_TEST})
    missing = str(git_repo / "nothing.json")
    by_results = error_of("--repo", str(git_repo), "collect", "-q", "--results", missing)
    assert "matched no file" in by_results
    by_benchmarks = error_of("--repo", str(git_repo), "collect", "-q", "--benchmarks", missing)
    assert f"benchmarks '{missing}' matched no file after the test run" in by_benchmarks


def test_a_missing_change_dir_is_one_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist"
    said = error_of("-C", str(missing), "collect")
    assert said == f"Error: -C {missing}: cannot change to it: No such file or directory\n"
    assert shutil.which("git")
    done = subprocess.run(["git", "-C", str(missing), "status"], capture_output=True, text=True)
    assert "No such file or directory" in done.stderr  # git -C says the same
