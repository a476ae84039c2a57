"""Real jest and jest-junit (from npm; tests/support/node_tools.py installs them once): the
test counts and line coverage phasectl reads from their files are jest's own.

Every expected figure is parsed from what jest printed in the same test: its ``Tests:``
line, its ``--json`` output, its coverage ``text-summary`` and ``json-summary``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree as ET

from conftest import commit, git, run_cli
from support.node_tools import JEST, jest_modules_or_skip

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parent.parent / "docs" / "how-to" / "javascript.md"

JEST_CONFIG = {
    "testMatch": ["<rootDir>/tests/**/*.test.js"],
    "collectCoverageFrom": ["src/**/*.js"],
}

PARSE_JS = """\
function parse(text) {
  if (text === "") {
    return [];
  }
  if (text === null) {
    throw new Error("no text");
  }
  return text.split(",").map((part) => part.trim());
}

function unused(n) {
  return n * 2;
}

module.exports = { parse, unused };
"""

# The base: one test per title.
BASE_TEST = """\
const { parse } = require("../src/parse");

describe("parse", () => {
  test("splits on commas", () => {
    expect(parse("a, b")).toEqual(["a", "b"]);
  });
  test("keeps one part", () => {
    expect(parse("a")).toEqual(["a"]);
  });
});
"""

# Two tests with one full title (one of them failing), test.each cases with one name, a
# skipped test, and a top-level test whose title spells the describe block's full title.
DUPLICATES_TEST = """\
const { parse } = require("../src/parse");

describe("parse", () => {
  test("handles empty input", () => {
    expect(parse("")).toEqual([]);
  });
  test("handles empty input", () => {
    expect(parse("")).toEqual([""]);
  });
  test.each([["a,b"], ["a,b"], ["a, b"]])("splits %s", (text) => {
    expect(parse(text)).toEqual(["a", "b"]);
  });
  test.skip("throws on null", () => {
    expect(() => parse(null)).toThrow();
  });
});

describe("parse", () => {
  test("handles empty input", () => {
    expect(parse("")).toHaveLength(0);
  });
});

test("parse handles empty input", () => {
  expect(parse("")).toHaveLength(0);
});
"""


@pytest.fixture(scope="session")
def jest_modules() -> Path:
    return jest_modules_or_skip()


GITIGNORE = "node_modules\ncoverage/\nreports/\n"


def package_json(dev: dict[str, str]) -> str:
    manifest = {
        "name": "jest-duplicate-titles",
        "private": True,
        "scripts": {"test": "jest"},
        "devDependencies": dev,
        "jest": JEST_CONFIG,
    }
    return json.dumps(manifest, indent=2) + "\n"


@dataclass(frozen=True)
class JestRun:
    """What one real jest run printed and wrote."""

    stdout: str
    stderr: str
    folder: Path

    def tests_line(self) -> dict[str, int]:
        """jest's ``Tests: 1 failed, 1 skipped, 4 passed, 6 total`` as {word: count}."""
        line = next(x for x in self.stderr.splitlines() if x.startswith("Tests:"))
        return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", line)}

    def lines_summary(self) -> tuple[str, int, int]:
        """jest's text-summary ``Lines : 71.42% ( 5/7 )``: shown percent, covered, total."""
        found = re.search(r"^Lines\s*:\s*([\d.]+)% \( (\d+)/(\d+) \)", self.stdout, re.M)
        assert found is not None, self.stdout
        return found.group(1), int(found.group(2)), int(found.group(3))


def run_jest(folder: Path, *extra: str, env: dict[str, str] | None = None) -> JestRun:
    """``npx jest`` in ``folder`` (exit 1 when a test fails), as a user would run it."""
    done = subprocess.run(
        ["npx", "--no-install", "jest", *extra],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return JestRun(done.stdout, done.stderr, folder)


def jest_project(repo: Path, modules: Path, files: dict[str, str | None]) -> str:
    """Commit ``files`` with a .gitignore; the shared node_modules is linked, not committed."""
    link = repo / "node_modules"
    if not link.is_symlink():
        link.symlink_to(modules, target_is_directory=True)
    return commit(repo, {".gitignore": GITIGNORE, **files}, "jest project")


def collect(repo: Path, *args: str) -> dict[str, Any]:
    result = run_cli("--repo", str(repo), "collect", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data


def counts(tests: dict[str, Any]) -> dict[str, int]:
    return {k: tests[k] for k in ("passed", "failed", "skipped", "total")}


def jest_counts(run: JestRun) -> dict[str, int]:
    printed = run.tests_line()
    return {k: printed.get(k, 0) for k in ("passed", "failed", "skipped", "total")}


def test_duplicate_full_titles_count_as_jest_counts_them(
    git_repo: Path, jest_modules: Path
) -> None:
    jest_project(
        git_repo,
        jest_modules,
        {
            "package.json": package_json({"jest": JEST}),
            "src/parse.js": PARSE_JS,
            "tests/parse.test.js": DUPLICATES_TEST,
            "tests/base.test.js": BASE_TEST,
        },
    )
    run = run_jest(
        git_repo,
        "--ci",
        "--reporters=default",
        "--reporters=jest-junit",
        "--coverage",
        "--coverageReporters=lcov",
        "--coverageReporters=text-summary",
        "--coverageReporters=json-summary",
        "--json",
        "--outputFile=reports/jest.json",
        env={"JEST_JUNIT_OUTPUT_FILE": "reports/junit.xml"},
    )
    junit = git_repo / "reports" / "junit.xml"
    names = [
        (case.get("classname"), case.get("name"))
        for case in ET.parse(junit).getroot().iter("testcase")
    ]
    assert len(set(names)) < len(names), "the project must have tests sharing a full title"

    data = collect(
        git_repo,
        "--results",
        str(junit),
        "--coverage",
        str(git_repo / "coverage" / "lcov.info"),
        "--run-base",
        "never",
    )
    after = data["tests"]["after"]
    assert counts(after) == jest_counts(run)
    own = json.loads((git_repo / "reports" / "jest.json").read_text(encoding="utf-8"))
    assert counts(after) == {
        "passed": own["numPassedTests"],
        "failed": own["numFailedTests"],
        "skipped": own["numPendingTests"],
        "total": own["numTotalTests"],
    }
    assert after["failed"] > 0

    coverage = data["coverage"]["after"]
    shown, covered, total = run.lines_summary()
    assert (coverage["lines_covered"], coverage["lines_total"]) == (covered, total)
    assert coverage["percent_display"] == shown
    summary = json.loads((git_repo / "coverage" / "coverage-summary.json").read_text())["total"]
    assert (coverage["lines_covered"], coverage["lines_total"]) == (
        summary["lines"]["covered"],
        summary["lines"]["total"],
    )
    assert float(coverage["percent_display"]) == summary["lines"]["pct"]
    assert (coverage["branches_covered"], coverage["branches_total"]) == (
        summary["branches"]["covered"],
        summary["branches"]["total"],
    )


def doc_recipe() -> dict[str, Any]:
    """The .phasectl.toml that docs/how-to/javascript.md gives for a base without jest-junit."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## When the base commit has no jest-junit yet", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None
    recipe: dict[str, Any] = tomllib.loads(block.group(1))
    return recipe


def test_base_without_jest_junit_measured_with_the_documented_recipe(
    git_repo: Path, jest_modules: Path, tmp_path: Path
) -> None:
    """The base's package.json has no jest-junit and no reporters; the documented
    test_command still makes both commits write the files, and both sides are jest's own
    figures. (worktree_setup links the installed modules instead of ``npm ci``, which would
    need the registry; the README's ``npm ci && npm i --no-save jest-junit`` was checked by
    hand.)"""
    base = jest_project(
        git_repo,
        jest_modules,
        {
            "package.json": package_json({"jest": JEST}),
            "src/parse.js": PARSE_JS,
            "tests/base.test.js": BASE_TEST,
        },
    )
    recipe = doc_recipe()
    assert "npm i --no-save jest-junit" in recipe["worktree_setup"]
    recipe["worktree_setup"] = f"ln -s {jest_modules} node_modules"
    config = "".join(f"{key} = {json.dumps(value)}\n" for key, value in recipe.items())
    jest_project(
        git_repo,
        jest_modules,
        {
            ".phasectl.toml": config,
            "package.json": package_json({"jest": JEST, "jest-junit": "17.0.0"}),
            "tests/parse.test.js": DUPLICATES_TEST,
        },
    )
    data = collect(git_repo, "--base", base, "--run-base", "always")

    # jest by hand, with the same command, at each commit.
    checkout = tmp_path / "base-checkout"
    git(git_repo, "worktree", "add", "--quiet", "--detach", str(checkout), base)
    (checkout / "node_modules").symlink_to(jest_modules, target_is_directory=True)
    command = ["sh", "-c", recipe["test_command"]]
    for side, folder in (("before", checkout), ("after", git_repo)):
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode in (0, 1), done.stderr[-3000:]
        run = JestRun(done.stdout, done.stderr, folder)
        tests = data["tests"][side]
        assert tests is not None, side
        assert counts(tests) == jest_counts(run), side
        shown, covered, total = run.lines_summary()
        coverage = data["coverage"][side]
        assert (coverage["lines_covered"], coverage["lines_total"]) == (covered, total), side
        assert coverage["percent_display"] == shown, side
        assert (folder / "reports" / "junit.xml").is_file()
    assert data["tests"]["before"]["source"] == "worktree run"
    git(git_repo, "worktree", "remove", "--force", str(checkout))
