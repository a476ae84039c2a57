"""A ticked Technical Debt box follows its item (file, kinds and text), not its line number."""

from __future__ import annotations

from pathlib import Path

from phasectl.report import document

from conftest import commit, git, run_cli


def grep_line(repo: Path, text: str, path: str) -> int:
    """The line of ``text`` in ``path`` at HEAD, as ``git grep -n`` finds it."""
    out = git(repo, "grep", "-n", "-F", "-e", text, "HEAD", "--", path)
    return int(out.splitlines()[0].split(":")[2])


def debt_region(path: Path) -> str:
    return document.region_contents(path.read_text())["technical-debt"]


def test_a_tick_survives_a_line_added_above_its_item(git_repo: Path) -> None:
    commit(git_repo, {"app.py": "def run():\n    return 1\n"}, "one")
    git(git_repo, "tag", "phase/1")
    body = "def run():\n    # TODO: retry on timeout\n    # TODO: log it\n    return 2\n"
    commit(git_repo, {"app.py": body}, "two")
    path = git_repo / "docs" / "phases" / "2.md"
    args = ("--repo", str(git_repo), "report", "--no-tests", "--output", str(path))
    assert run_cli(*args).exit_code == 0

    before = grep_line(git_repo, "# TODO: retry on timeout", "app.py")
    retry = f"`app.py` line {before} (TODO): `# TODO: retry on timeout`"
    log_it = f"`app.py` line {before + 1} (TODO): `# TODO: log it`"
    assert f"- [ ] {retry}\n- [ ] {log_it}\n" in debt_region(path)
    path.write_text(path.read_text().replace(f"- [ ] {retry}", f"- [x] {retry}"))

    commit(git_repo, {"app.py": '"""The app."""\n\n' + body}, "a docstring above it")
    assert run_cli(*args).exit_code == 0
    after = grep_line(git_repo, "# TODO: retry on timeout", "app.py")
    assert after == before + 2
    region = debt_region(path)
    assert f"- [x] `app.py` line {after} (TODO): `# TODO: retry on timeout`\n" in region
    assert f"- [ ] `app.py` line {after + 1} (TODO): `# TODO: log it`\n" in region
