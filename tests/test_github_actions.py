"""docs/ci/github-actions.yml: parsed, and its phasectl steps run here as a runner would.

A clone of a real repository (with its phase tag and snapshots on a bare origin) plays the
runner's checkout; a pull request adds an uncovered line and breaks a test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from conftest import git, run_cli
from projects import CALC, python_project

WORKFLOW = Path(__file__).parent.parent / "docs" / "ci" / "github-actions.yml"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
PR_CALC = CALC + "\n\ndef triple(n):\n    return 3 * n\n\n\ndef unused_too():\n    return None\n"
PR_TESTS = (
    "from calc import add, triple\n\n\ndef test_triple():\n    assert triple(2) == 6\n\n\n"
    "def test_add():\n    assert add(1, 2) == 4\n"
)


def steps() -> list[dict[str, Any]]:
    data = yaml.safe_load(WORKFLOW.read_text())
    (job,) = data["jobs"].values()
    found: list[dict[str, Any]] = job["steps"]
    return found


def run_step(
    step: dict[str, Any], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    # GitHub runs a 'run' step with: bash --noprofile --norc -eo pipefail {0}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def run_steps(checkout: Path, env: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run the workflow's steps in ``checkout``, in order, as GitHub would; all but those
    that need the network or GitHub's API (checked by name, so a new step is noticed)."""
    results = {}
    skipped = []
    for step in steps():
        if "run" not in step:
            continue
        if "pip install" in step["run"] or "gh pr comment" in step["run"]:
            skipped.append(step["name"])
            continue
        results[step["name"]] = run_step(step, checkout, env)
    assert skipped == ["Install the project and phasectl", "Comment on the pull request"]
    assert list(results) == [
        "Fetch phasectl's snapshots",
        "Report current at a phase tag",
        "Phase report and gates",
    ]
    return results


def test_workflow_shape() -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert set(data[True if True in data else "on"]) == {"push", "pull_request"}
    found = steps()
    checkout = found[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    runs = "\n".join(s.get("run", "") for s in found)
    assert "refs/notes/phasectl:refs/notes/phasectl" in runs
    assert "phasectl report --summary" in runs
    assert "--gates" in runs  # the gate, on the report's own measurement
    assert re.search(r"\bphasectl check\b", runs)


def _phase_one_on_a_runner(git_repo: Path, remote: Path, tmp_path: Path, checkout: str) -> Path:
    """Tag phase 1, push it with its note, and clone ``checkout`` as a CI runner would."""
    python_project(git_repo, {"test_calc.py": TESTS})
    assert run_cli("--repo", str(git_repo), "tag", "1", "-q").exit_code == 0
    git(git_repo, "push", "--quiet", "origin", "main", "phase/1", "refs/notes/phasectl")
    runner = tmp_path / "runner"
    git(tmp_path, "clone", "--quiet", "--branch", checkout, str(remote), str(runner))
    return runner


def test_the_workflow_steps_run_on_a_pull_request(
    git_repo: Path, remote: Path, tmp_path: Path
) -> None:
    runner = _phase_one_on_a_runner(git_repo, remote, tmp_path, "main")
    git(runner, "switch", "--quiet", "-c", "feature")
    python_project(runner, {"test_calc.py": PR_TESTS}, **{"calc.py": PR_CALC})

    summary = tmp_path / "step-summary.md"
    summary.write_text("")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_BASE_REF": "main",
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    results = run_steps(runner, env)
    fetched = results["Fetch phasectl's snapshots"]
    assert fetched.returncode == 0, fetched.stderr
    assert git(runner, "notes", "--ref=phasectl", "list", "phase/1^{commit}").strip()

    assert results["Report current at a phase tag"].returncode == 0
    report = results["Phase report and gates"]
    # The gate fails (a test newly fails), after everything was written.
    assert report.returncode == 1, report.stdout + report.stderr
    assert (
        "FAIL  no new failing tests  1 newly failing: tests/test_calc.py::test_add" in report.stdout
    )
    assert "report current" not in report.stdout
    assert "base run" not in report.stderr  # the base came from the note
    # What coverage.py itself says is missing, among the lines the pull request added.
    data = tmp_path / "cov"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q"],
        cwd=runner, capture_output=True, check=False,
    )  # fmt: skip
    out = tmp_path / "c.json"
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", str(out)],
        cwd=runner, capture_output=True, check=True,
    )  # fmt: skip
    missing = json.loads(out.read_text())["files"]["calc.py"]["missing_lines"]
    added = range(CALC.count("\n") + 1, PR_CALC.count("\n") + 1)
    uncovered = [n for n in missing if n in added]
    assert uncovered == [PR_CALC.splitlines().index("    return None") + 1]
    line = uncovered[0]
    def_line = PR_TESTS.splitlines().index("def test_add():") + 1
    assert report.stdout.splitlines()[:2] == [
        f"::warning file=calc.py,line={line},title=Missing Coverage::Line {line} missing coverage",
        f"::error file=tests/test_calc.py,line={def_line},title=Newly Failing Test::"
        "Test tests/test_calc.py::test_add newly fails",
    ]

    comment = (runner / "phasectl-comment.md").read_text()
    assert comment.startswith("<!-- phasectl:pr-comment -->\n### Phase `feature`\n")
    assert "| **Tests passing** | 1/1 | 1/2 | ±0 passing |" in comment
    assert f"#### Uncovered changed lines (1 in 1 file)\n\n- `calc.py`: {line}\n" in comment
    assert "#### Newly failing tests (1)\n\n- `tests/test_calc.py::test_add`\n" in comment
    assert "<sub>Base `origin/main` (" in comment

    written = summary.read_text()
    assert written.startswith("## Phase `feature`: `origin/main` → `HEAD` (")
    assert "\n## Metrics\n" in written
    assert "\n### Test Results\n" in written

    assert (runner / "docs" / "phases" / "feature.md").is_file()


def test_pr_comment_says_what_was_not_collected(git_repo: Path) -> None:
    from conftest import commit

    commit(git_repo, {"a.py": "A = 1\n"})
    result = run_cli("--repo", str(git_repo), "report", "--no-tests", "--stdout",
                     "--pr-comment", "-", "--annotations")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    comment = result.stdout.split("# Phase: main\n")[0]
    assert "**Uncovered changed lines**: not collected\n" in comment
    assert "**Newly failing tests**: not collected\n" in comment
    assert "| **Tests passing** | — | not collected | — |\n" in comment
    assert "| **Coverage** | — | not collected | — |\n" in comment
    assert "**Impacted files**: coverage not collected\n" in comment
    assert "::warning" not in result.stdout
    assert "::error" not in result.stdout


def test_the_workflow_steps_run_on_a_phase_tag_push(
    git_repo: Path, remote: Path, tmp_path: Path
) -> None:
    runner = _phase_one_on_a_runner(git_repo, remote, tmp_path, "phase/1")
    summary = tmp_path / "step-summary.md"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/tags/phase/1",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    results = run_steps(runner, env)
    current = results["Report current at a phase tag"]
    assert current.returncode == 0, current.stdout + current.stderr
    assert re.search(r"^PASS  report current +.*1\.md$", current.stdout, re.MULTILINE)
    report = results["Phase report and gates"]
    assert report.returncode == 0, report.stdout + report.stderr
    assert summary.read_text().startswith("## Phase `1`: `(empty tree)` → `HEAD` (")
    # A stale committed report fails the tag's check.
    committed = runner / "docs" / "phases" / "1.md"
    committed.write_text(committed.read_text().replace("1/1", "9/9"))
    git(runner, "commit", "--quiet", "-am", "edit the figures by hand")
    git(runner, "tag", "-f", "phase/1")
    stale = run_step(
        next(s for s in steps() if s.get("name") == "Report current at a phase tag"), runner, env
    )
    assert stale.returncode == 1
    assert "FAIL  report current" in stale.stdout
