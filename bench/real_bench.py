"""Benchmark: ``phasectl report`` and ``collect`` on real history, against git's raw diff.

A synthetic repository says little about real code: git's own history, v2.0.0..v2.55.0,
is 5,000 changed files of C, shell and docs, full of comments, TODOs and the words skip
and hack. This bench uses a clone of git's repository when one is at hand, named by
``--repo PATH`` or ``PHASECTL_BENCH_GIT_REPO`` (a work tree or a bare repository; it is
cloned once, locally, into ``bench/.cache/real-repo``, so the original is never touched).
The range is v2.0.0..v2.55.0, or up to the newest ``v2.N.0`` tag present.

Without such a clone it falls back on a repository built from a public project's real
sources: ``--releases DIR`` (or ``PHASECTL_BENCH_RELEASES``) names a folder of two or more
wheels or sdists of one project (``pip download --no-deps --no-binary :all: NAME==X``
fetches them; that needs the network, so the bench never does it itself); the oldest and
the newest become the base and head commits. With neither, it says so and skips.

In the same run, rounds interleaved, it times whole processes against
``git diff --raw --numstat -z -M BASE HEAD``:

* ``phasectl report --no-tests --stdout --base BASE --head HEAD`` (target ratio <= 1.3);
* ``phasectl collect --no-tests --format json --base BASE --head HEAD`` (target <= 1.25);

and prints each ratio with its target, PASS/FAIL, and the load average before and after.
Run it with ``make bench`` or ``.venv/bin/python bench/real_bench.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from diff_bench import compile_phasectl, git_env, timed

CACHE = Path(__file__).resolve().parent / ".cache"
TARGETS = {"report": 1.3, "collect": 1.25}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def git_clone(source: Path) -> Path:
    """A local clone of ``source`` in the cache (made once; hard links, no network)."""
    clone = CACHE / "real-repo"
    marker = clone / ".git" / "phasectl-bench-source"
    if marker.exists() and marker.read_text() == str(source.resolve()):
        return clone
    shutil.rmtree(clone, ignore_errors=True)
    clone.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
    marker.write_text(str(source.resolve()))
    return clone


def git_range(repo: Path) -> tuple[str, str]:
    """v2.0.0 and v2.55.0, or the newest ``v2.N.0`` tag present."""
    releases = [
        t for t in git(repo, "tag", "--list", "v2.*.0").split() if re.fullmatch(r"v2\.\d+\.0", t)
    ]
    if "v2.0.0" not in releases:
        raise SystemExit(f"{repo} has no tag v2.0.0: is it a clone of git's own repository?")
    newest = max(releases, key=lambda t: int(t.split(".")[1]))
    return "v2.0.0", "v2.55.0" if "v2.55.0" in releases else newest


def _version(name: str) -> tuple[int, ...]:
    found = re.search(r"-(\d+(?:\.\d+)*)", name)
    return tuple(int(p) for p in found.group(1).split(".")) if found else ()


def _unpack(archive: Path, into: Path) -> None:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(into)  # noqa: S202 - zipfile drops "/" and ".." from names
    else:
        with tarfile.open(archive) as tarred:
            tarred.extractall(into, filter="data")
    tops = list(into.iterdir())
    if len(tops) == 1 and tops[0].is_dir():  # an sdist's "name-version/" folder
        for item in tops[0].iterdir():
            item.rename(into / item.name)
        tops[0].rmdir()


def releases_repository(folder: Path) -> tuple[Path, str, str]:
    """A repository whose two commits are the oldest and the newest release in ``folder``."""
    archives = sorted(
        (p for p in folder.iterdir() if p.name.endswith((".whl", ".zip", ".tar.gz"))),
        key=lambda p: _version(p.name),
    )
    if len(archives) < 2:
        raise SystemExit(f"{folder}: two or more wheels or sdists of one project are needed")
    repo = CACHE / "releases-repo"
    marker = repo / ".git" / "phasectl-bench-source"
    names = "\n".join(p.name for p in (archives[0], archives[-1]))
    if marker.exists() and marker.read_text() == names:
        return repo, "release/base", "release/head"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    env = git_env(home)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    for archive, tag in ((archives[0], "release/base"), (archives[-1], "release/head")):
        for item in repo.iterdir():
            if item.name != ".git":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        _unpack(archive, repo)
        for command in (["add", "--all"], ["commit", "-q", "-m", archive.name], ["tag", tag]):
            subprocess.run(["git", "-C", str(repo), *command], check=True, env=env)
    shutil.rmtree(home, ignore_errors=True)
    marker.write_text(names)
    return repo, "release/base", "release/head"


def median_rounds(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Each command's median seconds over ``repeat`` rounds, the commands interleaved in
    every round (the first round warms caches and is not counted)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeat + 1):
        for name, command in commands.items():
            elapsed, _ = timed(command)
            if round_:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=os.environ.get("PHASECTL_BENCH_GIT_REPO"))
    parser.add_argument("--releases", type=Path, default=os.environ.get("PHASECTL_BENCH_RELEASES"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    if args.repo is not None:
        repo = git_clone(args.repo)
        base, head = git_range(repo)
        what = f"git's history {base}..{head} (a clone of {args.repo})"
    elif args.releases is not None:
        repo, base, head = releases_repository(args.releases)
        what = (
            f"releases {git(repo, 'log', '-1', '--format=%s', base).strip()} .. "
            + git(repo, "log", "-1", "--format=%s", head).strip()
        )
    else:
        print("real history: skipped; no clone of git's repository is at hand. Set "
              "PHASECTL_BENCH_GIT_REPO=/path/to/git (a clone of git's own repository) or "
              "PHASECTL_BENCH_RELEASES=/folder/of/sdists")  # fmt: skip
        return 0
    compile_phasectl()
    python = sys.executable
    exe = Path(python).with_name("phasectl")
    phasectl = [str(exe)] if exe.exists() else [python, "-m", "phasectl"]
    refs = ["--base", base, "--head", head]
    # git's own share of a report, with no Python: the diff, the debt's grep of both trees
    # and the phase thread's log, run at once. No report can be faster than this.
    from phasectl.repo.debt import GREP_STRINGS

    floor = (
        'git diff --raw --numstat -z -M "$1" "$2" >/dev/null 2>&1 & diff=$!; '
        'git log -z --full-history "--format=%H%x00%P%x00%ct%x00%ae%x00%B" "$1..$2" '
        ">/dev/null & log=$!; "
        'git grep -I -n -z -F "${@:3}" "$1" "$2" >/dev/null; grep=$?; '
        'wait "$diff" && wait "$log" && [ "$grep" -le 1 ]'  # grep: 1 is "no match"
    )
    grep_args = [a for s in GREP_STRINGS for a in ("-e", s)]
    commands = {
        "report": [*phasectl, "--repo", str(repo), "report", "--no-tests", "--stdout", *refs],
        "git alone": ["bash", "-c", f"cd {shlex.quote(str(repo))} || exit 2; {floor}", "floor",
                      base, head, *grep_args],
        "collect": [*phasectl, "--repo", str(repo), "collect", "--no-tests", "--format", "json",
                    *refs],
        "raw": ["git", "-C", str(repo), "diff", "--raw", "--numstat", "-z", "-M", base, head],
    }  # fmt: skip
    changed = git(repo, "diff", "--shortstat", "-M", base, head).strip()
    before = load()
    medians = median_rounds(commands, args.repeat)
    after = load()
    print(f"real history: {what}: {changed}")
    missed = False
    for name, target in TARGETS.items():
        ratio = medians[name] / medians["raw"]
        missed |= ratio > target
        print(f"{name} vs git diff --raw --numstat -z -M:  median {medians[name]:.3f} s vs "
              f"{medians['raw']:.3f} s  ratio {ratio:.2f}  (target <= {target})  "
              f"{'PASS' if ratio <= target else 'FAIL'}")  # fmt: skip
    floor = medians["git alone"] / medians["raw"]
    print(f"  git's share of a report alone (diff, debt grep, commit log, at once; no "
          f"Python): median {medians['git alone']:.3f} s, ratio {floor:.2f}: the floor "
          "under the report's ratio on this machine")  # fmt: skip
    if medians["raw"] < 0.2:
        print("  the raw diff takes under 0.2 s: these ratios measure phasectl's start-up "
              "more than its work")  # fmt: skip
    print(f"  {args.repeat} rounds interleaved; load average (1, 5, 15 min) {before} before, "
          f"{after} after, on {os.cpu_count()} cores")  # fmt: skip
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
