"""The bulk diff: one streamed git process, started by the command before the heavy
imports, stopped with phasectl, and the only line diff git runs for a ``collect``.

The figures must be git's however the command was started, the repository is the one
git's own discovery finds, and git's output is handed over in whole raw records however
it is cut.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from phasectl.repo.diff import raw_section_end

from conftest import by_path, collect_json, commit, git, run_cli

TEXT = "".join(f"line {n}\n" for n in range(1, 31))
# `python -m phasectl` enters through phasectl.cli.main, as the console script does.
PHASECTL = [sys.executable, "-m", "phasectl"]


def process_run(
    repo: Path, *args: str, cwd: Path | None = None, status: int = 0, diffs: int = 1
) -> str:
    """``phasectl --repo REPO args`` as a process; its standard output. From git's trace,
    also checks that git's line diff (``--numstat``) ran ``diffs`` times."""
    trace = repo.parent / "git-trace.txt"
    trace.unlink(missing_ok=True)
    done = subprocess.run(
        [*PHASECTL, "--repo", str(repo), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TRACE": str(trace)},
    )
    assert done.returncode == status, done.stderr
    ran = [line for line in trace.read_text().splitlines() if "--numstat" in line]
    assert len(ran) == diffs, ran
    return done.stdout


def process_collect(repo: Path, *args: str, **checks: Any) -> dict[str, Any]:
    """``phasectl collect --format json --no-tests args`` as a process (``process_run``)."""
    out = process_run(repo, "collect", "--format", "json", "--no-tests", *args, **checks)
    data: dict[str, Any] = json.loads(out)
    return data


def git_numstat(repo: Path, base: str, head: str, *options: str) -> dict[str, tuple[str, str]]:
    """Path -> (added, removed) as ``git diff --numstat`` prints them ("-" for binary)."""
    out = git(repo, "diff", "--numstat", "-z", *options, base, head, "--")
    tokens = out.split("\0")
    counts: dict[str, tuple[str, str]] = {}
    i = 0
    while i < len(tokens) - 1:
        added, removed, path = tokens[i].split("\t", 2)
        if not path:  # a rename or copy: the old and new paths follow
            path, i = tokens[i + 2], i + 3
        else:
            i += 1
        counts[path] = (added, removed)
    return counts


def as_numstat(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        path: ("-", "-") if f["binary"] else (str(f["added"]), str(f["removed"]))
        for path, f in by_path(data).items()
    }


@pytest.fixture
def phase(git_repo: Path) -> tuple[Path, str, str]:
    """A range with edits, renames (one edited past 90% similarity), a copy, a binary
    file and odd names; tagged ``base`` and ``head``."""
    base = commit(
        git_repo,
        {
            "keep.py": TEXT,
            "moved.py": TEXT,
            "edited_move.py": TEXT,
            "orig.py": TEXT,
            "logo.bin": b"\x89PNG\x00\x01",
            ":colon first.py": TEXT,
        },
    )
    head = commit(
        git_repo,
        {
            "keep.py": TEXT + "more\n",
            "orig.py": TEXT + "changed\n",
            "moved.py": None,
            "sub/moved.py": TEXT,
            "edited_move.py": None,
            "sub/edited R100.py": TEXT.replace("line 3\n", "three\n").replace("line 9\n", "9\n"),
            "copy.py": TEXT + "extra\n",
            "logo.bin": b"\x89PNG\x00\x02",
            ":colon first.py": TEXT + "x\n",
            "new\tline\nname.py": "a\nb\n",
        },
    )
    git(git_repo, "tag", "base", base)
    git(git_repo, "tag", "head", head)
    return git_repo, base, head


@pytest.mark.parametrize(
    ("settings", "git_options"),
    [
        ("", ("-M50%",)),
        ("rename_similarity = 95\n", ("-M95%",)),
        ("detect_copies = true\n", ("-M50%", "-C50%")),
    ],
    ids=["defaults", "similarity", "copies"],
)
def test_the_command_lines_figures_are_gits(
    phase: tuple[Path, str, str], settings: str, git_options: tuple[str, ...]
) -> None:
    repo, _, _ = phase
    (repo / ".phasectl.toml").write_text(settings)
    run = process_collect(repo, "--base", "base", "--head", "head")
    in_process = collect_json(repo, "--base", "base", "--head", "head")
    assert run["diff"] == in_process["diff"]
    assert as_numstat(run) == git_numstat(repo, "base", "head", *git_options)
    statuses = {f["status"] for f in run["diff"]["files"]}
    assert "renamed" in statuses
    if "-C50%" in git_options:
        assert "copied" in statuses


def test_a_config_file_named_on_the_command_line_sets_the_diff(
    phase: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _, _ = phase
    settings = tmp_path / "strict.toml"
    settings.write_text("rename_similarity = 95\n")
    data = process_collect(repo, "--base", "base", "--head", "head", "--config", str(settings))
    assert as_numstat(data) == git_numstat(repo, "base", "head", "-M95%")


def test_the_diff_is_of_the_repository_given_by_repo(
    phase: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _, _ = phase
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = process_collect(repo, "--base", "base", "--head", "head", cwd=elsewhere)
    assert as_numstat(data) == git_numstat(repo, "base", "head", "-M50%")


def test_the_default_range_is_diffed_once(phase: tuple[Path, str, str]) -> None:
    """No --base/--head: the nearest tag before head ("base": head's own tag is skipped,
    and no phase/ tag exists, so any tag serves)."""
    repo, _, _ = phase
    run = process_collect(repo)
    assert run["base"]["ref"] == "base"
    assert run["diff"] == collect_json(repo)["diff"]
    assert as_numstat(run) == git_numstat(repo, "base", "HEAD", "-M50%")


@pytest.mark.parametrize("command", ["report", "check"])
def test_a_report_commit_on_top_is_left_out_of_the_diff(
    phase: tuple[Path, str, str], command: str
) -> None:
    """``report`` and ``check`` diff up to the last commit that is not only reports, as a
    process as in-process."""
    repo, base, _ = phase
    git(repo, "tag", "phase/one", base)
    commit(repo, {"docs/phases/two.md": "# Two\n"}, "report")
    (repo / ".phasectl.toml").write_text('tag_prefix = "phase/"\n')
    if command == "check":  # a report to check, committed
        process_run(repo, "report", "--no-tests")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "report two")
    args = [command, "--no-tests", *(["--stdout"] if command == "report" else [])]
    in_process = run_cli("--repo", str(repo), *args)
    out = process_run(repo, *args, status=in_process.exit_code)
    assert out == in_process.output
    if command == "report":
        assert "phase/one" in out


def test_with_no_tag_the_command_diffs_the_empty_tree(git_repo: Path) -> None:
    commit(git_repo, {"a.py": "x\n"})
    data = process_collect(git_repo)
    assert data["base"]["ref"] == "(empty tree)"
    trace = (git_repo.parent / "git-trace.txt").read_text()  # process_run's
    assert trace.count(" describe ") == 2  # phase tags, then any tag: each once
    assert as_numstat(data) == {"a.py": ("1", "0")}


def slow_rename_repo(repo: Path, files: int = 900) -> None:
    """Two commits between which ``git diff -M`` compares ``files`` deleted files with as
    many created ones (about half a second of git's time here)."""
    rng = random.Random(7)
    stream: list[bytes] = []

    def blob(salt: str) -> bytes:
        return "".join(f"{salt} {n} {rng.randrange(10**9)}\n" for n in range(60)).encode()

    def add_commit(mark: int, changes: dict[str, bytes | None]) -> None:
        stream.append(f"commit refs/heads/main\nmark :{mark}\n".encode())
        stream.append(f"committer A <a@example.com> {1_700_000_000 + mark} +0000\n".encode())
        stream.append(b"data 1\nx\n" + (f"from :{mark - 1}\n".encode() if mark > 1 else b""))
        for path, data in changes.items():
            if data is None:
                stream.append(f"D {path}\n".encode())
            else:
                stream.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    add_commit(1, {f"old/f{n}.txt": blob("a") for n in range(files)})
    add_commit(
        2,
        {
            **{f"old/f{n}.txt": None for n in range(files)},
            **{f"new/g{n}.txt": blob("b") for n in range(files)},
        },
    )
    stream.append(b"reset refs/tags/base\nfrom :1\n\nreset refs/tags/head\nfrom :2\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)


def git_processes_in(folder: Path, marker: bytes = b"") -> list[int]:
    """The git processes running with ``folder`` as their current folder and ``marker`` in
    their command line (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (
                (entry / "comm").read_text().strip() == "git"
                and (entry / "cwd").readlink() == folder.resolve()
                and marker in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def git_alone(repo: Path) -> float:
    """Seconds git's own diff of ``slow_rename_repo`` takes."""
    started = time.perf_counter()
    git(repo, "diff", "--raw", "--numstat", "-M50%", "base", "head")
    return time.perf_counter() - started


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
def test_the_diff_does_not_outlive_a_command_that_fails(git_repo: Path) -> None:
    """The diff starts with the refs as named; a base that names a tree, which git diffs
    but phasectl refuses once it checks the refs, stops the command while git works."""
    slow_rename_repo(git_repo)
    alone = git_alone(git_repo)
    started = time.perf_counter()
    done = subprocess.run(
        [*PHASECTL, "--repo", str(git_repo), "collect", "--base", "base^{tree}", "--head",
         "head", "--no-tests"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    phasectl_took = time.perf_counter() - started
    left = git_processes_in(git_repo)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("Error: 'base^{tree}' does not name a commit"), done.stderr
    # The test means something only if git would still be working when phasectl ended.
    assert phasectl_took < alone, (phasectl_took, alone)
    assert left == []


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("signum", "refs"),
    [
        (signal.SIGTERM, ["--base", "base", "--head", "head"]),
        (signal.SIGINT, []),
    ],
    ids=["SIGTERM-named", "SIGINT-default"],
)
def test_a_signal_while_git_diffs_stops_git_too(
    git_repo: Path, signum: int, refs: list[str]
) -> None:
    slow_rename_repo(git_repo)
    git(git_repo, "checkout", "-q", "head")  # the default range: base..head
    alone = git_alone(git_repo)
    phasectl = subprocess.Popen(
        [*PHASECTL, "--repo", str(git_repo), "collect", "--no-tests", *refs],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.perf_counter() + 10 * alone
        while not git_processes_in(git_repo, b"--numstat") and time.perf_counter() < deadline:
            time.sleep(0.005)
        assert git_processes_in(git_repo, b"--numstat"), "git's diff did not start"
        # Not while subprocess.Popen is still starting git: a signal that lands there
        # (between its fork and its return, under a millisecond) leaves that git running,
        # as CPython's Popen does not stop a child it could not hand back.
        time.sleep(0.05)
        phasectl.send_signal(signum)
        _, err = phasectl.communicate(timeout=60)
    finally:
        phasectl.kill()
    assert phasectl.returncode == 128 + signum, err
    name = signal.Signals(signum).name
    assert err == f"phasectl: stopped by {name}; temporary files removed\n"
    left = git_processes_in(git_repo)
    assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left]


def test_whole_raw_records_are_found_however_the_output_is_cut(
    phase: tuple[Path, str, str],
) -> None:
    repo, _, _ = phase
    (repo / ".phasectl.toml").write_text("detect_copies = true\n")
    out = subprocess.run(
        ["git", "diff", "--raw", "--numstat", "-z", "-M50%", "-C50%", "base", "head", "--"],
        cwd=repo, capture_output=True, check=True,
    ).stdout  # fmt: skip
    end, complete = raw_section_end(out)
    assert complete
    assert out[end : end + 1].isdigit()
    # Where each raw record starts: after its header and its one or two paths.
    tokens = out[:end].split(b"\0")[:-1]
    starts, offset, i = [], 0, 0
    while i < len(tokens):
        starts.append(offset)
        paths = 2 if tokens[i].split(b" ")[-1][:1] in (b"R", b"C") else 1
        offset += sum(len(t) + 1 for t in tokens[i : i + 1 + paths])
        i += 1 + paths
    assert offset == end
    boundaries = {*starts, end}
    for cut in range(len(out) + 1):
        found, complete = raw_section_end(out[:cut])
        assert found in boundaries, cut
        assert found <= cut, cut
        assert complete == (cut > end), cut
        # Scanning on from any earlier record finds the same place.
        for start in (b for b in boundaries if b <= found):
            assert raw_section_end(out[:cut], start) == (found, complete), (cut, start)


def test_git_starts_before_gitpython_loads(phase: tuple[Path, str, str]) -> None:
    """Opening the repository and starting the diff import no GitPython (about 40 ms,
    spent while git works); ``--help`` imports none at all."""
    repo, _, _ = phase
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from phasectl.repo.diff import DiffSettings\n"
        "from phasectl.repo.repository import Repository\n"
        "pending = Repository.open(Path(sys.argv[1])).start_diff('base', 'head', DiffSettings())\n"
        "print('git' in sys.modules, end=' ')\n"
        "pending.result()\n"
        "sys.argv[1:] = ['--help']\n"
        "from phasectl.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('git' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(repo)], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("False Usage: phasectl"), done.stdout
    assert done.stderr == "False\n"


@pytest.mark.parametrize("refs", [["--base", "base", "--head", "head"], []])
def test_no_git_on_path_is_one_clear_error(
    phase: tuple[Path, str, str], tmp_path: Path, refs: list[str]
) -> None:
    repo, _, _ = phase
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run(
        [*PHASECTL, "--repo", str(repo), "collect", "--no-tests", *refs],
        capture_output=True, text=True, check=False, env={**os.environ, "PATH": str(empty)},
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2,
        "Error: git was not found on PATH; install git and retry\n",
    )


@pytest.mark.skipif(sys.platform != "linux", reason="pipe sizes are Linux's")
def test_the_diffs_pipe_holds_a_large_diff(phase: tuple[Path, str, str]) -> None:
    """git writes a 5,000-file diff's output without waiting for phasectl's threads."""
    import fcntl

    from phasectl.repo.diff import DiffSettings
    from phasectl.repo.repository import Repository

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < 1 << 20:
        pytest.skip("this system's pipes hold less than 1 MiB")
    repo, _, _ = phase
    pending = Repository.open(repo).start_diff("base", "head", DiffSettings())
    try:
        size = fcntl.fcntl(pending._proc.stdout.fileno(), fcntl.F_GETPIPE_SZ)  # type: ignore[union-attr]
    finally:
        pending.cancel()
    assert size == 1 << 20


@pytest.mark.parametrize(
    "refs", [["--base", "base", "--head", "head"], []], ids=["named", "default"]
)
def test_a_parent_that_ignores_sigchld_changes_nothing(
    phase: tuple[Path, str, str], refs: list[str]
) -> None:
    """SIGCHLD ignored (inherited across exec) would let the system reap git, and its exit
    status be lost: the figures are still git's, and a failing git still fails."""
    repo, _, _ = phase
    ignoring = (
        "import os, signal, sys\n"
        "signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'phasectl', *sys.argv[1:]])\n"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", ignoring, "--repo", str(repo), "collect", "--no-tests",
             "--format", "json", *args],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    done = run(*refs)
    assert done.returncode == 0, done.stderr
    assert as_numstat(json.loads(done.stdout)) == git_numstat(repo, "base", "head", "-M50%")
    failed = run("--base", "nosuch", "--head", "head")
    assert (failed.returncode, failed.stdout) == (2, "")
    assert failed.stderr.startswith("Error: unknown revision 'nosuch'"), failed.stderr


@pytest.mark.parametrize(
    "refs", [["--base", "base", "--head", "head"], []], ids=["named", "default"]
)
def test_a_bare_repository_inside_a_work_tree_is_measured_itself(
    phase: tuple[Path, str, str], refs: list[str]
) -> None:
    """A bare repository inside a work tree is another repository, with its own (default)
    settings: found as git finds it, it gets no diff of the outer one."""
    repo, _, _ = phase
    git(repo, "clone", "-q", "--bare", ".", "mirror.git")
    mirror = repo / "mirror.git"
    (repo / ".phasectl.toml").write_text("rename_similarity = 95\n")
    data = process_collect(mirror, *refs)
    assert as_numstat(data) == git_numstat(mirror, "base", "head", "-M50%")
    assert data["diff"] == collect_json(mirror, *refs)["diff"]
    # Nor are the other's settings read, however broken.
    (repo / ".phasectl.toml").write_text('rename_similarity = "bogus"\n')
    assert as_numstat(process_collect(mirror, *refs)) == as_numstat(data)


def test_a_fifo_for_a_settings_file_does_not_hang_the_command(
    phase: tuple[Path, str, str],
) -> None:
    repo, _, _ = phase
    os.mkfifo(repo / "pyproject.toml")
    done = subprocess.run(
        [*PHASECTL, "--repo", str(repo), "collect", "--no-tests", "--format", "json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert as_numstat(json.loads(done.stdout)) == git_numstat(repo, "base", "HEAD", "-M50%")


def test_the_default_base_is_gits_nearest_tag(phase: tuple[Path, str, str]) -> None:
    """With no phase tag, or one that head cannot reach, any tag serves: the base is the
    tag ``git describe`` names, phase tags first."""
    repo, base, _ = phase
    trace = repo.parent / "git-trace.txt"  # process_run's

    def describes() -> list[str]:
        return [line for line in trace.read_text().splitlines() if " describe " in line]

    nearest = git(repo, "describe", "--tags", "--abbrev=0", "--exclude=head", "HEAD").strip()
    assert process_collect(repo)["base"]["ref"] == nearest == "base"
    # One lookup each (a describe can take seconds on a long history).
    assert ["--match=phase/*" in line for line in describes()] == [True, False]
    git(repo, "checkout", "-q", "-b", "side", base)
    commit(repo, {"side.py": "x\n"})
    git(repo, "tag", "phase/side")
    git(repo, "checkout", "-q", "-")
    nearest = git(repo, "describe", "--tags", "--abbrev=0", "--exclude=head", "HEAD").strip()
    assert process_collect(repo)["base"]["ref"] == nearest == "base"
    assert ["--match=phase/*" in line for line in describes()] == [True, False]


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
def test_git_does_not_hold_a_pipe_phasectl_inherited(git_repo: Path) -> None:
    """A descriptor phasectl inherited is not passed on to git (as subprocess's close_fds):
    killed mid-diff, phasectl's end of a caller's pipe closes at once, not when git ends."""
    import select

    slow_rename_repo(git_repo)
    alone = git_alone(git_repo)
    read_end, write_end = os.pipe()
    phasectl = subprocess.Popen(
        [*PHASECTL, "--repo", str(git_repo), "collect", "--base", "base", "--head", "head",
         "--no-tests"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,),
    )  # fmt: skip
    os.close(write_end)
    try:
        deadline = time.perf_counter() + 10 * alone
        while not git_processes_in(git_repo, b"--numstat") and time.perf_counter() < deadline:
            time.sleep(0.005)
        assert git_processes_in(git_repo, b"--numstat"), "git's diff did not start"
        phasectl.send_signal(signal.SIGKILL)
        phasectl.wait()
        killed = time.perf_counter()
        assert git_processes_in(git_repo, b"--numstat"), "git ended too soon to tell"
        assert select.select([read_end], [], [], alone)[0]
        assert os.read(read_end, 1) == b""
        assert time.perf_counter() - killed < alone / 4
    finally:
        os.close(read_end)
