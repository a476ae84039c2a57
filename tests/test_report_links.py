"""A report path in the work tree that a symbolic link leads outside it is refused: in CI a
pull request controls the tree, and phasectl must not write (or read) a file elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Symlink, commit, git, run_cli


@pytest.fixture
def linked(git_repo: Path, tmp_path: Path) -> Path:
    """A repository whose report for branch main is a link to a file outside it."""
    outside = tmp_path / "outside.md"
    outside.write_text("someone else's file\n")
    commit(git_repo, {"app.py": "x = 1\n"}, "one")
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"app.py": "x = 2\n", "docs/phases/main.md": Symlink(str(outside))}, "two")
    return outside


def test_report_refuses_a_link_out_of_the_work_tree(git_repo: Path, linked: Path) -> None:
    for args in ([], ["--output", str(git_repo / "docs" / "phases" / "main.md")]):
        result = run_cli("--repo", str(git_repo), "report", "--no-tests", *args)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("Error: ")
        assert f"is a link to {linked.resolve()}, outside the work tree" in result.stderr
    assert linked.read_text() == "someone else's file\n"
    result = run_cli("--repo", str(git_repo), "check", "--no-tests")
    assert f"is a link to {linked.resolve()}, outside the work tree" in result.stderr
    assert linked.read_text() == "someone else's file\n"


def test_tag_refuses_it_too(git_repo: Path, linked: Path) -> None:
    (git_repo / "docs" / "phases" / "2.md").symlink_to(linked)
    result = run_cli("--repo", str(git_repo), "tag", "2", "--no-tests", "--allow-dirty")
    assert result.exit_code == 2
    assert f"is a link to {linked.resolve()}, outside the work tree" in result.stderr
    assert linked.read_text() == "someone else's file\n"
    assert git(git_repo, "tag", "--list", "phase/2") == ""


def test_output_outside_the_work_tree_is_the_users_choice(
    git_repo: Path, linked: Path, tmp_path: Path
) -> None:
    chosen = tmp_path / "elsewhere.md"
    result = run_cli("--repo", str(git_repo), "report", "--no-tests", "--output", str(chosen))
    assert result.exit_code == 0, result.stderr
    assert "## Metrics" in chosen.read_text()
