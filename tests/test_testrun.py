"""The managed test run, baselines and the test identity diff, with the real pytest and coverage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_cli
from support.projects import PYPROJECT, coverage_report_total, pytest_summary, python_project

MIXED = """\
import pytest
from calc import add, sign


def test_add():
    assert add(2, 3) == 5


def test_sign_negative():
    assert sign(-4) == -1


def test_broken():
    assert add(1, 1) == 3


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known bug")
def test_expected_failure():
    assert sign(0) == 1


@pytest.mark.xfail(reason="flaky", strict=False)
def test_unexpected_pass():
    assert sign(1) == 1


@pytest.fixture
def broken_fixture():
    raise RuntimeError("setup fails")


def test_setup_error(broken_fixture):
    pass
"""


def collect(repo: Path, *args: str) -> tuple[dict[str, Any], str]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data, result.stderr


def state(repo: Path) -> tuple[str, ...]:
    """Everything phasectl promises not to touch."""
    return (
        git(repo, "--no-optional-locks", "status", "--porcelain=v2", "-uall"),
        git(repo, "stash", "list"),
        git(repo, "rev-parse", "HEAD"),
        (repo / ".git" / "index").read_bytes().hex(),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"),
        git(repo, "worktree", "list", "--porcelain"),
    )


def test_figures_equal_pytest_and_coverage_report(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": MIXED})
    data, _ = collect(git_repo, "--run-base", "never")
    after = data["tests"]["after"]
    expected = pytest_summary(git_repo)
    assert expected == {
        "passed": 2,
        "failed": 1,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 1,
        "errors": 1,
    }
    assert {k: after[k] for k in expected} == expected
    assert after["total"] == 7
    assert after["source"] == "work tree"
    outcomes = {c["id"]: c["outcome"] for c in after["cases"]}
    assert outcomes["tests/test_calc.py::test_broken"] == "failed"
    assert outcomes["tests/test_calc.py::test_setup_error"] == "error"
    assert outcomes["tests/test_calc.py::test_expected_failure"] == "xfailed"
    assert outcomes["tests/test_calc.py::test_unexpected_pass"] == "xpassed"  # noqa: S105
    total, covered, statements = coverage_report_total(git_repo)
    cov = data["coverage"]["after"]
    assert cov["percent_display"] == total
    assert (cov["lines_covered"], cov["lines_total"]) == (covered, statements)
    assert cov["branches_total"] is not None
    # The first phase starts at the empty tree: there is nothing before it.
    assert data["tests"]["before"] is None
    assert data["coverage"]["before"] is None


def test_before_runs_in_a_worktree_and_is_stored_as_a_note(git_repo: Path) -> None:
    python_project(
        git_repo,
        {
            "test_calc.py": "from calc import add\n\n"
            "def test_add():\n    assert add(1, 2) == 3\n\n"
            "def test_old_name():\n    assert True\n\n"
            "def test_doomed():\n    assert True\n\n"
            "def test_was_broken():\n    assert add(1, 1) == 3\n"
        },
    )
    git(git_repo, "tag", "phase/1")
    python_project(
        git_repo,
        {
            "test_calc.py": "from calc import add, sign\n\n"
            "def test_add():\n    assert add(1, 2) == 3\n\n"
            "def test_new_name():\n    assert True\n\n"
            "def test_was_broken():\n    assert add(1, 1) == 2\n\n"
            "def test_sign():\n    assert sign(5) == 1\n\n"
            "def test_new_and_failing():\n    assert sign(5) == 0\n"
        },
    )
    before_state = state(git_repo)
    data, stderr = collect(git_repo)
    assert state(git_repo) == before_state
    assert "in a temporary worktree" in stderr
    tests = data["tests"]
    assert tests["before"]["source"] == "worktree run"
    assert tests["before"]["commit"] == git(git_repo, "rev-parse", "phase/1").strip()
    assert (tests["before"]["passed"], tests["before"]["failed"]) == (3, 1)
    assert (tests["after"]["passed"], tests["after"]["failed"]) == (4, 1)
    changes = dict(tests["changes"])
    failures = changes.pop("failures")  # their details: see test_failures.py
    assert list(failures) == ["tests/test_calc.py::test_new_and_failing"]
    assert changes == {
        "added": [
            "tests/test_calc.py::test_new_and_failing",
            "tests/test_calc.py::test_new_name",
            "tests/test_calc.py::test_sign",
        ],
        "removed": ["tests/test_calc.py::test_doomed", "tests/test_calc.py::test_old_name"],
        "newly_failing": ["tests/test_calc.py::test_new_and_failing"],
        "fixed": ["tests/test_calc.py::test_was_broken"],
        "newly_skipped": [],
    }
    cov = data["coverage"]
    assert cov["before"]["source"] == "worktree run"
    assert cov["change"] == pytest.approx(cov["after"]["percent"] - cov["before"]["percent"])
    # The snapshot is now a note on phase/1; the next run reads it instead of running tests.
    note = json.loads(git(git_repo, "notes", "--ref=phasectl", "show", "phase/1"))
    assert note["schema"] == "phasectl-snapshot/1"
    assert note["tests"]["passed"] == 3
    again, stderr = collect(git_repo)
    assert "temporary worktree" not in stderr
    assert again["tests"]["before"]["source"] == "note"
    assert again["tests"]["before"]["measured_by"] == "worktree run"
    assert again["tests"]["changes"] == tests["changes"]
    assert git(git_repo, "worktree", "list").count("\n") == 1


def test_patch_coverage_counts_changed_measurable_lines(git_repo: Path) -> None:
    python_project(
        git_repo,
        {"test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"},
    )
    git(git_repo, "tag", "phase/1")
    calc = (git_repo / "calc.py").read_text()
    python_project(
        git_repo,
        {
            "test_calc.py": "from calc import add, triple\n\n"
            "def test_add():\n    assert add(1, 2) == 3\n\n"
            "def test_triple():\n    assert triple(2) == 6\n"
        },
        **{
            "calc.py": calc
            + "\n\ndef triple(n):\n    # comment lines are not measurable\n    return 3 * n\n"
            + "\n\ndef quadruple(n):\n    return 4 * n\n"
        },
    )
    data, _ = collect(git_repo, "--run-base", "never")
    patch = data["coverage"]["patch"]
    calc_patch = next(f for f in patch["files"] if f["path"] == "calc.py")
    # def triple, return 3 * n, def quadruple run (defs run at import); return 4 * n does not.
    assert (calc_patch["lines_total"], calc_patch["lines_covered"]) == (4, 3)
    never_run = (git_repo / "calc.py").read_text().splitlines().index("    return 4 * n") + 1
    assert calc_patch["uncovered"] == [[never_run, never_run]]
    assert patch["lines_total"] >= 4


def test_snapshot_command_then_collect_reads_the_note(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": MIXED})
    result = run_cli("--repo", str(git_repo), "snapshot", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "2 passed, 1 failed, 1 skipped" in result.stdout
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": MIXED + "\n\ndef test_more():\n    pass\n"})
    data, stderr = collect(git_repo, "--quiet")
    assert "temporary worktree" not in stderr
    assert data["tests"]["before"]["source"] == "note"
    assert data["tests"]["changes"]["added"] == ["tests/test_calc.py::test_more"]


def test_snapshot_refuses_a_dirty_work_tree(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": MIXED})
    (git_repo / "calc.py").write_text("broken =\n")
    result = run_cli("--repo", str(git_repo), "snapshot")
    assert result.exit_code == 2
    assert "uncommitted changes" in result.stderr


def test_no_tests_collected_is_zero_with_a_warning(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": "# no tests yet\n"})
    data, stderr = collect(git_repo, "--run-base", "never")
    assert "collected no tests" in stderr
    assert data["tests"]["after"]["total"] == 0
    assert data["coverage"] is None


def test_pytest_usage_error_shows_its_last_lines(git_repo: Path) -> None:
    python_project(
        git_repo,
        {"test_calc.py": MIXED},
        **{".phasectl.toml": 'pytest_args = ["--no-such-option"]\n'},
    )
    result = run_cli("--repo", str(git_repo), "collect", "--run-base", "never", "-q")
    assert result.exit_code == 2
    assert "Error:" in result.stderr
    assert "--no-such-option" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "message"),
    [
        # A list runs without a shell: phasectl itself finds no such program.
        ('["no-such-runner", "--all"]', "test command not found: 'no-such-runner'"),
        # A string runs through sh -c: the shell says so, and no artifact was written.
        ('"no-such-runner --all"', "test_command exited with status 127 (sh: 1: no-such-runner"),
    ],
)
def test_missing_test_command_is_a_clear_error(git_repo: Path, command: str, message: str) -> None:
    python_project(
        git_repo,
        {"test_calc.py": MIXED},
        **{".phasectl.toml": f'test_command = {command}\nresults = ["out.xml"]\n'},
    )
    result = run_cli("--repo", str(git_repo), "collect", "-q")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_configured_python_that_does_not_exist(git_repo: Path) -> None:
    python_project(
        git_repo, {"test_calc.py": MIXED}, **{".phasectl.toml": 'python = "venv/bin/python"\n'}
    )
    result = run_cli("--repo", str(git_repo), "collect", "-q")
    assert result.exit_code == 2
    assert "venv/bin/python" in result.stderr


def test_head_other_than_checkout_runs_in_a_worktree(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": MIXED})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": "def test_one():\n    pass\n"})
    data, _ = collect(git_repo, "--head", "phase/1", "--base", "phase/1", "-q")
    assert data["tests"]["after"]["source"] == "worktree run"
    assert data["tests"]["after"]["passed"] == 2


def test_xdist_runs_are_counted_like_pytest(git_repo: Path) -> None:
    pytest.importorskip("xdist")
    python_project(
        git_repo,
        {"test_calc.py": MIXED},
        **{".phasectl.toml": 'pytest_args = ["-n", "2"]\nrun_base = "never"\n'},
    )
    data, _ = collect(git_repo, "-q")
    expected = pytest_summary(git_repo, "-n", "2")
    assert {k: data["tests"]["after"][k] for k in expected} == expected


def test_interrupted_base_run_leaves_nothing_behind(git_repo: Path, tmp_path: Path) -> None:
    flag = tmp_path / "base-started"
    slow = (
        "import pathlib, time\n\n"
        "def test_slow():\n"
        f"    pathlib.Path({str(flag)!r}).write_text('x')\n"
        "    time.sleep(60)\n"
    )
    python_project(git_repo, {"test_slow.py": slow})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_slow.py": "def test_fast():\n    pass\n"})
    (git_repo / "notes.txt").write_text("untracked work in progress\n")
    before = state(git_repo)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasectl", "--repo", str(git_repo), "collect", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the base run never started"
        time.sleep(0.1)
    assert git(git_repo, "worktree", "list").count("\n") == 2
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert b"Traceback" not in err
    assert state(git_repo) == before
    assert git(git_repo, "worktree", "list").count("\n") == 1
    assert not list((git_repo / ".git").glob("worktrees/*"))


def test_a_base_that_cannot_run_is_a_warning(git_repo: Path) -> None:
    from support.projects import PYPROJECT

    broken = PYPROJECT.replace('addopts = "', 'addopts = "--no-such-option ')
    python_project(
        git_repo, {"test_calc.py": "def test_one():\n    pass\n"}, **{"pyproject.toml": broken}
    )
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": "def test_two():\n    pass\n"})
    data, stderr = collect(git_repo, "-q")
    assert "could not measure the base phase/1" in stderr
    assert "--no-such-option" in stderr
    assert data["tests"]["before"] is None
    assert data["tests"]["after"]["passed"] == 1
    assert git(git_repo, "worktree", "list").count("\n") == 1


# The same project with no coverage.py settings at all: coverage.py's defaults.
NO_COVERAGE_CONFIG = PYPROJECT.split("\n[tool.coverage.run]")[0]


def test_coverage_without_source_counts_no_phasectl_file(git_repo: Path) -> None:
    # With no source or include, coverage.py measures every file outside the stdlib and
    # site-packages, phasectl's plugin folder in /tmp included; the figure must still be
    # what a plain 'coverage run -m pytest; coverage report' gives.
    python_project(git_repo, {"test_calc.py": MIXED}, **{"pyproject.toml": NO_COVERAGE_CONFIG})
    data, _ = collect(git_repo, "--run-base", "never", "-q")
    cov = data["coverage"]["after"]
    assert not [f["path"] for f in cov["files"] if "phasectl" in f["path"]]
    total, covered, statements = coverage_report_total(git_repo)
    assert cov["percent_display"] == total
    assert (cov["lines_covered"], cov["lines_total"]) == (covered, statements)


def test_report_omit_of_the_project_is_kept(git_repo: Path) -> None:
    pyproject = NO_COVERAGE_CONFIG + '\n[tool.coverage.report]\nomit = ["tests/*"]\n'
    python_project(git_repo, {"test_calc.py": MIXED}, **{"pyproject.toml": pyproject})
    data, _ = collect(git_repo, "--run-base", "never", "-q")
    cov = data["coverage"]["after"]
    assert [f["path"] for f in cov["files"]] == ["calc.py"]
    assert cov["percent_display"] == coverage_report_total(git_repo)[0]


def test_pytest_cov_project_gets_the_figure_pytest_cov_prints(git_repo: Path) -> None:
    pytest.importorskip("pytest_cov")
    addopts = 'addopts = "-p no:cacheprovider --cov=calc --cov-branch"'
    pyproject = NO_COVERAGE_CONFIG.replace('addopts = "-p no:cacheprovider"', addopts)
    pyproject += "\n[tool.coverage.report]\nprecision = 2\n"
    python_project(git_repo, {"test_calc.py": MIXED}, **{"pyproject.toml": pyproject})
    data, stderr = collect(git_repo, "--run-base", "never")
    printed = subprocess.run(
        [sys.executable, "-m", "pytest"], cwd=git_repo, capture_output=True, text=True, check=False
    ).stdout
    total = [line.split()[-1] for line in printed.splitlines() if line.startswith("TOTAL")]
    assert total == [data["coverage"]["after"]["percent_display"] + "%"]
    assert "CoverageWarning" not in stderr


def test_relative_python_runs_the_base_too(git_repo: Path, tmp_path: Path) -> None:
    # python = "venv/bin/python", as the README recommends: a virtualenv in the user's
    # work tree, never committed, so it is not in the base's temporary worktree.
    config = {".phasectl.toml": 'python = "venv/bin/python"\n'}
    python_project(git_repo, {"test_calc.py": MIXED}, **config)
    venv = git_repo / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv / "python").chmod(0o755)
    (git_repo / ".git" / "info" / "exclude").write_text("venv/\n")
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": "def test_one():\n    pass\n"}, **config)
    data, stderr = collect(git_repo, "-q")
    assert "could not measure the base" not in stderr
    before = data["tests"]["before"]
    assert before["source"] == "worktree run"
    clone = tmp_path / "base"
    git(tmp_path, "clone", "--quiet", "--branch", "phase/1", str(git_repo), str(clone))
    expected = pytest_summary(clone)
    assert {k: before[k] for k in expected} == expected


def test_phasectl_python_names_the_interpreter_and_stays_out_of_the_tests(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The GitHub Action names the job's python this way: it runs the tests, and the test
    # processes do not see the variable (nor a VIRTUAL_ENV the job never activated).
    calls = tmp_path / "calls.txt"
    wrapper = tmp_path / "job-python"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    seen = tmp_path / "seen.txt"
    test = (
        "import os\n\n\ndef test_env():\n"
        f"    with open({str(seen)!r}, 'w') as out:\n"
        "        out.write(repr(os.environ.get('PHASECTL_PYTHON')))\n"
    )
    python_project(git_repo, {"test_env.py": test})
    monkeypatch.setenv("PHASECTL_PYTHON", str(wrapper))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    data, _ = collect(git_repo, "-q")
    assert data["tests"]["after"]["passed"] == 1
    assert "-m coverage run" in calls.read_text()
    assert seen.read_text() == "None"
