"""The console script starts git's diff before click loads (``phasectl.early``).

The figures must be git's whichever way the diff started, a diff the command does not want
is stopped, and git's output is handed over in whole raw records however it is cut.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest

from phasectl import early
from phasectl.early import read_request
from phasectl.repo.diff import DiffSettings, raw_section_end
from phasectl.repo.spawn import spawn_git

from conftest import by_path, collect_json, commit, git, run_cli

TEXT = "".join(f"line {n}\n" for n in range(1, 31))
# `python -m phasectl` enters through phasectl.early, as the console script does.
PHASECTL = [sys.executable, "-m", "phasectl"]


# `python -m phasectl`, telling on standard error whether the command took a diff
# phasectl.early had started (it is wrapped to see, and still does its work).
TELLING = [
    sys.executable,
    "-c",
    "import atexit, sys\n"
    "from phasectl import early\n"
    "taken, take = [], early.take\n"
    "def telling(*args):\n"
    "    pending = take(*args)\n"
    "    taken.append(pending is not None)\n"
    "    return pending\n"
    "early.take = telling\n"
    "atexit.register(lambda: print('taken', any(taken), file=sys.stderr))\n"
    "sys.argv[0] = 'phasectl'\n"
    "early.main()\n",
]


def process_run(
    repo: Path,
    *args: str,
    early: bool | None = True,
    cwd: Path | None = None,
    status: int = 0,
    diffs: int = 1,
) -> str:
    """``phasectl --repo REPO args`` as a process; its standard output.

    Also checks whether the command took the diff ``phasectl.early`` started (unless
    ``early`` is None), and, from git's trace, that git's line diff ran ``diffs`` times (a
    refused early diff makes two)."""
    trace = repo.parent / "git-trace.txt"
    trace.unlink(missing_ok=True)
    done = subprocess.run(
        [*TELLING, "--repo", str(repo), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TRACE": str(trace)},
    )
    assert done.returncode == status, done.stderr
    if early is not None:
        assert done.stderr.endswith(f"taken {early}\n"), done.stderr
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
def test_the_early_diff_gives_gits_figures(
    phase: tuple[Path, str, str], settings: str, git_options: tuple[str, ...]
) -> None:
    repo, _, _ = phase
    (repo / ".phasectl.toml").write_text(settings)
    early_run = process_collect(repo, "--base", "base", "--head", "head")
    in_process = collect_json(repo, "--base", "base", "--head", "head")
    assert early_run["diff"] == in_process["diff"]
    assert as_numstat(early_run) == git_numstat(repo, "base", "head", *git_options)
    statuses = {f["status"] for f in early_run["diff"]["files"]}
    assert "renamed" in statuses
    if "-C50%" in git_options:
        assert "copied" in statuses


def test_a_config_file_the_early_start_does_not_read_still_counts(
    phase: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _, _ = phase
    settings = tmp_path / "strict.toml"
    settings.write_text("rename_similarity = 95\n")
    data = process_collect(
        repo, "--base", "base", "--head", "head", "--config", str(settings), early=False
    )
    assert as_numstat(data) == git_numstat(repo, "base", "head", "-M95%")


def test_the_early_diff_starts_from_the_folder_given_by_repo(
    phase: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _, _ = phase
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = process_collect(repo, "--base", "base", "--head", "head", cwd=elsewhere)
    assert as_numstat(data) == git_numstat(repo, "base", "head", "-M50%")


def test_the_default_range_is_diffed_early(phase: tuple[Path, str, str]) -> None:
    """No --base/--head: the nearest tag before head ("base": head's own tag is skipped,
    and no phase/ tag exists, so any tag serves), found before the command starts."""
    repo, _, _ = phase
    early_run = process_collect(repo)
    assert early_run["base"]["ref"] == "base"
    assert early_run["diff"] == collect_json(repo)["diff"]
    assert as_numstat(early_run) == git_numstat(repo, "base", "HEAD", "-M50%")


@pytest.mark.parametrize("command", ["report", "check"])
def test_a_report_commit_on_top_keeps_the_early_diff(
    phase: tuple[Path, str, str], command: str
) -> None:
    """``report`` and ``check`` diff up to the last commit that is not only reports; the
    early start finds that commit as they do."""
    repo, base, _ = phase
    git(repo, "tag", "phase/one", base)
    commit(repo, {"docs/phases/two.md": "# Two\n"}, "report")
    (repo / ".phasectl.toml").write_text('tag_prefix = "phase/"\n')  # read: the slow way
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
    data = process_collect(git_repo, early=False)
    assert data["base"]["ref"] == "(empty tree)"
    trace = (git_repo.parent / "git-trace.txt").read_text()  # process_run's
    assert trace.count(" describe ") == 2  # phasectl.early's, not repeated
    assert as_numstat(data) == {"a.py": ("1", "0")}


def test_the_early_defaults_are_the_configs() -> None:
    from phasectl.config import Config

    assert (Config().tag_prefix, Config().report_dir) == (early.TAG_PREFIX, early.REPORT_DIR)
    assert early._settings("/nonexistent")[0] == astuple(DiffSettings())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["collect", "--base", "v1", "--head", "v2"], ("collect", ".", "v1", "v2")),
        (["--repo", "r", "report", "--head=h", "--base=b"], ("report", "r", "b", "h")),
        (["--debug", "check", "--base", "b", "--head", "h", "--repo", "x"],
         ("check", "x", "b", "h")),
        (["report"], ("report", ".", None, None)),  # the default range
        (["collect", "--base", "b"], None),  # head is HEAD: the command starts it itself
        (["collect", "--head", "h"], None),
        (["collect", "--base", "b", "--head", "h", "--merge-base"], None),
        (["-C", "sub", "collect", "--base", "b", "--head", "h"], None),
        (["collect", "--config", "f.toml", "--base", "b", "--head", "h"], None),
        (["collect", "--base", "b", "--head", "h", "--help"], None),
        (["tag", "--base", "b", "--head", "h"], None),
        (["--unknown", "collect", "--base", "b", "--head", "h"], None),
        (["collect", "--", "--base", "b", "--head", "h"], None),
        (["collect", "--base", "b", "--head"], None),
        ([], None),
    ],
)  # fmt: skip
def test_the_command_line_is_read_or_left_to_click(
    argv: list[str], expected: tuple[str, str, str | None, str | None] | None
) -> None:
    assert read_request(argv) == expected


def test_a_diff_the_command_does_not_ask_for_is_stopped(phase: tuple[Path, str, str]) -> None:
    repo, base, head = phase
    root = repo.resolve()
    assert early.start(("collect", str(repo), "base", "head"))
    assert early._started is not None
    child = early._started.child
    assert early.take(root, "base", "other", DiffSettings()) is None
    assert child.returncode is not None  # stopped and reaped
    # Taken once at most: a second command in the same process starts its own.
    assert early.take(root, "base", "head", DiffSettings()) is None
    assert early.start(("collect", str(repo), base, head))
    mine = early.take(root, base, head, DiffSettings())
    assert mine is not None
    try:
        assert not mine.cancelled
        plain = ["git", "diff", "--raw", "--numstat", "-z", "--full-index", "-M50%", base, head]
        assert mine.result().data == subprocess.run(plain, cwd=repo, capture_output=True).stdout
    finally:
        mine.cancel()


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


def git_processes_in(folder: Path) -> list[int]:
    """The git processes running with ``folder`` as their current folder (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "git" and (
                entry / "cwd"
            ).readlink() == folder.resolve():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    "refs", [["--base", "base", "--head", "head"], []], ids=["named", "default"]
)
def test_an_early_diff_does_not_outlive_a_command_that_fails(
    git_repo: Path, refs: list[str]
) -> None:
    slow_rename_repo(git_repo)
    git(git_repo, "checkout", "-q", "head")  # the default range: base..head
    started = time.perf_counter()
    git(git_repo, "diff", "--raw", "--numstat", "-M50%", "base", "head")
    git_alone = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run(
        [*PHASECTL, "--repo", str(git_repo), "collect", *refs, "--format", "yaml"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    phasectl_took = time.perf_counter() - started
    left = git_processes_in(git_repo)
    assert done.returncode == 2
    assert "--format" in done.stderr
    # The test means something only if git would still be working when phasectl ended.
    assert phasectl_took < git_alone, (phasectl_took, git_alone)
    assert left == []


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


def test_git_starts_before_the_heavy_imports(phase: tuple[Path, str, str]) -> None:
    """The early path imports what the interpreter has loaded at startup and no more:
    typing, pathlib or subprocess would each delay git by 10-15 ms."""
    repo, _, _ = phase
    code = (
        "import sys\n"
        "from phasectl import early\n"
        f"started = early.start(('report', {str(repo)!r}, None, None))\n"
        "heavy = {'typing', 'pathlib', 'subprocess', 're', 'dataclasses', 'threading'}\n"
        "print(started, sorted(heavy & set(sys.modules)))\n"
        "early._started.child.discard()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout == "True []\n", done.stderr


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
def test_the_diffs_pipe_holds_a_large_diff(git_repo: Path) -> None:
    """git writes a 5,000-file diff's output without waiting for phasectl's threads."""
    import fcntl

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < 1 << 20:
        pytest.skip("this system's pipes hold less than 1 MiB")
    child = spawn_git(str(git_repo), ["version"], wide=True)
    try:
        size = fcntl.fcntl(child.stdout, fcntl.F_GETPIPE_SZ)
    finally:
        child.discard()
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
    data = process_collect(mirror, *refs, early=False)
    assert as_numstat(data) == git_numstat(mirror, "base", "head", "-M50%")
    assert data["diff"] == collect_json(mirror, *refs)["diff"]
    # Nor are the other's settings read, however broken.
    (repo / ".phasectl.toml").write_text('rename_similarity = "bogus"\n')
    assert as_numstat(process_collect(mirror, *refs, early=False)) == as_numstat(data)


def test_a_fifo_for_a_settings_file_does_not_hang_the_early_start(
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
    # One lookup: the command uses what phasectl.early found (a describe can take seconds).
    assert ["--match=phase/*" in line for line in describes()] == [True, False]
    git(repo, "checkout", "-q", "-b", "side", base)
    commit(repo, {"side.py": "x\n"})
    git(repo, "tag", "phase/side")
    git(repo, "checkout", "-q", "-")
    nearest = git(repo, "describe", "--tags", "--abbrev=0", "--exclude=head", "HEAD").strip()
    assert process_collect(repo)["base"]["ref"] == nearest == "base"
    assert ["--match=phase/*" in line for line in describes()] == [True, False]


def test_a_lookup_made_before_head_moved_is_not_used(phase: tuple[Path, str, str]) -> None:
    from phasectl.config import load_config
    from phasectl.repo.changes import resolve_range
    from phasectl.repo.repository import Repository

    repo, base, head = phase
    opened, config = Repository.open(repo), load_config(repo)
    stale = (base, base, "head")  # looked up while HEAD was at base
    found = resolve_range(opened, config, None, None, known=stale)
    assert (found.base.ref, found.head.sha) == ("base", head)
    current = (head, head, "head")  # this one is used as it is
    assert resolve_range(opened, config, None, None, known=current).base.ref == "head"


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
def test_git_does_not_hold_a_pipe_phasectl_inherited(git_repo: Path) -> None:
    """A descriptor phasectl inherited is not passed on to git (as subprocess's close_fds):
    killed mid-diff, phasectl's end of a caller's pipe closes at once, not when git ends."""
    import select
    import signal

    slow_rename_repo(git_repo)
    started = time.perf_counter()
    git(git_repo, "diff", "--raw", "--numstat", "-M50%", "base", "head")
    git_alone = time.perf_counter() - started
    read_end, write_end = os.pipe()
    phasectl = subprocess.Popen(
        [*PHASECTL, "--repo", str(git_repo), "collect", "--base", "base", "--head", "head",
         "--no-tests"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,),
    )  # fmt: skip
    os.close(write_end)
    try:
        deadline = time.perf_counter() + git_alone / 2
        while not git_processes_in(git_repo) and time.perf_counter() < deadline:
            time.sleep(0.01)
        assert git_processes_in(git_repo), "git's diff did not start"
        phasectl.send_signal(signal.SIGKILL)
        phasectl.wait()
        killed = time.perf_counter()
        assert git_processes_in(git_repo), "git ended too soon for the test to mean anything"
        assert select.select([read_end], [], [], git_alone)[0]
        assert os.read(read_end, 1) == b""
        assert time.perf_counter() - killed < git_alone / 4
    finally:
        os.close(read_end)
