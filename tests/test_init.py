"""``phasectl init``: commented settings appended byte-safely, the Makefile snippet, --notes."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phasectl.config import KNOWN_KEYS, CheckSettings, Config, load_config, parse_config
from phasectl.workflow.init import config_block, make_snippet

from conftest import commit, git, run_cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = b'[project]\nname = "demo"\nversion = "0.1"\n\n[tool.ruff]\nline-length = 100\n'
NOTES = "+refs/notes/phasectl:refs/notes/remotes/origin/phasectl"


def init(repo: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("--repo", str(repo), "init", *args)
    return result.exit_code, result.stdout, result.stderr


def defaults(root: Path) -> bool:
    return dataclasses.replace(load_config(root), source=None) == Config()


def test_appends_to_a_pyproject_without_a_table(git_repo: Path) -> None:
    pyproject = git_repo / "pyproject.toml"
    pyproject.write_bytes(PYPROJECT)
    status, out, err = init(git_repo)
    assert status == 0
    assert out == make_snippet()
    assert f"Wrote phasectl's settings, commented out, to {pyproject}" in err
    data = pyproject.read_bytes()
    assert data == PYPROJECT + b"\n" + config_block("pyproject").encode()
    assert tomllib.loads(data.decode())["tool"]["ruff"] == {"line-length": 100}
    assert load_config(git_repo).source == "[tool.phasectl] in pyproject.toml"
    assert defaults(git_repo)
    assert not (git_repo / ".phasectl.toml").exists()


@pytest.mark.parametrize(
    ("original", "separator"),
    [
        (b'[project]\nname = "demo"', b"\n\n"),  # no final newline
        (b'[project]\nname = "demo"\n\n', b""),  # a blank line already
        (b"", b""),
    ],
)
def test_separating_blank_line(git_repo: Path, original: bytes, separator: bytes) -> None:
    (git_repo / "pyproject.toml").write_bytes(original)
    assert init(git_repo)[0] == 0
    data = (git_repo / "pyproject.toml").read_bytes()
    assert data == original + separator + config_block("pyproject").encode()
    assert defaults(git_repo)


def test_crlf_pyproject_gets_crlf(git_repo: Path) -> None:
    original = PYPROJECT.replace(b"\n", b"\r\n")
    (git_repo / "pyproject.toml").write_bytes(original)
    assert init(git_repo)[0] == 0
    data = (git_repo / "pyproject.toml").read_bytes()
    assert data.startswith(original)
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data[len(original) :] == b"\r\n" + config_block("pyproject").encode().replace(
        b"\n", b"\r\n"
    )
    assert defaults(git_repo)


@pytest.mark.parametrize(
    "existing",
    [
        '[tool.phasectl]\ntag_prefix = "rel/"\n',
        "[tool.phasectl.check]\nfail_under = 90\n",
        '[tool]\nphasectl.tag_prefix = "rel/"\n',
        "[tool.phasectl]\n# tag_prefix = 'phase/'\n",  # what init wrote before
    ],
)
def test_existing_table_is_left_alone(git_repo: Path, existing: str) -> None:
    pyproject = git_repo / "pyproject.toml"
    pyproject.write_bytes(PYPROJECT + existing.encode())
    status, out, err = init(git_repo)
    assert status == 0
    assert out == make_snippet()
    assert "configured already ([tool.phasectl] in pyproject.toml); nothing written" in err
    assert pyproject.read_bytes() == PYPROJECT + existing.encode()
    assert not (git_repo / ".phasectl.toml").exists()
    # --file phasectl would shadow those settings with an empty file: refused the same way.
    assert init(git_repo, "--file", "phasectl")[0] == 0
    assert not (git_repo / ".phasectl.toml").exists()


def test_without_pyproject_writes_phasectl_toml(git_repo: Path) -> None:
    status, out, err = init(git_repo)
    dedicated = git_repo / ".phasectl.toml"
    assert status == 0
    assert out == make_snippet()
    assert dedicated.read_text() == config_block("phasectl")
    assert load_config(git_repo).source == ".phasectl.toml"
    assert defaults(git_repo)
    assert not (git_repo / "pyproject.toml").exists()
    # A second run changes nothing.
    dedicated.write_text("# mine\n")
    status, _, err = init(git_repo)
    assert status == 0
    assert "configured already (.phasectl.toml); nothing written" in err
    assert dedicated.read_text() == "# mine\n"


def test_existing_phasectl_toml_wins_over_pyproject(git_repo: Path) -> None:
    (git_repo / ".phasectl.toml").write_text('tag_prefix = "r/"\n')
    (git_repo / "pyproject.toml").write_bytes(PYPROJECT)
    assert init(git_repo)[0] == 0
    assert (git_repo / "pyproject.toml").read_bytes() == PYPROJECT


def test_file_phasectl_beside_a_pyproject(git_repo: Path) -> None:
    (git_repo / "pyproject.toml").write_bytes(PYPROJECT)
    assert init(git_repo, "--file", "phasectl")[0] == 0
    assert (git_repo / ".phasectl.toml").read_text() == config_block("phasectl")
    assert (git_repo / "pyproject.toml").read_bytes() == PYPROJECT


def test_file_pyproject_without_one_is_an_error(git_repo: Path) -> None:
    status, out, err = init(git_repo, "--file", "pyproject")
    assert status == 2
    assert out == ""
    assert err == (
        f"Error: there is no pyproject.toml at {git_repo}; "
        "use '--file phasectl' to write .phasectl.toml\n"
    )
    assert not (git_repo / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[project\n", "Error: pyproject.toml is not valid TOML"),
        (b"tool = {ruff = {}}\n", "Error: appending [tool.phasectl] would break pyproject.toml"),
    ],
)
def test_unsafe_pyproject_is_not_touched(git_repo: Path, content: bytes, message: str) -> None:
    (git_repo / "pyproject.toml").write_bytes(content)
    status, out, err = init(git_repo)
    assert (status, out) == (2, "")
    assert err.startswith(message)
    assert (git_repo / "pyproject.toml").read_bytes() == content


def _uncommented(block: str) -> str:
    """The block with every setting line uncommented (explanations stay comments)."""
    setting = re.compile(r"^# (?=[a-z_]+ = |    |\])")
    return "\n".join(setting.sub("", line) for line in block.splitlines()) + "\n"


def test_block_lists_every_key_with_its_real_default() -> None:
    table = tomllib.loads(_uncommented(config_block("phasectl")))
    assert set(table) == set(KNOWN_KEYS)
    check_fields = {f.name for f in dataclasses.fields(CheckSettings)}
    assert set(table["check"]) == check_fields
    config = parse_config(table, "block")  # every shown value is valid
    for name in KNOWN_KEYS:
        if name == "check":
            continue
        default = getattr(Config(), name)
        # A key unset by default shows an example, which must be a real value.
        assert getattr(config, name) == default if default is not None else True, name
        assert getattr(config, name) is not None, name
    for name in check_fields:
        default = getattr(CheckSettings(), name)
        assert getattr(config.check, name) == default if default is not None else True, name
        assert getattr(config.check, name) is not None, name
    pyproject = tomllib.loads(_uncommented(config_block("pyproject")))["tool"]["phasectl"]
    assert parse_config(pyproject, "block") == dataclasses.replace(config, source="block")
    for block in (config_block("pyproject"), config_block("phasectl")):
        assert max(len(line) for line in block.splitlines()) <= 88


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_snippet_runs_in_make(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(make_snippet())

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", "-f", str(makefile), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    assert make("-n", "phase-report").stdout == "phasectl report\n"
    assert make("-n", "phase-check").stdout == "phasectl check\n"
    assert make("-n", "phase-tag", "NAME=phase-3").stdout == "phasectl tag phase-3\n"
    for args in ((), ("NAME=",), ("NAME= ",)):
        done = make("phase-tag", *args)
        assert done.returncode == 2
        assert done.stdout == ""
        assert "phase-tag needs a name: make phase-tag NAME=<name>" in done.stderr


@pytest.fixture
def shared(tmp_path: Path, git_repo: Path) -> tuple[Path, str]:
    """A bare remote holding a commit with a phasectl note, and that commit's SHA."""
    sha = commit(git_repo, {"a.txt": "a\n"})
    git(git_repo, "notes", "--ref=phasectl", "add", "-m", '{"schema": "x"}', sha)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    git(git_repo, "push", "--quiet", str(bare), "main", "refs/notes/phasectl")
    return bare, sha


def test_notes_fetch_is_configured_once_and_brings_the_notes(
    tmp_path: Path, shared: tuple[Path, str], git_repo: Path
) -> None:
    bare, sha = shared
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    assert git(clone, "notes", "--ref=phasectl", "list", check=False) == ""  # clones skip notes
    status, out, err = init(clone, "--notes")
    assert status == 0
    assert out == make_snippet()
    assert f"'git fetch origin' now also fetches {NOTES}" in err
    assert "git push origin refs/notes/phasectl" in err
    assert "phasectl tag --push" in err
    status, _, err = init(clone, "--notes")
    assert status == 0
    assert "'git fetch origin' fetches refs/notes/phasectl already" in err
    assert git(clone, "config", "--get-all", "remote.origin.fetch").splitlines() == [
        "+refs/heads/*:refs/remotes/origin/*",
        NOTES,
    ]
    assert git(clone, "config", "--get-all", "remote.origin.push", check=False) == ""
    git(clone, "fetch", "--quiet")
    fetched = "refs/notes/remotes/origin/phasectl"
    assert git(clone, "notes", f"--ref={fetched}", "show", sha) == '{"schema": "x"}\n'
    # Both sides writing notes never makes a plain fetch fail, nor loses the local ones.
    git(clone, "notes", "--ref=phasectl", "add", "-m", "local", sha)
    git(git_repo, "notes", "--ref=phasectl", "add", "-f", "-m", "remote", sha)
    git(git_repo, "push", "--quiet", "--force", str(bare), "refs/notes/phasectl")
    git(clone, "fetch", "--quiet")
    assert git(clone, "notes", "--ref=phasectl", "show", sha) == "local\n"
    assert git(clone, "notes", f"--ref={fetched}", "show", sha) == "remote\n"


def test_notes_prefers_the_upstream_remote(tmp_path: Path, shared: tuple[Path, str]) -> None:
    bare, _ = shared
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--origin", "upstream", str(bare), str(clone))
    git(clone, "remote", "add", "origin", str(bare))
    assert init(clone, "--notes")[0] == 0
    upstream = NOTES.replace("/origin/", "/upstream/")
    assert upstream in git(clone, "config", "--get-all", "remote.upstream.fetch").splitlines()
    assert git(clone, "config", "--get-all", "remote.origin.fetch").splitlines() == [
        "+refs/heads/*:refs/remotes/origin/*"
    ]


def test_any_notes_refspec_counts_as_configured(git_repo: Path, tmp_path: Path) -> None:
    git(git_repo, "remote", "add", "origin", str(tmp_path / "nowhere.git"))
    own = "refs/notes/phasectl:refs/notes/phasectl"
    git(git_repo, "config", "--add", "remote.origin.fetch", own)
    status, _, err = init(git_repo, "--notes")
    assert status == 0
    assert "fetches refs/notes/phasectl already" in err
    assert git(git_repo, "config", "--get-all", "remote.origin.fetch").splitlines()[-1] == own


def test_notes_without_a_remote_is_an_error(git_repo: Path) -> None:
    git(git_repo, "remote", "add", "mirror", "https://example.invalid/x.git")
    status, _, err = init(git_repo, "--notes")
    assert status == 2
    assert err.startswith("Error: no remote to configure")
    assert not (git_repo / ".phasectl.toml").exists()  # refused before anything is written
    assert git(git_repo, "config", "--get-all", "remote.mirror.fetch").count(NOTES) == 0


def test_bare_repository_is_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    status, _, err = init(bare)
    assert status == 2
    assert err == f"Error: {bare} is a bare repository; run init in a work tree\n"


def test_the_command_offers_the_files_the_core_writes() -> None:
    from phasectl.commands.init import FILE_CHOICES
    from phasectl.workflow.init import CONFIG_FILE_CHOICES

    assert FILE_CHOICES == CONFIG_FILE_CHOICES
