"""The pull-request comment of a phase whose parts were not collected.

The action and the example workflows that use it are run as a runner runs them in
tests/test_action.py; the comment's posting in tests/test_ci_github.py.
"""

from __future__ import annotations

from pathlib import Path

from conftest import commit, run_cli


def test_pr_comment_says_what_was_not_collected(git_repo: Path) -> None:
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
