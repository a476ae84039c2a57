"""A change of what coverage measures is named, not passed off as an improvement.

The base measures app/ and lib/; head's configuration leaves lib/util.py (never run)
out, so coverage.py's own total rises with no test added. The files that left
are those the real ``coverage report`` lists at the base and not at head.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import commit, git, run_cli

CALC = "def add(a, b):\n    return a + b\n"
UTIL = "def unused(n):\n" + "".join(f"    n += {i}\n" for i in range(20)) + "    return n\n"
TESTS = "from app.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
FILES = {
    "app/__init__.py": "",
    "app/calc.py": CALC,
    "lib/util.py": UTIL,
    "tests/test_calc.py": TESTS,
}


def pyproject(source: list[str]) -> str:
    return (
        '[project]\nname = "p"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
        'addopts = "-p no:cacheprovider"\n\n'
        f"[tool.coverage.run]\nsource = {json.dumps(source)}\n"
    )


def coverage_files(repo: Path, ref: str, where: Path) -> tuple[set[str], str]:
    """The files the real ``coverage report`` lists at ``ref``, and its total."""
    git(repo.parent, "clone", "--quiet", str(repo), str(where))
    git(where, "checkout", "--quiet", ref)
    subprocess.run([sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q"], cwd=where,
                   capture_output=True, check=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "coverage", "json", "-o", "c.json"], cwd=where,
                   capture_output=True, check=True)  # fmt: skip
    data = json.loads((where / "c.json").read_text())
    return set(data["files"]), data["totals"]["percent_covered_display"]


def test_files_that_leave_measurement_are_named(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {**FILES, "pyproject.toml": pyproject(["app", "lib"])}, "base")
    commit(git_repo, {"pyproject.toml": pyproject(["app"])}, "lib leaves measurement")
    at_base, base_total = coverage_files(git_repo, "HEAD~1", tmp_path / "base")
    at_head, head_total = coverage_files(git_repo, "HEAD", tmp_path / "head")

    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "-q",
                     "--base", "HEAD~1", "--run-base", "always")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    coverage = json.loads(result.stdout_bytes)["coverage"]
    assert (coverage["before"]["percent_display"], coverage["after"]["percent_display"]) == (
        base_total,
        head_total,
    )
    assert float(head_total) > float(base_total)
    assert coverage["scope"] == {"left": sorted(at_base - at_head), "entered": []}
    assert coverage["scope"]["left"] == ["lib/util.py"]
    warnings = json.loads(result.stdout_bytes)["warnings"]
    said = "coverage measures other files than before: 1 file left measurement (lib/util.py)"
    assert any(w.startswith(said) for w in warnings)

    # The report's Metrics region names it, and does not call the rise an improvement.
    report = run_cli("--repo", str(git_repo), "report", "--stdout", "-q", "--base", "HEAD~1")
    assert report.exit_code == 0, report.stderr
    text = report.stdout
    assert "other files measured than before" in text
    assert "  - `lib/util.py`: left measurement" in text
    improvement = next(x for x in text.splitlines() if x.startswith("- **Improvement**"))
    assert "over other files than before" in improvement


def test_a_deleted_file_is_no_change_of_scope(git_repo: Path) -> None:
    commit(git_repo, {**FILES, "pyproject.toml": pyproject(["app", "lib"])}, "base")
    commit(git_repo, {"lib/util.py": None}, "util.py deleted")
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "-q",
                     "--base", "HEAD~1", "--run-base", "always")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout_bytes)
    assert "lib/util.py" in {f["path"] for f in data["coverage"]["before"]["files"]}
    assert "scope" not in data["coverage"]
    assert not any("measures other files" in w for w in data["warnings"])
