"""Small real Python projects, committed into test repositories, for the test-run tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import Content, commit

PYPROJECT = """\
[project]
name = "calc"
version = "0.1"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-p no:cacheprovider"

[tool.coverage.run]
branch = true
source = ["calc"]
"""

CALC = '''\
"""A tiny calculator."""


def add(a, b):
    return a + b


def sign(n):
    if n < 0:
        return -1
    if n == 0:
        return 0
    return 1


def unused():
    return "never called"
'''


CALC_TEST = """\
from calc import add


def test_add():
    assert add(1, 2) == 3
"""
"""The calculator's one plain test."""


BENCH_TEST = """\
from calc import sign


def test_sign_speed(benchmark):
    assert benchmark(sign, -3) == -1
"""
"""A pytest-benchmark test for the calculator."""


def python_project(repo: Path, tests: dict[str, str], **extra: Content) -> str:
    """Commit a calculator project with the given test files; return the commit SHA."""
    files: dict[str, Content] = {
        "pyproject.toml": PYPROJECT,
        ".gitignore": "__pycache__/\n.coverage*\n*.xml\n",
        "calc.py": CALC,
        "tests/conftest.py": "",
        **{f"tests/{name}": body for name, body in tests.items()},
        **extra,
    }
    return commit(repo, files, "project")


_SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)")


def pytest_summary(repo: Path, *args: str) -> dict[str, int]:
    """Run the real pytest in ``repo`` and parse its own summary line."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    last = done.stdout.strip().splitlines()[-1]
    counts = dict.fromkeys(("passed", "failed", "skipped", "xfailed", "xpassed", "errors"), 0)
    for number, word in _SUMMARY.findall(last):
        counts["errors" if word.startswith("error") else word] = int(number)
    return counts


def coverage_report_total(repo: Path) -> tuple[str, int, int]:
    """``coverage run -m pytest`` then what ``coverage report`` / ``coverage json`` say."""
    import json

    data = repo.parent / f"{repo.name}.coverage"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    total = subprocess.run(
        [sys.executable, "-m", "coverage", "report", f"--data-file={data}", "--format=total"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    out = repo.parent / f"{repo.name}.json"
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", str(out)],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    totals = json.loads(out.read_text())["totals"]
    return total, totals["covered_lines"], totals["num_statements"]
