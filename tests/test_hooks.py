"""``phasectl hook install|uninstall``: real repositories, real ``git push`` to a bare remote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phasectl.workflow.hooks import MARKER

from conftest import commit, git, run_cli
from support.projects import CALC_TEST, python_project

FOREIGN = "#!/bin/sh\n# another tool's hook\nexit 0\n"
# A foreign hook that records its arguments and the refs git sent it.
RECORDER = '#!/bin/sh\necho "args: $1 $2" >> "$RECORD"\ncat >> "$RECORD"\n'
CHECK_PASSES = "[check]\nreport_current = false\n"
CHECK_FAILS = "[check]\nreport_current = false\nfail_under = 100\n"  # calc.unused never runs


def hook_cli(repo: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("--repo", str(repo), "hook", *args)
    return result.exit_code, result.stdout, result.stderr


def push(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "origin", *args], cwd=repo, capture_output=True, text=True, check=False
    )


def remote_refs(remote: Path) -> set[str]:
    return {line.split("\t")[1] for line in git(remote, "ls-remote", ".").splitlines()}


def test_install_into_a_fresh_repository(git_repo: Path) -> None:
    commit(git_repo, {"a.txt": "a\n"})
    status, out, _ = hook_cli(git_repo, "install")
    hook = git_repo / ".git" / "hooks" / "pre-push"
    assert status == 0
    assert str(hook) in out
    assert os.access(hook, os.X_OK)
    assert MARKER in hook.read_text().splitlines()
    assert subprocess.run(["sh", "-n", str(hook)], check=False).returncode == 0


def test_install_again_replaces_its_own_hook(git_repo: Path) -> None:
    assert hook_cli(git_repo, "install")[0] == 0
    hook = git_repo / ".git" / "hooks" / "pre-push"
    first = hook.read_bytes()
    (git_repo / ".phasectl.toml").write_text('tag_prefix = "rel-"\nrelease_tags = ["v*"]\n')
    status, out, _ = hook_cli(git_repo, "install")
    assert status == 0
    assert out.startswith("Replaced the pre-push hook")
    assert hook.read_bytes() != first
    text = hook.read_text()
    assert "tag_prefix=rel-\n" in text
    assert "pattern='v*'\n" in text


def test_prefix_and_patterns_are_shell_quoted(git_repo: Path) -> None:
    config = 'tag_prefix = "r;$(x)\'"\nrelease_tags = ["x\'; touch pwned; \'*"]\n'
    (git_repo / ".phasectl.toml").write_text(config)
    assert hook_cli(git_repo, "install")[0] == 0
    hook = git_repo / ".git" / "hooks" / "pre-push"
    text = hook.read_text()
    assert "tag_prefix='r;$(x)'\"'\"''\n" in text
    assert "pattern='x'\"'\"'; touch pwned; '\"'\"'*'\n" in text
    assert "eval" not in text
    assert subprocess.run(["sh", "-n", str(hook)], check=False).returncode == 0


def test_a_foreign_hook_is_refused_and_kept(git_repo: Path) -> None:
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(FOREIGN)
    status, out, err = hook_cli(git_repo, "install")
    assert status == 2
    assert out == ""
    assert err == (
        f"Error: {hook} exists and was not written by phasectl; pass --chain to run it "
        "first and then phasectl, or remove it\n"
    )
    assert hook.read_text() == FOREIGN
    assert not hook.with_name("pre-push.phasectl-chained").exists()


def test_chain_refuses_when_a_chained_hook_exists(git_repo: Path) -> None:
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(FOREIGN)
    chained = hook.with_name("pre-push.phasectl-chained")
    chained.write_text("older\n")
    status, _, err = hook_cli(git_repo, "install", "--chain")
    assert status == 2
    assert f"{chained} exists already" in err
    assert hook.read_text() == FOREIGN
    assert chained.read_text() == "older\n"


def test_chain_keeps_the_foreign_hook_and_both_run(
    git_repo: Path, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": CHECK_PASSES})
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(RECORDER)
    hook.chmod(0o755)
    status, out, _ = hook_cli(git_repo, "install", "--chain")
    chained = hook.with_name("pre-push.phasectl-chained")
    assert status == 0
    assert f"It runs the earlier hook first: {chained}" in out
    assert chained.read_text() == RECORDER
    assert MARKER in hook.read_text().splitlines()

    record = tmp_path / "record.txt"
    monkeypatch.setenv("RECORD", str(record))
    git(git_repo, "tag", "phase/1")
    done = push(git_repo, "main", "phase/1")
    assert done.returncode == 0, done.stderr
    # The chained hook got git's arguments and every pushed ref; then phasectl checked the tag.
    assert record.read_text() == (
        f"args: origin {remote}\n"
        f"refs/heads/main {sha} refs/heads/main {'0' * 40}\n"
        f"refs/tags/phase/1 {sha} refs/tags/phase/1 {'0' * 40}\n"
    )
    assert "phasectl hook: checking release tag phase/1" in done.stderr
    assert remote_refs(remote) == {"refs/heads/main", "refs/tags/phase/1"}


def test_a_failing_chained_hook_stops_the_push(git_repo: Path, remote: Path) -> None:
    commit(git_repo, {"a.txt": "a\n"})
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\nexit 3\n")
    hook.chmod(0o755)
    assert hook_cli(git_repo, "install", "--chain")[0] == 0
    done = push(git_repo, "main")
    assert done.returncode != 0
    assert "pre-push.phasectl-chained failed (exit 3); push stopped" in done.stderr
    assert remote_refs(remote) == set()


def test_relative_core_hooks_path(git_repo: Path) -> None:
    commit(git_repo, {"sub/a.txt": "a\n"})
    git(git_repo, "config", "core.hooksPath", "myhooks")
    # --repo names a subfolder: the relative hooksPath is still taken from the top.
    status, out, _ = hook_cli(git_repo / "sub", "install")
    assert status == 0
    assert (git_repo / "myhooks" / "pre-push").is_file()
    assert f"at {git_repo / 'myhooks' / 'pre-push'}:" in out
    assert not (git_repo / ".git" / "hooks" / "pre-push").exists()
    assert not (git_repo / "sub" / "myhooks").exists()


def test_uninstall_removes_its_own_hook(git_repo: Path) -> None:
    assert hook_cli(git_repo, "install")[0] == 0
    hook = git_repo / ".git" / "hooks" / "pre-push"
    status, out, _ = hook_cli(git_repo, "uninstall")
    assert status == 0
    assert out == f"Removed the pre-push hook {hook}\n"
    assert not hook.exists()
    # Again: nothing left to remove, which is not an error.
    status, out, err = hook_cli(git_repo, "uninstall")
    assert (status, out) == (0, "")
    assert "nothing to remove" in err


def test_uninstall_restores_a_chained_hook(git_repo: Path) -> None:
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(FOREIGN)
    hook.chmod(0o750)
    assert hook_cli(git_repo, "install", "--chain")[0] == 0
    status, out, _ = hook_cli(git_repo, "uninstall")
    assert status == 0
    assert f"Restored the earlier hook {hook}" in out
    assert hook.read_text() == FOREIGN
    assert hook.stat().st_mode & 0o777 == 0o750
    assert not hook.with_name("pre-push.phasectl-chained").exists()


def test_uninstall_refuses_a_foreign_hook(git_repo: Path) -> None:
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(FOREIGN)
    status, _, err = hook_cli(git_repo, "uninstall")
    assert status == 2
    assert err.startswith(f"Error: {hook} was not written by phasectl")
    assert hook.read_text() == FOREIGN


def test_push_a_branch_passes_without_check(git_repo: Path, remote: Path) -> None:
    # A config whose check would fail: the branch push must not run it.
    python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": CHECK_FAILS})
    assert hook_cli(git_repo, "install")[0] == 0
    git(git_repo, "tag", "unrelated")
    done = push(git_repo, "main", "unrelated")
    assert done.returncode == 0, done.stderr
    assert "phasectl hook" not in done.stderr
    assert remote_refs(remote) == {"refs/heads/main", "refs/tags/unrelated"}


def test_push_a_phase_tag_passes_when_check_passes(git_repo: Path, remote: Path) -> None:
    python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": CHECK_PASSES})
    assert hook_cli(git_repo, "install")[0] == 0
    git(git_repo, "tag", "phase/x")
    done = push(git_repo, "phase/x")
    assert done.returncode == 0, done.stderr
    assert "phasectl hook: checking release tag phase/x" in done.stderr
    assert remote_refs(remote) == {"refs/tags/phase/x"}


def test_push_a_phase_tag_is_blocked_when_check_fails(git_repo: Path, remote: Path) -> None:
    python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": CHECK_FAILS})
    assert hook_cli(git_repo, "install")[0] == 0
    git(git_repo, "tag", "-a", "-m", "phase x", "phase/x")
    done = push(git_repo, "main", "phase/x")
    assert done.returncode != 0
    assert "phasectl hook: checking release tag phase/x" in done.stderr
    assert "push of tag phase/x blocked: 'phasectl check' failed (exit 1)" in done.stderr
    assert remote_refs(remote) == set()  # git pushes nothing when pre-push fails
    # Deleting a tag never runs the check.
    assert push(git_repo, "--no-verify", "phase/x").returncode == 0
    done = push(git_repo, "--delete", "phase/x")
    assert done.returncode == 0, done.stderr
    assert "phasectl hook" not in done.stderr


def test_release_tags_patterns_are_checked(git_repo: Path, remote: Path) -> None:
    config = 'release_tags = ["v[0-9]*"]\n' + CHECK_FAILS
    python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": config})
    assert hook_cli(git_repo, "install")[0] == 0
    git(git_repo, "tag", "v1.0")
    git(git_repo, "tag", "version-notes")
    done = push(git_repo, "v1.0")
    assert done.returncode != 0
    assert "push of tag v1.0 blocked" in done.stderr
    done = push(git_repo, "version-notes")
    assert done.returncode == 0, done.stderr
    assert remote_refs(remote) == {"refs/tags/version-notes"}


def test_hook_falls_back_to_phasectl_on_path(
    git_repo: Path, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the interpreter baked in at install time is gone, phasectl on PATH runs."""
    from phasectl.config import Config
    from phasectl.workflow.hooks import render_pre_push

    commit(git_repo, {"a.txt": "a\n"})
    hook = git_repo / ".git" / "hooks" / "pre-push"
    hook.write_text(render_pre_push(Config(), str(tmp_path / "gone" / "python")))
    hook.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "phasectl").write_text('#!/bin/sh\necho "phasectl on PATH: $*" >&2\nexit 1\n')
    (bin_dir / "phasectl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    git(git_repo, "tag", "phase/y")
    done = push(git_repo, "phase/y")
    assert done.returncode != 0
    assert f"phasectl on PATH: --repo {git_repo.resolve()} check --head phase/y" in done.stderr
    assert remote_refs(remote) == set()


def test_the_command_offers_the_hooks_the_core_installs() -> None:
    from phasectl.commands.hook import HOOK_CHOICES
    from phasectl.workflow.hooks import HOOK_TYPES

    assert HOOK_CHOICES == HOOK_TYPES


def test_the_pre_commit_framework_hook_checks_only_release_tags(
    git_repo: Path, remote: Path
) -> None:
    """The real pre-commit runs the hook this repository ships (its entry and stages), with
    its language switched to the environment phasectl is installed in."""
    import yaml

    shipped = Path(__file__).parent.parent / ".pre-commit-hooks.yaml"
    (hook,) = yaml.safe_load(shipped.read_text())
    local = {**hook, "language": "system"}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    python_project(
        git_repo,
        {"test_calc.py": CALC_TEST},
        **{
            ".phasectl.toml": 'release_tags = ["v[0-9]*"]\n' + CHECK_FAILS,
            ".pre-commit-config.yaml": yaml.safe_dump(config),
        },
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--hook-type", "pre-push"],
        cwd=git_repo, env=env, check=True, capture_output=True,
    )  # fmt: skip

    def pre_commit_push(*refs: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "origin", *refs],
            cwd=git_repo, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip

    # A branch (with no report, and a gate that would fail) passes without a check.
    done = pre_commit_push("main")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "phasectl check....." in done.stdout  # ran, and passed without checking
    git(git_repo, "tag", "notes-2026")
    assert pre_commit_push("notes-2026").returncode == 0
    # A phase tag and a release tag run the check, whose failing gate stops the push.
    # (pre-commit runs no hook at all for a tag whose commit the remote already has.)
    for tag in ("phase/x", "v1.0"):
        commit(git_repo, {f"{tag}.txt": "new\n"})
        git(git_repo, "tag", tag)
        done = pre_commit_push(tag)
        output = done.stdout + done.stderr
        assert done.returncode != 0, output
        assert f"checking release tag {tag}" in output
        assert "FAIL  coverage >= 100%" in output
    assert remote_refs(remote) == {"refs/heads/main", "refs/tags/notes-2026"}
