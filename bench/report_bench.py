"""Benchmark: ``phasectl report`` on a range of git/git's size, time and peak memory.

Uses the synthetic repository of ``diff_bench.py`` (built once, cached in
``bench/.cache/diff-repo``): 20,000 files at the base, about 5,000 changed paths at the
head (edits, 400 renames, deletions, creations, binary files) and 13 ``.gitattributes``
files in subfolders, the shape of git/git's v2.0.0..v2.55.0. In the same run, rounds
interleaved, it times whole processes:

* ``phasectl report --no-tests --stdout`` against the raw
  ``git diff --raw --numstat -z -M50% -l1000`` on the same refs (target ratio <= 1.3);
* and peak RSS: the memory the report needs for the range's data (its peak less its peak
  on an empty range) must stay within twice what a Python process needs to hold the raw
  diff's output as objects, one tuple per file (its peak less a bare interpreter's).

Run it with ``make bench`` or ``.venv/bin/python bench/report_bench.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from diff_bench import build, compile_phasectl, median_pair

REFS = ["phase/base", "phase/head"]
RAW = ["diff", "--raw", "--numstat", "-z", "-M50%", "-l1000", *REFS, "--"]
# The reference for memory: the raw output read into Python, one tuple per changed file.
HOLD_RAW = """\
import subprocess, sys
out = subprocess.run(["git", "-C", sys.argv[1], *sys.argv[2:]], capture_output=True).stdout
tokens, i, held = out.split(b"\\0"), 0, []
while tokens[i].startswith(b":"):
    meta = tokens[i][1:].decode().split()
    width = 3 if meta[4][0] in "RC" else 2
    paths = (t.decode("utf-8", "surrogateescape") for t in tokens[i + 1 : i + width])
    held.append((*meta, *paths))
    i += width
print(len(held))
"""
# Runs a Python program and writes its own peak RSS (KiB; not its children's, such as
# git's) to the file named by PEAK_RSS_FILE as it exits. VmHWM, not getrusage: Linux
# carries ru_maxrss over fork and exec, so a child of this (larger) process would start
# at this process's size.
PEAK_WRAPPER = """\
import atexit, os, resource, runpy, sys
def peak():
    try:
        with open("/proc/self/status") as status:
            hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    except OSError:
        hwm = str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    with open(os.environ["PEAK_RSS_FILE"], "w") as out:
        out.write(hwm)
atexit.register(peak)
kind, target, *sys.argv[1:] = sys.argv[1:]
if kind == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv[0] = "-c"
    exec(compile(target, "<bench>", "exec"), {"__name__": "__main__"})
"""


def peak_rss(python: str, kind: str, target: str, *args: str) -> tuple[float, bytes]:
    """Peak RSS in MiB of ``python -m target args`` (or ``-c``): its own process only."""
    with tempfile.TemporaryDirectory() as scratch:
        record = Path(scratch) / "peak"
        env = {**os.environ, "PEAK_RSS_FILE": str(record)}
        done = subprocess.run(
            [python, "-c", PEAK_WRAPPER, kind, target, *args],
            capture_output=True, check=True, env=env,
        )  # fmt: skip
        return int(record.read_text()) / 1024, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    repo, build_s, cached = build()
    compile_phasectl()
    python = sys.executable
    exe = Path(python).with_name("phasectl")
    phasectl = [str(exe)] if exe.exists() else [python, "-m", "phasectl"]
    report_args = ["--repo", str(repo), "report", "--base", REFS[0], "--head", REFS[1],
                   "--no-tests", "--stdout", "--name", "bench"]  # fmt: skip
    collect_args = ["--repo", str(repo), "collect", "--base", REFS[0], "--head", REFS[1],
                    "--no-tests", "--format", "json"]  # fmt: skip
    raw = ["git", "-C", str(repo), *RAW]
    a, b, output, _ = median_pair([*phasectl, *report_args], raw, args.repeat)
    # Memory for the range's data: each process's peak less that of the same program on a
    # range with no files (phasectl's imports; the bare interpreter for the reference).
    empty = [arg if arg != REFS[0] else REFS[1] for arg in report_args]
    rss: dict[str, float] = {
        "report": peak_rss(python, "-m", "phasectl", *report_args)[0],
        "report_empty": peak_rss(python, "-m", "phasectl", *empty)[0],
        "collect": peak_rss(python, "-m", "phasectl", *collect_args)[0],
        "bare": peak_rss(python, "-c", "pass")[0],
    }
    rss["hold"], held = peak_rss(python, "-c", HOLD_RAW, str(repo), *RAW)
    data_report = rss["report"] - rss["report_empty"]
    data_hold = rss["hold"] - rss["bare"]
    ratio, memory = a / b, data_report / data_hold
    built = "cached" if cached else f"built in {build_s:.1f} s"
    lines = output.count(b"\n")
    print(f"range: {held.decode().strip()} changed files; report of {lines} lines; "
          f"repository {built}")  # fmt: skip
    print(f"report vs git diff:  median {a:.3f} s vs {b:.3f} s  ratio {ratio:.2f}  "
          f"(target <= 1.3)  {'PASS' if ratio <= 1.3 else 'FAIL'}  "
          f"[phasectl's own time: {1000 * (a - b):.0f} ms; {args.repeat} rounds]")  # fmt: skip
    verdict = "PASS" if memory <= 2.0 else "FAIL"
    print(f"memory for the data: report {data_report:.1f} MiB vs raw diff held in "
          f"Python {data_hold:.1f} MiB  ratio {memory:.2f}  (target <= 2.0)  "
          f"{verdict}")  # fmt: skip
    print(f"  peak RSS, MiB: report {rss['report']:.1f} (empty range {rss['report_empty']:.1f}), "
          f"collect {rss['collect']:.1f}, raw diff held {rss['hold']:.1f} (bare python "
          f"{rss['bare']:.1f}); Python processes only, not git's")  # fmt: skip
    missed = ratio > 1.3 or memory > 2.0
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
