"""Command-line conventions: ``-o -``, global options anywhere, ``-C``, ``--config``, help."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import click
import pytest

from phasectl.cli import COMMANDS, cli

from conftest import commit, git, run_cli


def test_dash_output_means_standard_output(git_repo: Path, cwd: Path) -> None:
    commit(git_repo, {"a.py": "A = 1\n"})
    result = run_cli(
        "--repo", str(git_repo), "collect", "--no-tests", "--format", "json", "-o", "-"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["diff"]["totals"]["files_created"] == 1
    result = run_cli("--repo", str(git_repo), "report", "--no-tests", "-o", "-")
    assert result.exit_code == 0, result.stderr
    printed = run_cli("--repo", str(git_repo), "report", "--no-tests", "--stdout")
    assert result.stdout == printed.stdout
    assert result.stdout.startswith("# Phase: main\n")
    assert not (cwd / "-").exists()
    assert not (git_repo / "-").exists()
    assert not (git_repo / "docs").exists()
    result = run_cli("--repo", str(git_repo), "check", "--no-tests", "-o", "-")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: check judges a report file")


def test_global_options_after_the_command_and_dash_c(git_repo: Path, cwd: Path) -> None:
    commit(git_repo, {"a.py": "A = 1\n"})
    before = run_cli("--repo", str(git_repo), "collect", "--no-tests", "--format", "json")
    after = run_cli("collect", "--no-tests", "--format", "json", "--repo", str(git_repo))
    assert after.exit_code == 0, after.stderr
    assert after.stdout == before.stdout
    # -C DIR, as git -C: the repository and every relative path are taken from DIR.
    changed = run_cli("-C", str(git_repo), "collect", "--no-tests", "--format", "json",
                      "-o", "out.json")  # fmt: skip
    assert changed.exit_code == 0, changed.stderr
    assert json.loads((git_repo / "out.json").read_text()) == json.loads(before.stdout)
    assert Path.cwd() == cwd  # only for that run
    later = run_cli("history", "-C", str(git_repo))
    assert later.exit_code == 0, later.stderr
    assert "No phase tags yet" in later.stderr
    # --debug after the command name shows the traceback of an error.
    result = run_cli("collect", "--no-tests", "--base", "nope", "--repo", str(git_repo), "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: unknown revision 'nope'")


def test_config_file_option(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"a.py": "A = 1\n", "b.lock": "x\n"})
    settings = tmp_path / "team.toml"
    settings.write_text('report_dir = "reports"\nextend_exclude = ["a.py"]\n')
    result = run_cli("--repo", str(git_repo), "--config", str(settings), "report", "--no-tests")
    assert result.exit_code == 0, result.stderr
    assert (git_repo / "reports" / "main.md").is_file()
    data = json.loads(
        run_cli("collect", "--no-tests", "--format", "json", "--repo", str(git_repo),
                "--config", str(settings)).stdout
    )  # fmt: skip
    assert {f["path"]: f["excluded"] for f in data["diff"]["files"]} == {
        "a.py": True,
        "b.lock": True,
    }
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n\n[tool.phasectl]\nreport_dir = "other"\n')
    run_cli("--repo", str(git_repo), "--config", str(pyproject), "report", "--no-tests")
    assert (git_repo / "other" / "main.md").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text("tag_prefx = 'x/'\n")
    result = run_cli("--repo", str(git_repo), "--config", str(bad), "collect", "--no-tests")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: unknown key 'tag_prefx' in {bad}")
    missing = run_cli("--config", str(tmp_path / "none.toml"), "collect")
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


def test_history_chart_must_be_svg(git_repo: Path, tmp_path: Path) -> None:
    commit(git_repo, {"a.py": "A = 1\n"})
    git(git_repo, "tag", "phase/1")
    chart = tmp_path / "x.png"
    result = run_cli("--repo", str(git_repo), "history", "--chart", str(chart))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: phasectl draws the chart as SVG only")
    assert not chart.exists()
    ok = run_cli("--repo", str(git_repo), "history", "--chart", str(tmp_path / "x.SVG"))
    assert ok.exit_code == 0, ok.stderr


def _commands() -> list[tuple[str, ...]]:
    names = [(name,) for name in COMMANDS]
    return [*names, ("hook", "install"), ("hook", "uninstall"), ("hook", "check-push")]


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_help_shows_examples_and_defaults_in_one_style(path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert result.exit_code == 0
    text = result.stdout
    assert re.search(r"^  Examples?:\n    phasectl ", text, re.MULTILINE), text
    # Defaults only as click writes them: "[default: ...]", never typed into help text.
    command = cli
    ctx = click.Context(cli)
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, name)  # type: ignore[assignment]
    for param in command.params:
        if isinstance(param, click.Option):
            assert not re.search(r"[\[(]default", param.help or "", re.IGNORECASE), param.name


def test_debug_still_works_before_the_command(git_repo: Path) -> None:
    result = run_cli("--debug", "--repo", str(git_repo / "nowhere"), "collect")
    assert result.exit_code == 2
    assert os.fspath(git_repo / "nowhere") in result.stderr


SLOW_TESTS = "".join(
    f"import time\n\n\ndef test_slow_{n}():\n    time.sleep(0.15)\n\n\n" if n == 0 else
    f"def test_slow_{n}():\n    time.sleep(0.15)\n\n\n"
    for n in range(8)
)  # fmt: skip


def test_progress_names_the_run_and_counts_finished_tests(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phasectl.runners import process

    from support.projects import pytest_summary, python_project

    python_project(git_repo, {"test_slow.py": SLOW_TESTS})
    git(git_repo, "tag", "phase/1")  # no note: the base runs in a worktree
    python_project(git_repo, {"test_slow.py": SLOW_TESTS + "def test_more():\n    pass\n"})
    monkeypatch.setattr(process, "_PROGRESS_EVERY_S", 0.4)
    result = run_cli("--repo", str(git_repo), "collect", "-q", "--format", "json")
    assert result.exit_code == 0, result.stderr
    pattern = re.compile(
        r"^(?:\[base\] )?phasectl: (head|base) run still running: (\d+) tests? finished \(\d+ s\)$"
    )
    seen: dict[str, list[int]] = {"head": [], "base": []}
    for line in result.stderr.splitlines():
        match = pattern.match(line)
        if match:
            seen[match.group(1)].append(int(match.group(2)))
    data = json.loads(result.stdout)
    for run, total in (("head", data["tests"]["after"]["total"]),
                       ("base", data["tests"]["before"]["total"])):  # fmt: skip
        counts = seen[run]
        assert counts, result.stderr
        assert counts == sorted(counts)
        assert max(counts) > 0
        assert max(counts) <= total
    assert data["tests"]["after"]["total"] == pytest_summary(git_repo)["passed"] == 9
    assert "phasectl: base run: the tests at " in result.stderr


def _stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Run phasectl with its standard error on a pseudo-terminal; what it wrote there."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasectl", *args],
        stdout=subprocess.DEVNULL, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other side has closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0, b"".join(chunks)
    return b"".join(chunks)


def test_pytest_keeps_its_colours_on_a_terminal_unless_no_color(git_repo: Path) -> None:
    import subprocess
    import sys

    from support.projects import python_project

    python_project(git_repo, {"test_one.py": "def test_one():\n    pass\n"})
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PY_COLORS", "FORCE_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    args = ["--repo", str(git_repo), "collect", "--base", "HEAD", "--format", "json"]
    coloured = _stderr_on_a_terminal(args, env)
    assert b"\x1b[" in coloured
    assert b"1 passed" in re.sub(rb"\x1b\[[0-9;]*m", b"", coloured)
    plain = _stderr_on_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert b"1 passed" in plain
    assert b"\x1b[" not in plain
    piped = subprocess.run(
        [sys.executable, "-m", "phasectl", *args], env=env, capture_output=True, check=True
    )
    assert b"1 passed" in piped.stderr
    assert b"\x1b[" not in piped.stderr
