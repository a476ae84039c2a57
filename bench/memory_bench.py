"""Benchmark: peak memory of phasectl reading 100 MB artifacts (the bound: under 1 GiB).

For each format phasectl reads (Cobertura XML, JUnit XML, LCOV, Go coverprofile), it
writes a file of about ``--size`` MB into a temporary git repository and runs the real
CLI (``phasectl collect --format json --coverage FILE`` or ``--junit FILE``) as a child
process, recording its peak resident memory (``wait4``'s ``ru_maxrss``), wall time and CPU
time. Two shapes each: many lines in few files, and many files of a line or two (the
``-files`` shapes: 1.5 M files in LCOV, 740 k in Cobertura, 700 k in a Go profile), whose
cost is per file; ``lcov-tiny`` names more files than phasectl reads (refused). The
reference measured in the same run is the same child reading the file whole
(``Path.read_bytes``), the least any reader that loads the file could use.

Run it with ``.venv/bin/python bench/memory_bench.py [--size 100] [--only SHAPE ...]``;
it exits 1 when a reader's peak exceeds 1 GiB or it fails other than by refusing the file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

LIMIT = 1 << 30


def write_until(path: Path, size: int, head: str, chunk: Callable[[int], str], tail: str) -> None:
    with path.open("w") as out:
        out.write(head)
        written, n = len(head), 0
        while written < size:
            text = chunk(n)
            out.write(text)
            written += len(text)
            n += 1
        out.write(tail)


def cobertura(n: int) -> str:
    lines = "".join(f'<line number="{i}" hits="{i % 2}"/>' for i in range(1, 2001))
    return f'<class filename="m{n}.py"><lines>{lines}</lines></class>\n'


def junit(n: int) -> str:
    cases = "".join(f'<testcase classname="m{n}" name="t{i}" time="0.001"/>' for i in range(500))
    return f'<testsuite name="s{n}">{cases}</testsuite>\n'


def lcov(n: int) -> str:
    return (
        f"SF:m{n}.py\n" + "".join(f"DA:{i},{i % 2}\n" for i in range(1, 2001)) + "end_of_record\n"
    )


def go(n: int) -> str:
    return "".join(f"example.com/m/m{n}.go:{i}.1,{i}.20 1 {i % 2}\n" for i in range(1, 2001))


def lcov_files(n: int) -> str:
    # The shape of a monorepo's merged tracefile: 1.5 M files of one or two lines each.
    two = f"DA:2,{n % 3 % 2}\n" if n % 2 else ""
    return f"SF:packages/module{n % 1000}/component{n}.js\nDA:1,1\n{two}end_of_record\n"


def lcov_tiny(n: int) -> str:
    # The smallest record: a file with no line, about 29 bytes. 100 MB of them name more
    # files than phasectl reads from one coverage file, and must be refused, not swapped.
    return f"SF:f{n}.js\nend_of_record\n"


def cobertura_files(n: int) -> str:
    return (
        f'<class filename="packages/module{n % 1000}/component{n}.js"><lines>'
        f'<line number="1" hits="1"/><line number="2" hits="{n % 2}"/></lines></class>\n'
    )


def go_files(n: int) -> str:
    # 700 k files of three one-statement blocks each.
    return "".join(
        f"example.com/m/pkg{n % 1000}/file{n}.go:{i}.1,{i}.20 1 {(n + i) % 2}\n" for i in (1, 3, 5)
    )


FORMATS = {
    "cobertura": ("coverage.xml", "--coverage", '<coverage version="7"><packages>\n', cobertura,
                  "</packages></coverage>\n"),
    "junit": ("junit.xml", "--junit", "<testsuites>\n", junit, "</testsuites>\n"),
    "lcov": ("coverage.info", "--coverage", "TN:\n", lcov, ""),
    "go": ("cover.out", "--coverage", "mode: set\n", go, ""),
    # Many files, few lines each: the cost is per file, not per line. The first record
    # names a file of the project, so the artifact is not refused as another checkout's.
    "lcov-files": ("files.info", "--coverage", "TN:\nSF:m0.py\nDA:1,1\nend_of_record\n",
                   lcov_files, ""),
    "go-files": ("files.out", "--coverage", "mode: set\nexample.com/m/m0.go:1.1,1.20 1 1\n",
                 go_files, ""),
    "lcov-tiny": ("tiny.info", "--coverage", "TN:\nSF:m0.py\nDA:1,1\nend_of_record\n",
                  lcov_tiny, ""),
    "cobertura-files": ("files.xml", "--coverage",
                        '<coverage version="7"><packages>\n<class filename="m0.py"><lines>'
                        '<line number="1" hits="1"/></lines></class>\n', cobertura_files,
                        "</packages></coverage>\n"),
}  # fmt: skip


def measure(command: list[str], cwd: Path) -> tuple[float, float, float, int, str]:
    """Peak resident MB, wall and CPU seconds, exit status and last line of stderr of one
    child. CPU seconds (user + system) are the steadier figure on a shared machine."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        err.seek(0)
        said = err.read().decode("utf-8", "replace").strip().splitlines()
    last = said[-1] if said else ""
    cpu = usage.ru_utime + usage.ru_stime
    return usage.ru_maxrss / 1024, seconds, cpu, os.waitstatus_to_exitcode(status), last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="file size in MB")
    parser.add_argument(
        "--only", action="append", choices=sorted(FORMATS), help="measure only these shapes"
    )
    args = parser.parse_args()
    size = args.size * 1_000_000
    failed = False
    with tempfile.TemporaryDirectory(prefix="phasectl-membench-") as scratch:
        repo = Path(scratch) / "repo"
        repo.mkdir()
        env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
               "GIT_COMMITTER_EMAIL": "b@b"}  # fmt: skip
        os.environ.update(env)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        (repo / "go.mod").write_text("module example.com/m\n")
        for n in range(3):
            (repo / f"m{n}.py").write_text("x = 1\n" * 2000)
            (repo / f"m{n}.go").write_text("package m\n" * 2000)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", "project"], cwd=repo, check=True)
        print(f"{'shape':15} {'file MB':>8} {'peak MB':>8} {'read MB':>8} {'ratio':>6} {'s':>6} "
              f"{'cpu s':>6}  under {LIMIT >> 20} MB")  # fmt: skip
        for kind, (name, option, head, chunk, tail) in FORMATS.items():
            if args.only and kind not in args.only:
                continue
            path = Path(scratch) / name
            write_until(path, size, head, chunk, tail)
            reference, *_ = measure(
                [sys.executable, "-c", f"import pathlib; pathlib.Path({str(path)!r}).read_bytes()"],
                repo,
            )
            peak, seconds, cpu, code, said = measure(
                [sys.executable, "-m", "phasectl", "collect", "--format", "json", option,
                 str(path)], repo,
            )  # fmt: skip
            mb = path.stat().st_size / 1e6
            # Over a bound (line budget, case count) phasectl refuses the file: exit 2 and
            # one "Error:" line naming it. That is within the guarantee; anything else is not.
            refused = code == 2 and said.startswith("Error:") and str(path) in said
            note = (
                "" if code == 0 else "  refused (Error: naming it)" if refused else f"  exit {code}"
            )
            bad = peak * (1 << 20) > LIMIT or not (code == 0 or refused)
            print(f"{kind:15} {mb:8.0f} {peak:8.0f} {reference:8.0f} {peak / reference:6.2f} "
                  f"{seconds:6.1f} {cpu:6.1f}  {'FAIL' if bad else 'PASS'}{note}")  # fmt: skip
            failed |= bad
            path.unlink()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
