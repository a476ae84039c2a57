"""docs/how-to/sharded-suites.md, run for real: pytest in two shards, each writing JUnit XML
and a coverage.py data file into a folder of its own (as CI's artifacts arrive), then the
real phasectl command line with the page's own globs."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import commit, git
from support.projects import pytest_summary, python_project

DOC = Path(__file__).resolve().parent.parent / "docs" / "how-to" / "sharded-suites.md"

SHARD_1 = """\
import pytest
from calc import add


def test_add():
    assert add(2, 3) == 5


def test_add_broken():
    assert add(1, 1) == 3


@pytest.mark.skip(reason="later")
def test_add_later():
    pass
"""

SHARD_2 = """\
import pytest
from calc import sign


def test_sign_zero():
    assert sign(0) == 0


@pytest.mark.parametrize("n", [1, 7])
def test_sign_positive(n):
    assert sign(n) == 1


@pytest.mark.xfail(reason="known")
def test_sign_known_bug():
    assert sign(-5) == 0
"""

# Phase 2 adds a test to the second shard: the negative branch of sign() runs.
SHARD_2_MORE = f"""{SHARD_2}

def test_sign_negative():
    assert sign(-3) == -1
"""

SHARDS = {"1": ["tests/test_add.py"], "2": ["tests/test_sign.py"]}


def doc_command(prefix: str) -> list[str]:
    """The page's command line that starts with ``prefix`` (in a YAML ``run:`` or a shell
    block), split as the shell splits it."""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        text = re.sub(r"^\s*(- run:\s*)?", "", line)
        if text.startswith(prefix):
            return shlex.split(text.split("#", 1)[0] if " #" in text else text)
    raise AssertionError(f"no '{prefix}' command in {DOC.name}")


def globs(command: list[str]) -> list[str]:
    """The --results/--coverage options of ``command``, in order, with their globs."""
    found = []
    for option, value in itertools.pairwise(command):
        if option in ("--results", "--coverage"):
            found += [option, value]
    return found


def run_shards(repo: Path) -> None:
    """Each shard in its own process, writing shards/shard-N/{junit.xml,coverage.dat}."""
    for shard, paths in SHARDS.items():
        out = repo / "shards" / f"shard-{shard}"
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable, "-m", "coverage", "run", f"--data-file={out / 'coverage.dat'}",
                "-m", "pytest", "-q", f"--junitxml={out / 'junit.xml'}", *paths,
            ],
            cwd=repo, capture_output=True, check=False,
        )  # fmt: skip


def phasectl(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, started in ``repo`` (CLI globs are taken from there)."""
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(repo.parent / "summary.md")}
    return subprocess.run(
        [sys.executable, "-m", "phasectl", *args],
        cwd=repo, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def collect(repo: Path, *args: str) -> dict[str, Any]:
    done = phasectl(repo, "collect", "--format", "json", "--run-base", "never", *args)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def coverage_tool(repo: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "coverage", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def combined_coverage(repo: Path) -> tuple[str, dict[str, int]]:
    """``coverage combine`` of the shards' data, then ``coverage report`` and ``json``."""
    combined = repo.parent / "combined.dat"
    shards = sorted(str(p) for p in (repo / "shards").glob("*/coverage.dat"))
    coverage_tool(repo, "combine", "--keep", f"--data-file={combined}", *shards)
    total = coverage_tool(repo, "report", f"--data-file={combined}", "--format=total")
    out = repo.parent / "combined.json"
    coverage_tool(repo, "json", f"--data-file={combined}", "-o", str(out))
    totals: dict[str, int] = json.loads(out.read_text())["totals"]
    return total, totals


def counts(tests: dict[str, Any]) -> dict[str, int]:
    keys = ("passed", "failed", "skipped", "xfailed", "xpassed", "errors")
    return {key: tests[key] for key in keys}


def test_shards_merge_to_one_unsharded_run(git_repo: Path) -> None:
    python_project(git_repo, {"test_add.py": SHARD_1, "test_sign.py": SHARD_2})
    run_shards(git_repo)
    report = doc_command("phasectl report")
    options = globs(report)
    assert options == [
        "--results", "shards/*/junit.xml", "--coverage", "shards/*/coverage.dat",
    ]  # fmt: skip

    data = collect(git_repo, *options)

    # The counts are pytest's own summary of the whole suite run once, unsharded.
    unsharded = pytest_summary(git_repo)
    after = data["tests"]["after"]
    assert counts(after) == unsharded
    assert unsharded["passed"] == 4
    assert unsharded["failed"] == 1
    assert after["source"] == "artifacts"
    assert after["total"] == sum(unsharded.values())
    # Each shard alone has fewer tests: the merge took both.
    for shard in SHARDS:
        alone = collect(git_repo, "--results", f"shards/shard-{shard}/junit.xml")
        assert alone["tests"]["after"]["total"] < after["total"]

    # The percent is coverage combine + coverage report on the same data files.
    total, totals = combined_coverage(git_repo)
    coverage = data["coverage"]["after"]
    assert coverage["percent_display"] == total
    assert (coverage["lines_covered"], coverage["lines_total"]) == (
        totals["covered_lines"],
        totals["num_statements"],
    )
    assert (coverage["branches_covered"], coverage["branches_total"]) == (
        totals["covered_branches"],
        totals["num_branches"],
    )
    assert data["warnings"] == []

    # Repeating the options per shard reads the same files: the same figures.
    repeated = collect(
        git_repo,
        *[f"--results=shards/shard-{s}/junit.xml" for s in SHARDS],
        *[f"--coverage=shards/shard-{s}/coverage.dat" for s in SHARDS],
    )
    assert repeated["tests"]["after"] == after
    assert repeated["coverage"]["after"] == coverage

    # The page's report command itself runs (its summary goes to $GITHUB_STEP_SUMMARY).
    done = phasectl(git_repo, *report[1:])
    assert done.returncode == 0, done.stderr
    assert "Tests Passing" in (git_repo.parent / "summary.md").read_text()


def test_a_missing_shard_is_an_error(git_repo: Path) -> None:
    python_project(git_repo, {"test_add.py": SHARD_1, "test_sign.py": SHARD_2})
    run_shards(git_repo)
    done = phasectl(
        git_repo, "collect", "--run-base", "never",
        "--results", "shards/*/junit.xml", "--results", "integration/*.xml",
    )  # fmt: skip
    assert done.returncode == 2
    assert "'" + str(git_repo / "integration/*.xml") + "' matched no file" in done.stderr


def test_the_snapshot_of_the_shards_is_the_next_phases_before(git_repo: Path) -> None:
    python_project(git_repo, {"test_add.py": SHARD_1, "test_sign.py": SHARD_2})
    run_shards(git_repo)
    first = collect(git_repo, *globs(doc_command("phasectl report")))

    # The page's snapshot command, on the default branch's commit, with the shards'
    # folders lying untracked in the checkout as CI downloads them.
    snapshot = doc_command("phasectl snapshot")
    assert globs(snapshot) == globs(doc_command("phasectl report"))
    done = phasectl(git_repo, *snapshot[1:])
    assert done.returncode == 0, done.stderr
    git(git_repo, "tag", "phase/1")

    commit(git_repo, {"tests/test_sign.py": SHARD_2_MORE}, "phase 2: a negative sign test")
    for old in (git_repo / "shards").glob("*/*"):
        old.unlink()
    run_shards(git_repo)
    second = collect(git_repo, *globs(doc_command("phasectl report")))

    before = second["tests"]["before"]
    assert before["source"] == "note"
    assert counts(before) == counts(first["tests"]["after"])
    assert second["coverage"]["before"]["percent"] == first["coverage"]["after"]["percent"]
    assert counts(second["tests"]["after"]) == pytest_summary(git_repo)
    assert second["tests"]["changes"]["added"] == ["tests/test_sign.py::test_sign_negative"]
    assert second["coverage"]["after"]["percent_display"] == combined_coverage(git_repo)[0]
