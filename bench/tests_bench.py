"""Benchmark: phasectl's managed test run against running pytest under coverage directly.

Builds (once, cached in ``bench/.cache/tests-project``) a generated Python project with a
few hundred tests in a git repository: a ``phase/1`` tag and a second commit on top. Then,
in the same run and interleaved over several repetitions, it times whole processes:

* A: ``phasectl collect --format json --quiet --run-base never`` (diff + managed run +
  coverage figures + patch coverage), against
* B: ``python -m coverage run -m pytest -q`` followed by ``python -m coverage report``,
  the reference a user would otherwise run. Target: median(A) / median(B) <= 1.05.
* C: ``phasectl collect`` with the base's figures in a stored git note (run_base auto):
  the target is that no test run happens for the base, so C costs about what A costs.
* D: the first report, ``phasectl collect --format json --quiet --run-base always``: the
  base's tests run too, in a temporary worktree, alongside head's run (on two or more
  cores). Target: median(D) / median(B) <= 1.25, i.e. about one test run, not two.

Run it with ``make bench`` or ``.venv/bin/python bench/tests_bench.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from diff_bench import compile_phasectl

CACHE = Path(__file__).resolve().parent / ".cache" / "tests-project"
GENERATOR_VERSION = "4"
MODULES = 12
TESTS_PER_MODULE = 30


def git_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }


def git(repo: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def module_source(index: int, version: int) -> str:
    lines = [f'"""Generated module {index}."""', ""]
    # Never called, so the coverage figure is not a trivial 100%.
    lines += ["def unused(flag):", "    if flag:", "        return 1", "    return 0", ""]
    for n in range(TESTS_PER_MODULE):
        lines += [
            f"def f{n}(values):",
            "    total = 0",
            "    for v in values:",
            f"        if v % {n + 2} == 0:",
            "            total += v",
            "        else:",
            f"            total -= {version}",
            "    return total",
            "",
        ]
    return "\n".join(lines) + "\n"


def test_source(index: int) -> str:
    lines = [f"from pkg.mod{index} import *  # noqa: F403", ""]
    for n in range(TESTS_PER_MODULE):
        # Each test does a little real work, like a unit test of a small function.
        lines += [
            f"def test_f{n}():",
            f"    assert isinstance(f{n}(range(2000)), int)  # noqa: F405",
            "",
        ]
    return "\n".join(lines)


def write_project(root: Path, version: int) -> None:
    (root / "pkg").mkdir(exist_ok=True)
    (root / "tests").mkdir(exist_ok=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\nversion = "0"\n\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\naddopts = "-p no:cacheprovider"\n\n'
        '[tool.coverage.run]\nsource = ["pkg"]\n'
    )
    (root / ".gitignore").write_text("__pycache__/\n.coverage*\n")
    for index in range(MODULES):
        (root / "pkg" / f"mod{index}.py").write_text(module_source(index, version))
        (root / "tests" / f"test_mod{index}.py").write_text(test_source(index))


def build(python: str) -> Path:
    marker = CACHE / ".git" / "phasectl-bench-version"
    if marker.exists() and marker.read_text() == GENERATOR_VERSION:
        return CACHE
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    env = git_env(home)
    git(CACHE, env, "init", "-q", "-b", "main")
    write_project(CACHE, 1)
    git(CACHE, env, "add", "-A")
    git(CACHE, env, "commit", "-q", "-m", "phase 1")
    git(CACHE, env, "tag", "phase/1")
    write_project(CACHE, 2)
    git(CACHE, env, "add", "-A")
    git(CACHE, env, "commit", "-q", "-m", "phase 2")
    shutil.rmtree(home, ignore_errors=True)
    # Store the base's figures as a note, as `phasectl snapshot phase/1` does.
    subprocess.run(
        [*phasectl(python), "--repo", str(CACHE), "snapshot", "phase/1", "--quiet"],
        check=True,
        capture_output=True,
    )
    marker.write_text(GENERATOR_VERSION)
    return CACHE


def phasectl(python: str) -> list[str]:
    exe = Path(python).with_name("phasectl")
    return [str(exe)] if exe.exists() else [python, "-m", "phasectl"]


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - start, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # A 2 s run varies by about 2% from one to the next: 9 rounds settle the median.
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    python = sys.executable
    start = time.perf_counter()
    repo = build(python)
    compile_phasectl()
    print(
        f"project: {MODULES * TESTS_PER_MODULE} tests in {MODULES} modules "
        f"(ready in {time.perf_counter() - start:.1f} s)"
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench-cov-"))
    data_file = scratch / ".coverage"
    managed = [
        *phasectl(python),
        "--repo",
        str(repo),
        "collect",
        "--format",
        "json",
        "--quiet",
        "--run-base",
        "never",
    ]
    with_note = [*phasectl(python), "--repo", str(repo), "collect", "--format", "json", "-q"]
    first = [*with_note, "--run-base", "always"]
    reference = [
        [python, "-m", "coverage", "run", f"--data-file={data_file}", "-m", "pytest", "-q"],
        [python, "-m", "coverage", "report", f"--data-file={data_file}"],
    ]
    a_times, b_times, c_times, d_times = [], [], [], []
    outputs: dict[str, bytes] = {}
    for round_ in range(args.repeat + 1):
        elapsed_a, done_a = timed(managed, repo)
        elapsed_b = 0.0
        for command in reference:
            elapsed, done_b = timed(command, repo)
            elapsed_b += elapsed
            outputs[command[3]] = done_b.stdout
        elapsed_c, done_c = timed(with_note, repo)
        elapsed_d, done_d = timed(first, repo)
        if done_a.returncode or done_c.returncode or done_d.returncode:
            sys.stderr.write((done_a.stderr or done_c.stderr or done_d.stderr).decode())
            return 2
        if round_ == 0:
            continue  # warm-up
        a_times.append(elapsed_a)
        b_times.append(elapsed_b)
        c_times.append(elapsed_c)
        d_times.append(elapsed_d)
        outputs["a"], outputs["c"], outputs["c_err"] = done_a.stdout, done_c.stdout, done_c.stderr
        outputs["d"], outputs["d_err"] = done_d.stdout, done_d.stderr
    shutil.rmtree(scratch, ignore_errors=True)
    a, b, c, d = (statistics.median(t) for t in (a_times, b_times, c_times, d_times))
    ratio, first_ratio = a / b, d / b
    result = json.loads(outputs["a"])
    noted = json.loads(outputs["c"])
    report_total = outputs["report"].decode().strip().splitlines()[-1].split()[-1]
    same = result["coverage"]["after"]["percent_display"] + "%" == report_total
    base_ran = b"temporary worktree" in outputs["c_err"]
    first_report = json.loads(outputs["d"])
    alongside = b"run alongside head's" in outputs["d_err"]
    same_first = (
        first_report["tests"]["before"]["source"] == "worktree run"
        and first_report["coverage"]["after"]["percent_display"] + "%" == report_total
    )
    print(
        f"managed collect vs coverage run + report: median {a:.3f} s vs {b:.3f} s  "
        f"ratio {ratio:.3f}  (target <= 1.05)  {'PASS' if ratio <= 1.05 else 'FAIL'}  "
        f"[phasectl's own time: {1000 * (a - b):.0f} ms]"
    )
    print(
        f"collect with the base from a note:        median {c:.3f} s  "
        f"({c / a:.3f} x the run without a base); base tests run: "
        f"{'yes' if base_ran else 'no'}  {'PASS' if not base_ran else 'FAIL'}"
    )
    print(
        f"first report (base run included) vs one coverage run + report: median {d:.3f} s vs "
        f"{b:.3f} s  ratio {first_ratio:.3f}  (target <= 1.25)  "
        f"{'PASS' if first_ratio <= 1.25 else 'FAIL'}  [base run alongside head's: "
        f"{'yes' if alongside else 'no'}, {os.cpu_count()} cores]"
    )
    print(
        f"figures: phasectl {result['tests']['after']['passed']} passed, coverage "
        f"{result['coverage']['after']['percent_display']}%; coverage report says "
        f"{report_total}: {'match' if same else 'DIFFER'}; before from "
        f"{noted['tests']['before']['source']}"
    )
    missed = ratio > 1.05 or base_ran or not same or first_ratio > 1.25 or not same_first
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
