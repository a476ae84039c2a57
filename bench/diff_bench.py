"""Benchmark: ``phasectl collect`` against plain ``git diff`` on a large synthetic range.

Builds (once, cached in ``bench/.cache/diff-repo``) a deterministic repository with about
20,000 files at the base and 5,000 changed at the head: edits, 400 renames (half exact,
half edited), deletions, creations and binary files. The files read like code: comments,
a few TODOs, and the words skip and hack in names and comments. Then, in the same run,
interleaving the commands of each pair over several repetitions, it times whole processes:

* ``phasectl collect --no-tests --format json`` against
  ``git diff --raw --numstat -z -M50% -l1000`` on the same refs (target ratio <= 1.1);
* ``phasectl --help`` against ``python -c "import click"`` (target ratio <= 2.0).

It also checks once that phasectl's figures equal git's. Run it with ``make bench`` or
``.venv/bin/python bench/diff_bench.py [--repeat N] [--strict]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache" / "diff-repo"
GENERATOR_VERSION = "5"
DIRS, SUBDIRS, FILES_PER_DIR = 100, 10, 20  # 20,000 files
EDITS, EXACT_RENAMES, EDITED_RENAMES, DELETIONS, CREATIONS = 3300, 200, 200, 600, 600
BINARY_EDITS, BINARY_CREATIONS = 50, 50
# git/git's tree holds a dozen .gitattributes files; these mark generated files, as there.
ATTRIBUTE_DIRS = 12
ROOT_ATTRIBUTES = (
    b"[attr]generated linguist-generated -diff\n*.bin binary\n*_pb2.py generated\n"
    b"*.lock linguist-generated\n"
)


def git_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }


# Comments as real code has them, with the words (skip, hack) a loose debt filter trips on.
COMMENTS = (
    "skip the entries the cache already holds", "a hack around the parser's lookahead",
    "keep the order: callers rely on it", "the items are counted once, here",
    "retry when the lock is held; skip after three tries", "see the design notes",
)  # fmt: skip


def text_file(rng: random.Random, lines: int) -> bytes:
    """A Python module of about ``lines`` lines: a docstring, code whose names hold skip and
    hack, comments (one in twelve lines), and now and then a TODO or FIXME."""
    words = ("alpha", "beta", "skip", "hack", "value", "total", "items", "count", "self")
    body = ['"""Compute the totals; skip what the hack marks."""', "", "", "def generated():"]
    for n in range(lines):
        roll = rng.random()
        if roll < 0.08:
            body.append(f"    # {rng.choice(COMMENTS)}")
        elif roll < 0.0815:
            body.append(f"    # {rng.choice(('TODO', 'FIXME'))}: {rng.choice(COMMENTS)}")
        else:
            body.append(f"    {rng.choice(words)}_{n} = {rng.choice(words)}({rng.randrange(1000)})")
    return ("\n".join([*body, "    return None"]) + "\n").encode()


def binary_file(rng: random.Random) -> bytes:
    return b"\x89BIN\0" + bytes(rng.randrange(256) for _ in range(512))


def edit(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(1, len(lines) - 1)
        lines[at] = b"    edited = " + str(rng.randrange(10**6)).encode()
    if rng.random() < 0.5:
        lines.insert(-1, b"    added = True  # skip the hack once the cache is warm")
    if rng.random() < 0.03:
        lines.insert(-1, b"    # TODO: drop this edit")
    return b"\n".join(lines)


def fast_import_stream(rng: random.Random) -> tuple[bytes, dict[str, int]]:
    """Two commits as a ``git fast-import`` stream, and how many files of each kind changed."""
    files: dict[str, bytes] = {}
    for d in range(DIRS):
        for s in range(SUBDIRS):
            for f in range(FILES_PER_DIR):
                path = f"pkg{d:03d}/mod{s}/file_{d}_{s}_{f}.py"
                # 40-400 lines, about the size of a real source file.
                files[path] = text_file(rng, rng.randrange(40, 400))
    binaries = rng.sample(sorted(files), 200)
    for path in binaries:
        files[path[:-3] + ".bin"] = binary_file(rng)
        del files[path]
    files[".gitattributes"] = ROOT_ATTRIBUTES
    for d in range(0, DIRS, DIRS // ATTRIBUTE_DIRS)[:ATTRIBUTE_DIRS]:
        # Each marks one module's files generated, and takes it back for one of them.
        files[f"pkg{d:03d}/.gitattributes"] = (
            f"mod{d % SUBDIRS}/*.py linguist-generated\n"
            f"mod{d % SUBDIRS}/file_{d}_{d % SUBDIRS}_0.py -linguist-generated\n"
        ).encode()
    out: list[bytes] = []

    def commit(mark: int, parent: int | None, changes: dict[str, bytes | None], when: int) -> None:
        out.append(b"commit refs/heads/main\n")
        out.append(f"mark :{mark}\n".encode())
        out.append(f"committer Bench <bench@example.com> {when} +0000\n".encode())
        out.append(b"data 5\nbench\n")
        if parent is not None:
            out.append(f"from :{parent}\n".encode())
        for path, content in sorted(changes.items()):
            if content is None:
                out.append(f"D {path}\n".encode())
            else:
                out.append(f"M 100644 inline {path}\ndata {len(content)}\n".encode())
                out.append(content + b"\n")

    commit(1, None, dict(files), 1_767_225_600)
    texts = sorted(p for p in files if p.endswith(".py"))
    rng.shuffle(texts)
    picked = iter(texts)
    changes: dict[str, bytes | None] = {}
    for _ in range(EDITS):
        path = next(picked)
        changes[path] = edit(rng, files[path])
    for n in range(EXACT_RENAMES + EDITED_RENAMES):
        path = next(picked)
        changes[path] = None
        content = files[path] if n < EXACT_RENAMES else edit(rng, files[path])
        changes[f"moved/area{n % 7}/renamed_{n}.py"] = content
    for _ in range(DELETIONS):
        changes[next(picked)] = None
    for n in range(CREATIONS):
        changes[f"new/feature{n % 13}/created_{n}.py"] = text_file(rng, rng.randrange(40, 400))
    bins = sorted(p for p in files if p.endswith(".bin"))
    for path in bins[:BINARY_EDITS]:
        changes[path] = binary_file(rng)
    for n in range(BINARY_CREATIONS):
        changes[f"assets/image_{n}.bin"] = binary_file(rng)
    commit(2, 1, changes, 1_767_312_000)
    out.append(b"reset refs/tags/phase/base\nfrom :1\n\nreset refs/tags/phase/head\nfrom :2\n\n")
    counts = {
        "files": len(files),
        "changed": EDITS + 2 * (EXACT_RENAMES + EDITED_RENAMES) + DELETIONS + CREATIONS
        + BINARY_EDITS + BINARY_CREATIONS,
    }  # fmt: skip
    return b"".join(out), counts


def build() -> tuple[Path, float, bool]:
    marker = CACHE / ".git" / "phasectl-bench-version"
    if marker.exists() and marker.read_text() == GENERATOR_VERSION:
        # A user's index is fresh; one copied or touched since (cp -a, a restored cache)
        # makes every `git status` re-read all 20,000 files. Refresh it, as git status does.
        subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=CACHE, check=False)
        return CACHE, 0.0, True
    started = time.perf_counter()
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    env = git_env(home)
    stream, _ = fast_import_stream(random.Random(20261124))
    run = {"cwd": CACHE, "env": env, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q", "-b", "main"], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "fast-import", "--quiet"], input=stream, **run)  # type: ignore[call-overload]
    subprocess.run(["git", "checkout", "-q", "-f", "main"], **run)  # type: ignore[call-overload]
    shutil.rmtree(home, ignore_errors=True)
    marker.write_text(GENERATOR_VERSION)
    return CACHE, time.perf_counter() - started, False


def compile_phasectl() -> None:
    """Byte-compile phasectl, as installing it does (pip compiles a wheel's modules; an
    editable install writes them on first import). Under ``PYTHONDONTWRITEBYTECODE=1``, which
    some machines set, every timed run would otherwise compile phasectl's source again:
    about 35 ms that no installed phasectl spends."""
    import compileall

    import phasectl

    compileall.compile_dir(Path(phasectl.__file__).parent, quiet=1)


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, bytes]:
    """Seconds ``command`` took, and its output; a failure prints its error and exits 2."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr.decode())
        raise SystemExit(2)
    return elapsed, done.stdout


def median_pair(a: list[str], b: list[str], repeat: int) -> tuple[float, float, bytes, bytes]:
    times_a, times_b = [], []
    out_a = out_b = b""
    for round_ in range(repeat + 1):
        elapsed_a, out_a = timed(a)
        elapsed_b, out_b = timed(b)
        if round_:  # the first round warms caches and is not counted
            times_a.append(elapsed_a)
            times_b.append(elapsed_b)
    return statistics.median(times_a), statistics.median(times_b), out_a, out_b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # This machine's 1 s git diff varies by about 7% from one run to the next: 11 rounds
    # settle the medians better than 7.
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    repo, build_s, cached = build()
    compile_phasectl()
    python = sys.executable
    exe = Path(python).with_name("phasectl")
    phasectl = [str(exe)] if exe.exists() else [python, "-m", "phasectl"]
    refs = ["phase/base", "phase/head"]
    collect = [*phasectl, "--repo", str(repo), "collect", "--base", refs[0], "--head", refs[1],
               "--no-tests", "--format", "json"]  # fmt: skip
    raw = ["git", "-C", str(repo), "diff", "--raw", "--numstat", "-z", "-M50%", "-l1000",
           *refs, "--"]  # fmt: skip
    a, b, out_a, out_b = median_pair(collect, raw, args.repeat)
    # Without --base/--head the base is found first, so git's diff gets no head start.
    default = [*phasectl, "--repo", str(repo), "collect", "--no-tests", "--format", "json"]
    e, f, _, _ = median_pair(default, raw, args.repeat)
    c, d, _, _ = median_pair([*phasectl, "--help"], [python, "-c", "import click"], args.repeat)

    data = json.loads(out_a)
    tokens = out_b.split(b"\0")
    raw_records = sum(1 for t in tokens if t.startswith(b":"))
    numstat = subprocess.run(
        ["git", "-C", str(repo), "diff", "--numstat", "-M50%", "-l1000", *refs, "--"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    git_added = sum(int(line.split("\t")[0]) for line in numstat.splitlines() if line[0] != "-")
    totals = data["diff"]["totals"]
    match = len(data["diff"]["files"]) == raw_records and totals["lines_added"] == git_added

    built = "cached" if cached else f"built in {build_s:.1f} s"
    print(f"repository: {DIRS * SUBDIRS * FILES_PER_DIR} files at base, "
          f"{len(data['diff']['files'])} changed paths ({totals['files_renamed']} renames, "
          f"{totals['files_binary']} binary); {built}")  # fmt: skip
    diff_ratio, help_ratio = a / b, c / d
    print(f"collect vs git diff:    median {a:.3f} s vs {b:.3f} s  ratio {diff_ratio:.2f}  "
          f"(target <= 1.1)  {'PASS' if diff_ratio <= 1.1 else 'FAIL'}  "
          f"[phasectl's own time: {1000 * (a - b):.0f} ms]")  # fmt: skip
    print(f"  same, default base:   median {e:.3f} s vs {f:.3f} s  ratio {e / f:.2f}  "
          f"(no --base/--head: the nearest phase tag found first)")  # fmt: skip
    print(f"--help vs import click: median {c:.3f} s vs {d:.3f} s  ratio {help_ratio:.2f}  "
          f"(target <= 2.0)  {'PASS' if help_ratio <= 2.0 else 'FAIL'}")  # fmt: skip
    print(f"figures match git: {'yes' if match else 'NO'} ({raw_records} records, "
          f"+{git_added} lines)")  # fmt: skip
    missed = diff_ratio > 1.1 or help_ratio > 2.0 or not match
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
