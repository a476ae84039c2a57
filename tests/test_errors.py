"""Bad input: one line ``Error: ...``, exit code 2, no traceback unless ``--debug``."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import commit, git, run_cli
from support.projects import CALC_TEST, python_project


def assert_clean_error(args: list[str], *fragments: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_not_a_repository(tmp_path: Path) -> None:
    assert_clean_error(
        ["--repo", str(tmp_path), "collect"], "is not inside a git repository", "--repo"
    )


def test_missing_path(tmp_path: Path) -> None:
    result = run_cli("--repo", str(tmp_path / "nope"), "collect")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_not_a_repository_from_the_current_folder(cwd: Path) -> None:
    assert_clean_error(["collect"], "is not inside a git repository")


def test_empty_repository(git_repo: Path) -> None:
    assert_clean_error(["--repo", str(git_repo), "collect"], "has no commits yet")


def test_unknown_ref(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    assert_clean_error(
        ["--repo", str(git_repo), "collect", "--base", "no-such-branch"],
        "unknown revision 'no-such-branch'",
    )
    assert_clean_error(
        ["--repo", str(git_repo), "collect", "--head", "nothing"], "unknown revision 'nothing'"
    )


def test_unknown_ref_while_the_tests_already_run(git_repo: Path) -> None:
    # collect starts head's tests before it checks the range; stopping them for the error
    # makes pytest print its KeyboardInterrupt traceback, which is no news to the user.
    slow = "import time\n\ntime.sleep(30)\n"
    python_project(git_repo, {"conftest.py": slow, "test_calc.py": CALC_TEST})
    assert_clean_error(
        ["--repo", str(git_repo), "collect", "--base", "no-such-branch"],
        "unknown revision 'no-such-branch'",
    )


@pytest.mark.parametrize("ref", ["phase/2", "v1.4.0", "tags/v2", "2.0"])
def test_unknown_tag_suggests_fetching_tags(git_repo: Path, ref: str) -> None:
    commit(git_repo, {"a.py": "1\n"})
    assert_clean_error(
        ["--repo", str(git_repo), "collect", "--base", ref], f"'{ref}'", "git fetch --tags"
    )


def test_option_like_ref_is_not_an_option(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    assert_clean_error(
        ["--repo", str(git_repo), "collect", "--base=--output=/tmp/x"],
        "unknown revision '--output=/tmp/x'",
    )


def test_ref_that_is_not_a_commit(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    assert_clean_error(
        ["--repo", str(git_repo), "collect", "--base", "HEAD:a.py"], "does not name a commit"
    )


@pytest.fixture
def shallow(git_repo: Path, tmp_path: Path) -> tuple[Path, str]:
    """A depth-1 clone of a three-commit history; returns it and the oldest SHA."""
    first = commit(git_repo, {"a.py": "1\n"})
    commit(git_repo, {"a.py": "1\n2\n"})
    commit(git_repo, {"a.py": "1\n2\n3\n"})
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{git_repo}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    return clone, first


def test_shallow_clone_missing_base(shallow: tuple[Path, str]) -> None:
    clone, first = shallow
    assert_clean_error(
        ["--repo", str(clone), "collect", "--base", first], "shallow clone", "--unshallow"
    )


def test_shallow_clone_without_tags_cannot_default_to_the_root(shallow: tuple[Path, str]) -> None:
    clone, _ = shallow
    assert_clean_error(["--repo", str(clone), "collect"], "shallow clone", "fetch-depth: 0")


def test_shallow_clone_with_reachable_base_works(shallow: tuple[Path, str]) -> None:
    clone, _ = shallow
    result = run_cli("--repo", str(clone), "collect", "--base", "HEAD", "--format", "json")
    assert result.exit_code == 0, result.output


def test_debug_shows_the_traceback(git_repo: Path) -> None:
    result = run_cli("--repo", str(git_repo), "--debug", "collect")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: ")


def test_bad_config_names_the_key(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n", "pyproject.toml": "[tool.phasectl]\ntag_prefx = 'p/'\n"})
    assert_clean_error(
        ["--repo", str(git_repo), "collect"],
        "unknown key 'tag_prefx'",
        "did you mean 'tag_prefix'",
        "pyproject.toml",
    )


def test_bad_config_value(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n", ".phasectl.toml": "rename_similarity = 150\n"})
    assert_clean_error(
        ["--repo", str(git_repo), "collect"], "'rename_similarity' must be between 0 and 100"
    )


def test_invalid_toml(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n", ".phasectl.toml": "tag_prefix = \n"})
    assert_clean_error(["--repo", str(git_repo), "collect"], ".phasectl.toml is not valid TOML")


def test_unwritable_output(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    result = run_cli("--repo", str(git_repo), "collect", "-o", str(tmp_path / "no" / "x.json"))
    assert result.exit_code == 2
    assert "Error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help() -> None:
    version = run_cli("--version")
    assert version.exit_code == 0
    assert version.stdout.startswith("phasectl, version ")
    help_text = run_cli("--help")
    assert help_text.exit_code == 0
    assert "collect" in help_text.stdout
    assert "--repo" in help_text.stdout
