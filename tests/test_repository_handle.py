"""The repository is the one git's own discovery finds, opened with GitPython as the handle:
submodules, linked worktrees and ``GIT_CEILING_DIRECTORIES`` as git has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasectl.repo.repository import Repository

from conftest import by_path, collect_json, commit, git, run_cli


def numstat(repo: Path, base: str, head: str) -> dict[str, str]:
    """Path -> "added removed" as ``git diff --numstat`` prints them."""
    out = git(repo, "diff", "--numstat", "-M50%", base, head, "--")
    return {
        line.split("\t")[2]: " ".join(line.split("\t")[:2]) for line in out.splitlines() if line
    }


def counts(data: dict[str, object]) -> dict[str, str]:
    return {path: f"{f['added']} {f['removed']}" for path, f in by_path(data).items()}


def test_a_submodule_is_measured_as_git_finds_it(git_repo: Path, tmp_path: Path) -> None:
    """A submodule's git folder (``.git/modules/sub``) names its work tree relatively
    (``core.worktree``): the handle follows the work tree's ``.git`` file, as git does."""
    library = tmp_path / "library"
    library.mkdir()
    git(library, "init", "--quiet", "-b", "main")
    commit(library, {"lib.py": "a\n"})
    git(library, "tag", "base")
    commit(library, {"lib.py": "a\nb\n", "new.py": "x\n"})
    git(library, "tag", "head")
    commit(git_repo, {"app.py": "1\n"})
    git(git_repo, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add",
        str(library), "sub")  # fmt: skip
    sub = git_repo / "sub"
    opened = Repository.open(sub)
    assert opened.work_tree == sub.resolve()
    assert opened.git_dir == (git_repo / ".git" / "modules" / "sub").resolve()
    assert Path(opened.handle.working_dir) == sub.resolve()
    data = collect_json(sub, "--base", "base", "--head", "head")
    assert counts(data) == numstat(sub, "base", "head") == {"lib.py": "1 0", "new.py": "1 0"}


def test_a_linked_worktree_is_measured_as_git_finds_it(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"a.py": "1\n2\n", "b.py": "3\n"})
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "--quiet", "--detach", str(linked), "HEAD")
    commit(linked, {"c.py": "4\n"})
    opened = Repository.open(linked / "c.py")
    assert opened.work_tree == linked.resolve()
    assert opened.git_dir.parent == (git_repo / ".git" / "worktrees").resolve()
    data = collect_json(linked)
    assert data["base"]["ref"] == "phase/1"
    assert data["head"]["sha"] == git(linked, "rev-parse", "HEAD").strip()
    assert counts(data) == numstat(linked, "phase/1", "HEAD")
    assert set(counts(data)) == {"a.py", "b.py", "c.py"}


def test_git_ceiling_directories_stops_the_search(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder below a ceiling is not in the repository above it, as for git itself."""
    commit(git_repo, {"a.py": "1\n"})
    inner = git_repo / "ceiling" / "inner"
    inner.mkdir(parents=True)
    assert collect_json(inner)["head"]["sha"]  # found without a ceiling
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(git_repo / "ceiling"))
    assert git(inner, "rev-parse", "--git-dir", check=False) == ""
    result = run_cli("--repo", str(inner), "collect", "--no-tests")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {inner} is not inside a git repository; run phasectl in one or pass --repo PATH\n"
    )


def test_a_work_tree_git_cannot_find_again_is_one_clear_error(tmp_path: Path) -> None:
    """A git folder whose ``core.worktree`` names a folder without a ``.git`` (the work
    tree of ``git --git-dir=... --work-tree=...``): git finds it only from the git folder's
    side, so phasectl, which measures a work tree, says so."""
    meta, tree = tmp_path / "meta", tmp_path / "tree"
    tree.mkdir()
    git(tmp_path, "init", "--quiet", "-b", "main", str(meta))
    git(meta, "config", "core.worktree", str(tree))
    (tree / "a.py").write_text("1\n")
    git(meta, "add", "a.py")
    git(meta, "commit", "--quiet", "-m", "one")
    result = run_cli("--repo", str(meta), "collect", "--no-tests")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: the work tree {tree.resolve()} of "), result.stderr
    assert result.stderr.count("\n") == 1
