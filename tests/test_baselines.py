"""Where "before" comes from, and how before and after are compared, with the real pytest."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_cli
from support.projects import pytest_summary, python_project

BASE_TESTS = """\
import pytest
from calc import add, sign


class TestCalc:
    @pytest.mark.parametrize("n", [1, 2, 3])
    def test_add(self, n):
        assert add(n, 0) == n

    def test_sign(self):
        assert sign(0) == 1  # wrong at the base, fixed at head


def test_gone():
    pass


def test_kept():
    pass
"""
HEAD_TESTS = BASE_TESTS.replace("== 1  # wrong at the base, fixed at head", "== 0").replace(
    "def test_gone():\n    pass\n", "def test_new():\n    pass\n"
)


def collect(repo: Path, *args: str) -> tuple[dict[str, Any], str]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data, result.stderr


def node_ids(repo: Path) -> set[str]:
    """pytest's own node ids (``--collect-only -q``)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q"],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return {line for line in done.stdout.splitlines() if "::" in line}


def at(repo: Path, ref: str, tmp_path: Path) -> Path:
    """A clone of ``repo`` at ``ref``, to run the real tools on that commit."""
    clone = tmp_path / f"at-{ref.replace('/', '-')}"
    git(tmp_path, "clone", "--quiet", str(repo), str(clone))
    git(clone, "checkout", "--quiet", ref)
    return clone


def junit(repo: Path, out: Path, *args: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", f"--junitxml={out}", *args],
        cwd=repo, capture_output=True, check=False,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_note_and_junit_name_a_test_alike(git_repo: Path, tmp_path: Path, family: str) -> None:
    python_project(git_repo, {"test_calc.py": BASE_TESTS})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": HEAD_TESTS})
    # "before" from the managed run at the base (stored as a note), "after" from JUnit.
    report = junit(git_repo, tmp_path / "junit.xml", "-o", f"junit_family={family}")
    data, stderr = collect(git_repo, "-q", "--junit", str(report))
    old, new = node_ids(at(git_repo, "phase/1", tmp_path)), node_ids(git_repo)
    changes = data["tests"]["changes"]
    assert changes["added"] == sorted(new - old)
    assert changes["removed"] == sorted(old - new)
    assert changes["fixed"] == ["tests/test_calc.py::TestCalc::test_sign"]
    assert "share almost no test id" not in stderr


def test_unrelated_ids_warn_instead_of_listing_everything(git_repo: Path, tmp_path: Path) -> None:
    python_project(git_repo, {"test_calc.py": BASE_TESTS})
    git(git_repo, "tag", "phase/1")
    python_project(git_repo, {"test_calc.py": HEAD_TESTS})
    report = junit(git_repo, tmp_path / "junit.xml")
    # Another runner's names for the same tests: nothing in common with pytest's ids.
    text = report.read_text().replace('classname="tests.test_calc', 'classname="suite')
    report.write_text(text)
    data, stderr = collect(git_repo, "-q", "--junit", str(report))
    assert "share almost no test id" in stderr
    assert data["tests"]["changes"] is None


def test_named_base_artifacts_beat_the_stored_note(git_repo: Path, tmp_path: Path) -> None:
    python_project(git_repo, {"test_calc.py": BASE_TESTS})
    git(git_repo, "tag", "phase/1")
    assert run_cli("--repo", str(git_repo), "snapshot", "-q", "phase/1").exit_code == 0
    python_project(git_repo, {"test_calc.py": HEAD_TESTS})
    base = at(git_repo, "phase/1", tmp_path)
    report = junit(base, tmp_path / "base.xml", "-k", "add")
    data, stderr = collect(git_repo, "-q", "--base-junit", str(report))
    before = data["tests"]["before"]
    assert before["source"] == "artifacts"
    expected = pytest_summary(base, "-k", "add")
    expected.pop("deselected")
    assert {k: before[k] for k in expected} == expected
    assert "not the note stored" in stderr


def command_config(*keys: str) -> str:
    command = [sys.executable, "-m", "coverage", "run", "--data-file=.coverage", "-m", "pytest"]
    command += ["-q", "--junitxml=junit.xml"]
    lines = [f"test_command = {json.dumps(command)}"]
    lines += [f'{key} = ["{value}"]' for key, value in (("junit", "junit.xml"),
              ("coverage", ".coverage")) if key in keys]  # fmt: skip
    return "\n".join(lines) + "\n"


def test_a_note_without_tests_is_no_baseline_for_tests(git_repo: Path, tmp_path: Path) -> None:
    # The first run measured coverage only; once the config reads test results too,
    # the base is measured again instead of showing "no baseline" forever.
    python_project(
        git_repo, {"test_calc.py": BASE_TESTS}, **{".phasectl.toml": command_config("coverage")}
    )
    git(git_repo, "tag", "phase/1")
    assert run_cli("--repo", str(git_repo), "snapshot", "-q").exit_code == 0
    both = command_config("coverage", "junit")
    python_project(git_repo, {"test_calc.py": HEAD_TESTS}, **{".phasectl.toml": both})
    # With runs switched off, the gap is said, not silent.
    data, stderr = collect(git_repo, "-q", "--run-base", "never")
    assert "has no tests: run 'phasectl snapshot phase/1'" in stderr
    assert data["tests"]["before"] is None
    data, _ = collect(git_repo, "-q")
    before = data["tests"]["before"]
    assert before is not None
    expected = pytest_summary(at(git_repo, "phase/1", tmp_path))
    assert {k: before[k] for k in expected} == expected
    _, stderr = collect(git_repo, "-q", "--run-base", "never")
    assert "Warning" not in stderr  # the base's note now holds tests


def test_the_same_test_command_has_one_label(git_repo: Path) -> None:
    python_project(
        git_repo, {"test_calc.py": BASE_TESTS}, **{".phasectl.toml": command_config("coverage")}
    )
    by_coverage, _ = collect(git_repo, "-q", "--run-base", "never")
    python_project(
        git_repo, {"test_calc.py": BASE_TESTS}, **{".phasectl.toml": command_config("junit")}
    )
    by_junit, _ = collect(git_repo, "-q", "--run-base", "never", "--base", "HEAD~1")
    assert by_coverage["coverage"]["after"]["source"] == "work tree"
    assert by_junit["tests"]["after"]["source"] == "work tree"


def test_merge_base_hint_names_the_merge_base(git_repo: Path) -> None:
    python_project(git_repo, {"test_calc.py": BASE_TESTS})
    git(git_repo, "checkout", "--quiet", "-b", "topic")
    python_project(git_repo, {"test_calc.py": HEAD_TESTS})
    git(git_repo, "checkout", "--quiet", "main")
    python_project(git_repo, {"test_calc.py": BASE_TESTS + "\n\ndef test_more():\n    pass\n"})
    git(git_repo, "checkout", "--quiet", "topic")
    merge_base = git(git_repo, "merge-base", "main", "topic").strip()
    args = ("-q", "--base", "main", "--merge-base", "--run-base", "never")
    data, stderr = collect(git_repo, *args)
    assert f"run 'phasectl snapshot {merge_base}'" in stderr
    assert data["tests"]["before"] is None
    # Following the hint gives the baseline.
    assert run_cli("--repo", str(git_repo), "snapshot", "-q", merge_base).exit_code == 0
    data, stderr = collect(git_repo, *args)
    assert "no baseline" not in stderr
    assert data["tests"]["before"]["commit"] == merge_base


def test_check_at_a_tag_reads_the_named_coverage(git_repo: Path, tmp_path: Path) -> None:
    python_project(git_repo, {"test_calc.py": BASE_TESTS})
    # BASE_TESTS has a failing test, which tag's own gates refuse; this test is about check.
    assert run_cli("--repo", str(git_repo), "tag", "1", "-q", "--no-verify").exit_code == 0
    data = tmp_path / "some.coverage"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q",
         "-k", "gone"],
        cwd=git_repo, capture_output=True, check=False,
    )  # fmt: skip
    total = subprocess.run(
        [sys.executable, "-m", "coverage", "report", f"--data-file={data}", "--format=total"],
        cwd=git_repo, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    result = run_cli(
        "--repo", str(git_repo), "check", "-q", "--no-report-current", "--fail-under", "1",
        "--coverage", str(data),
    )  # fmt: skip
    assert "not the tag's snapshot" in result.stderr
    assert re.search(rf"^PASS +coverage >= 1% +{total}%$", result.stdout, re.MULTILINE)
