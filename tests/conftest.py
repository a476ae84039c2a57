"""Fixtures that build real git repositories in temporary folders, isolated from user config."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from phasectl.cli import cli


@dataclass(frozen=True)
class Symlink:
    """A symbolic link to ``target``, for ``commit``."""

    target: str


@dataclass(frozen=True)
class Executable:
    """A file with the executable bit, for ``commit``."""

    content: str


Content = str | bytes | Symlink | Executable | None


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's and the system's git config out of every test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada Tester")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run real git in ``repo`` and return its stdout as text."""
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, errors="surrogateescape"
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def commit(repo: Path, files: Mapping[str, Content], message: str = "change") -> str:
    """Write ``files`` (``None`` deletes), stage everything, commit, and return the SHA."""
    for name, content in files.items():
        # Path keeps surrogate-escaped names, so non-UTF-8 file names reach the disk intact.
        path = repo / name
        if path.is_symlink() or path.exists():
            if path.is_dir() and not path.is_symlink():
                raise AssertionError(f"{name} is a folder")
            path.unlink()
        if content is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            path.symlink_to(content.target)
            continue
        text = content.content if isinstance(content, Executable) else content
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        path.chmod(0o755 if isinstance(content, Executable) else 0o644)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty repository on branch ``main``."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "-b", "main")
    return repo


@pytest.fixture
def remote(tmp_path: Path, git_repo: Path) -> Path:
    """A bare repository, ``origin`` of ``git_repo``."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    git(git_repo, "remote", "add", "origin", str(bare))
    return bare


def run_cli(*args: str, input: str | None = None) -> Result:
    """Invoke the real CLI in-process, with stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def collect_json(repo: Path, *args: str) -> dict[str, Any]:
    """``phasectl --repo REPO collect --format json --no-tests ARGS`` parsed; fails on exit != 0."""
    result = run_cli("--repo", str(repo), "collect", "--format", "json", "--no-tests", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout_bytes)
    return data


def outside(text: str) -> list[str]:
    """The parts of a report outside its regions' contents (the markers included)."""
    from phasectl.report import document

    parts, at = [], 0
    for region in document.find_regions(text):
        parts.append(text[at : region.content_start])
        at = region.content_end
    parts.append(text[at:])
    return parts


def by_path(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The diff's files keyed by path."""
    return {f["path"]: f for f in data["diff"]["files"]}


@pytest.fixture
def cwd(tmp_path: Path) -> Iterator[Path]:
    """Run the test from an empty folder that is not a repository."""
    old = Path.cwd()
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(old)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ from the current output",
    )
