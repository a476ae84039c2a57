"""Attacks on the guarantees the README lists: each class of bad input, signal and shared
note is attacked with real repositories, real processes and real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from phasectl.model.results import TestCase, TestResults
from phasectl.repo.repository import Repository
from phasectl.store.snapshots import NOTES_REF, Snapshot, store_snapshot

from conftest import collect_json, commit, git, run_cli
from support.projects import python_project

JUNIT = (
    '<testsuite name="s" time="0.5">'
    '<testcase classname="t" name="one" time="0.2"/>'
    '<testcase classname="t" name="two" time="0.3"><failure message="x"/></testcase>'
    "</testsuite>"
)


def junit_phase(repo: Path) -> tuple[str, str]:
    """A phase from tag phase/1 to HEAD whose test results come from a committed JUnit file."""
    base = commit(repo, {"a.py": "x = 1\n", "junit.xml": JUNIT})
    git(repo, "tag", "phase/1")
    head = commit(repo, {"a.py": "x = 2\n"})
    return base, head


# --- 1. notes are untrusted input --------------------------------------------------------

BAD_NOTES = [
    "[]",
    "null",
    "5",
    '"text"',
    '{"schema": "phasectl-snapshot/1"}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", "tests": []}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", '
    '"tests": {"passed": "1", "failed": 0, "errors": 0, "skipped": 0}}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", '
    '"coverage": {"percent": NaN, "percent_display": "x", "lines_covered": 1, "lines_total": 2}}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", "phase": {"head": []}}',
    '{"schema": "phasectl-snapshot/1", "commit": "x", "source": "s", "benchmarks": [5]}',
    "[" * 100_000,
]


@pytest.mark.parametrize("note", BAD_NOTES, ids=lambda n: n[:40])
def test_a_bad_note_is_a_warning_naming_the_commit_and_counts_as_absent(
    git_repo: Path, note: str
) -> None:
    base, head = junit_phase(git_repo)
    for sha in (base, head):
        git(git_repo, "notes", f"--ref={NOTES_REF}", "add", "-f", "-m", note, sha)
    repo = str(git_repo)
    collected = run_cli(
        "--repo", repo, "collect", "--format", "json", "--junit", str(git_repo / "junit.xml"),
        "--run-base", "never",
    )  # fmt: skip
    assert collected.exit_code == 0, collected.output
    assert f"note on {base[:12]} is unreadable" in collected.stderr
    data = json.loads(collected.stdout)
    assert data["tests"]["before"] is None
    assert data["tests"]["after"]["total"] == 2
    reported = run_cli(
        "--repo",
        repo,
        "report",
        "--stdout",
        "--junit",
        str(git_repo / "junit.xml"),
        "--run-base",
        "never",
    )
    assert reported.exit_code == 0, reported.output
    checked = run_cli(
        "--repo", repo, "check", "--junit", str(git_repo / "junit.xml"), "--run-base", "never",
        "--no-report-current",
    )  # fmt: skip
    # Without the note there is no baseline: the new-failures gate cannot be measured.
    assert checked.exit_code == 2, checked.output
    assert f"note on {base[:12]} is unreadable" in checked.stderr
    assert "could not be measured" in checked.stderr
    git(git_repo, "tag", "phase/2")
    history = run_cli("--repo", repo, "history", "--format", "json")
    assert history.exit_code == 0, history.output
    assert f"note on {head[:12]} is unreadable" in history.stderr
    rows = json.loads(history.stdout)["phases"]
    assert [row["snapshot"] for row in rows] == [False, False]


# --- 2. memory is bounded for every input ------------------------------------------------

GIB = 1 << 30


def phasectl_limited(repo: Path, *args: str, limit: int = GIB) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process whose address space is capped at ``limit`` bytes, so
    that a reader that outgrows its bound fails this test instead of the machine."""
    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
        "from phasectl.cli import main\n"
        "sys.argv = ['phasectl', *sys.argv[1:]]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, "--repo", str(repo), *args],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def go_project(repo: Path, profile: str) -> Path:
    commit(repo, {"go.mod": "module example.com/m\n", "calc.go": "package m\n\nfunc A() {}\n"})
    path = repo.parent / "cover.out"
    path.write_text(f"mode: set\n{profile}\n")
    return path


def test_a_go_range_is_clamped_to_the_lines_its_file_has(git_repo: Path) -> None:
    """A billion-line range in a two-line profile: 24 GB before, now the file's 3 lines."""
    profile = go_project(git_repo, "example.com/m/calc.go:1.1,1000000000.2 1 1")
    done = phasectl_limited(
        git_repo, "collect", "--format", "json", "--coverage", str(profile), limit=256 << 20
    )
    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)["coverage"]["after"]
    lines = (git_repo / "calc.go").read_text().splitlines()
    assert len(lines) == 3
    # Go's figure counts statements, as go tool cover -func does: the block's one.
    assert (after["lines_total"], after["lines_covered"]) == (1, 1)


def test_a_go_range_beyond_any_file_is_an_error(git_repo: Path) -> None:
    profile = go_project(git_repo, "example.com/other/x.go:1.1,1000000000.2 1 1")
    done = phasectl_limited(git_repo, "collect", "--coverage", str(profile), limit=256 << 20)
    assert done.returncode == 2, done.stderr
    # Kept as a range, never expanded: the file is not here, so the data matches nothing.
    assert done.stderr.startswith(f"Error: coverage data in {profile} does not match any file")
    assert "Traceback" not in done.stderr


def write_cobertura(path: Path, files: int, lines: int) -> None:
    with path.open("w") as out:
        out.write('<?xml version="1.0" ?>\n<coverage version="7"><packages><package><classes>\n')
        for n in range(files):
            body = "".join(f'<line number="{i}" hits="{i % 2}"/>' for i in range(1, lines + 1))
            out.write(f'<class filename="m{n}.py"><lines>{body}</lines></class>\n')
        out.write("</classes></package></packages></coverage>\n")


def write_junit(path: Path, suites: int, cases: int) -> None:
    with path.open("w") as out:
        out.write("<testsuites>\n")
        for n in range(suites):
            body = "".join(
                f'<testcase classname="pkg.mod{n}" name="test_{i}" time="0.001">'
                + ("<failure message='x'>assert 1 == 2</failure>" if i % 7 == 0 else "")
                + "</testcase>"
                for i in range(cases)
            )
            out.write(f'<testsuite name="s{n}">{body}</testsuite>\n')
        out.write("</testsuites>\n")


@pytest.mark.parametrize("kind", ["cobertura", "junit"])
def test_a_large_xml_file_is_read_in_bounded_memory(git_repo: Path, kind: str) -> None:
    """Large XML under a 384 MiB address space. For the 25 MB Cobertura file the whole-tree
    parse ran out of memory there (it needed 1.7 GB for 100 MB); the streaming one needs
    ~75 MB beyond the interpreter. A JUnit file's cases are kept (the identity diff needs
    them), so its 15 MB file is the size whose cases fit with room to spare."""
    commit(git_repo, {f"m{n}.py": "x = 1\n" * 2000 for n in range(3)})
    path = git_repo.parent / f"{kind}.xml"
    if kind == "cobertura":
        write_cobertura(path, 430, 2000)
        option = "--coverage"
    else:
        write_junit(path, 240, 800)
        option = "--junit"
    assert path.stat().st_size > (25_000_000 if kind == "cobertura" else 15_000_000)
    done = phasectl_limited(
        git_repo, "collect", "--format", "json", option, str(path), limit=384 << 20
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    if kind == "cobertura":
        assert data["coverage"]["after"]["lines_total"] == 430 * 2000
    else:
        assert data["tests"]["after"]["total"] == 240 * 800


def test_template_output_is_bounded(git_repo: Path) -> None:
    """``{{ 'a' * 10**10 }}`` reached 20 GB; now an error naming the template and its line."""
    commit(git_repo, {"a.py": "x = 1\n"})
    sections = git_repo / ".phasectl" / "templates" / "sections"
    sections.mkdir(parents=True)
    for expression in (
        "'a' * 10**10", "'a'|center(10**10)", "'{:>9999999999}'.format(1)",
        "range(100000)|join('x' * 100000)",
    ):  # fmt: skip
        (sections / "metrics.md.j2").write_text(f"line one\n{{{{ {expression} }}}}\n")
        done = phasectl_limited(git_repo, "report", "--stdout", "--no-tests")
        assert done.returncode == 2, (expression, done.stderr)
        error = done.stderr.splitlines()[-1]
        assert error.startswith("Error: template "), done.stderr
        assert "metrics.md.j2:2" in error
        assert "Traceback" not in done.stderr


# --- 6. refs and numbers are validated where they enter ----------------------------------


@pytest.mark.parametrize("rev", ["^HEAD", "HEAD~1..HEAD", "HEAD~1...HEAD", "HEAD^@", "HEAD^!"])
@pytest.mark.parametrize("option", ["--base", "--head"])
def test_a_ref_expression_for_several_commits_is_refused(
    git_repo: Path, option: str, rev: str
) -> None:
    commit(git_repo, {"a.py": "1\n"})
    commit(git_repo, {"a.py": "2\n"})
    result = run_cli("--repo", str(git_repo), "collect", "--no-tests", option, rev)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: '{rev}' names a range or an exclusion, not one commit; pass a single branch, "
        "tag or commit (for a range, use --base and --head)\n"
    )


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf"])
@pytest.mark.parametrize("gate", ["--fail-under", "--max-coverage-drop", "--min-patch-coverage"])
def test_a_gate_that_is_not_a_number_is_refused(git_repo: Path, gate: str, value: str) -> None:
    commit(git_repo, {"a.py": "1\n"})
    result = run_cli("--repo", str(git_repo), "check", "--no-tests", gate, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{gate}'" in result.stderr


# --- 7. writes stay inside the repository and respect the user ---------------------------


@pytest.mark.parametrize("folder", ["../outside", "{absolute}", "docs/../../outside", "link"])
def test_report_dir_outside_the_repository_is_refused(
    git_repo: Path, tmp_path: Path, folder: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (git_repo / "link").symlink_to(elsewhere)
    folder = folder.format(absolute=elsewhere)
    commit(git_repo, {".phasectl.toml": f"report_dir = {json.dumps(folder)}\n", "a.py": "1\n"})
    before = sorted(p.name for p in tmp_path.rglob("*") if ".git" not in p.parts)
    for args in (["report", "--no-tests"], ["tag", "1", "--no-tests"]):
        result = run_cli("--repo", str(git_repo), *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[-1] == (
            f"Error: report_dir = {folder!r} is outside the repository; keep the reports "
            "inside it (or pass --output FILE for one report elsewhere)"
        )
    assert sorted(p.name for p in tmp_path.rglob("*") if ".git" not in p.parts) == before
    assert git(git_repo, "tag", "-l") == ""


def test_report_dir_with_glob_characters_is_matched_literally(git_repo: Path) -> None:
    config = '[tool.phasectl]\nreport_dir = "docs/r[0-9]*"\n'
    commit(git_repo, {"pyproject.toml": config, "a.py": "1\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"docs/r[0-9]*/1.md": "report\n", "docs/r1x/notes.md": "notes\n"})
    files = {f["path"]: f["excluded"] for f in collect_json(git_repo)["diff"]["files"]}
    assert files == {"docs/r[0-9]*/1.md": True, "docs/r1x/notes.md": False}


def test_a_read_only_report_is_refused_even_for_root(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    report = git_repo / "docs" / "phases" / "main.md"
    report.parent.mkdir(parents=True)
    report.write_text("# Mine\n\n## Metrics\n")
    report.chmod(0o444)
    result = run_cli("--repo", str(git_repo), "report", "--no-tests")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(f"Error: {report} is read-only;")
    assert report.read_text() == "# Mine\n\n## Metrics\n"
    assert oct(report.stat().st_mode & 0o777) == "0o444"


def test_an_undone_tag_removes_the_folders_it_created(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    hook = git_repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    result = run_cli("--repo", str(git_repo), "tag", "1", "--no-tests")
    assert result.exit_code == 2, result.output
    assert not (git_repo / "docs").exists()
    assert git(git_repo, "status", "--porcelain") == ""


# --- 9. messages that are true -----------------------------------------------------------


def test_an_orphan_branch_is_not_called_a_repository_without_commits(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "checkout", "--quiet", "--orphan", "fresh")
    result = run_cli("--repo", str(git_repo), "collect", "--no-tests")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the checked-out branch fresh has no commits yet")
    assert "no commits yet; commit something first" not in result.stderr
    assert collect_json(git_repo, "--head", "main")["head"]["ref"] == "main"


def lcov(path: Path, total: int, covered: int) -> str:
    records = "".join(f"DA:{n},{int(n <= covered)}\n" for n in range(1, total + 1))
    path.write_text(f"TN:\nSF:calc.py\n{records}end_of_record\n")
    return str(path)


@pytest.mark.parametrize(
    ("after", "verdict", "figure"),
    [(7946, "FAIL", "-0.54"), (7954, "PASS", "-0.46"), (7950, "PASS", "-0.50"),
     (7949, "FAIL", "-0.51")],
)  # fmt: skip
def test_a_gate_shows_enough_digits_to_agree_with_its_verdict(
    git_repo: Path, tmp_path: Path, after: int, verdict: str, figure: str
) -> None:
    """Before 80% (80/100), after ``after``/10000: a drop of 0.54 points fails the 0.5 gate
    and is shown as -0.54, never as a failing "-0.5"."""
    commit(git_repo, {"calc.py": "x = 1\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"calc.py": "x = 2\n"})
    base, head = lcov(tmp_path / "base.info", 100, 80), lcov(tmp_path / "head.info", 10000, after)
    args = ["--repo", str(git_repo), "check", "--no-report-current", "--base-coverage", base,
            "--coverage", head, "--allow-new-failures", "--max-coverage-drop", "0.5"]  # fmt: skip
    result = run_cli(*args)
    change = json.loads(
        run_cli(*[a for a in args if a != "check"][:2], "collect", "--format", "json",
                *args[4:8]).stdout
    )["coverage"]["change"]  # fmt: skip
    assert result.exit_code == (1 if verdict == "FAIL" else 0), result.output
    line = next(x for x in result.stdout.splitlines() if "coverage drop" in x)
    shown = [verdict, "coverage", "drop", "<=", "0.5", "points", figure, "points"]
    assert line.split()[:8] == shown
    assert (-float(figure) > 0.5) == (-change > 0.5) == (verdict == "FAIL")


def test_a_suggested_command_with_a_non_utf8_name_runs(git_repo: Path) -> None:
    """The command phasectl suggests, run by a real shell, pushes the tag named with the
    byte 0xE9 (not the text '\\udce9')."""
    import os

    from phasectl.quoting import shell_command

    commit(git_repo, {"a.py": "1\n"})
    tag = os.fsdecode(b"phase/caf\xe9")
    git(git_repo, "tag", tag)
    suggested = shell_command(["git", "tag", "--list", tag])
    assert "\\udc" not in suggested
    done = subprocess.run(["sh", "-c", suggested], cwd=git_repo, capture_output=True, check=True)
    assert done.stdout == b"phase/caf\xe9\n"
    # The same quoting in what phasectl prints: tagging that name again names the command
    # that deletes it, and that command runs.
    result = run_cli("--repo", str(git_repo), "tag", os.fsdecode(b"caf\xe9"), "--no-tests")
    assert result.exit_code == 2
    command = result.stderr.splitlines()[-1].split("delete it with: ", 1)[1]
    subprocess.run(["sh", "-c", command], cwd=git_repo, capture_output=True, check=True)
    assert git(git_repo, "tag", "--list") == ""


# --- 4. signals --------------------------------------------------------------------------

SLOW_TEST = """\
import os, pathlib, time

def test_slow():
    pathlib.Path(os.environ["PIDFILE"]).write_text(str(os.getpid()))
    time.sleep(120)
"""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has finished: it waits only for its parent to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def start_phasectl(repo: Path, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    """The real CLI as a terminal would start it: its own process group, a private TMPDIR;
    returns once the project's slow test runs (its pid is in the returned file)."""
    import time

    pidfile = tmp_path / "test.pid"
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "PIDFILE": str(pidfile), "TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasectl", "--repo", str(repo), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (pidfile.exists() and pidfile.read_text()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the test run did not start"
        time.sleep(0.05)
    return proc, pidfile


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("where", ["work tree", "base worktree"])
def test_a_signal_stops_the_run_cleans_up_and_exits_128_plus_its_number(
    git_repo: Path, tmp_path: Path, signum: int, code: int, where: str
) -> None:
    python_project(git_repo, {"test_slow.py": SLOW_TEST})
    git(git_repo, "tag", "phase/1")
    if where == "base worktree":
        commit(git_repo, {"tests/test_slow.py": "def test_fast():\n    pass\n"})
        args = ["collect", "--run-base", "always", "--junit", str(git_repo / "x.xml")]
        (git_repo / "x.xml").write_text('<testsuite><testcase name="a"/></testsuite>')
    else:
        args = ["collect"]
    proc, pidfile = start_phasectl(git_repo, tmp_path, *args)
    pid = int(pidfile.read_text())
    # A terminal's Ctrl-C goes to the whole foreground group; a CI runner's SIGTERM to one.
    os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    # (After SIGTERM, pytest's last line may stop half-way: phasectl's follows on it.)
    assert err.endswith(
        f"phasectl: stopped by {signal.Signals(signum).name}; temporary files removed\n"
    )
    assert "Traceback" not in err
    # pytest saw one interruption (a second one, mid-teardown, printed ~200 lines).
    assert err.count("!! KeyboardInterrupt !!") <= 1
    assert not alive(pid), err
    assert list((tmp_path / "tmp").iterdir()) == []
    assert git(git_repo, "worktree", "list").count("\n") == 1


def _slow_base_run(git_repo: Path) -> tuple[str, ...]:
    """A phase whose base's tests hang (SLOW_TEST); the arguments of a ``collect`` that
    runs them in a temporary worktree."""
    python_project(git_repo, {"test_slow.py": SLOW_TEST})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"tests/test_slow.py": "def test_fast():\n    pass\n"})
    (git_repo / "x.xml").write_text('<testsuite><testcase name="a"/></testsuite>')
    return ("collect", "--run-base", "always", "--junit", str(git_repo / "x.xml"))


def test_a_worktree_left_by_a_killed_run_is_pruned_on_the_next(
    git_repo: Path, tmp_path: Path
) -> None:
    proc, pidfile = start_phasectl(git_repo, tmp_path, *_slow_base_run(git_repo))
    os.killpg(proc.pid, signal.SIGKILL)  # phasectl cannot clean up after this
    proc.communicate()
    pid = int(pidfile.read_text())
    os.killpg(os.getpgid(pid), signal.SIGKILL)  # its test run, left behind, in its own group
    left = [line for line in git(git_repo, "worktree", "list").splitlines() if "locked" in line]
    assert len(left) == 1
    stale = Path(left[0].split()[0])
    assert stale.is_dir()
    result = run_cli("--repo", str(git_repo), "collect", "--no-tests")
    assert result.exit_code == 0, result.output
    assert f"removed the stale worktree {stale}" in result.stderr
    assert git(git_repo, "worktree", "list").count("\n") == 1
    assert not stale.parent.exists()


def test_the_temporary_folders_of_a_killed_run_go_on_the_next_but_a_live_runs_stay(
    git_repo: Path, tmp_path: Path
) -> None:
    args = _slow_base_run(git_repo)
    killed, pidfile = start_phasectl(git_repo, tmp_path, *args)
    os.killpg(killed.pid, signal.SIGKILL)  # phasectl cannot clean up after this
    killed.communicate()
    os.killpg(os.getpgid(int(pidfile.read_text())), signal.SIGKILL)  # its orphaned test run
    scratch = tmp_path / "tmp"
    left = sorted(p.name.rsplit("-", 1)[0] for p in scratch.iterdir())
    assert left == ["phasectl-base", "phasectl-run"]  # the base worktree's, the pytest run's
    stale = set(scratch.iterdir())
    # The next run removes the killed run's worktree and both its folders as it starts.
    pidfile.unlink()
    live, _ = start_phasectl(git_repo, tmp_path, *args)
    try:
        running = set(scratch.iterdir())
        assert not running & stale
        assert sorted(p.name.rsplit("-", 1)[0] for p in running) == left
        # A third run while that one is still going: its folders are in use, and stay.
        env = {**os.environ, "TMPDIR": str(scratch)}
        done = subprocess.run(
            [sys.executable, "-m", "phasectl", "--repo", str(git_repo), "collect", "--no-tests"],
            env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "removed" not in done.stderr
        assert set(scratch.iterdir()) == running
        listed = git(git_repo, "worktree", "list").splitlines()
        assert len(listed) == 2  # the main one and the live run's
        assert Path(listed[1].split()[0]).parent in running
    finally:
        live.send_signal(signal.SIGTERM)
        _, err = live.communicate(timeout=60)
    assert live.returncode == 143, err
    run_folder = next(p for p in stale if p.name.startswith("phasectl-run-"))
    assert f"phasectl: removed the temporary folder {run_folder} of a killed run\n" in err
    assert "removed the stale worktree" in err
    assert list(scratch.iterdir()) == []
    assert git(git_repo, "worktree", "list").count("\n") == 1


# --- 5. one repository, all the way through ----------------------------------------------


def test_git_dir_naming_another_repository_is_refused(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(git_repo, {"a.py": "1\n"})
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "--quiet", "-b", "main")
    commit(other, {"b.py": "2\n"})
    monkeypatch.chdir(tmp_path)
    for key, value in (("GIT_DIR", "other/.git"), ("GIT_WORK_TREE", str(other))):
        monkeypatch.setenv(key, value)
        result = run_cli("--repo", str(git_repo), "collect", "--no-tests")
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"Error: {key}="), result.stderr
        assert result.stdout == ""
        monkeypatch.delenv(key)


def test_git_dir_naming_the_same_repository_as_git_sets_it_for_hooks_is_honoured(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(git_repo, {"a.py": "1\n"})
    git(git_repo, "tag", "phase/1")
    commit(git_repo, {"a.py": "2\n", "b.py": "3\n"})
    expected = collect_json(git_repo)
    monkeypatch.chdir(git_repo)
    monkeypatch.setenv("GIT_DIR", ".git")
    monkeypatch.setenv("GIT_WORK_TREE", ".")
    assert collect_json(git_repo) == expected
    assert expected["diff"]["totals"]["files_created"] == 1


# --- 8. pushing a phase is atomic and tells the truth ------------------------------------


def note_on(repo: Path, sha: str, ref: str = NOTES_REF) -> dict[str, object]:
    data: dict[str, object] = json.loads(git(repo, "notes", f"--ref={ref}", "show", sha))
    return data


def colleague_snapshots(remote: Path, tmp_path: Path, shas: list[str]) -> Path:
    """A second clone that stores snapshots on ``shas`` and pushes them: the remote's notes
    move on without this repository."""
    clone = tmp_path / "colleague"
    git(tmp_path, "clone", "--quiet", "-b", "main", str(remote), str(clone))
    repo = Repository.open(clone)
    for sha in shas:
        tests = TestResults.from_cases([TestCase("t::theirs", "passed", 0.1)], 0.1)
        store_snapshot(repo, Snapshot(sha, "work tree", tests, measured_at="2026-01-01"))
    git(clone, "push", "--quiet", "origin", NOTES_REF)
    return clone


def tagged_project(repo: Path) -> tuple[str, str]:
    first = commit(repo, {"a.py": "1\n", "j.xml": JUNIT})
    second = commit(repo, {"a.py": "2\n"})
    git(repo, "push", "--quiet", "origin", "main")
    return first, second


def test_tag_push_merges_notes_that_moved_on_and_pushes_tag_and_notes_atomically(
    git_repo: Path, remote: Path, tmp_path: Path
) -> None:
    first, second = tagged_project(git_repo)
    colleague_snapshots(remote, tmp_path, [first, second])
    theirs = note_on(remote, second)
    result = run_cli(
        "--repo", str(git_repo), "tag", "1", "--push", "--junit", str(git_repo / "j.xml"),
        "--no-commit", "--no-verify",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert git(remote, "rev-parse", "phase/1^{commit}").strip() == second
    # The colleague's note on the other commit is kept; on the tagged commit, ours wins.
    assert note_on(remote, first)["commit"] == first
    ours = note_on(remote, second)
    assert ours["phase"] is not None
    assert theirs["phase"] is None
    assert git(remote, "rev-parse", NOTES_REF) == git(git_repo, "rev-parse", NOTES_REF)


def test_a_rejected_push_pushes_nothing_and_gives_a_command_that_works(
    git_repo: Path, remote: Path, tmp_path: Path
) -> None:
    first, second = tagged_project(git_repo)
    colleague_snapshots(remote, tmp_path, [first])
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'notes are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = run_cli(
        "--repo", str(git_repo), "tag", "1", "--push", "--junit", str(git_repo / "j.xml"),
        "--no-commit", "--no-verify",
    )  # fmt: skip
    assert result.exit_code == 2
    error = result.stderr.splitlines()[-1]
    assert "pre-receive hook declined" in error
    assert "nothing was pushed" in error
    assert git(remote, "tag", "-l") == ""
    assert git(remote, "notes", f"--ref={NOTES_REF}", "list").split()[1] == first
    hook.unlink()
    command = error.split("push it with: ", 1)[1]
    subprocess.run(["sh", "-c", command], cwd=git_repo, check=True, capture_output=True)
    assert git(remote, "rev-parse", "phase/1^{commit}").strip() == second
    assert {note_on(remote, sha)["commit"] for sha in (first, second)} == {first, second}


# --- 3. readers raise only phasectl's error (the fuzzing is in test_fuzz_readers.py) -----


@pytest.mark.parametrize(
    "content",
    [
        b'[tool.phasectl]\ntag_prefix = "caf\xe9/"\n',
        b"[tool.phasectl]\nmax_files_listed = " + b"1" * 5000 + b"\n",
        b"[tool.phasectl]\nexclude = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    ],
    ids=["not UTF-8", "5,000-digit integer", "nested 5,000 deep"],
)
def test_a_broken_config_is_one_error_line_and_exit_2(git_repo: Path, content: bytes) -> None:
    commit(git_repo, {"a.py": "1\n", "pyproject.toml": content})
    result = run_cli("--repo", str(git_repo), "collect", "--no-tests")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: pyproject.toml ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [("cov.info", b"SF:a.py\nDA:1\nend_of_record\n"),
     ("junit.xml", b"<testsuites>" + b"<testsuite>" * 5000 + b"</testsuite>" * 5000
                   + b"</testsuites>")],
    ids=["LCOV DA:1", "5,000 nested suites"],
)  # fmt: skip
def test_a_malformed_artifact_is_one_error_line_and_exit_2(
    git_repo: Path, name: str, content: bytes
) -> None:
    commit(git_repo, {"a.py": "1\n"})
    path = git_repo.parent / name
    path.write_bytes(content)
    option = "--junit" if name.endswith(".xml") else "--coverage"
    result = run_cli("--repo", str(git_repo), "collect", option, str(path))
    if name == "junit.xml":  # valid, if odd: read without recursion, no test in it
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}, line 2: malformed LCOV record 'DA:1'\n"


def test_running_out_of_memory_anyway_is_an_error_line_not_a_traceback(git_repo: Path) -> None:
    """Under a limit below any bound (here 128 MiB for 190,000 test cases), running out of
    memory is still bad input for this machine: exit 2 and one ``Error:`` line."""
    commit(git_repo, {"a.py": "1\n"})
    path = git_repo.parent / "junit.xml"
    write_junit(path, 240, 800)
    done = phasectl_limited(
        git_repo, "collect", "--format", "json", "--junit", str(path), limit=128 << 20
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].startswith("Error: phasectl ran out of memory;")
    assert "Traceback" not in done.stderr
